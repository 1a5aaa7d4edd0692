package keys

import "zkfdb/shared/store"

// Ephemeral returns the entry that records p as an ephemeral node of
// session: (5, session, path) → empty. create writes it with the node,
// delete clears it; when the session closes or expires, one range read of
// Ephemerals finds the nodes to delete.
func (t Tenant) Ephemeral(session int64, p Path) []byte {
	return t.space.Pack(Tuple{tenantEphemerals, session, p.s})
}

// Ephemerals returns the range of session's ephemeral entries.
func (t Tenant) Ephemerals(session int64) store.Range {
	return t.space.Sub(tenantEphemerals, session).Range()
}

// AllEphemerals returns the range of every session's ephemeral entries:
// one key per ephemeral node of the tenant, which counting them reads.
func (t Tenant) AllEphemerals() store.Range {
	return t.space.Sub(tenantEphemerals).Range()
}

// ParseEphemeral returns the session and path in an ephemeral entry's key.
func (t Tenant) ParseEphemeral(key []byte) (session int64, p Path, err error) {
	tu, err := unpackAs(t.space, key, "ephemeral", tenantEphemerals, kindInt, kindString)
	if err != nil {
		return 0, Path{}, err
	}
	if p, err = NewPath(tu[2].(string)); err != nil {
		return 0, Path{}, err
	}
	return tu[1].(int64), p, nil
}
