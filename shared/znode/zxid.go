package znode

import (
	"errors"
	"fmt"

	"zkfdb/shared/store"
)

// OrderBits is how many low bits of a zxid hold the transaction's order in
// its commit batch; the commit version fills the rest. A zxid is
//
//	commitVersion << 12 | batchOrder
//
// so zxids increase strictly with commit order (versionstamp order), all
// ops of one transaction (a multi) share one zxid, and 63 bits last 2^51
// versions: 71 years at FoundationDB's 1,000,000 versions per second.
// That holds while a commit batch holds fewer than 4,096 transactions:
// the embedded engine caps its batches at 1,024, but FoundationDB's
// commit proxy does not: it closes a batch at 100,000 bytes
// (COMMIT_TRANSACTION_BATCH_BYTES_MAX) or 32,768 transactions
// (COMMIT_TRANSACTION_BATCH_COUNT_MAX, the most a versionstamp's 2-byte
// order holds), counting every client of the cluster, so a batch of
// small transactions can pass 4,096. A write that lands there fails
// loudly with ErrBatchOrder (checkOrder). See docs/zxid.md.
const OrderBits = 12

// ErrBatchOrder is the error of a write whose transaction committed at a
// position of its commit batch (its versionstamp's order) that a zxid
// cannot hold: the write is applied, but its zxid would equal another's.
// It is not a ZooKeeper answer: the protocol edge closes the connection
// and logs it.
var ErrBatchOrder = errors.New("znode: commit batch order does not fit in a zxid")

// Zxid returns the zxid of the transaction with versionstamp v. An order
// past OrderBits is masked: a stamp read back from the store maps to a
// zxid, whatever wrote it; the writer itself was failed by checkOrder.
func Zxid(v store.Versionstamp) int64 {
	return v.Version()<<OrderBits | int64(v.Order())&(1<<OrderBits-1)
}

// checkOrder returns ErrBatchOrder if v, the versionstamp a transaction of
// this layer just committed with, has a batch order that does not fit in
// OrderBits. Every transaction that stamps zxids (writes, closes and
// expiries of sessions) checks its own.
func checkOrder(v store.Versionstamp) error {
	if v.Order() < 1<<OrderBits {
		return nil
	}
	return fmt.Errorf("%w: committed as transaction %d of the batch at version %d (a zxid holds %d per batch); FoundationDB's commit batches hold more transactions than this layer can number",
		ErrBatchOrder, v.Order(), v.Version(), 1<<OrderBits)
}

// ReadZxid returns the zxid a reply at read version rv carries: at least
// the zxid of every transaction committed at or before rv (ZooKeeper's
// "last processed zxid").
func ReadZxid(rv int64) int64 {
	return rv<<OrderBits | (1<<OrderBits - 1)
}
