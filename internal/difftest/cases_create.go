package difftest

import (
	"strings"

	"github.com/go-zookeeper/zk"
)

// createCases: create (1) in every mode, its validation order and Stat
// effects (ZK-SEMANTICS §4, §5, §7).
func createCases() []Case {
	cs := []Case{
		{"create/persistent", func(r *R) {
			r.Create("a", D("x"), zk.FlagPersistent, open)
			r.Get("a")
			r.Exists("")
			r.Children("")
		}},
		{"create/null-data", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Get("a")
		}},
		{"create/empty-data", func(r *R) {
			r.Create("a", D(""), zk.FlagPersistent, open)
			r.Get("a")
		}},
		{"create/binary-data", func(r *R) {
			r.Create("a", []byte{0, 1, 2, 0xff, 0xfe, 0x80}, zk.FlagPersistent, open)
			r.Get("a")
		}},
		{"create/exists", func(r *R) {
			r.Create("a", D("1"), zk.FlagPersistent, open)
			r.Create("a", D("2"), zk.FlagPersistent, open)
			r.Get("a")
		}},
		{"create/exists-ephemeral", func(r *R) {
			r.Create("a", D("1"), zk.FlagEphemeral, open)
			r.Create("a", D("2"), zk.FlagPersistent, open)
			r.Create("a", D("2"), zk.FlagEphemeral, open)
		}},
		{"create/no-parent", func(r *R) {
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.Create("a/b/c", nil, zk.FlagPersistent, open)
			r.Exists("a")
		}},
		{"create/no-parent-sequential", func(r *R) {
			r.Create("a/b", nil, zk.FlagSequence, open)
			r.Create("a/", nil, zk.FlagSequence, open)
		}},
		{"create/parent-stat", func(r *R) {
			r.Create("p", D("parent"), zk.FlagPersistent, open)
			r.Get("p")
			r.Create("p/a", nil, zk.FlagPersistent, open)
			r.Get("p")
			r.Create("p/b", nil, zk.FlagPersistent, open)
			r.Get("p")
			r.Exists("p/b")
			r.Children("p")
		}},
		{"create/grandparent-unchanged", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("a/b", nil, zk.FlagPersistent, open)
			r.Exists("")
			r.Create("a/b/c", nil, zk.FlagPersistent, open)
			r.Exists("")
			r.Exists("a")
			r.Exists("a/b")
		}},
		{"create/ephemeral", func(r *R) {
			r.Create("e", D("eph"), zk.FlagEphemeral, open)
			r.Get("e")
			r.S(1).Get("e")
			r.Children("")
		}},
		{"create/ephemeral-child-refused", func(r *R) {
			r.Create("e", nil, zk.FlagEphemeral, open)
			r.Create("e/c", nil, zk.FlagPersistent, open)
			r.Create("e/c", nil, zk.FlagEphemeral, open)
			r.Create("e/c", nil, zk.FlagSequence, open)
			r.S(1).Create("e/c", nil, zk.FlagPersistent, open)
			r.Exists("e")
		}},
		{"create/ephemeral-child-bad-acl", func(r *R) {
			// The ACL is checked (step 6) before the parent (7, 12).
			r.Create("e", nil, zk.FlagEphemeral, open)
			r.Create("e/c", nil, zk.FlagEphemeral, nil)
			r.Create("e/c", nil, zk.FlagEphemeral, []zk.ACL{})
		}},
		{"create/ephemeral-sequential", func(r *R) {
			r.Create("q", nil, zk.FlagPersistent, open)
			r.Create("q/n-", D("1"), zk.FlagEphemeralSequential, open)
			r.Create("q/n-", D("2"), zk.FlagEphemeralSequential, open)
			r.S(1).Create("q/n-", D("3"), zk.FlagEphemeralSequential, open)
			r.Children("q")
			r.Get("q/n-0000000002")
		}},
		{"create/ephemeral-gone-on-close", func(r *R) {
			s1 := r.S(1)
			s1.Create("e", nil, zk.FlagEphemeral, open)
			s1.Create("es", nil, zk.FlagEphemeralSequential, open)
			r.Exists("e")
			r.Exists("")
			s1.Close()
			r.Exists("e")
			r.Children("")
			r.Exists("")
		}},
		{"create/container-flag-on-create-is-persistent", func(r *R) {
			// create (1) with flag 4 makes a plain persistent node (§7).
			r.Create("c", nil, zk.FlagContainer, open)
			r.Exists("c")
			r.Create("c/x", nil, zk.FlagPersistent, open)
			r.Delete("c/x", -1)
			r.Exists("c")
		}},
		{"create/root-exists", func(r *R) {
			r.Create("/", nil, zk.FlagPersistent, open)
			r.Create("/", nil, zk.FlagSequence, open)
			r.Create("/zookeeper", nil, zk.FlagPersistent, open)
			r.Create("", nil, zk.FlagPersistent, open)
		}},
		{"create/sequential-trailing-slash", func(r *R) {
			r.Create("a", nil, zk.FlagPersistent, open)
			r.Create("a/", nil, zk.FlagSequence, open)
			r.Create("a/", nil, zk.FlagSequence, open)
			r.Children("a")
		}},
		{"create/unicode-names", func(r *R) {
			r.Create("ünïcødé", D("ü"), zk.FlagPersistent, open)
			r.Create("日本語", nil, zk.FlagPersistent, open)
			r.Create("sp ace", nil, zk.FlagPersistent, open)
			r.Create("colon:semi;comma,", nil, zk.FlagPersistent, open)
			r.Create("…", nil, zk.FlagPersistent, open)
			r.Children("")
			r.Get("日本語")
		}},
		{"create/dot-names", func(r *R) {
			// "." and ".." are refused only as whole segments.
			r.Create(".a", nil, zk.FlagPersistent, open)
			r.Create("a.", nil, zk.FlagPersistent, open)
			r.Create("...", nil, zk.FlagPersistent, open)
			r.Create("zookeeper", nil, zk.FlagPersistent, open)
			r.Children("")
		}},
		{"create/long-name", func(r *R) {
			name := strings.Repeat("n", 1000)
			r.Create(name, nil, zk.FlagPersistent, open)
			r.Exists(name)
			r.Create(name+"/"+name, nil, zk.FlagPersistent, open)
			r.Children(name)
		}},
		{"create/then-read-all", func(r *R) {
			r.Create("a", D("data"), zk.FlagPersistent, zk.WorldACL(zk.PermRead|zk.PermWrite))
			r.Get("a")
			r.Exists("a")
			r.GetACL("a")
			r.Children("a")
			r.Sync("a")
		}},
		{"create/after-delete", func(r *R) {
			r.Create("a", D("1"), zk.FlagPersistent, open)
			r.Set("a", D("2"), -1)
			r.Delete("a", -1)
			r.Create("a", D("3"), zk.FlagPersistent, open)
			r.Get("a")
			r.Exists("")
		}},
		{"create/many-modes-one-parent", func(r *R) {
			r.Create("p", nil, zk.FlagPersistent, open)
			r.Create("p/persistent", nil, zk.FlagPersistent, open)
			r.Create("p/ephemeral", nil, zk.FlagEphemeral, open)
			r.Create("p/seq-", nil, zk.FlagSequence, open)
			r.Create("p/eseq-", nil, zk.FlagEphemeralSequential, open)
			r.CreateContainer("p/container", nil, open)
			r.Children("p")
			r.Exists("p")
		}},
	}

	// Paths go-zookeeper lets through but ZooKeeper's validatePath refuses
	// (§4): U+D800–F8FF (so private use and, as UTF-16 surrogates, every
	// non-BMP character) and U+FFFF.
	for _, bad := range []struct{ name, path string }{
		{"private-use", "a\ue000"},
		{"private-use-end", "\uefff"},
		{"uffff", "x\uffff"},
		{"non-bmp", "emoji-\U0001F600"},
		{"non-bmp-deep", "ok/\U00010000"},
		{"no-parent", "missing/\ue000"}, // the parent is checked first: NONODE
	} {
		cs = append(cs, Case{"create/bad-path-" + bad.name, func(r *R) {
			r.Create("ok", nil, zk.FlagPersistent, open)
			r.Create(bad.path, nil, zk.FlagPersistent, open)
			r.Create(bad.path, nil, zk.FlagSequence, open)
			r.Create(bad.path, nil, zk.FlagEphemeral, open)
			// Reads do not validate: the node is just missing.
			r.Exists(bad.path)
			r.Get(bad.path)
			r.Children("")
		}})
	}
	return cs
}
