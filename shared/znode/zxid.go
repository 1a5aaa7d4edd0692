package znode

import "zkfdb/shared/store"

// OrderBits is how many low bits of a zxid hold the transaction's order in
// its commit batch; the commit version fills the rest. A zxid is
//
//	commitVersion << 12 | batchOrder
//
// so zxids increase strictly with commit order (versionstamp order), all
// ops of one transaction (a multi) share one zxid, and 63 bits last 2^51
// versions: 71 years at FoundationDB's 1,000,000 versions per second.
// Commit batches are far below 4,096 transactions (the embedded engine
// caps them at 1,024; an FDB commit proxy's batch is bounded by bytes).
// See docs/zxid.md.
const OrderBits = 12

// Zxid returns the zxid of the transaction with versionstamp v.
func Zxid(v store.Versionstamp) int64 {
	return v.Version()<<OrderBits | int64(v.Order())&(1<<OrderBits-1)
}

// ReadZxid returns the zxid a reply at read version rv carries: at least
// the zxid of every transaction committed at or before rv (ZooKeeper's
// "last processed zxid").
func ReadZxid(rv int64) int64 {
	return rv<<OrderBits | (1<<OrderBits - 1)
}
