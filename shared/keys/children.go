package keys

import (
	"bytes"
	"errors"
	"fmt"

	"zkfdb/shared/store"
)

// ErrNoParent is returned by Child for the root, which is nobody's child.
var ErrNoParent = errors.New("keys: the root has no parent")

// The children index lists each znode under its parent:
//
//	(3, parent path, child name) → empty
//
// so getChildren is one range read of Children(parent) that returns the
// names in byte order and reads neither grandchildren nor any data. The
// value is empty for now; a later layout may put a small summary there
// (never the child's data). create and delete write the entry in the same
// transaction as the child's stat.

// Child returns the index entry that lists p among its parent's children.
// It fails with ErrNoParent for the root.
func (t Tenant) Child(p Path) ([]byte, error) {
	parent, ok := p.Parent()
	if !ok {
		return nil, ErrNoParent
	}
	name := p.Name()
	return t.space.build(intRoom + strRoom(parent.s) + strRoom(name)).int(tenantChildren).str(parent.s).str(name).b, nil
}

// Children returns the range of the index entries of parent's children.
func (t Tenant) Children(parent Path) store.Range {
	return t.space.Sub(tenantChildren, parent.s).Range()
}

// ParseChild returns the child's name in a children index key.
func (t Tenant) ParseChild(key []byte) (string, error) {
	tu, err := unpackAs(t.space, key, "child", tenantChildren, kindString, kindString)
	if err != nil {
		return "", err
	}
	return tu[2].(string), nil
}

// ChildNames returns a parser of parent's children index keys (the keys
// of Children(parent)) into child names. It decodes only the name, after
// a prefix computed once, for getChildren of many children.
func (t Tenant) ChildNames(parent Path) func(key []byte) (string, error) {
	prefix := t.space.Pack(Tuple{tenantChildren, parent.s})
	return func(key []byte) (string, error) {
		if !bytes.HasPrefix(key, prefix) || len(key) == len(prefix) || key[len(prefix)] != codeString {
			return "", fmt.Errorf("%w: not a child of %q: %x", ErrBadKey, parent.s, key)
		}
		rest := key[len(prefix):]
		d := decoder{b: rest, pos: 1}
		name, err := d.bytes(0)
		if err != nil || d.pos != len(rest) {
			return "", fmt.Errorf("%w: child of %q: %x", ErrBadKey, parent.s, key)
		}
		return string(name), nil
	}
}

// Descendants returns the ranges that hold the index entries of all of
// p's descendants, one entry per descendant, so that getAllChildrenNumber
// counts keys without reading any node: the whole index for the root;
// otherwise p's children, then the entries whose parent's path starts
// with p+"/". Encoded, those paths lie between p+"/" and p+"0" ('0'
// follows '/' in bytes, and the tuple escape keeps byte order and
// prefixes), each without its terminating 0x00.
func (t Tenant) Descendants(p Path) []store.Range {
	if p.s == "/" {
		return []store.Range{t.space.Sub(tenantChildren).Range()}
	}
	open := func(s string) []byte {
		k := t.space.Pack(Tuple{tenantChildren, s})
		return k[:len(k)-1]
	}
	return []store.Range{t.Children(p), {Begin: open(p.s + "/"), End: open(p.s + "0")}}
}
