package load

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// result builds a Result with n latencies spread evenly over [low, high].
func result(w Workload, target string, ok int64, elapsed, low, high time.Duration, errs map[string]int64) *Result {
	r := &Result{Workload: w, Target: target, OK: ok, Elapsed: elapsed, Errors: errs, Latency: new(Histogram)}
	for i := range ok {
		r.Latency.Record(low + (high-low)*time.Duration(i)/time.Duration(max(ok-1, 1)))
	}
	return r
}

func testReport() *Report {
	return &Report{
		Config:  Config{Sessions: 64, Depth: 1, ValueSize: 100, Duration: 10 * time.Second, Warmup: time.Second, Children: 100, ReadPercent: 80},
		Targets: []string{"zookeeper", "layerd"},
		Results: []*Result{
			result(Create, "zookeeper", 1000, time.Second, time.Millisecond, 10*time.Millisecond, nil),
			result(Create, "layerd", 500, time.Second, time.Millisecond, 20*time.Millisecond, map[string]int64{"NODEEXISTS": 2, "CONNECTIONLOSS": 1}),
			result(GetData, "zookeeper", 2000, 2*time.Second, 100*time.Microsecond, time.Millisecond, nil),
			result(GetData, "layerd", 0, 2*time.Second, 0, 0, map[string]int64{"CONNECTIONLOSS": 7}),
		},
	}
}

func TestRatios(t *testing.T) {
	got := testReport().Ratios()
	if len(got) != 2 {
		t.Fatalf("Ratios() = %+v, want create and getData", got)
	}
	c := got[0]
	if c.Workload != Create || c.Target != "layerd" || c.Baseline != "zookeeper" {
		t.Errorf("first ratio %+v, want create of layerd against zookeeper", c)
	}
	// 500/s against 1000/s; p99 of 1..20 ms against 1..10 ms (bucket
	// rounding cancels out to well under 1%).
	if c.OpsPerSec != 0.5 || math.Abs(c.P99-19.81/9.91) > 0.01 || math.Abs(c.P50-10.5/5.5) > 0.01 {
		t.Errorf("create ratios %v ops/s, %v p50, %v p99; want 0.5, %.3f, %.3f", c.OpsPerSec, c.P50, c.P99, 10.5/5.5, 19.81/9.91)
	}
	// Nothing succeeded on layerd: zero throughput is a ratio of 0, but
	// there is no p99 to compare.
	if g := got[1]; g.OpsPerSec != 0 || !math.IsNaN(g.P50) || !math.IsNaN(g.P99) {
		t.Errorf("getData ratios %v, %v, %v; want 0, NaN, NaN", g.OpsPerSec, g.P50, g.P99)
	}
	for _, tc := range []struct{ num, den, want float64 }{
		{3, 2, 1.5},
		{0, 2, 0},
		{1, 0, math.NaN()},
		{0, 0, math.NaN()},
		{1, -1, math.NaN()},
		{math.NaN(), 1, math.NaN()},
	} {
		if got := ratio(tc.num, tc.den); got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("ratio(%v, %v) = %v, want %v", tc.num, tc.den, got, tc.want)
		}
	}
	one := &Report{Targets: []string{"zookeeper"}, Results: testReport().Results[:1]}
	if r := one.Ratios(); r != nil {
		t.Errorf("one target: Ratios() = %+v, want none", r)
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := testReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := `zkload: 64 sessions x depth 1, 100-byte values, 10s per workload after 1s warm-up, 100 children, 80% reads in mixed

workload  target     ops/s  p50 ms  p99 ms  max ms    ok  errors
create    zookeeper   1000   5.505   9.961  10.000  1000  -
create    layerd       500  10.486  19.923  20.000   500  CONNECTIONLOSS=1 NODEEXISTS=2
getData   zookeeper   1000   0.553   0.991   1.000  2000  -
getData   layerd         0   0.000   0.000   0.000     0  CONNECTIONLOSS=7

ratios against zookeeper (ops/s above 1: faster; p50 and p99 above 1: slower)

workload  target  ops/s ratio  p50 ratio  p99 ratio
create    layerd         0.50       1.90       2.00
getData   layerd         0.00        n/a        n/a
`
	if b.String() != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", b.String(), want)
	}

	rep := testReport()
	rep.Config.Ops, rep.Config.Warmup = 5000, -1
	rep.Results[2].Elapsed = 0 // nothing measured: no rate, no ratio
	b.Reset()
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"zkload: 64 sessions x depth 1, 100-byte values, 5000 ops per workload no warm-up, 100 children, 80% reads in mixed\n",
		"\ngetData   zookeeper      0   0.553",
		"\ngetData   layerd          n/a        n/a        n/a\n",
	} {
		if !bytes.Contains(b.Bytes(), []byte(line)) {
			t.Errorf("WriteText lacks %q:\n%s", line, b.String())
		}
	}
}

func TestWriteJSON(t *testing.T) {
	rep := testReport()
	rep.Results[2].Elapsed = 0
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	want := `{
  "config": {
    "sessions": 64,
    "depth": 1,
    "value_size": 100,
    "duration_s": 10,
    "warmup_s": 1,
    "children": 100,
    "read_percent": 80
  },
  "targets": [
    "zookeeper",
    "layerd"
  ],
  "results": [
    {
      "workload": "create",
      "target": "zookeeper",
      "ok": 1000,
      "writes": 0,
      "elapsed_s": 1,
      "ops_per_s": 1000,
      "p50_ms": 5.505,
      "p99_ms": 9.961,
      "max_ms": 10,
      "mean_ms": 5.5
    },
    {
      "workload": "create",
      "target": "layerd",
      "ok": 500,
      "writes": 0,
      "errors": {
        "CONNECTIONLOSS": 1,
        "NODEEXISTS": 2
      },
      "elapsed_s": 1,
      "ops_per_s": 500,
      "p50_ms": 10.486,
      "p99_ms": 19.923,
      "max_ms": 20,
      "mean_ms": 10.5
    },
    {
      "workload": "getData",
      "target": "zookeeper",
      "ok": 2000,
      "writes": 0,
      "elapsed_s": 0,
      "ops_per_s": 0,
      "p50_ms": 0.553,
      "p99_ms": 0.991,
      "max_ms": 1,
      "mean_ms": 0.55
    },
    {
      "workload": "getData",
      "target": "layerd",
      "ok": 0,
      "writes": 0,
      "errors": {
        "CONNECTIONLOSS": 7
      },
      "elapsed_s": 2,
      "ops_per_s": 0,
      "p50_ms": 0,
      "p99_ms": 0,
      "max_ms": 0,
      "mean_ms": 0
    }
  ],
  "ratios": [
    {
      "workload": "create",
      "target": "layerd",
      "baseline": "zookeeper",
      "ops_per_s": 0.5,
      "p50": 1.905,
      "p99": 2
    },
    {
      "workload": "getData",
      "target": "layerd",
      "baseline": "zookeeper",
      "ops_per_s": null,
      "p50": null,
      "p99": null
    }
  ]
}
`
	if b.String() != want {
		t.Errorf("WriteJSON:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{zk.ErrNoNode, "NONODE"},
		{fmt.Errorf("create /a: %w", zk.ErrNodeExists), "NODEEXISTS"},
		{zk.ErrBadVersion, "BADVERSION"},
		{zk.ErrConnectionClosed, "CONNECTIONLOSS"},
		{zk.ErrSessionExpired, "SESSIONEXPIRED"},
		{zk.ErrClosing, "CLOSING"},
		{errors.New("something else"), "OTHER"},
	} {
		if got := errorCode(tc.err); got != tc.want {
			t.Errorf("errorCode(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestParseWorkloads(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Workload
		wantErr bool
	}{
		{"all", Workloads, false},
		{"getData", []Workload{GetData}, false},
		{"setdata, GETCHILDREN,mixed", []Workload{SetData, GetChildren, Mixed}, false},
		{"create,remove", nil, true},
		{"", nil, true},
	} {
		got, err := ParseWorkloads(tc.in)
		if (err != nil) != tc.wantErr || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseWorkloads(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	got, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Sessions: 64, Depth: 1, ValueSize: 100, Duration: 10 * time.Second, Warmup: time.Second,
		Children: 100, ReadPercent: 80, Prefix: "/zkload", SessionTimeout: 10 * time.Second, ConnectTimeout: 10 * time.Second}
	if got != want {
		t.Errorf("Config{}.withDefaults() = %+v, want %+v", got, want)
	}
	if again, _ := got.withDefaults(); again != got {
		t.Errorf("withDefaults is not idempotent: %+v, then %+v", got, again)
	}
	noWarmup, _ := Config{Warmup: -1}.withDefaults()
	if again, _ := noWarmup.withDefaults(); again.Warmup >= 0 {
		t.Errorf("negative Warmup became %v on a second withDefaults", again.Warmup)
	}
	for _, bad := range []Config{
		{Sessions: -1},
		{ReadPercent: 101},
		{Prefix: "zkload"},
		{Prefix: "/zkload/"},
		{Ops: -5},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// The ratios of a sweep are listed by workload, target and concurrency;
// one report alone gets no sweep table.
func TestWriteSweepText(t *testing.T) {
	var reports []*Report
	for _, n := range []int{64, 1} {
		rep := testReport()
		rep.Config.Sessions, rep.Config.Depth = n, 2
		rep.Results[1].OK = int64(n * 10) // layerd's creates: 640/s, then 10/s
		reports = append(reports, rep)
	}
	var one bytes.Buffer
	if err := WriteSweepText(&one, reports[:1]); err != nil || one.Len() != 0 {
		t.Fatalf("one report: %q, %v", one.String(), err)
	}
	var b bytes.Buffer
	if err := WriteSweepText(&b, reports); err != nil {
		t.Fatal(err)
	}
	want := `
ratios against zookeeper at every concurrency (sessions x depth)

workload  target  concurrency  ops/s ratio  p50 ratio  p99 ratio
create    layerd            2         0.01       1.90       2.00
create    layerd          128         0.64       1.90       2.00
getData   layerd            2         0.00        n/a        n/a
getData   layerd          128         0.00        n/a        n/a
`
	if b.String() != want {
		t.Errorf("sweep table:\n%s\nwant:\n%s", b.String(), want)
	}
}
