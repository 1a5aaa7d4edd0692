package difftest

import (
	"github.com/go-zookeeper/zk"
)

// rawCases use the raw-protocol client (Raw) for the opcodes, paths and
// header fields go-zookeeper cannot reach (ZK-SEMANTICS §2–§4, §8, §9,
// §11, §13, §15).
func rawCases() []Case {
	return []Case{
		{"raw/getchildren-op8", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "b", nil, zk.FlagEphemeral, open, 0)
			x.GetChildren("", false)
			x.GetChildren("a", false)
			x.GetChildren("missing", false)
			x.GetChildren("", true)
			x.Create(opCreate, "c", nil, zk.FlagPersistent, open, 0)
			x.Events("latest-write")
		}},
		// The closing session is told what its ephemerals' deletion
		// fires on its own watches, before the reply; the others as
		// always (one watch only: ZooKeeper deletes the ephemerals in no
		// set order).
		{"raw/closesession-own-events", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "p", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "p/e1", nil, zk.FlagEphemeral, open, 0)
			x.Create(opCreate, "p/e2", nil, zk.FlagEphemeral, open, 0)
			x.ReadW(opExists, "p/e1")
			x.ReadW(opGetData, "p/e2")
			x.GetChildren("p", true)
			y := r.Raw(1)
			y.ReadW(opExists, "p/e1")
			x.CloseSession()
			x.Ping()
			y.Events("latest-write")
			r.Children("p")
		}},
		{"raw/create2", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate2, "a", D("x"), zk.FlagPersistent, open, 0)
			x.Create(opCreate2, "a", D("x"), zk.FlagPersistent, open, 0)
			x.Create(opCreate2, "s-", nil, zk.FlagSequence, open, 0)
			x.Create(opCreate2, "e", nil, zk.FlagEphemeral, open, 0)
			x.Create(opCreate2, "c", nil, zk.FlagContainer, open, 0)
			x.Create(opCreate2, "missing/a", nil, zk.FlagPersistent, open, 0)
			r.Exists("")
		}},
		{"raw/create-flags", func(r *R) {
			x := r.Raw(0)
			for _, f := range []int32{zk.FlagContainer, zk.FlagTTL, zk.FlagPersistentSequentialWithTTL, 7, -1, 100} {
				x.Create(opCreate, "n", nil, f, open, 0)
				x.Create(opCreate2, "m", nil, f, open, 0)
			}
			r.Children("")
		}},
		{"raw/createttl-modes", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreateTTL, "a", nil, zk.FlagPersistent, open, 1000)
			x.Create(opCreateTTL, "b", nil, zk.FlagEphemeral, open, 1000)
			x.Create(opCreateTTL, "c", nil, zk.FlagContainer, open, 1000)
			x.Create(opCreateTTL, "d", nil, zk.FlagTTL, open, -1)
			x.Create(opCreateTTL, "e", nil, zk.FlagTTL, open, 3_600_000)
			x.Create(opCreateTTL, "f", nil, 9, open, 1000)
			x.Create(opCreate, "g", nil, zk.FlagTTL, open, 0)
			r.Children("")
		}},
		{"raw/createcontainer-flags", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreateContainer, "a", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreateContainer, "b", nil, zk.FlagEphemeral, open, 0)
			x.Create(opCreateContainer, "c", nil, zk.FlagSequence, open, 0)
			x.Create(opCreateContainer, "d", nil, zk.FlagContainer, open, 0)
			x.Create(opCreateContainer, "e", nil, 8, open, 0)
			r.Children("")
		}},
		{"raw/bad-paths-create", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			for _, p := range []string{
				"=", "=a", "=a/b", "a/", "missing/", "a//b", "a/./b", "a/../b", "a/.", "a/..", "a/\x00b",
				"a/\x01", "a/\u0080", "a/\u009f", "a/\uf000", "a/\ufffe", "a/\xff", "a/\ud7ff",
			} {
				x.Create(opCreate, p, nil, zk.FlagPersistent, open, 0)
			}
			x.Create(opCreate, "a/", nil, zk.FlagSequence, open, 0)
			x.Create(opCreate, "a//", nil, zk.FlagSequence, open, 0)
			x.Create(opCreate, "=", nil, zk.FlagSequence, open, 0)
			r.Children("a")
		}},
		{"raw/bad-paths-write", func(r *R) {
			x := r.Raw(0)
			for _, p := range []string{"=", "=a", "a/", "a//b", "a/./b", "a/\x00b", "a/\x01", "a/\xff"} {
				x.Delete(p, -1)
				x.Set(p, D("x"), -1)
				x.SetACL(p, open, -1)
			}
		}},
		{"raw/bad-paths-read", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			for _, p := range []string{"=a", "a/", "a//", "a/./b", "a/\x00b", "a/\x01", "a/\xff"} {
				x.Read(opExists, p)
				x.Read(opGetData, p)
				x.Read(opGetChildren2, p)
				x.Read(opGetACL, p)
				x.Read(opSync, p)
			}
		}},
		{"raw/empty-path-is-root", func(r *R) {
			x := r.Raw(0)
			r.Mask("cversion", "numChildren", "pzxid")
			x.Read(opExists, "=")
			r.Mask("cversion", "numChildren", "pzxid")
			x.Read(opGetData, "=")
			r.Mask("cversion", "numChildren", "pzxid")
			x.Read(opGetACL, "=")
			x.Read(opSync, "=")
		}},
		{"raw/failed-writes-use-zxids", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.Delete("missing", -1)
			x.Set("a", nil, 5)
			x.SetACL("a", nil, -1)
			x.Create(opCreate, "b", nil, zk.FlagPersistent, open, 0)
			r.Exists("b")
			r.Exists("a")
		}},
		{"raw/multi-create2", func(r *R) {
			x := r.Raw(0)
			r.Known("create2-in-multi",
				"OK zxid=Z results=[type=1 err=0 path=~/a | type=1 err=0 path=~/b]",
				"OK zxid=Z results=[type=15 err=0 path=~/a stat{ czxid=Z mzxid=Z pzxid=Z ctime=now mtime=ctime version=0 cversion=0 aversion=0 owner=0 dataLength=1 numChildren=0 } | type=1 err=0 path=~/b]")
			x.Multi(false,
				RawOp{Type: opCreate2, Path: "a", Data: D("x"), ACL: open},
				RawOp{Type: opCreate, Path: "b", ACL: open},
			)
			r.Exists("a")
		}},
		{"raw/multi-container-ttl", func(r *R) {
			x := r.Raw(0)
			x.Multi(false,
				RawOp{Type: opCreateContainer, Path: "c", ACL: open, Flags: zk.FlagContainer},
				RawOp{Type: opCreateTTL, Path: "t", ACL: open, Flags: zk.FlagTTL, TTL: 3_600_000},
				RawOp{Type: opCreate, Path: "k", ACL: open, Flags: zk.FlagContainer},
			)
			r.Exists("c")
			r.Exists("t")
			r.Exists("k")
		}},
		{"raw/multi-failure-results", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.Multi(false,
				RawOp{Type: opCheck, Path: "a", Version: 0},
				RawOp{Type: opSetData, Path: "a", Version: 3},
				RawOp{Type: opDelete, Path: "a", Version: -1},
			)
			x.Multi(false)
			x.Multi(false, RawOp{Type: opGetData, Path: "a"})
			x.Multi(false, RawOp{Type: opCreate, Path: "z", ACL: open}, RawOp{Type: opGetData, Path: "a"})
			r.Exists("z")
		}},
		{"raw/multiread", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", D("x"), zk.FlagPersistent, open, 0)
			x.Create(opCreate, "a/b", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "secret", D("s"), zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermRead), 0)
			x.Multi(true,
				RawOp{Type: opGetData, Path: "a"},
				RawOp{Type: opGetChildren, Path: "a"},
				RawOp{Type: opGetData, Path: "missing"},
				RawOp{Type: opGetChildren, Path: "missing"},
				RawOp{Type: opGetData, Path: "secret"},
				RawOp{Type: opGetData, Path: "a/b"},
			)
			x.Multi(true)
			x.Multi(true, RawOp{Type: opCreate, Path: "x", ACL: open})
			r.Exists("x")
		}},
		{"raw/getephemerals", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "p", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "p/e1", nil, zk.FlagEphemeral, open, 0)
			x.Create(opCreate, "p/e2", nil, zk.FlagEphemeralSequential, open, 0)
			x.Create(opCreate, "px", nil, zk.FlagEphemeral, open, 0)
			x.Create(opCreate, "q", nil, zk.FlagEphemeral, open, 0)
			r.Raw(1).Create(opCreate, "p/other", nil, zk.FlagEphemeral, open, 0)
			x.GetEphemerals("")
			x.GetEphemerals("p")
			x.GetEphemerals("p/")
			x.GetEphemerals("p/e")
			x.GetEphemerals("nothing")
			x.GetEphemerals("=/")
			x.GetEphemerals("=")
			r.Raw(1).GetEphemerals("=/")
			r.Raw(2).GetEphemerals("=/")
		}},
		{"raw/getallchildrennumber", func(r *R) {
			x := r.Raw(0)
			x.GetAllChildrenNumber("")
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "a/b", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "a/b/c", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "a/d", nil, zk.FlagEphemeral, open, 0)
			x.Create(opCreate, "e", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermRead), 0)
			x.Create(opCreate, "e/f", nil, zk.FlagPersistent, open, 0)
			x.GetAllChildrenNumber("")
			x.GetAllChildrenNumber("a")
			x.GetAllChildrenNumber("a/b/c")
			x.GetAllChildrenNumber("missing")
			x.GetAllChildrenNumber("e")
			x.GetAllChildrenNumber("/zookeeper")
		}},
		{"raw/whoami", func(r *R) {
			x := r.Raw(0)
			x.WhoAmI()
			x.Auth("digest", "alice:secret")
			x.WhoAmI()
			x.Auth("digest", "bob:pw")
			x.Auth("ip", "10.0.0.1")
			x.WhoAmI()
		}},
		{"raw/auth-failed-closes", func(r *R) {
			x := r.Raw(0)
			x.Auth("nosuchscheme", "x")
			x.Ping()
		}},
		{"raw/unknown-opcodes", func(r *R) {
			r.Raw(0).Unknown(999, nil)
			r.Raw(1).Unknown(0, nil)
			r.Raw(2).Unknown(-50, nil)
			r.Raw(3).Unknown(opCloseSession+1, nil)
		}},
		{"raw/check-outside-multi", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			r.Known("check-outside-multi", "OK exists:OK", "OK check:UNIMPLEMENTED(hdrzxid=-1)")
			x.CheckAlone("a", 0)
		}},
		{"raw/delete-container-op", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreateContainer, "c", nil, zk.FlagContainer, open, 0)
			x.Create(opCreate, "p", nil, zk.FlagPersistent, worldPerms(0), 0)
			x.Create(opCreate, "full", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "full/c", nil, zk.FlagPersistent, open, 0)
			r.Known("delete-container-op", "BADARGUMENTS", "OK")
			x.DeleteContainer("c")
			r.Known("delete-container-op", "BADARGUMENTS", "OK")
			x.DeleteContainer("p") // no ACL check in 3.9
			r.Known("delete-container-op", "BADARGUMENTS", "NOTEMPTY")
			x.DeleteContainer("full")
			r.Known("delete-container-op", "BADARGUMENTS", "NONODE")
			x.DeleteContainer("missing")
			x.DeleteContainer("/zookeeper")
			x.DeleteContainer("/")
			r.Known("delete-container-op", "OK", "NONODE")
			r.Exists("c")
			x.Create(opCreate, "e", nil, zk.FlagEphemeral, open, 0)
			r.Known("delete-container-op", "BADARGUMENTS", "BADVERSION")
			x.DeleteContainer("e")
		}},
		{"raw/addwatch-persistent", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.AddWatch("a", 0)
			x.Set("a", D("1"), -1)
			x.Set("a", D("2"), -1)
			x.Events("write-1 latest-write")
			x.Create(opCreate, "a/b", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "a/b/c", nil, zk.FlagPersistent, open, 0)
			x.Delete("a/b/c", -1)
			x.Delete("a/b", -1)
			x.Delete("a", -1)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.Events("write-5 write-2 write-1 latest-write")
		}},
		{"raw/addwatch-recursive", func(r *R) {
			x := r.Raw(0)
			x.AddWatch("p", 1)
			x.Create(opCreate, "p", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "p/x", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "p/x/y", nil, zk.FlagPersistent, open, 0)
			x.Set("p/x/y", D("1"), -1)
			x.Delete("p/x/y", -1)
			x.Create(opCreate, "q", nil, zk.FlagPersistent, open, 0)
			x.Events("write-5 write-4 write-3 write-2 write-1")
		}},
		{"raw/addwatch-modes", func(r *R) {
			x := r.Raw(0)
			x.AddWatch("a", 2)
			x.AddWatch("a", -1)
			x.AddWatch("missing/deep", 0)
			x.Create(opCreate, "n", nil, zk.FlagPersistent, worldPerms(0), 0)
			x.AddWatch("n", 0)
		}},
		{"raw/addwatch-acl-filter", func(r *R) {
			x, y := r.Raw(0), r.Raw(1)
			y.AddWatch("", 1)
			x.Create(opCreate, "secret", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermRead), 0)
			x.Create(opCreate, "public", nil, zk.FlagPersistent, open, 0)
			y.Events("latest-write")
		}},
		{"raw/watch-modes-coexist", func(r *R) {
			// A persistent watch, then a standard one on the same path: in
			// 3.9 both stay (the standard one is used up by the first
			// change, the persistent one fires again); in 3.8 the later
			// registration replaces the earlier.
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.AddWatch("a", 0)
			x.ReadW(opGetData, "a")
			x.Set("a", D("1"), -1)
			x.Set("a", D("2"), -1)
			r.Known("watch-modes-coexist",
				"OK [NodeDataChanged ~/a]",
				"OK [NodeDataChanged ~/a, NodeDataChanged ~/a]")
			x.Events("write-1 latest-write")
		}},
		{"raw/watch-modes-coexist-recursive", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.ReadW(opExists, "a")
			x.AddWatch("a", 1)
			x.Set("a", D("1"), -1)
			x.Create(opCreate, "a/b", nil, zk.FlagPersistent, open, 0)
			x.Set("a", D("2"), -1)
			x.Events("write-2 write-1 latest-write")
		}},
		{"raw/removewatches", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.RemoveWatches("a", 2, true)
			x.RemoveWatches("a", 2, false)
			x.GetChildren("a", true)
			x.RemoveWatches("a", 2, true)
			x.RemoveWatches("a", 1, true)
			x.RemoveWatches("a", 3, true)
			x.RemoveWatches("a", 1, false)
			x.RemoveWatches("a", 1, false)
			x.RemoveWatches("missing", 3, false)
			x.RemoveWatches("a", 0, true)
			x.RemoveWatches("a", 6, true)
			x.Create(opCreate, "a/b", nil, zk.FlagPersistent, open, 0)
			x.Events("")
		}},
		{"raw/removewatches-persistent", func(r *R) {
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			x.AddWatch("a", 0)
			r.Known("remove-watches-types", "OK", "NOWATCHER")
			x.RemoveWatches("a", 2, true)
			r.Known("remove-watches-types", "MARSHALLINGERROR", "OK")
			x.RemoveWatches("a", 4, true)
			r.Known("remove-watches-types", "MARSHALLINGERROR", "NOWATCHER")
			x.RemoveWatches("a", 5, true)
			x.RemoveWatches("a", 3, true)
			r.Known("remove-watches-types", "MARSHALLINGERROR", "OK")
			x.RemoveWatches("a", 4, false)
			r.Known("remove-watches-types", "OK", "NOWATCHER")
			x.RemoveWatches("a", 3, true)
		}},
		{"raw/removewatches-recursive", func(r *R) {
			x := r.Raw(0)
			x.AddWatch("a", 1)
			x.ReadW(opExists, "a")
			x.RemoveWatches("a", 2, false) // 3.9: the standard exist watch only; 3.8: both
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			r.Known("remove-watches-types", "OK []", "OK [NodeCreated ~/a]")
			x.Events("latest-write")
		}},
		{"raw/setwatches-reconnect", func(r *R) {
			// A client reconnects (r1, a fresh connection) and re-sends
			// its watches relative to the last zxid it saw: what changed
			// since fires at once (zxid −1, data, exist, child order),
			// the rest is registered and fires on later writes.
			x := r.Raw(0)
			x.Create(opCreate, "a", D("1"), zk.FlagPersistent, open, 0)
			x.Create(opCreate, "b", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "c", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "gone", nil, zk.FlagPersistent, open, 0) // the client saw up to here
			x.Set("a", D("2"), -1)
			x.Delete("gone", -1)
			x.Create(opCreate, "c/k", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "new", nil, zk.FlagPersistent, open, 0)
			y := r.Raw(1)
			y.SetWatches(4,
				[]string{"a", "b", "gone"},
				[]string{"new", "absent"},
				[]string{"c", "b", "gone"},
				nil, nil)
			y.Events("-1 -1 -1 -1 -1")
			x.Set("b", D("3"), -1)
			x.Create(opCreate, "absent", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "b/x", nil, zk.FlagPersistent, open, 0)
			x.Set("a", D("4"), -1) // a's watch fired at once: not registered
			y.Events("write-3 write-2 write-1")
		}},
		{"raw/setwatches-nothing-missed", func(r *R) {
			// Relative to the latest zxid nothing fires: all registered.
			x := r.Raw(0)
			x.Create(opCreate, "a", nil, zk.FlagPersistent, open, 0)
			y := r.Raw(1)
			y.SetWatches(0, []string{"a"}, []string{"b"}, []string{"a"}, nil, nil)
			y.Events("")
			x.Create(opCreate, "a/c", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "b", nil, zk.FlagPersistent, open, 0)
			y.Events("write-1 latest-write")
		}},
		{"raw/setwatches2-persistent", func(r *R) {
			// setWatches2 re-registers persistent and recursive watches:
			// nothing fires at once, even for what changed since.
			x := r.Raw(0)
			x.Create(opCreate, "p", nil, zk.FlagPersistent, open, 0)
			x.Create(opCreate, "t", nil, zk.FlagPersistent, open, 0)
			x.Set("p", D("1"), -1)
			y := r.Raw(1)
			y.SetWatches(1, []string{"p"}, nil, nil, []string{"p"}, []string{"t"})
			y.Events("-1")
			x.Set("p", D("2"), -1)
			x.Create(opCreate, "t/u", nil, zk.FlagPersistent, open, 0)
			x.Set("t/u", D("x"), -1)
			x.Set("p", D("3"), -1)
			y.Events("write-3 write-2 write-1 latest-write")
		}},
	}
}
