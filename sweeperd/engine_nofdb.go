//go:build !fdb

package main

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"zkfdb/shared/sdnotify"
)

// errNoFDB is why a sweeperd built without -tags fdb cannot run: sweeping
// the session-expiry index of an embedded engine is layerd's own job.
var errNoFDB = errors.New("sweeperd needs the FoundationDB engine, and this binary was built without it: " +
	"rebuild with `go build -tags fdb ./sweeperd` (needs FoundationDB's client library libfdb_c and its headers)")

// run fails at once: the FoundationDB engine is not in this build.
func run(context.Context, config, *zap.Logger, *prometheus.Registry, *sdnotify.Notifier) error {
	return errNoFDB
}
