package store

import (
	"context"
	"errors"
)

// Transact runs fn in a transaction and commits it, retrying as FDB's
// Database.Transact does: after an error carrying an FDB code, OnError
// decides (retryable codes and commit_unknown_result rerun fn on the reset
// transaction after a backoff); any other error is returned at once with no
// commit. fn may therefore run more than once, including after a commit that
// in fact succeeded: it must be idempotent.
//
// When ctx ends, Transact returns ctx.Err().
func Transact[T any](ctx context.Context, db DB, fn func(Tx) (T, error)) (T, error) {
	return loop(ctx, db, fn, true, false)
}

// TransactConflictAtOnce is Transact, except that the first conflict
// (not_committed) is retried at once, in a fresh transaction, without the
// retry loop's backoff (FDB's starts at up to 10 ms). A conflict means
// that the transaction it lost to has committed, so the retry reads past
// it. It is for transactions that a client waits on, where a few
// contend for one key (znode's writes: ZooKeeper queues such a request
// behind the one it lost to, it does not make it sleep), or whose retry
// cannot conflict on its reads (znode's watched reads, which retry with
// snapshot reads). Later conflicts back off as Transact's do, which is
// what spreads out many contenders; every other error is retried as
// Transact retries it.
func TransactConflictAtOnce[T any](ctx context.Context, db DB, fn func(Tx) (T, error)) (T, error) {
	return loop(ctx, db, fn, true, true)
}

// ReadTransact runs fn in a transaction that is never committed, retrying
// as Transact does (FDB 7.3.68 and later ReadTransact). fn must not write.
func ReadTransact[T any](ctx context.Context, db DB, fn func(Reader) (T, error)) (T, error) {
	return loop(ctx, db, func(tx Tx) (T, error) { return fn(tx) }, false, false)
}

func loop[T any](ctx context.Context, db DB, fn func(Tx) (T, error), commit, conflictAtOnce bool) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		return zero, err
	}
	defer func() { tx.Close() }() // the last one made
	if !commit {
		HintReadOnly(tx)
	}
	for {
		v, err := fn(tx)
		if err == nil {
			noteReadVersion(ctx, tx)
		}
		if err == nil && commit {
			err = tx.Commit()
		}
		if err == nil {
			return v, nil
		}
		if conflictAtOnce && errors.Is(err, ErrNotCommitted) {
			// A fresh transaction rather than Reset: it gets every
			// option the database's wrappers set at creation.
			conflictAtOnce = false
			if cerr := ctx.Err(); cerr != nil {
				return zero, cerr
			}
			fresh, cerr := db.CreateTransaction(ctx)
			if cerr != nil {
				return zero, cerr
			}
			NoteRetry(tx, err)
			tx.Close()
			tx = fresh
			continue
		}
		if err := retry(ctx, tx, err); err != nil {
			return zero, err
		}
	}
}

// retry returns nil if the loop should run the body again, else the error
// to return to the caller.
func retry(ctx context.Context, tx Tx, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	var se Error
	if !errors.As(err, &se) {
		return err
	}
	oerr := tx.OnError(err)
	if oerr == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	// As FDB's binding since 7.3.68: the same code comes back as the
	// original (possibly wrapped) error.
	if Code(oerr) == se.Code {
		return err
	}
	return oerr
}

// NoteRetry tells tx, if it counts retries (metered), that its attempt
// failed with err and is retried by a fresh transaction rather than
// through its OnError. Every wrapper of a Tx must pass it on, as
// HintReadOnly.
func NoteRetry(tx Tx, err error) {
	if n, ok := tx.(interface{ NoteRetry(error) }); ok {
		n.NoteRetry(err)
	}
}

// HintReadOnly tells tx, if it wants to know, that it will not be
// committed: the embedded engine records no read-conflict ranges for
// such a transaction's reads, and keeps its range reads in its cache
// even when they find nothing. Every wrapper of a Tx must pass it on to
// the transaction it wraps (metered, delayed, znode's bounded, the tests'
// faulty): one that does not costs the engine those ranges. A hinted
// transaction must not commit writes (the engine refuses the commit: it
// checked no conflicts for them). Its reads are as any others.
func HintReadOnly(tx Tx) {
	if h, ok := tx.(interface{ HintReadOnly() }); ok {
		h.HintReadOnly()
	}
}
