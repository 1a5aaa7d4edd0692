package difftest

import (
	"fmt"

	"github.com/go-zookeeper/zk"
)

// seqCases: sequential numbering from the parent's child counter and the
// visible cversion (ZK-SEMANTICS §5, §6).
func seqCases() []Case {
	return []Case{
		{"seq/numbering", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			for range 12 {
				r.Create("q/n-", nil, zk.FlagSequence, open)
			}
			r.Children("q")
			r.Exists("q")
		}},
		{"seq/empty-prefix", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/", nil, zk.FlagSequence, open)
			r.Create("q/", nil, zk.FlagEphemeralSequential, open)
			r.Children("q")
		}},
		{"seq/shared-counter-across-prefixes", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/a-", nil, zk.FlagSequence, open)
			r.Create("q/b-", nil, zk.FlagSequence, open)
			r.Create("q/a-", nil, zk.FlagEphemeralSequential, open)
			r.Children("q")
		}},
		{"seq/every-mode-counts", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/p", nil, zk.FlagPersistent, open)
			r.Create("q/s-", nil, zk.FlagSequence, open)
			r.Create("q/e", nil, zk.FlagEphemeral, open)
			r.Create("q/s-", nil, zk.FlagSequence, open)
			r.CreateContainer("q/c", nil, open)
			r.Create("q/s-", nil, zk.FlagSequence, open)
			r.CreateTTL("q/t", nil, zk.FlagTTL, open, hour)
			r.Create("q/s-", nil, zk.FlagSequence, open)
			r.Multi(CreateOp("q/m", nil, zk.FlagPersistent, open))
			r.Create("q/s-", nil, zk.FlagSequence, open)
			r.Children("q")
			r.Exists("q")
		}},
		{"seq/delete-leaves-gaps", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			a := r.Create("q/n-", nil, zk.FlagSequence, open)
			b := r.Create("q/n-", nil, zk.FlagSequence, open)
			r.Delete(a, -1)
			r.Delete(b, -1)
			r.Exists("q")
			r.Create("q/n-", nil, zk.FlagSequence, open)
			r.Children("q")
			r.Exists("q")
		}},
		{"seq/failed-create-keeps-counter", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/x", nil, zk.FlagPersistent, open)
			r.Create("q/x", nil, zk.FlagPersistent, open)      // NODEEXISTS
			r.Create("q/n-", nil, zk.FlagSequence, []zk.ACL{}) // INVALIDACL
			r.Create("q/\ue000", nil, zk.FlagSequence, open)   // BADARGUMENTS
			r.Create("q/n-", nil, zk.FlagSequence, open)
			r.Exists("q")
		}},
		{"seq/collision", func(r *R) {
			// The suffix is the counter; a node already there by that name
			// makes the create fail, and the counter does not move (§4, §6).
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/n0000000001", nil, zk.FlagPersistent, open)
			r.Create("q/n", nil, zk.FlagSequence, open)
			r.Create("q/n", nil, zk.FlagSequence, open)
			r.Create("q/m", nil, zk.FlagSequence, open)
			r.Children("q")
		}},
		{"seq/independent-parents", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("b", nil, zk.FlagPersistent, open)
			r.Create("a/n", nil, zk.FlagSequence, open)
			r.Create("a/n", nil, zk.FlagSequence, open)
			r.Create("b/n", nil, zk.FlagSequence, open)
			r.Children("b")
		}},
		{"seq/ephemeral-sequential-close", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			s1 := r.S(1)
			s1.Create("q/lock-", nil, zk.FlagEphemeralSequential, open)
			r.Create("q/lock-", nil, zk.FlagEphemeralSequential, open)
			s1.Create("q/lock-", nil, zk.FlagEphemeralSequential, open)
			s1.Close()
			r.Children("q")
			r.Exists("q")
			r.Create("q/lock-", nil, zk.FlagEphemeralSequential, open)
		}},
		{"seq/cversion-many", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			var made []string
			for range 30 {
				made = append(made, r.Create("q/n", nil, zk.FlagSequence, open))
			}
			r.Exists("q")
			for i, p := range made {
				if i%3 == 0 {
					r.Delete(p, -1)
				}
			}
			r.Exists("q")
			r.Create("q/n", nil, zk.FlagSequence, open)
			r.Exists("q")
		}},
		{"seq/under-case-root", func(r *R) {
			r.Create("x", nil, zk.FlagSequence, open)
			r.Create("x", nil, zk.FlagSequence, open)
			r.Children("")
		}},
		{"seq/in-multi-counts", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Multi(
				CreateOp("q/a", nil, zk.FlagPersistent, open),
				CreateOp("q/s", nil, zk.FlagSequence, open),
				DeleteOp("q/a", -1),
				CreateOp("q/s", nil, zk.FlagSequence, open),
			)
			r.Children("q")
			r.Exists("q")
		}},
		{"seq/names-with-digits", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/0000000000", nil, zk.FlagPersistent, open)
			r.Create("q/", nil, zk.FlagSequence, open)
			r.Create("q/", nil, zk.FlagSequence, open)
			r.Children("q")
		}},
		{"seq/cversion-visible-formula", func(r *R) {
			// visible cversion = 2·stored − numChildren (§5).
			r.Create("p", nil, zk.FlagPersistent, open)
			for i := range 5 {
				r.Create(fmt.Sprintf("p/c%d", i), nil, zk.FlagPersistent, open)
				r.Exists("p")
			}
			for i := range 5 {
				r.Delete(fmt.Sprintf("p/c%d", i), -1)
				r.Exists("p")
			}
		}},
	}
}
