package difftest

import (
	"fmt"

	"github.com/go-zookeeper/zk"
)

// Identities the ACL cases use.
var (
	alice      = zk.DigestACL(zk.PermAll, "alice", "secret")
	aliceRead  = zk.DigestACL(zk.PermRead, "alice", "secret")
	bob        = zk.DigestACL(zk.PermAll, "bob", "hunter2")
	localhost  = []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}}
	otherNet   = []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "10.0.0.0/8"}}
	permsNames = map[int32]string{
		zk.PermRead: "read", zk.PermWrite: "write", zk.PermCreate: "create",
		zk.PermDelete: "delete", zk.PermAdmin: "admin",
	}
)

func worldPerms(p int32) []zk.ACL { return zk.WorldACL(p) }

// allOps runs every operation go-zookeeper has on node n (which has a
// child n/c) from session s: the ACL cases call it to see which pass.
func allOps(r *R, s *Session, n string, knownExists string) {
	s.Get(n)
	s.Children(n)
	if knownExists != "" {
		r.Known("exists-no-read", "OK", knownExists)
	}
	s.Exists(n)
	s.GetACL(n)
	s.Sync(n)
	s.Set(n, D("new"), -1)
	s.Create(n+"/d", nil, zk.FlagPersistent, open)
	s.Create(n+"/e", nil, zk.FlagEphemeral, open)
	s.Create(n+"/s-", nil, zk.FlagSequence, open)
	s.Delete(n+"/c", -1)
	s.Delete(n+"/missing", -1)
	s.Multi(CheckOp(n, -1))
	s.Multi(SetOp(n, D("m"), -1))
	s.Multi(CreateOp(n+"/m", nil, zk.FlagPersistent, open))
	s.SetACL(n, open, -1)
}

// aclCases: ACL fix-up and checks for every permission, digest, auth and
// ip schemes, getACL/setACL (ZK-SEMANTICS §4, §11).
func aclCases() []Case {
	var cs []Case
	// Each permission missing in turn, for a world-only node.
	for _, p := range []int32{zk.PermRead, zk.PermWrite, zk.PermCreate, zk.PermDelete, zk.PermAdmin} {
		known := ""
		if p == zk.PermRead {
			known = "NOAUTH"
		}
		cs = append(cs, Case{"acl/world-without-" + permsNames[p], func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, open)
			r.Create("n/c", nil, zk.FlagPersistent, open)
			r.SetACL("n", worldPerms(zk.PermAll&^p), -1)
			allOps(r, r.S(1), "n", known)
			r.Children("n")
			r.Get("n/c")
		}})
		cs = append(cs, Case{"acl/world-only-" + permsNames[p], func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, open)
			r.Create("n/c", nil, zk.FlagPersistent, open)
			r.SetACL("n", worldPerms(p), -1)
			k := "NOAUTH"
			if p == zk.PermRead {
				k = ""
			}
			allOps(r, r.S(1), "n", k)
		}})
	}
	cs = append(cs,
		Case{"acl/world-no-perms", func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, open)
			r.Create("n/c", nil, zk.FlagPersistent, open)
			r.SetACL("n", worldPerms(0), -1)
			allOps(r, r.S(1), "n", "NOAUTH")
			r.Delete("n/c", -1) // DELETE is checked on the parent
		}},
		Case{"acl/extra-perm-bits", func(r *R) {
			// Perm bits are not validated (§11).
			r.Create("n", nil, zk.FlagPersistent, worldPerms(0x7f))
			r.GetACL("n")
			r.Create("m", nil, zk.FlagPersistent, worldPerms(-1))
			r.GetACL("m")
			r.Set("m", D("x"), -1)
		}},
		Case{"acl/delete-needs-parent-delete", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/c", nil, zk.FlagPersistent, worldPerms(0))
			r.Create("q", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermDelete))
			r.Create("q/c", nil, zk.FlagPersistent, open)
			r.S(1).Delete("q/c", -1)
			r.S(1).Delete("q/missing", -1) // NOAUTH before NONODE
			r.S(1).Delete("p/c", -1)       // the node's own ACL does not matter
			r.Children("p")
		}},
		Case{"acl/create-noauth-before-nodeexists", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/c", nil, zk.FlagPersistent, open)
			r.SetACL("p", worldPerms(zk.PermAll&^zk.PermCreate), -1)
			r.Create("p/c", nil, zk.FlagPersistent, open)
			r.Create("p/missing/x", nil, zk.FlagPersistent, open)
		}},
		Case{"acl/setdata-noauth-before-badversion", func(r *R) {
			r.Create("n", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermWrite))
			r.Set("n", D("x"), 7)
			r.Set("missing", D("x"), 7)
		}},
		Case{"acl/setacl-noauth-before-badversion", func(r *R) {
			r.Create("n", nil, zk.FlagPersistent, worldPerms(zk.PermAll&^zk.PermAdmin))
			r.SetACL("n", open, 7)
			r.SetACL("missing", open, 7)
		}},
		Case{"acl/empty", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, []zk.ACL{})
			r.Create("a", nil, zk.FlagPersistent, nil)
			r.Create("missing/a", nil, zk.FlagPersistent, nil) // INVALIDACL before NONODE
			r.Create("a", nil, zk.FlagEphemeral, nil)
			r.CreateContainer("a", nil, nil)
			r.Exists("a")
		}},
		Case{"acl/world-other-id", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "someone"}})
			r.Create("b", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: ""}})
			r.Create("c", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "anyone"}})
			r.GetACL("c")
		}},
		Case{"acl/unknown-scheme", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "foo", ID: "bar"}})
			r.Create("b", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "super", ID: "x"}})
			r.Create("c", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "", ID: ""}})
			r.Create("d", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: "CN=x"}})
			r.Create("e", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "sasl", ID: "x"}})
			r.Children("")
		}},
		Case{"acl/duplicates-removed", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, []zk.ACL{open[0], open[0], readOnly[0], open[0]})
			r.GetACL("a")
			r.Create("b", nil, zk.FlagPersistent, append(append([]zk.ACL{}, alice...), alice[0], aliceRead[0], open[0]))
			r.GetACL("b")
		}},
		Case{"acl/order-kept", func(r *R) {
			acl := []zk.ACL{readOnly[0], alice[0], localhost[0], bob[0]}
			r.Create("a", nil, zk.FlagPersistent, acl)
			r.GetACL("a")
			r.SetACL("a", []zk.ACL{bob[0], open[0], alice[0]}, -1)
			r.GetACL("a")
		}},
		Case{"acl/digest-ids", func(r *R) {
			mk := func(id string) []zk.ACL { return []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: id}} }
			r.Create("a", nil, zk.FlagPersistent, mk("user:hash"))
			r.Create("b", nil, zk.FlagPersistent, mk("nocolon"))
			r.Create("c", nil, zk.FlagPersistent, mk("a:b:c"))
			r.Create("d", nil, zk.FlagPersistent, mk(":"))
			r.Create("e", nil, zk.FlagPersistent, mk(""))
			r.Create("f", nil, zk.FlagPersistent, mk("user:"))
			r.Children("")
		}},
		Case{"acl/ip-ids", func(r *R) {
			mk := func(id string) []zk.ACL { return []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: id}} }
			for i, id := range []string{"127.0.0.1", "10.0.0.0/8", "127.0.0.1/32", "0.0.0.0/0", "300.1.1.1", "1.2.3.4/33", "abc", "", "1.2.3", "127.0.0.1/"} {
				r.Create(fmt.Sprintf("n%d", i), nil, zk.FlagPersistent, mk(id))
			}
			r.Children("")
		}},
		Case{"acl/ip-match", func(r *R) {
			r.Create("local", D("l"), zk.FlagPersistent, localhost)
			r.Create("local/c", nil, zk.FlagPersistent, open)
			r.Create("other", D("o"), zk.FlagPersistent, otherNet)
			r.Create("other/c", nil, zk.FlagPersistent, open)
			r.Create("any", D("a"), zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "0.0.0.0/0"}})
			allOps(r, r.S(1), "local", "")
			allOps(r, r.S(1), "other", "NOAUTH")
			r.S(1).Get("any")
		}},
		Case{"acl/auth-without-identity", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, zk.AuthACL(zk.PermAll))
			r.AddAuth("ip", "127.0.0.1") // ip is not an authenticated scheme
			r.Create("a", nil, zk.FlagPersistent, zk.AuthACL(zk.PermAll))
			r.SetACL("", zk.AuthACL(zk.PermAll), -1)
		}},
		Case{"acl/auth-expands-to-digest", func(r *R) {
			r.AddAuth("digest", "alice:secret")
			r.Create("a", D("x"), zk.FlagPersistent, zk.AuthACL(zk.PermAll))
			r.GetACL("a")
			r.AddAuth("digest", "bob:hunter2")
			r.Create("b", nil, zk.FlagPersistent, zk.AuthACL(zk.PermRead|zk.PermWrite))
			r.GetACL("b")
			r.Create("c", nil, zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "auth", ID: "ignored"}, open[0]})
			r.GetACL("c")
			r.S(1).Get("a")
			r.S(1).GetACL("a")
		}},
		Case{"acl/auth-dedup", func(r *R) {
			r.AddAuth("digest", "alice:secret")
			r.AddAuth("digest", "alice:secret")
			r.Create("a", nil, zk.FlagPersistent, zk.AuthACL(zk.PermAll))
			r.GetACL("a")
			r.Create("b", nil, zk.FlagPersistent, append(zk.AuthACL(zk.PermAll), alice...))
			r.GetACL("b")
		}},
		Case{"acl/digest-access", func(r *R) {
			r.Create("n", D("secret"), zk.FlagPersistent, open)
			r.Create("n/c", nil, zk.FlagPersistent, open)
			r.SetACL("n", alice, -1)
			s1, s2, s3 := r.S(1), r.S(2), r.S(3)
			s1.AddAuth("digest", "alice:secret")
			s2.AddAuth("digest", "bob:hunter2")
			s3.AddAuth("digest", "alice:wrong")
			allOps(r, s2, "n", "NOAUTH")
			allOps(r, s3, "n", "NOAUTH")
			allOps(r, r.Session, "n", "NOAUTH")
			allOps(r, s1, "n", "")
		}},
		Case{"acl/digest-read-only", func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, open)
			r.Create("n/c", nil, zk.FlagPersistent, open)
			r.SetACL("n", aliceRead, -1)
			r.S(1).AddAuth("digest", "alice:secret")
			allOps(r, r.S(1), "n", "")
		}},
		Case{"acl/digest-several-identities", func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, bob)
			r.AddAuth("digest", "alice:secret")
			r.Get("n")
			r.AddAuth("digest", "bob:hunter2")
			r.Get("n")
			r.GetACL("n")
		}},
		Case{"acl/getacl-hides-digest-without-admin", func(r *R) {
			acl := []zk.ACL{{Perms: zk.PermRead, Scheme: "world", ID: "anyone"}, alice[0], bob[0]}
			r.Create("n", nil, zk.FlagPersistent, acl)
			r.GetACL("n")
			r.S(1).AddAuth("digest", "alice:secret")
			r.S(1).GetACL("n")
		}},
		Case{"acl/getacl-admin-only", func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, worldPerms(zk.PermAdmin))
			r.GetACL("n")
			r.Get("n")
			r.Create("m", D("d"), zk.FlagPersistent, worldPerms(zk.PermWrite))
			r.GetACL("m")
			r.Set("m", D("e"), -1)
		}},
		Case{"acl/addauth-digest-odd", func(r *R) {
			// The digest provider accepts any text.
			r.AddAuth("digest", "nocolon")
			r.AddAuth("digest", "a:b:c")
			r.AddAuth("digest", ":")
			r.Create("a", nil, zk.FlagPersistent, zk.AuthACL(zk.PermAll))
			r.GetACL("a")
		}},
		Case{"acl/addauth-ip", func(r *R) {
			r.AddAuth("ip", "10.1.2.3")
			r.Create("a", nil, zk.FlagPersistent, otherNet)
			r.Get("a")
		}},
		Case{"acl/addauth-unknown-scheme", func(r *R) {
			// AUTHFAILED, then ZooKeeper closes the connection; the client
			// reconnects to the same session. Nothing else runs on s1.
			r.S(1).AddAuth("nosuchscheme", "x")
		}},
		Case{"acl/setacl-aversion", func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, open)
			r.SetACL("n", readOnly, 0)
			r.SetACL("n", open, 0)
			r.SetACL("n", open, 1)
			r.SetACL("n", open, -1)
			r.Get("n")
			r.Set("n", D("e"), 0) // version, not aversion
			r.Exists("n")
		}},
		Case{"acl/setacl-invalid", func(r *R) {
			r.Create("n", nil, zk.FlagPersistent, open)
			r.SetACL("n", nil, -1)
			r.SetACL("n", []zk.ACL{}, -1)
			r.SetACL("missing", nil, -1) // INVALIDACL before NONODE
			r.SetACL("missing", open, -1)
			r.SetACL("n", []zk.ACL{{Perms: zk.PermAll, Scheme: "world", ID: "x"}}, -1)
			r.SetACL("n", zk.AuthACL(zk.PermAll), -1)
			r.GetACL("n")
		}},
		Case{"acl/setacl-stat", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/n", D("d"), zk.FlagPersistent, open)
			r.Exists("p")
			r.SetACL("p/n", readOnly, -1)
			r.Exists("p/n") // aversion +1 only; mzxid unchanged (§5)
			r.Exists("p")
			r.SetACL("p/n", readOnly, -1)
			r.GetACL("p/n")
		}},
		Case{"acl/setacl-lock-out", func(r *R) {
			r.Create("n", D("d"), zk.FlagPersistent, open)
			r.SetACL("n", worldPerms(zk.PermRead), -1)
			r.SetACL("n", open, -1)
			r.Get("n")
		}},
		Case{"acl/ephemeral-with-acl", func(r *R) {
			r.Create("e", D("d"), zk.FlagEphemeral, worldPerms(0))
			r.S(1).Get("e")
			r.S(1).Delete("e", -1)
			r.Exists("e")
		}},
		Case{"acl/root-acl", func(r *R) {
			r.GetACL("/")
			r.GetACL("/zookeeper")
			r.GetACL("/zookeeper/config")
			r.GetACL("/zookeeper/quota")
		}},
	)
	return cs
}
