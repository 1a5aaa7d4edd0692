package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-dir", "/tmp/x", "-layerds", "2", "-tick-time", "1s", "-layerd-args", "--inject-commit-delay 2ms", "-layerd-args", "--pprof"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.dir != "/tmp/x" || c.layerds != 2 || c.hosts != 3 || c.tickTime != time.Second ||
		strings.Join(c.layerdArgs, " ") != "--inject-commit-delay 2ms --pprof" {
		t.Fatalf("parsed %+v", c)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-dir is required"},
		{[]string{"-dir", "d", "-hosts", "0"}, "-hosts 0"},
		{[]string{"-dir", "d", "-layerds", "0"}, "-layerds 0"},
		{[]string{"-dir", "d", "-tick-time", "0s"}, "-tick-time 0s"},
		{[]string{"-dir", "d", "extra"}, "unexpected arguments"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
