package keys

import (
	"errors"
	"fmt"

	"zkfdb/shared/store"
)

// ErrBadPrefix is returned by NewRoot for a prefix that is too long or
// lies in FDB's system keyspace.
var ErrBadPrefix = errors.New("keys: bad root prefix")

// MaxPrefixLen bounds a Root's prefix, so that MaxPathLen holds for every
// root.
const MaxPrefixLen = 256

// LayoutVersion is the version of the layout this package builds, stored
// under Root.Layout. Bump it with any change that needs a migration
// (changing Shards, ChunkSize, a subspace code or an encoding).
const LayoutVersion = 1

// Sections of a root: the first tuple element after the root's prefix.
const (
	sectionSystem  = 0 // (0, code, ...): one byte, 0x14
	sectionTenants = 1 // (1, tenant id, code, ...)
)

// Subspace codes in the system section: the second tuple element. They
// are part of the stored layout; never reuse or renumber one.
const (
	sysClock        = 0
	sysLayout       = 1
	sysTenantNames  = 2
	sysLastTenantID = 3
	sysExpiry       = 4
	sysTTL          = 5
	sysContainers   = 6
	sysDue          = 7
	sysClockStamp   = 8
)

// Root is the keyspace of one zkfdb installation: a prefix (empty in
// production) under which every key of the layout lies, so that tests,
// or several installations sharing one FDB cluster, stay apart. The zero
// Root is the production root. A Root is immutable and safe for concurrent
// use.
//
// Below the prefix, everything is a tuple. The system section (0, ...)
// holds the clock, the tenants' directory and the timer indices the
// sweepers share; the tenant section (1, id, ...) holds one Tenant per id.
type Root struct {
	prefix []byte
}

// NewRoot returns the root with the given prefix (copied). The prefix may
// be any bytes up to MaxPrefixLen that do not start with 0xFF (FDB's system
// keyspace). Give each test its own prefix; use the zero Root in
// production.
func NewRoot(prefix []byte) (Root, error) {
	if len(prefix) > MaxPrefixLen {
		return Root{}, fmt.Errorf("%w: %d bytes, at most %d", ErrBadPrefix, len(prefix), MaxPrefixLen)
	}
	if len(prefix) > 0 && prefix[0] == store.SystemPrefix {
		return Root{}, fmt.Errorf("%w: %x is in the system keyspace", ErrBadPrefix, prefix)
	}
	return Root{prefix: append([]byte(nil), prefix...)}, nil
}

// Prefix returns a copy of the root's prefix.
func (r Root) Prefix() []byte {
	return append([]byte(nil), r.prefix...)
}

// Range returns every key of the installation (to clear a test's keys).
func (r Root) Range() store.Range {
	return store.PrefixRange(r.prefix)
}

// Layout returns the key that holds the installation's LayoutVersion as an
// 8-byte little-endian integer (EncodeInt64). The first daemon to start
// writes it if absent; a daemon that finds another version refuses to
// start, since it would misread the keys.
func (r Root) Layout() []byte {
	return r.system().Pack(Tuple{sysLayout})
}

// system is the system section: clock, directory, timer indices.
func (r Root) system() Subspace {
	return NewSubspace(r.prefix).Sub(sectionSystem)
}
