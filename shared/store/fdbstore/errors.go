//go:build fdb

package fdbstore

import (
	"errors"

	"github.com/apple/foundationdb/bindings/go/src/fdb"

	"zkfdb/shared/store"
)

// ErrClosed is returned by CreateTransaction, BoundaryKeys and
// AddressesForKey after DB.Close.
var ErrClosed = errors.New("fdbstore: database closed")

// ErrTenantLocality is returned by BoundaryKeys and AddressesForKey when the
// DB was opened with a tenant: locality is about raw keys, and a tenant's
// key prefix is assigned by the cluster and not exposed by the binding.
var ErrTenantLocality = errors.New("fdbstore: locality is not available inside a tenant")

// storeErr converts an error of the binding into a store.Error with the same
// code. Other errors (nil included) are returned unchanged.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var fe fdb.Error
	if errors.As(err, &fe) {
		return store.Error{Code: fe.Code}
	}
	return err
}

// fdbErr finds the FDB code carried by err (a store.Error, or an fdb.Error
// that escaped conversion) and returns it as the binding's error type, for
// the binding's OnError.
func fdbErr(err error) (fdb.Error, bool) {
	var se store.Error
	if errors.As(err, &se) {
		return fdb.Error{Code: se.Code}, true
	}
	var fe fdb.Error
	if errors.As(err, &fe) {
		return fe, true
	}
	return fdb.Error{}, false
}
