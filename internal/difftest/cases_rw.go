package difftest

import (
	"github.com/go-zookeeper/zk"
)

// deleteCases: delete (2), its validation order and its effect on the
// parent (ZK-SEMANTICS §4, §5).
func deleteCases() []Case {
	return []Case{
		{"delete/basic", func(r *R) {
			r.Create("a", D("x"), zk.FlagPersistent, open)
			r.Exists("")
			r.Delete("a", -1)
			r.Exists("a")
			r.Exists("") // pzxid moves, cversion +1 as seen, numChildren -1
			r.Children("")
		}},
		{"delete/version", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Set("a", D("1"), -1)
			r.Delete("a", 0)
			r.Delete("a", 2)
			r.Delete("a", -2)
			r.Delete("a", 1)
			r.Exists("a")
		}},
		{"delete/missing", func(r *R) {
			r.Delete("a", -1)
			r.Delete("a", 3)
			r.Delete("a/b", -1) // parent missing
			r.Delete("a/b/c", 0)
		}},
		{"delete/not-empty", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.Delete("a", -1)
			r.Delete("a", 5) // BADVERSION before NOTEMPTY
			r.Delete("a/b", -1)
			r.Delete("a", 0)
			r.Exists("")
		}},
		{"delete/not-empty-ephemeral-child", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.S(1).Create("a/e", nil, zk.FlagEphemeral, open)
			r.Delete("a", -1)
			r.S(1).Close()
			r.Delete("a", -1)
		}},
		{"delete/special-paths", func(r *R) {
			r.Delete("/", -1)
			r.Delete("/zookeeper", -1)
			r.Delete("/zookeeper/quota", -1)
			r.Delete("/zookeeper/config", -1)
			r.Delete("/zookeeper/config", 0)
			r.Delete("/zookeeper/missing", -1)
			r.Exists("/zookeeper/config")
		}},
		{"delete/other-sessions-ephemeral", func(r *R) {
			r.S(1).Create("e", nil, zk.FlagEphemeral, open)
			r.Delete("e", -1)
			r.S(1).Exists("e")
			r.S(1).Create("e", nil, zk.FlagEphemeral, open)
			r.S(1).Exists("e")
		}},
		{"delete/parent-stat", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			for _, c := range []string{"a", "b", "c"} {
				r.Create("p/"+c, nil, zk.FlagPersistent, open)
			}
			r.Exists("p")
			r.Delete("p/b", -1)
			r.Exists("p")
			r.Delete("p/a", -1)
			r.Exists("p")
			r.Create("p/b", nil, zk.FlagPersistent, open)
			r.Exists("p")
			r.Delete("p/b", -1)
			r.Delete("p/c", -1)
			r.Exists("p")
		}},
		{"delete/failed-does-not-touch-parent", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/a", nil, zk.FlagPersistent, open)
			r.Exists("p")
			r.Delete("p/a", 3)
			r.Delete("p/missing", -1)
			r.Exists("p")
		}},
		{"delete/bad-path", func(r *R) {
			r.Delete("a\ue000", -1)
			r.Delete("x\uffff", -1)
			r.Delete("\U0001F600", -1)
		}},
		{"delete/recreate-tree", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.Delete("a/b", -1)
			r.Delete("a", -1)
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Exists("a")
			r.Children("a")
		}},
	}
}

// dataCases: setData (5), getData (4), exists (3) (ZK-SEMANTICS §4, §5).
func dataCases() []Case {
	return []Case{
		{"setdata/versions", func(r *R) {
			r.Create("a", D("0"), zk.FlagPersistent, open)
			r.Set("a", D("1"), 0)
			r.Set("a", D("2"), 0)
			r.Set("a", D("2"), 1)
			r.Set("a", D("3"), -1)
			r.Set("a", D("4"), 5)
			r.Set("a", D("4"), -2)
			r.Get("a")
		}},
		{"setdata/stat", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/a", D("x"), zk.FlagPersistent, open)
			r.Create("p/a/c", nil, zk.FlagPersistent, open)
			r.Exists("p")
			r.Set("p/a", D("xyz"), -1) // mzxid, mtime, version, dataLength; pzxid and cversion stay
			r.Exists("p")
			r.Exists("p/a/c")
			r.Get("p/a")
		}},
		{"setdata/same-data", func(r *R) {
			r.Create("a", D("same"), zk.FlagPersistent, open)
			r.Set("a", D("same"), -1)
			r.Set("a", D("same"), -1)
			r.Get("a")
		}},
		{"setdata/null-and-empty", func(r *R) {
			r.Create("a", D("x"), zk.FlagPersistent, open)
			r.Set("a", nil, -1)
			r.Get("a")
			r.Set("a", D(""), -1)
			r.Get("a")
			r.Set("a", D("y"), -1)
			r.Get("a")
		}},
		{"setdata/missing", func(r *R) {
			r.Set("a", D("x"), -1)
			r.Set("a", D("x"), 0)
			r.Set("a/b", D("x"), -1)
		}},
		{"setdata/bad-path", func(r *R) {
			r.Set("a\ue000", D("x"), -1)
			r.Set("\U0001F600", D("x"), -1)
		}},
		{"setdata/ephemeral", func(r *R) {
			r.S(1).Create("e", D("1"), zk.FlagEphemeral, open)
			r.Set("e", D("2"), 0)
			r.S(1).Get("e")
		}},
		{"setdata/root-config", func(r *R) {
			r.Set("/zookeeper/config", D("x"), -1)
			r.Set("/zookeeper/config", D("x"), 0)
		}},
		{"setdata/version-sequence", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			for v := int32(0); v < 20; v++ {
				r.Set("a", D("v"), v)
			}
			r.Exists("a")
			r.Set("a", D("v"), 19)
		}},
		{"getdata/missing", func(r *R) {
			r.Get("a")
			r.Get("a/b")
			r.Get("a\ue000") // reads do not validate
			r.Get("\U0001F600")
		}},
		{"getdata/root-of-case", func(r *R) {
			r.Get("")
			r.Set("", D("root data"), 0)
			r.Get("")
		}},
		{"exists/missing-and-present", func(r *R) {
			r.Exists("a")
			r.Create("a", D("12345"), zk.FlagPersistent, open)
			r.Exists("a")
			r.Exists("a/b")
			r.Exists("x\uffff")
		}},
		{"exists/after-every-write", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Exists("a")
			r.Set("a", D("1"), -1)
			r.Exists("a")
			r.SetACL("a", readOnly, -1)
			r.Exists("a")
			r.Create("b", nil, zk.FlagPersistent, open)
			r.Create("b/c", nil, zk.FlagPersistent, open)
			r.Exists("b")
			r.Delete("b/c", -1)
			r.Exists("b")
		}},
		{"sync/paths", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Sync("a")
			r.Sync("missing")
			r.Sync("")
			r.Sync("/")
			r.Sync("/zookeeper")
			r.Sync("x\uffff")
		}},
		{"sync/after-write-other-session", func(r *R) {
			r.Create("a", D("1"), zk.FlagPersistent, open)
			r.S(1).Set("a", D("2"), -1)
			r.Sync("a")
			r.Get("a")
		}},
		{"sync/no-acl-check", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, worldPerms(0))
			r.S(1).Sync("a")
		}},
		{"children/basic", func(r *R) {
			r.Children("")
			r.Create("b", nil, zk.FlagPersistent, open)
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("c", nil, zk.FlagEphemeral, open)
			r.Children("")
			r.Children("a")
			r.Children("missing")
		}},
		{"children/grandchildren-not-listed", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.Create("a/b/c", nil, zk.FlagPersistent, open)
			r.Children("")
			r.Children("a")
			r.Children("a/b")
		}},
		{"children/ephemeral-node", func(r *R) {
			r.Create("e", nil, zk.FlagEphemeral, open)
			r.Children("e")
			r.Exists("e")
		}},
		{"children/read-denied", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermRead))
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.Children("a")
			r.Children("a/b")
		}},
		{"reconfig/disabled", func(r *R) {
			r.Reconfig("server.1=127.0.0.1:2888:3888;2181")
			r.Reconfig()
		}},
	}
}

// rootCases read and try to write the real root and /zookeeper, recording
// only what is deterministic on a server that other cases (and other
// tests) share: the root's child counts and pzxid move with them.
func rootCases() []Case {
	rootMask := []string{"cversion", "numChildren", "pzxid"}
	return []Case{
		{"root/stat", func(r *R) {
			r.Mask(rootMask...)
			r.Exists("/")
			r.Mask(rootMask...)
			r.Get("/")
			r.Mask(rootMask...)
			r.Exists("")
		}},
		{"root/children", func(r *R) {
			r.Mask(rootMask...)
			r.ChildrenOf("/", "zookeeper", "difftest")
			r.Children("/zookeeper")
			r.Children("/zookeeper/quota")
			r.Children("/zookeeper/config")
		}},
		{"root/zookeeper-nodes", func(r *R) {
			r.Get("/zookeeper")
			r.Get("/zookeeper/quota")
			r.Get("/zookeeper/config")
			r.GetACL("/zookeeper/config")
		}},
		{"root/writes-refused", func(r *R) {
			r.Create("/", nil, zk.FlagPersistent, open)
			r.Create("/zookeeper", nil, zk.FlagPersistent, open)
			r.Create("/zookeeper/quota", nil, zk.FlagPersistent, open)
			r.Create("/zookeeper/config", nil, zk.FlagPersistent, open)
			r.Delete("/", -1)
			r.Delete("/zookeeper", -1)
			r.Set("/zookeeper/config", D("x"), -1)
			r.SetACL("/zookeeper/config", open, -1)
			r.Multi(DeleteOp("/zookeeper", -1))
			r.Multi(DeleteOp("/", -1))
		}},
		{"root/missing-top-level", func(r *R) {
			r.Exists("/\ue000")
			r.Get("/missing-difftest-node")
		}},
	}
}
