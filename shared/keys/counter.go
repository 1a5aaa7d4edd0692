package keys

import (
	"strconv"

	"zkfdb/shared/store"
)

// Counter names a per-tenant usage counter. Its value is stored in keys:
// never renumber one.
type Counter int

const (
	CountZnodes   Counter = 0 // znodes of the tenant
	CountBytes    Counter = 1 // bytes of znode data
	CountSessions Counter = 2 // open sessions
	CountWatches  Counter = 3 // active watches
	// CountRecursiveWatches counts persistent recursive watches: every
	// write reads it (serializably) and looks for recursive watchers on
	// its node's ancestors only when it is not zero, so that trees
	// without recursive watches pay one point read, not one per level.
	CountRecursiveWatches Counter = 4
)

func (c Counter) String() string {
	switch c {
	case CountZnodes:
		return "znodes"
	case CountBytes:
		return "bytes"
	case CountSessions:
		return "sessions"
	case CountWatches:
		return "watches"
	case CountRecursiveWatches:
		return "recursive watches"
	}
	return "counter(" + strconv.Itoa(int(c)) + ")"
}

// Counter returns the key of one of the tenant's usage counters, an
// 8-byte little-endian int64 (EncodeInt64; absent is 0). Every
// transaction that changes the usage adjusts it with an atomic Add of the
// delta, which needs no read and conflicts with nothing; quota checks and
// metrics read it (by snapshot, unless the check must be exact). The
// limits themselves are in the tenant's Config.
func (t Tenant) Counter(c Counter) []byte {
	return t.space.Pack(Tuple{tenantCounters, int(c)})
}

// Counters returns the range of all the tenant's counters.
func (t Tenant) Counters() store.Range {
	return t.space.Sub(tenantCounters).Range()
}

// ParseCounter returns which counter a key from Counters is.
func (t Tenant) ParseCounter(key []byte) (Counter, error) {
	tu, err := unpackAs(t.space, key, "counter", tenantCounters, kindInt)
	if err != nil {
		return 0, err
	}
	return Counter(tu[1].(int64)), nil
}
