package keys

import (
	"errors"

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
	return t.space.Pack(Tuple{tenantChildren, parent.s, p.Name()}), nil
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
