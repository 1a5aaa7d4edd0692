package keys

import (
	"fmt"
	"strings"

	"zkfdb/shared/store"
)

// DefaultTenant is the id of the tenant that exists in every installation
// without a directory entry: connections that no listener or TLS identity
// assigns elsewhere use it. Allocated ids start at 1.
const DefaultTenant int64 = 0

// MaxTenantNameLen bounds a tenant name, in encoded bytes (length plus one
// per 0x00 byte).
const MaxTenantNameLen = 1_000

// Subspace codes in a tenant: the element after the tenant id. They are
// part of the stored layout; never reuse or renumber one.
const (
	tenantConfig         = 0
	tenantCounters       = 1
	tenantNodes          = 2
	tenantChildren       = 3
	tenantSessions       = 4
	tenantEphemerals     = 5
	tenantWatches        = 6
	tenantSessionWatches = 7
	tenantEvents         = 8
	tenantNotify         = 9
	tenantLastWrite      = 10
	tenantSessionExpiry  = 11
)

// Tenant is one tenant's isolated keyspace: every znode, session, watch and
// counter of the tenant lies in its root prefix (root prefix, 1, id), so no
// key of one tenant is a key of another, and clearing Range removes a
// tenant's data (its directory entry and timer entries aside). A Tenant is
// immutable and safe for concurrent use.
type Tenant struct {
	root  Root
	id    int64
	space Subspace // (1, id)
}

// Tenant returns the keyspace of the tenant with the given id. Ids come
// from the directory (TenantName); DefaultTenant needs none.
func (r Root) Tenant(id int64) Tenant {
	return Tenant{root: r, id: id, space: NewSubspace(r.prefix).Sub(sectionTenants, id)}
}

// ID returns the tenant's id.
func (t Tenant) ID() int64 { return t.id }

// Root returns the installation the tenant belongs to.
func (t Tenant) Root() Root { return t.root }

// Prefix returns a copy of the tenant's root prefix: every key of the
// tenant starts with it.
func (t Tenant) Prefix() []byte { return t.space.Bytes() }

// Range returns every key of the tenant.
func (t Tenant) Range() store.Range { return t.space.Range() }

// Config returns the key of the tenant's settings record (its name, quota
// limits), written by whoever creates or reconfigures the tenant and read
// by layerd when it accepts a connection for the tenant.
func (t Tenant) Config() []byte {
	return t.space.Pack(Tuple{tenantConfig})
}

// TenantName returns the tenants' directory entry for name: its value is
// the tenant's id (EncodeInt64). Whoever creates a tenant allocates the id
// from LastTenantID and writes this entry and the tenant's Config in one
// transaction; layerd reads it to map a listener's or TLS identity's
// tenant name to a Tenant. It fails with ErrKeyTooLong for a name longer
// than MaxTenantNameLen.
func (r Root) TenantName(name string) ([]byte, error) {
	if n := len(name) + strings.Count(name, "\x00"); n > MaxTenantNameLen {
		return nil, fmt.Errorf("%w: tenant name of %d encoded bytes, at most %d", ErrKeyTooLong, n, MaxTenantNameLen)
	}
	return r.system().Pack(Tuple{sysTenantNames, name}), nil
}

// TenantNames returns the range of the whole tenants' directory.
func (r Root) TenantNames() store.Range {
	return r.system().Sub(sysTenantNames).Range()
}

// ParseTenantName returns the name in a directory entry's key.
func (r Root) ParseTenantName(key []byte) (string, error) {
	t, err := unpackAs(r.system(), key, "tenant name", sysTenantNames, kindString)
	if err != nil {
		return "", err
	}
	return t[1].(string), nil
}

// LastTenantID returns the key of the highest tenant id allocated so far
// (EncodeInt64; absent means none, so the first allocated id is 1).
// Creating a tenant reads it and writes id+1 in the same transaction,
// which serialises tenant creation; that is rare enough not to matter.
func (r Root) LastTenantID() []byte {
	return r.system().Pack(Tuple{sysLastTenantID})
}
