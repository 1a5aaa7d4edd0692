package keys

import (
	"errors"
	"fmt"
	"strings"
)

// ErrKeyTooLong is returned for a path or name whose keys would exceed
// FoundationDB's 10,000-byte key limit. ZooKeeper itself has no path limit
// below its 1 MB packet, so the protocol layer maps this to its own error
// (BadArguments) rather than letting FDB fail the commit with 2102.
var ErrKeyTooLong = errors.New("keys: key would exceed the 10,000-byte limit")

// MaxPathLen is the longest znode path accepted, in bytes of its encoding:
// its length plus one per 0x00 byte (the tuple escape). With the longest
// root prefix (MaxPrefixLen) and the widest integers, the longest key
// holding a path is about 9,300 bytes, under store.MaxKeySize; the layout
// test checks every key kind at this bound.
const MaxPathLen = 9_000

// Path is a znode path whose keys are known to fit FDB's key limit. Build
// one with NewPath at the protocol edge; every key function that takes a
// Path then cannot fail. The zero Path is the empty string.
//
// keys does not check ZooKeeper's path syntax (leading "/", no empty or
// "." components, no trailing "/"): the protocol layer does, before
// building keys. Parent and Name work on any string.
type Path struct {
	s string
}

// NewPath returns p as a Path, or ErrKeyTooLong if its keys would not fit.
func NewPath(p string) (Path, error) {
	if n := len(p) + strings.Count(p, "\x00"); n > MaxPathLen {
		return Path{}, fmt.Errorf("%w: path of %d encoded bytes, at most %d", ErrKeyTooLong, n, MaxPathLen)
	}
	return Path{s: p}, nil
}

// String returns the path.
func (p Path) String() string { return p.s }

// Parent returns the path of p's parent: "/a" for "/a/b", "/" for "/a".
// The root "/" (and a path without "/") has none: ok is false.
func (p Path) Parent() (parent Path, ok bool) {
	i := strings.LastIndexByte(p.s, '/')
	switch {
	case i < 0 || p.s == "/":
		return Path{}, false
	case i == 0:
		return Path{s: "/"}, true
	}
	// A prefix of a path that fits fits too.
	return Path{s: p.s[:i]}, true
}

// Name returns the last component of p: "b" for "/a/b", "" for "/".
func (p Path) Name() string {
	return p.s[strings.LastIndexByte(p.s, '/')+1:]
}

// Ancestors returns p's strict ancestors, the root first: "/", "/a" for
// "/a/b". The root has none.
func (p Path) Ancestors() []Path {
	var out []Path
	for a, ok := p.Parent(); ok; a, ok = a.Parent() {
		out = append(out, a)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
