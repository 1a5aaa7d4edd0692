package keys

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"zkfdb/shared/store"
)

// TestDescendants: the ranges of Descendants(p) hold the children-index
// entry of every descendant of p and of nothing else, siblings whose
// names extend p's ("/a-b", "/a.b", "/a\x00") included.
func TestDescendants(t *testing.T) {
	root, err := NewRoot([]byte("r/"))
	if err != nil {
		t.Fatal(err)
	}
	ten := root.Tenant(DefaultTenant)
	paths := []string{
		"/", "/a", "/a/b", "/a/b/c", "/a/bc", "/a-b", "/a-b/c", "/a.b", "/a0", "/a0/x", "/a\x00", "/a\x00/y",
		"/b", "/b/a", "/ab", "/ab/c", "/a/\xff", "/a/\xff/\x00",
	}
	in := func(k []byte, rs []store.Range) bool {
		for _, r := range rs {
			if bytes.Compare(k, r.Begin) >= 0 && bytes.Compare(k, r.End) < 0 {
				return true
			}
		}
		return false
	}
	for _, p := range paths {
		pp, err := NewPath(p)
		if err != nil {
			t.Fatal(err)
		}
		rs := ten.Descendants(pp)
		for _, q := range paths {
			if q == "/" {
				continue
			}
			qp, _ := NewPath(q)
			k, err := ten.Child(qp)
			if err != nil {
				t.Fatal(err)
			}
			want := p == "/" || strings.HasPrefix(q, p+"/")
			if got := in(k, rs); got != want {
				t.Errorf("entry of %q in Descendants(%q): %v, want %v", q, p, got, want)
			}
		}
		if in(ten.Stat(pp), rs) || in(root.Clock(), rs) {
			t.Errorf("Descendants(%q) holds keys outside the children index", p)
		}
	}
}

// TestLastWriteChunk: a long last-write record's chunks lie in
// LastWriteChunks, after LastWrite and in order, and the key is pinned
// here (the layout golden file holds the other kinds).
func TestLastWriteChunk(t *testing.T) {
	root, err := NewRoot([]byte("r/"))
	if err != nil {
		t.Fatal(err)
	}
	ten := root.Tenant(DefaultTenant)
	rg := ten.LastWriteChunks(5)
	lw := ten.LastWrite(5)
	prev := lw
	for i := 1; i <= 300; i++ {
		k := ten.LastWriteChunk(5, i)
		if bytes.Compare(k, rg.Begin) < 0 || bytes.Compare(k, rg.End) >= 0 || bytes.Compare(k, prev) <= 0 {
			t.Fatalf("chunk %d at %x: outside %x..%x or not after %x", i, k, rg.Begin, rg.End, prev)
		}
		prev = k
	}
	if bytes.Compare(lw, rg.Begin) >= 0 && bytes.Compare(lw, rg.End) < 0 {
		t.Fatal("LastWrite lies in LastWriteChunks")
	}
	if bytes.Compare(ten.LastWrite(6), rg.End) < 0 {
		t.Fatal("another session's record lies in LastWriteChunks")
	}
	const want = "722f150114150a15051501" // "r/" (1, 0) (10, 5, 1)
	if got := hex.EncodeToString(ten.LastWriteChunk(5, 1)); got != want {
		t.Fatalf("LastWriteChunk(5, 1) = %s, want %s", got, want)
	}
}
