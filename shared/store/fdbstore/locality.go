//go:build fdb

package fdbstore

import (
	"context"
	"net"

	"github.com/apple/foundationdb/bindings/go/src/fdb"
)

// StorageHosts returns the hosts (IP addresses, no ports) of the storage
// servers that hold key: FoundationDB's locality API. sweeperd prefers,
// as owner of a shard, a member running on one of them.
func (db *DB) StorageHosts(ctx context.Context, key []byte) ([]string, error) {
	v, err := db.db.ReadTransact(func(rt fdb.ReadTransaction) (any, error) {
		tr, ok := rt.(fdb.Transaction)
		if !ok {
			return []string{}, nil
		}
		return tr.LocalityGetAddressesForKey(fdb.Key(key)).Get()
	})
	if err != nil {
		return nil, err
	}
	addrs := v.([]string)
	hosts := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil {
			hosts = append(hosts, h)
		} else {
			hosts = append(hosts, a)
		}
	}
	return hosts, nil
}
