package keys

import "zkfdb/shared/store"

// Session returns the key of session id's record (timeout, password,
// expiry tick, owning layerd...). layerd writes it when the session is
// created, moved or refreshed; the sweeper reads it to confirm an expiry
// and clears it with the session.
func (t Tenant) Session(id int64) []byte {
	return t.space.Pack(Tuple{tenantSessions, id})
}

// Sessions returns the range of all the tenant's session records.
func (t Tenant) Sessions() store.Range {
	return t.space.Sub(tenantSessions).Range()
}

// ParseSession returns the session id in a session record's key.
func (t Tenant) ParseSession(key []byte) (int64, error) {
	tu, err := unpackAs(t.space, key, "session", tenantSessions, kindInt)
	if err != nil {
		return 0, err
	}
	return tu[1].(int64), nil
}

// LastWrite returns the key of the token and result of session id's last
// write. Every write of the session reads and rewrites it in its own
// transaction, so a transaction retried after commit_unknown_result finds
// its own token and returns the recorded result instead of applying twice.
// Only the session's own writes touch it; it is cleared with the session.
func (t Tenant) LastWrite(session int64) []byte {
	return t.space.Pack(Tuple{tenantLastWrite, session})
}

// LastWriteChunk returns the key of part i (from 1) of a last-write record
// longer than one value (FDB's 100,000 bytes: a multi of thousands of
// ops): (10, session, i). The record's first part stays in LastWrite.
func (t Tenant) LastWriteChunk(session int64, i int) []byte {
	return t.space.Pack(Tuple{tenantLastWrite, session, i})
}

// LastWriteChunks returns the range of session's LastWriteChunk keys (not
// LastWrite itself).
func (t Tenant) LastWriteChunks(session int64) store.Range {
	return t.space.Sub(tenantLastWrite, session).Range()
}

// SessionExpiry returns the key of session id's expiry tick, an 8-byte
// little-endian int64 (EncodeInt64). layerd raises it with an atomic Max
// when it refreshes the session, so two layerds refreshing one session (a
// client that moved) never conflict; the sweeper reads it to tell a due
// expiry-index entry from a stale one, and clears it with the session.
func (t Tenant) SessionExpiry(id int64) []byte {
	return t.space.Pack(Tuple{tenantSessionExpiry, id})
}
