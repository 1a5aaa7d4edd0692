package clienttest

import (
	"testing"

	"zkfdb/internal/zkref"
	"zkfdb/layerd/zkserver/zkservertest"
)

// refOptions configure the reference ZooKeeper as layerd behaves: TTL
// nodes on.
var refOptions = zkref.Options{Properties: map[string]string{"zookeeper.extendedTypesEnabled": "true"}}

// servers are the two servers every test here runs its clients against,
// the reference first; start starts a fresh one that stops with the test.
var servers = []struct {
	name  string
	start func(*testing.T) string
}{
	{"ZooKeeper", func(t *testing.T) string { return zkref.StartT(t, refOptions).Addr() }},
	{"layerd", func(t *testing.T) string { return zkservertest.Start(t) }},
}
