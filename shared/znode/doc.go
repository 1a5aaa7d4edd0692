// Package znode is ZooKeeper's data model on the storage contract: znodes
// with their Stat, ACLs and create modes, sessions, and every client
// operation, with the validation order, error and Stat rules of ZooKeeper
// 3.9 (../shared/ZK-SEMANTICS.md). The protocol (layerd/zkwire,
// layerd/zkserver) sits above it; keys come from shared/keys.
//
// One Tree serves one tenant. It is safe for concurrent use; every method
// runs its own transactions through store.Transact, so a method may retry,
// and each write is made idempotent by the session's last-write record
// (keys.Tenant.LastWrite): a retry after commit_unknown_result returns the
// first attempt's result instead of applying twice.
//
// Zxids come from versionstamps (see Zxid and docs/zxid.md).
package znode
