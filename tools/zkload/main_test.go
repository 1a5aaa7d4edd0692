package main

import (
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
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
		{"-workload", "remove"},
		{"-sessions", "0"},
		{"-sessions", "1,x"},
		{"-sessions", "16,0"},
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

func TestParseSessionList(t *testing.T) {
	c, err := parseFlags([]string{"-sessions", "1, 16,64", "-depth", "2", "-chart", "/tmp/charts"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.sessions, []int{1, 16, 64}) || c.load.Sessions != 1 || c.chart != "/tmp/charts" {
		t.Errorf("sessions %v, load.Sessions %d, chart %q", c.sessions, c.load.Sessions, c.chart)
	}
}

// writeCharts draws a PNG per workload from the reports of a sweep, the
// concurrency being sessions × depth.
func TestWriteCharts(t *testing.T) {
	var reports []*load.Report
	for _, n := range []int{1, 16, 64} {
		rep := &load.Report{Config: load.Config{Sessions: n, Depth: 2}, Targets: []string{"zookeeper", "layerd"}}
		for _, w := range []load.Workload{load.SetData, load.GetData} {
			for i, target := range rep.Targets {
				h := new(load.Histogram)
				h.Record(time.Duration(n*(i+1)) * time.Millisecond)
				rep.Results = append(rep.Results, &load.Result{Workload: w, Target: target, Elapsed: time.Second, OK: int64(1000 * n * (i + 1)), Latency: h})
			}
		}
		reports = append(reports, rep)
	}
	dir := t.TempDir()
	paths, err := writeCharts(filepath.Join(dir, "charts"), reports)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "charts", "setData.png"), filepath.Join(dir, "charts", "getData.png")}
	if !slices.Equal(paths, want) {
		t.Fatalf("wrote %v, want %v", paths, want)
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
