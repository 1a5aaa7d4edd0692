//go:build fdb

// Package fdbstore is the production storage engine: the store contract
// (package store) implemented on FoundationDB through the official Go
// binding at API version 730. It is the only package that imports the
// binding, and every file is behind the build tag fdb, because the binding
// needs libfdb_c and its headers (a FoundationDB 7.3 client package) at
// build time. docs/fdb.md says how to build and test it.
//
// Open(Options{ClusterFile: path}) returns a *DB that implements store.DB.
//
// How the contract maps onto the binding:
//
//   - Errors: every fdb.Error becomes store.Error with the same code, so
//     errors.Is(err, store.ErrNotCommitted) and store.Code work as with
//     the embedded engine. Tx.OnError hands the code back to the binding's
//     OnError, so backoff, retry limit and timeout are FoundationDB's own.
//   - Contexts: CreateTransaction(ctx) turns ctx's deadline into the FDB
//     timeout option (ErrTransactionTimedOut) and cancels the FDB
//     transaction when ctx is done (ErrTransactionCancelled).
//   - Futures: Get, GetRange, GetReadVersion and GetVersionstamp return at
//     once; reads issued back to back run in parallel in the FDB client.
//   - Watches: each pending watch has one goroutine blocked on the
//     binding's future; it exits when the watch fires, fails or is
//     cancelled. DB.Close cancels the pending watches and waits for them.
//   - Tenants: Options.Tenant opens an FDB tenant (experimental in 7.3);
//     every transaction then runs inside the tenant's key space.
package fdbstore
