package znode

import (
	"context"
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/shared/keys"
	"zkfdb/shared/store"
)

// TestVerifyFiresMissedChanges: a watch registered after a read without
// conflicts fires at once for what changed in between, exactly once.
func TestVerifyFiresMissedChanges(t *testing.T) { engines.Each(t, testVerifyFiresMissedChanges) }

func testVerifyFiresMissedChanges(t *testing.T, e engines.Engine) {
	st := e.Open(t, engines.Options{})
	db := st.DB
	ctx := t.Context()
	tr := New(db, st.Root.Tenant(keys.DefaultTenant), Options{})
	if err := tr.Init(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := tr.CreateSession(ctx, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	w := Conn{Session: s.ID, ID: 7}
	write := func(op Op) {
		t.Helper()
		if wr, err := tr.Write(ctx, Caller{Session: s.ID, Now: 1}, []Op{op}); err != nil || wr.Failed() != nil {
			t.Fatalf("write: %v %v", err, wr.Failed())
		}
	}
	write(CreateOp{Path: "/v", ACL: OpenACLUnsafe, TTL: -1})
	rel := ReadZxid(readVersion(t, db))
	write(SetDataOp{Path: "/v", Data: []byte("changed"), Version: -1})
	write(CreateOp{Path: "/new", ACL: OpenACLUnsafe, TTL: -1})
	regs := []registration{{"/v", keys.WatchData, true}, {"/new", keys.WatchData, false}, {"/same", keys.WatchData, false}}
	if _, err := store.Transact(ctx, db, func(tx store.Tx) (struct{}, error) {
		for _, r := range regs {
			if err := tr.register(tx, w, r.path, r.kind); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second verify finds the watches fired
		if err := tr.verify(ctx, w, regs, rel); err != nil {
			t.Fatal(err)
		}
	}
	evs, _, err := tr.Events(ctx, w, keys.Versionstamp{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Type != EventNodeDataChanged || evs[0].Path != "/v" || evs[1].Type != EventNodeCreated || evs[1].Path != "/new" {
		t.Fatalf("events %+v; want NodeDataChanged /v and NodeCreated /new, once each", evs)
	}
	// /same did not change: its watch stays, and a write fires it.
	write(CreateOp{Path: "/same", ACL: OpenACLUnsafe, TTL: -1})
	evs, _, err = tr.Events(ctx, w, keys.Versionstamp{}, 0)
	if err != nil || len(evs) != 3 || evs[2].Path != "/same" {
		t.Fatalf("events %+v, %v; want a third, NodeCreated /same", evs, err)
	}
}

func readVersion(t *testing.T, db store.DB) int64 {
	t.Helper()
	v, err := store.ReadTransact(context.Background(), db, func(r store.Reader) (int64, error) {
		return r.GetReadVersion().Get()
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
