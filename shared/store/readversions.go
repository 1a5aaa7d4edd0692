package store

import (
	"context"
	"sync/atomic"
)

// ReadVersions collects the read versions of the transactions that
// Transact and ReadTransact run under a context carrying it
// (WithReadVersions): a layerd dates a client's request by them, since
// each was fetched after the request arrived, so the state it reads is
// at least as new as the state when the request arrived. A transaction
// that sets its own, older read version (SetReadVersion) must not run
// under it. Safe for concurrent use.
type ReadVersions struct {
	max atomic.Int64
}

// Max returns the highest read version collected since the last Reset;
// 0: none.
func (v *ReadVersions) Max() int64 { return v.max.Load() }

// Reset forgets what was collected.
func (v *ReadVersions) Reset() { v.max.Store(0) }

func (v *ReadVersions) note(rv int64) {
	for {
		old := v.max.Load()
		if rv <= old || v.max.CompareAndSwap(old, rv) {
			return
		}
	}
}

type readVersionsKey struct{}

// WithReadVersions returns ctx with v collecting the read versions of
// the transactions run under it; v nil: none are collected (a context
// derived from one that collects stops collecting).
func WithReadVersions(ctx context.Context, v *ReadVersions) context.Context {
	return context.WithValue(ctx, readVersionsKey{}, v)
}

func readVersionsOf(ctx context.Context) *ReadVersions {
	v, _ := ctx.Value(readVersionsKey{}).(*ReadVersions)
	return v
}

// noteReadVersion adds tx's read version to ctx's ReadVersions, if any,
// once the body ran (so that it has read, and the version is known).
func noteReadVersion(ctx context.Context, tx Tx) {
	v := readVersionsOf(ctx)
	if v == nil {
		return
	}
	if rv, err := tx.GetReadVersion().Get(); err == nil {
		v.note(rv)
	}
}
