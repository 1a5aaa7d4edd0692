// Package embedded is the default storage engine: a single-process
// implementation of the store contract on Pebble, with FoundationDB's
// semantics (see package store).
//
// Open(Options{Dir: dir}) returns a *DB that implements store.DB.
package embedded
