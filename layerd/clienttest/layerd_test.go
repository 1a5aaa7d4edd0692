package clienttest

import (
	"testing"

	"zkfdb/internal/engines"
	"zkfdb/internal/zkref"
	"zkfdb/layerd/zkserver/zkservertest"
)

// refOptions configure the reference ZooKeeper as layerd behaves: TTL
// nodes on.
var refOptions = zkref.Options{Properties: map[string]string{"zookeeper.extendedTypesEnabled": "true"}}

// server is one server the tests run their clients against; start starts
// a fresh one that stops with the test.
type server struct {
	name   string
	engine *engines.Engine // nil for the reference
	start  func(*testing.T) string
}

// servers are the reference first, then layerd on each storage engine.
// A test that runs each in a subtest of its own lets an engine this run
// lacks skip there (zkservertest.Start does); tests that need them all
// at once take available(t).
var servers = func() []server {
	out := []server{{name: "ZooKeeper", start: func(t *testing.T) string { return zkref.StartT(t, refOptions).Addr() }}}
	for _, e := range engines.All() {
		out = append(out, server{name: "layerd-" + e.Name, engine: &e, start: func(t *testing.T) string { return zkservertest.Start(t, e) }})
	}
	return out
}()

// available returns the servers this run has; each it lacks is a skipped
// subtest of t (a failed one under ZKFDB_REQUIRE_FDB=1).
func available(t *testing.T) []server {
	var out []server
	for _, s := range servers {
		if s.engine != nil {
			if ok, _ := s.engine.Available(); !ok {
				t.Run(s.name, func(t *testing.T) { s.engine.Require(t) })
				continue
			}
		}
		out = append(out, s)
	}
	return out
}
