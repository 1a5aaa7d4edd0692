package difftest

import (
	"github.com/go-zookeeper/zk"
)

// watchCases: one-shot data, exist and child watches set by getData,
// exists and getChildren2, which writes trigger them, in which order, and
// the READ filter (ZK-SEMANTICS §9). go-zookeeper has no addWatch,
// removeWatches or checkWatches, and does not show the notification zxid.
func watchCases() []Case {
	return []Case{
		{"watch/data-on-set", func(r *R) {
			r.Create("a", D("1"), zk.FlagPersistent, open)
			r.GetW("a")
			r.Set("a", D("2"), -1)
			r.Events()
			r.Set("a", D("3"), -1) // one-shot
			r.Events()
		}},
		{"watch/data-on-delete", func(r *R) {
			r.Create("a", D("1"), zk.FlagPersistent, open)
			r.GetW("a")
			r.Delete("a", -1)
			r.Events()
		}},
		{"watch/exist-on-create", func(r *R) {
			r.ExistsW("a")
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Events()
			r.Delete("a", -1)
			r.Events()
		}},
		{"watch/exists-on-existing", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.ExistsW("a")
			r.Set("a", D("x"), -1)
			r.Events()
			r.ExistsW("a")
			r.Delete("a", -1)
			r.Events()
		}},
		{"watch/child-on-create-and-delete", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.ChildrenW("p")
			r.Create("p/a", nil, zk.FlagPersistent, open)
			r.Events()
			r.ChildrenW("p")
			r.Delete("p/a", -1)
			r.Events()
		}},
		{"watch/child-not-on-data-or-grandchild", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/a", nil, zk.FlagPersistent, open)
			r.ChildrenW("p")
			r.Set("p/a", D("x"), -1)
			r.Create("p/a/b", nil, zk.FlagPersistent, open)
			r.Set("p", D("x"), -1)
			r.Events()
			r.Delete("p/a/b", -1)
			r.Create("p/c", nil, zk.FlagPersistent, open)
			r.Events()
		}},
		{"watch/setacl-triggers-nothing", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.GetW("a")
			r.ExistsW("a")
			r.ChildrenW("a")
			r.SetACL("a", readOnly, -1)
			r.Events()
			r.SetACL("a", open, -1) // READ still granted: the watches are still set
			r.Set("a", D("x"), -1)
			r.Events()
		}},
		{"watch/delete-one-event-per-connection", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/a", nil, zk.FlagPersistent, open)
			r.GetW("p/a")
			r.ExistsW("p/a")
			r.ChildrenW("p/a")
			r.ChildrenW("p")
			r.Delete("p/a", -1)
			r.Events()
		}},
		{"watch/create-order", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.ChildrenW("p")
			r.ExistsW("p/a")
			r.Create("p/a", nil, zk.FlagPersistent, open)
			r.Events()
		}},
		{"watch/other-session-writes", func(r *R) {
			r.Create("a", D("1"), zk.FlagPersistent, open)
			s1 := r.S(1)
			s1.GetW("a")
			s1.ChildrenW("")
			r.Set("a", D("2"), -1)
			r.Create("b", nil, zk.FlagPersistent, open)
			s1.Events()
			r.Events()
		}},
		{"watch/many-sessions", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			for i := 1; i <= 3; i++ {
				r.S(i).GetW("a")
			}
			r.Set("a", D("x"), -1)
			for i := 1; i <= 3; i++ {
				r.S(i).Events()
			}
		}},
		{"watch/failed-read-sets-none", func(r *R) {
			r.GetW("a")
			r.ChildrenW("a")
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Events()
		}},
		{"watch/failed-write-triggers-none", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.GetW("a")
			r.ChildrenW("a")
			r.Set("a", D("x"), 9)
			r.Delete("a", -1)
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.Multi(SetOp("a", D("y"), 0), CheckOp("a", 9))
			r.Events()
		}},
		{"watch/multi-order", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/x", nil, zk.FlagPersistent, open)
			r.ExistsW("p/a")
			r.GetW("p/x")
			r.ChildrenW("p")
			r.ExistsW("p/b")
			r.Multi(
				CreateOp("p/b", nil, zk.FlagPersistent, open),
				SetOp("p/x", D("1"), -1),
				CreateOp("p/a", nil, zk.FlagPersistent, open),
			)
			r.Events()
		}},
		{"watch/ephemerals-on-close", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			s1 := r.S(1)
			s1.Create("p/e1", nil, zk.FlagEphemeral, open)
			s1.Create("p/e2", nil, zk.FlagEphemeral, open)
			r.ExistsW("p/e1")
			r.GetW("p/e2")
			r.ChildrenW("p")
			s1.Close()
			r.EventsSorted()
			r.Children("p")
		}},
		{"watch/sequential-create", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.ChildrenW("q")
			r.Create("q/n-", nil, zk.FlagSequence, open)
			r.Events()
			r.ExistsW("q/n-0000000001")
			r.Create("q/n-", nil, zk.FlagSequence, open)
			r.Events()
		}},
		{"watch/case-root", func(r *R) {
			r.GetW("")
			r.ChildrenW("")
			r.Set("", D("r"), -1)
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Events()
		}},
		{"watch/same-path-twice", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.GetW("a")
			r.GetW("a")
			r.ExistsW("a")
			r.Set("a", D("x"), -1)
			r.Events()
		}},
		{"watch/acl-filter-created", func(r *R) {
			// An event goes only to connections with READ on the node
			// (backported to Debian's 3.8.0, §15).
			s1 := r.S(1)
			s1.ExistsW("secret")
			s1.ExistsW("public")
			r.Create("secret", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermRead))
			r.Create("public", nil, zk.FlagPersistent, open)
			s1.Events()
		}},
		{"watch/acl-filter-data", func(r *R) {
			s1 := r.S(1)
			r.Create("a", nil, zk.FlagPersistent, open)
			s1.GetW("a")
			r.SetACL("a", worldPerms(zk.PermAll&^zk.PermRead), -1)
			r.Set("a", D("x"), -1)
			s1.Events()
			r.SetACL("a", open, -1)
			r.Set("a", D("y"), -1) // the watch was used up by the filtered event
			s1.Events()
		}},
		{"watch/acl-filter-children", func(r *R) {
			s1 := r.S(1)
			r.Create("p", nil, zk.FlagPersistent, open)
			s1.ChildrenW("p")
			r.SetACL("p", worldPerms(zk.PermAll&^zk.PermRead), -1)
			r.Create("p/a", D("x"), zk.FlagPersistent, open)
			s1.Events()
		}},
		{"watch/acl-filter-deleted", func(r *R) {
			s1 := r.S(1)
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("b", nil, zk.FlagPersistent, open)
			s1.ExistsW("a")
			s1.ExistsW("b")
			r.SetACL("a", worldPerms(zk.PermAll&^zk.PermRead), -1)
			r.Delete("a", -1)
			r.Delete("b", -1)
			s1.Events()
		}},
		{"watch/acl-filter-digest", func(r *R) {
			s1, s2 := r.S(1), r.S(2)
			s1.AddAuth("digest", "alice:secret")
			s1.ExistsW("n")
			s2.ExistsW("n")
			r.Create("n", nil, zk.FlagPersistent, alice)
			s1.Events()
			s2.Events()
		}},
		{"watch/exists-watch-no-read", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermRead))
			s1 := r.S(1)
			r.Known("exists-no-read", "OK", "NOAUTH")
			s1.ExistsW("a")
			r.SetACL("a", open, -1)
			r.Set("a", D("x"), -1)
			// With 3.8 the exists set a watch; with 3.9 the NOAUTH did not.
			// The event count differs, so it is not recorded; the data is.
			s1.Get("a")
		}},
		{"watch/reregister-after-fire", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			for i := range 3 {
				r.GetW("a")
				r.Set("a", D(string(rune('0'+i))), -1)
				r.Events()
			}
		}},
		{"watch/ephemeral-owner-delete", func(r *R) {
			s1 := r.S(1)
			s1.Create("e", nil, zk.FlagEphemeral, open)
			r.GetW("e")
			s1.Delete("e", -1)
			r.Events()
			s1.Events()
		}},
	}
}
