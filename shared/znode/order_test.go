package znode_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
	"zkfdb/shared/znode"
)

// orderDB reports every transaction's versionstamp with the batch order
// order holds (-1: as committed). It is the seam for a commit batch of
// 4,096 transactions or more, which no test can make: the embedded
// engine batches at most 1,024, and FoundationDB's commit proxy decides
// its batches itself.
type orderDB struct {
	store.DB
	order atomic.Int32
}

func (d *orderDB) CreateTransaction(ctx context.Context) (store.Tx, error) {
	tx, err := d.DB.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	return orderTx{Tx: tx, d: d}, nil
}

type orderTx struct {
	store.Tx
	d *orderDB
}

func (t orderTx) GetVersionstamp() store.FutureVersionstamp {
	return orderStamp{t.Tx.GetVersionstamp(), t.d.order.Load()}
}

type orderStamp struct {
	store.FutureVersionstamp
	order int32
}

func (s orderStamp) Get() (store.Versionstamp, error) {
	v, err := s.FutureVersionstamp.Get()
	if err == nil && s.order >= 0 {
		binary.BigEndian.PutUint16(v[8:], uint16(s.order))
	}
	return v, err
}

// TestBatchOrderPastZxid: a transaction committed at position 4,096 or
// later of its commit batch has no zxid of its own (OrderBits = 12), and
// its writer fails loudly with ErrBatchOrder instead of taking another's
// zxid: a client's write, the close of a session and its expiry alike.
// Position 4,095 is the last that fits.
func TestBatchOrderPastZxid(t *testing.T) { engines.Each(t, testBatchOrderPastZxid) }

func testBatchOrderPastZxid(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	db := &orderDB{DB: st.DB}
	db.order.Store(-1)
	tree := znode.New(db, st.Root.Tenant(keys.DefaultTenant), znode.Options{})
	ctx := t.Context()
	if err := tree.Init(ctx); err != nil {
		t.Fatal(err)
	}
	create := func(p string) (znode.Written, error) {
		return tree.Write(ctx, znode.Caller{Now: 1}, []znode.Op{znode.CreateOp{Path: p, ACL: znode.OpenACLUnsafe, TTL: -1}})
	}

	db.order.Store(1<<znode.OrderBits - 1)
	w, err := create("/last")
	if err != nil || w.Failed() != nil {
		t.Fatalf("create at order 4095: %v, %v", err, w.Failed())
	}
	if got := w.Zxid & (1<<znode.OrderBits - 1); got != 1<<znode.OrderBits-1 {
		t.Errorf("zxid %#x has order %d, want 4095", w.Zxid, got)
	}

	db.order.Store(1 << znode.OrderBits)
	if _, err := create("/past"); !errors.Is(err, znode.ErrBatchOrder) {
		t.Errorf("create at order 4096: %v, want ErrBatchOrder", err)
	}
	// It is applied all the same: the commit happened.
	if _, err := tree.Exists(ctx, znode.Auth{}, "/past"); err != nil {
		t.Errorf("exists /past: %v", err)
	}

	db.order.Store(-1)
	s, err := tree.CreateSessionOn(ctx, 10_000, 7)
	if err != nil {
		t.Fatal(err)
	}
	db.order.Store(40_000)
	if _, err := tree.CloseConn(ctx, znode.Conn{Session: s.ID, ID: 7}, keys.Versionstamp{}); !errors.Is(err, znode.ErrBatchOrder) {
		t.Errorf("close session at order 40000: %v, want ErrBatchOrder", err)
	}

	// A session's expiry by the sweeper.
	db.order.Store(-1)
	if _, err := tree.CreateSession(ctx, 10_000); err != nil {
		t.Fatal(err)
	}
	shards := make([]int, keys.Shards)
	for i := range shards {
		shards[i] = i
	}
	const later = 1 << 40 // a tick long past every expiry
	due, err := znode.ReadDue(ctx, db, st.Root, shards, later)
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.KeyValue // the closed session's entry (stale), the new one's
	for _, d := range due {
		rows = append(rows, d.Sessions...)
	}
	db.order.Store(1 << znode.OrderBits)
	if _, err := znode.ExpireDue(ctx, db, st.Root, rows, later); !errors.Is(err, znode.ErrBatchOrder) {
		t.Errorf("expire at order 4096: %v, want ErrBatchOrder", err)
	}
}
