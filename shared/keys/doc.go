// Package keys is the one definition of the FoundationDB key layout that
// layerd and sweeperd share: every key either daemon reads or writes is
// built (and parsed) here, so the layout is written down once, pinned by
// golden tests (testdata/layout.golden) and documented in docs/keys.md.
//
// Keys are FoundationDB tuples, encoded byte for byte as the official
// bindings do (Tuple, Pack, Unpack, PackWithVersionstamp): the official Go
// binding's tuple package needs the FDB C library, and these keys must
// build without it. Packed tuples sort as the tuples do, which the layout
// relies on for every range read.
//
// The layout, below a Root's prefix (empty in production):
//
//	(0, ...)          system section (Root): clock, layout version, tenants'
//	                  directory, and the sharded timer indices the sweepers
//	                  share (session expiry, TTL nodes, containers)
//	(1, tenant, ...)  one Tenant per id: znodes (stat and data chunks), the
//	                  children index, sessions, ephemerals, active watches,
//	                  event logs and notify keys, usage counters
//
// Paths enter as Path values (NewPath), which are checked once against the
// key-size limit, so that building a key cannot fail afterwards. All
// values here are immutable and safe for concurrent use.
package keys
