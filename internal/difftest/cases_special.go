package difftest

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

const hour = time.Hour

// maxTTL is the largest TTL ZooKeeper accepts, 2⁴⁰−1 ms (§4, §7).
const maxTTL = (1<<40 - 1) * time.Millisecond

// specialCases: container (19) and TTL (21) nodes, their create errors
// and their deletion by the server (ZK-SEMANTICS §4, §7).
func specialCases() []Case {
	return []Case{
		{"container/create", func(r *R) {
			r.CreateContainer("c", D("data"), open)
			r.Get("c")
			r.GetACL("c")
			r.Exists("")
		}},
		{"container/errors", func(r *R) {
			r.CreateContainer("c", nil, open)
			r.CreateContainer("c", nil, open)
			r.CreateContainer("missing/c", nil, open)
			r.CreateContainer("d", nil, nil)
			r.CreateContainer("d", nil, []zk.ACL{{Perms: zk.PermAll, Scheme: "nope", ID: "x"}})
			r.CreateContainer("\ue000", nil, open)
			r.Create("e", nil, zk.FlagEphemeral, open)
			r.CreateContainer("e/c", nil, open)
			r.Create("locked", nil, zk.FlagPersistent, readOnly)
			r.CreateContainer("locked/c", nil, open)
		}},
		{"container/children-allowed", func(r *R) {
			r.CreateContainer("c", nil, open)
			r.Create("c/a", nil, zk.FlagPersistent, open)
			r.Create("c/e", nil, zk.FlagEphemeral, open)
			r.CreateContainer("c/inner", nil, open)
			r.Create("c/s-", nil, zk.FlagSequence, open)
			r.Children("c")
			r.Exists("c")
		}},
		{"container/setdata-and-acl", func(r *R) {
			r.CreateContainer("c", D("1"), open)
			r.Set("c", D("2"), 0)
			r.SetACL("c", readOnly, 0)
			r.Exists("c")
			r.Delete("c", 1) // a client may delete it like any node
			r.Exists("c")
		}},
		{"container/reaped-after-last-child", func(r *R) {
			r.CreateContainer("c", nil, open)
			r.Create("c/a", nil, zk.FlagPersistent, open)
			r.ExistsW("c")
			r.ChildrenW("")
			r.Delete("c/a", -1)
			r.AwaitGone("c")
			r.Events()
			r.Children("")
		}},
		{"container/reaped-after-ephemeral-child", func(r *R) {
			r.CreateContainer("c", nil, open)
			s1 := r.S(1)
			s1.Create("c/lock-", nil, zk.FlagEphemeralSequential, open)
			s1.Close()
			r.AwaitGone("c")
			r.Exists("c")
		}},
		{"session/expired-ephemerals", func(r *R) {
			// A client dies: its session expires after its timeout, its
			// ephemerals go in one zxid (the parent's Stat updated), and
			// a survivor sees it. (ZooKeeper deletes them in no set
			// order, so only one of them is watched.)
			r.Create("p", nil, zk.FlagPersistent, open)
			s1 := r.S(1)
			s1.Create("p/e1", nil, zk.FlagEphemeral, open)
			s1.Create("p/e2-", nil, zk.FlagEphemeralSequential, open)
			r.ExistsW("p/e1")
			s1.Kill()
			r.AwaitGone("p/e1")
			r.Events()
			r.Children("p")
			r.Exists("p")
		}},
		{"session/expired-watches", func(r *R) {
			// The expiry's delete fires the node's and its parent's
			// watches, in ZooKeeper's order.
			r.Create("p", nil, zk.FlagPersistent, open)
			s1 := r.S(1)
			s1.Create("p/e", nil, zk.FlagEphemeral, open)
			r.ExistsW("p/e")
			r.ChildrenW("p")
			s1.Kill()
			r.AwaitGone("p/e")
			r.Events()
		}},
		{"session/resume-live", func(r *R) {
			// A client reconnects with its live session: same id and
			// password, the old connection closed, the ephemeral kept.
			x := r.Raw(0)
			x.Create(opCreate, "e", nil, zk.FlagEphemeral, open, 0)
			x.Resume(true)
			x.Read(opExists, "e")
			r.Exists("e")
		}},
		{"session/resume-wrong-password", func(r *R) {
			// A wrong password is refused as an expired session is; the
			// session lives on and resumes with the right one.
			x := r.Raw(0)
			x.Create(opCreate, "e", nil, zk.FlagEphemeral, open, 0)
			x.Resume(false)
			x.Ping()
			x.Resume(true)
			x.Read(opExists, "e")
		}},
		{"session/expired-reconnect", func(r *R) {
			// A client goes silent past its timeout: the server expires
			// its session, deletes its ephemeral and closes its
			// connection without a word; when the client comes back it
			// is refused (timeout 0: the client's "expired" event).
			x := r.Raw(1)
			x.Create(opCreate, "e", nil, zk.FlagEphemeral, open, 0)
			r.ExistsW("e")
			r.AwaitGone("e")
			x.AwaitClosed()
			r.Events()
			x.Resume(true)
			x.Ping()
		}},
		{"container/nested-reaped", func(r *R) {
			r.CreateContainer("outer", nil, open)
			r.CreateContainer("outer/inner", nil, open)
			r.Create("outer/inner/x", nil, zk.FlagPersistent, open)
			r.Delete("outer/inner/x", -1)
			r.AwaitGone("outer/inner")
			r.AwaitGone("outer") // its child was deleted by the reaper
		}},
		{"container/in-multi-is-persistent", func(r *R) {
			r.Multi(CreateOp("c", nil, zk.FlagContainer, open), CreateOp("c/x", nil, zk.FlagPersistent, open))
			r.Exists("c")
		}},
		{"ttl/create", func(r *R) {
			r.CreateTTL("t", D("ttl"), zk.FlagTTL, open, hour)
			r.Get("t")
			r.Exists("")
		}},
		{"ttl/sequential", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.CreateTTL("q/t-", nil, zk.FlagPersistentSequentialWithTTL, open, hour)
			r.CreateTTL("q/t-", nil, zk.FlagPersistentSequentialWithTTL, open, hour)
			r.Create("q/t-", nil, zk.FlagSequence, open)
			r.Children("q")
		}},
		{"ttl/bounds", func(r *R) {
			r.CreateTTL("zero", nil, zk.FlagTTL, open, 0)
			r.CreateTTL("negative", nil, zk.FlagTTL, open, -time.Second)
			r.CreateTTL("max", nil, zk.FlagTTL, open, maxTTL)
			r.CreateTTL("over", nil, zk.FlagTTL, open, maxTTL+time.Millisecond)
			r.CreateTTL("huge", nil, zk.FlagTTL, open, 1<<62)
			r.CreateTTL("sub-ms", nil, zk.FlagTTL, open, time.Microsecond) // sent as 0 ms
			r.Children("")
			r.Exists("max")
		}},
		{"ttl/errors", func(r *R) {
			r.CreateTTL("t", nil, zk.FlagTTL, open, hour)
			r.CreateTTL("t", nil, zk.FlagTTL, open, hour)
			r.CreateTTL("missing/t", nil, zk.FlagTTL, open, hour)
			r.CreateTTL("u", nil, zk.FlagTTL, nil, hour)
			r.CreateTTL("\U0001F600", nil, zk.FlagTTL, open, hour)
			r.Create("e", nil, zk.FlagEphemeral, open)
			r.CreateTTL("e/t", nil, zk.FlagTTL, open, hour)
			r.Create("locked", nil, zk.FlagPersistent, readOnly)
			r.CreateTTL("locked/t", nil, zk.FlagTTL, open, hour)
		}},
		{"ttl/children-allowed", func(r *R) {
			r.CreateTTL("t", nil, zk.FlagTTL, open, hour)
			r.Create("t/c", nil, zk.FlagPersistent, open)
			r.CreateTTL("t/u", nil, zk.FlagTTL, open, hour)
			r.Children("t")
			r.Exists("t/u")
		}},
		{"ttl/setdata", func(r *R) {
			r.CreateTTL("t", D("1"), zk.FlagTTL, open, hour)
			r.Set("t", D("2"), 0)
			r.Get("t")
			r.Delete("t", 1)
		}},
		{"ttl/expires", func(r *R) {
			r.CreateTTL("t", nil, zk.FlagTTL, open, time.Millisecond)
			r.ChildrenW("")
			r.AwaitGone("t")
			r.Events()
		}},
		{"ttl/expires-sequential", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			p := r.CreateTTL("q/t-", nil, zk.FlagPersistentSequentialWithTTL, open, 50*time.Millisecond)
			r.AwaitGone(p)
			r.Create("q/t-", nil, zk.FlagSequence, open)
		}},
	}
}

// treeCases: deep and wide trees, and data sizes up to the frame limit
// (jute.maxbuffer, 1,048,575 bytes for a whole request frame, §1).
func treeCases() []Case {
	return []Case{
		{"tree/deep-50", func(r *R) {
			p := ""
			for i := range 50 {
				if i > 0 {
					p += "/"
				}
				p += fmt.Sprintf("d%02d", i)
				r.Create(p, D(p[len(p)-3:]), zk.FlagPersistent, open)
			}
			r.Get(p)
			r.Exists("d00")
			r.Children(p[:len(p)-4])
			r.Delete("d00", -1)
			r.Delete(p, -1)
			r.Exists(p[:len(p)-4])
		}},
		{"tree/wide-1000", func(r *R) {
			r.Create("w", nil, zk.FlagPersistent, open)
			for i := range 1000 {
				r.Create(fmt.Sprintf("w/c%04d", i), nil, zk.FlagPersistent, open)
			}
			r.Children("w")
			r.Exists("w")
			r.Delete("w", -1)
			for i := range 1000 {
				if i%2 == 0 {
					r.Delete(fmt.Sprintf("w/c%04d", i), -1)
				}
			}
			r.Children("w")
			r.Exists("w")
		}},
		{"tree/wide-sequential-500", func(r *R) {
			r.Create("w", nil, zk.FlagPersistent, open)
			for range 500 {
				r.Create("w/s-", nil, zk.FlagEphemeralSequential, open)
			}
			r.Children("w")
			r.Close()
			r.S(1).Children("w")
			r.S(1).Exists("w")
		}},
		{"tree/long-path", func(r *R) {
			seg := strings.Repeat("x", 200)
			p := seg
			for range 20 {
				r.Create(p, nil, zk.FlagPersistent, open)
				p += "/" + seg
			}
			r.Exists(p[:len(p)-201])
		}},
		{"data/sizes", func(r *R) {
			for _, n := range []int{1, 255, 256, 1024, 4096, 65536, 100_000, 500_000} {
				r.Create(fmt.Sprintf("n%d", n), pattern(n), zk.FlagPersistent, open)
				r.Get(fmt.Sprintf("n%d", n))
			}
		}},
		{"data/one-mib-minus", func(r *R) {
			// 1 MiB − 1 KiB of data, well inside the frame limit.
			n := 1<<20 - 1024
			r.Create("big", pattern(n), zk.FlagPersistent, open)
			r.Get("big")
			r.Set("big", pattern(n-1), 0)
			r.Exists("big")
			r.Set("big", D("small"), 1)
			r.Get("big")
		}},
		{"data/frame-limit", func(r *R) {
			// A setData frame is xid, type, path, data and version: 20
			// bytes plus the path and the data. The largest frame allowed
			// is jute.maxbuffer; one byte more closes the connection.
			r.Create("big", nil, zk.FlagPersistent, open)
			n := 0xfffff - 20 - len(r.abs("big"))
			r.Set("big", pattern(n), -1)
			r.Exists("big")
			r.Set("big", pattern(n+1), -1)
			r.Exists("big")
		}},
		{"data/create-over-limit", func(r *R) {
			r.Create("big", pattern(1<<20), zk.FlagPersistent, open)
			r.Exists("big")
		}},
	}
}

// pattern is n deterministic bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}
