package main

import (
	"io"
	"testing"
	"time"

	"zkfdb/tools/zkload/load"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{
		"-addr", "127.0.0.1:2181", "-label", "zookeeper",
		"--compare", "10.0.0.1:2181,10.0.0.2:2181", "-compare-label", "layerd",
		"-workload", "getData,mixed", "-sessions", "8", "-depth", "4", "-ops", "1000", "-no-warmup", "-read", "90",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.targets) != 2 || c.targets[0].Name() != "zookeeper" || len(c.targets[1].Servers) != 2 || c.targets[1].Name() != "layerd" {
		t.Errorf("targets %+v", c.targets)
	}
	if len(c.workloads) != 2 || c.workloads[0] != load.GetData || c.workloads[1] != load.Mixed {
		t.Errorf("workloads %v", c.workloads)
	}
	if c.load.Sessions != 8 || c.load.Depth != 4 || c.load.Ops != 1000 || c.load.Warmup >= 0 || c.load.ReadPercent != 90 {
		t.Errorf("load config %+v", c.load)
	}

	d, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.targets) != 1 || d.targets[0].Name() != "127.0.0.1:2181" || len(d.workloads) != len(load.Workloads) ||
		d.load.Sessions != 64 || d.load.Duration != 10*time.Second || d.load.Warmup != time.Second || d.load.ValueSize != 100 {
		t.Errorf("defaults: %+v", d)
	}

	for _, bad := range [][]string{
		{"-workload", "delete"},
		{"-sessions", "0"},
		{"-read", "0"},
		{"-compare", "127.0.0.1:2181"}, // same name as -addr
		{"-addr", ","},
		{"-log-level", "loud"},
		{"extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}
