//go:build !fdb

package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

func TestRunWithoutFDB(t *testing.T) {
	cfg, err := parseFlags(nil, "h", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), cfg, zaptest.NewLogger(t), prometheus.NewRegistry(), nil)
	if !errors.Is(err, errNoFDB) || !strings.Contains(err.Error(), "-tags fdb") {
		t.Errorf("run without the fdb tag = %v, want errNoFDB naming -tags fdb", err)
	}
}
