//go:build fdb

package fdbstore

import (
	"context"
	"net"
)

// StorageHosts returns the hosts (IP addresses, no ports) of the storage
// servers that hold key: FoundationDB's locality API, through
// AddressesForKey, so bound to ctx like every call of this package.
// sweeperd prefers, as owner of a shard, a member running on one of them.
func (db *DB) StorageHosts(ctx context.Context, key []byte) ([]string, error) {
	addrs, err := db.AddressesForKey(ctx, key)
	if err != nil {
		return nil, err
	}
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
