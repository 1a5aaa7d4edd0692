package znode_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"zkfdb/shared/keys"
	"zkfdb/shared/store/embedded"
	"zkfdb/shared/znode"
)

// BenchmarkWrite measures the store-side cost of ZooKeeper writes on the
// embedded engine, held in memory (no fsync), by 64 writers at once, as
// zkload's 64 sessions: what a write costs between the socket and the
// engine's committer, without the sockets. ns/op is wall time per write
// with every writer busy; run with -cpu 1 for CPU per write.
//
//	go test ./shared/znode -run '^$' -bench Write -cpu 1 -benchmem
func BenchmarkWrite(b *testing.B) {
	for _, workload := range []string{"create", "setData", "delete"} {
		b.Run(workload, func(b *testing.B) {
			tree := benchTree(b)
			ctx := b.Context()
			data := make([]byte, 128)
			// write returns what went wrong, for the caller to report:
			// the parallel writers may not end the benchmark themselves.
			write := func(c znode.Caller, op znode.Op) error {
				if err := writeOp(ctx, tree, c, op); err != nil {
					return fmt.Errorf("%s: %w", workload, err)
				}
				return nil
			}
			create := func(c znode.Caller, p string) error {
				return write(c, znode.CreateOp{Path: p, Data: data, ACL: znode.OpenACLUnsafe, TTL: -1})
			}
			setup, err := tree.CreateSession(ctx, 30000)
			if err != nil {
				b.Fatal(err)
			}
			owner := znode.Caller{Session: setup.ID}
			if err := create(owner, "/p"); err != nil {
				b.Fatal(err)
			}
			// zkload's nodes: one per session for setData; for delete,
			// as many as the run deletes, made before it.
			const writers = 64
			var made []string
			switch workload {
			case "delete":
				for i := range b.N {
					made = append(made, fmt.Sprintf("/p/d%d", i))
				}
			case "setData":
				for i := range writers {
					made = append(made, fmt.Sprintf("/p/s%d", i))
				}
			}
			for _, p := range made {
				if err := create(owner, p); err != nil {
					b.Fatal(err)
				}
			}
			var next, session atomic.Int64
			b.SetParallelism(writers)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s, err := tree.CreateSession(ctx, 30000)
				if err != nil {
					b.Error(err)
					return
				}
				c := znode.Caller{Session: s.ID}
				own := fmt.Sprintf("/p/s%d", session.Add(1)%writers)
				for pb.Next() {
					i := next.Add(1) - 1
					var err error
					switch workload {
					case "create":
						err = create(c, fmt.Sprintf("/p/c%d", i))
					case "setData":
						err = write(c, znode.SetDataOp{Path: own, Data: data, Version: -1})
					case "delete":
						err = write(c, znode.DeleteOp{Path: fmt.Sprintf("/p/d%d", i), Version: -1})
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRead measures the store-side cost of ZooKeeper reads on the
// embedded engine, in memory, by 64 readers at once: a getData of the
// reader's own node, and a multiRead of 8 such getData (zkload's
// multiRead). As BenchmarkWrite, without the sockets; run with -cpu 1.
//
//	go test ./shared/znode -run '^$' -bench Read -cpu 1 -benchmem
func BenchmarkRead(b *testing.B) {
	for _, workload := range []string{"getData", "multiRead"} {
		b.Run(workload, func(b *testing.B) {
			tree := benchTree(b)
			ctx := b.Context()
			data := make([]byte, 128)
			const readers = 64
			paths := []string{"/p"}
			for i := range readers {
				paths = append(paths, fmt.Sprintf("/p/r%d", i))
			}
			for _, p := range paths {
				if err := writeOp(ctx, tree, znode.Caller{}, znode.CreateOp{Path: p, Data: data, ACL: znode.OpenACLUnsafe, TTL: -1}); err != nil {
					b.Fatal(err)
				}
			}
			var reader atomic.Int64
			b.SetParallelism(readers)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				own := fmt.Sprintf("/p/r%d", reader.Add(1)%readers)
				ops := make([]znode.ReadOp, 8)
				for i := range ops {
					ops[i] = znode.ReadOp{Path: own}
				}
				for pb.Next() {
					var err error
					switch workload {
					case "getData":
						_, err = tree.GetData(ctx, znode.Auth{}, own)
					case "multiRead":
						_, _, _, err = tree.MultiRead(ctx, znode.Auth{}, ops)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchTree returns a tree on the embedded engine held in memory, closed
// when the benchmark ends.
func benchTree(b *testing.B) *znode.Tree {
	db, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	root, err := keys.NewRoot([]byte("bench"))
	if err != nil {
		b.Fatal(err)
	}
	tree := znode.New(db, root.Tenant(keys.DefaultTenant), znode.Options{})
	if err := tree.Init(b.Context()); err != nil {
		b.Fatal(err)
	}
	return tree
}

// writeOp runs op as a one-op write and returns its failure, if any.
func writeOp(ctx context.Context, tree *znode.Tree, c znode.Caller, op znode.Op) error {
	w, err := tree.Write(ctx, c, []znode.Op{op})
	if err == nil {
		err = w.Failed()
	}
	return err
}

// BenchmarkHeartbeat measures the store-side cost of a layerd's
// heartbeat: one op refreshes 5,000 sessions in one commit (a tick's
// refreshes with 18,000 idle sessions pinging every third of their
// timeout), each to a later expiry tick in place of its last. Its
// allocation per refreshed session paces the collector of a layerd
// holding many idle sessions (docs/benchmarks.md, "Idle sessions").
//
//	go test ./shared/znode -run '^$' -bench Heartbeat -cpu 1 -benchmem
func BenchmarkHeartbeat(b *testing.B) {
	tree := benchTree(b)
	ctx := b.Context()
	const sessions = 5000
	beats := make([]znode.Beat, sessions)
	for i := range beats {
		s, err := tree.CreateSession(ctx, 10000)
		if err != nil {
			b.Fatal(err)
		}
		beats[i] = znode.Beat{Session: s.ID, Expiry: s.Expiry}
	}
	b.ResetTimer()
	for b.Loop() {
		for i := range beats {
			beats[i].Old = beats[i].Expiry
			beats[i].Expiry++
		}
		gone, err := tree.Heartbeat(ctx, beats)
		if err != nil || len(gone) != 0 {
			b.Fatalf("heartbeat: %d sessions gone, %v", len(gone), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sessions), "ns/session")
}
