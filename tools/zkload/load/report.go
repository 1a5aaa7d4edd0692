package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Report holds the results of running workloads against one or more
// targets with the same Config. The first target is the baseline of the
// ratios.
type Report struct {
	Config  Config   // defaults applied
	Targets []string // Target.Name() of each target, in order
	Results []*Result
}

// RunAll runs each workload against every target in turn, one at a time
// (a workload against all targets before the next workload, so the targets
// of a row run close together). It returns the report of the runs done so
// far and the first error, after which it stops.
func RunAll(ctx context.Context, log *zap.Logger, targets []Target, workloads []Workload, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg}
	for _, t := range targets {
		rep.Targets = append(rep.Targets, t.Name())
	}
	for _, w := range workloads {
		for _, t := range targets {
			res, err := Run(ctx, log, t, w, cfg)
			if res != nil && err == nil {
				rep.Results = append(rep.Results, res)
			}
			if err != nil {
				return rep, fmt.Errorf("%s against %s: %w", w, t.Name(), err)
			}
		}
	}
	return rep, nil
}

// Result returns the result of workload w against the target named target,
// or nil.
func (r *Report) Result(w Workload, target string) *Result {
	for _, res := range r.Results {
		if res.Workload == w && res.Target == target {
			return res
		}
	}
	return nil
}

// Ratio compares a target's result with the baseline's for one workload.
// A ratio is NaN when it is undefined: a baseline without successful
// requests, or for P99 a target without them.
type Ratio struct {
	Workload         Workload
	Target, Baseline string
	// OpsPerSec is the target's throughput over the baseline's: above 1
	// the target is faster.
	OpsPerSec float64
	// P50 and P99 are the target's median and p99 latencies over the
	// baseline's: above 1 the target is slower.
	P50, P99 float64
}

// Ratios compares every target after the first with the first, for each
// workload both ran, in the order of the results.
func (r *Report) Ratios() []Ratio {
	if len(r.Targets) < 2 {
		return nil
	}
	base := r.Targets[0]
	var out []Ratio
	var seen []Workload
	for _, res := range r.Results {
		if slices.Contains(seen, res.Workload) {
			continue
		}
		seen = append(seen, res.Workload)
		b := r.Result(res.Workload, base)
		for _, t := range r.Targets[1:] {
			x := r.Result(res.Workload, t)
			if b == nil || x == nil {
				continue
			}
			r := Ratio{
				Workload:  res.Workload,
				Target:    t,
				Baseline:  base,
				OpsPerSec: ratio(x.OpsPerSec(), b.OpsPerSec()),
				P50:       math.NaN(),
				P99:       math.NaN(),
			}
			if x.Latency.Count() > 0 { // else there is no latency to compare
				r.P50 = ratio(float64(x.Latency.Quantile(0.5)), float64(b.Latency.Quantile(0.5)))
				r.P99 = ratio(float64(x.Latency.Quantile(0.99)), float64(b.Latency.Quantile(0.99)))
			}
			out = append(out, r)
		}
	}
	return out
}

// ratio returns num/den, or NaN if den is not positive.
func ratio(num, den float64) float64 {
	if den <= 0 || math.IsNaN(num) || math.IsNaN(den) {
		return math.NaN()
	}
	return num / den
}

// WriteText writes the report as aligned text tables: the parameters, one
// row per result, then the ratios if there are two or more targets. The
// layout is stable: scripts and docs may depend on it.
func (r *Report) WriteText(out io.Writer) error {
	c := r.Config
	var b strings.Builder
	length := fmt.Sprintf("%v per workload", c.Duration)
	if c.Ops > 0 {
		length = fmt.Sprintf("%d ops per workload", c.Ops)
	}
	warmup := "no warm-up"
	if c.Warmup > 0 {
		warmup = fmt.Sprintf("after %v warm-up", c.Warmup)
	}
	fmt.Fprintf(&b, "zkload: %d sessions x depth %d, %d-byte values, %s %s, %d children, %d%% reads in mixed\n\n",
		c.Sessions, c.Depth, c.ValueSize, length, warmup, c.Children, c.ReadPercent)

	rows := [][]string{{"workload", "target", "ops/s", "p50 ms", "p99 ms", "max ms", "ok", "errors"}}
	for _, res := range r.Results {
		rows = append(rows, []string{
			string(res.Workload), res.Target,
			fmt.Sprintf("%.0f", res.OpsPerSec()),
			millis(res.Latency.Quantile(0.5)),
			millis(res.Latency.Quantile(0.99)),
			millis(res.Latency.Max()),
			fmt.Sprint(res.OK),
			errorList(res.Errors),
		})
	}
	writeTable(&b, rows, 2, 7)

	if ratios := r.Ratios(); len(ratios) > 0 {
		fmt.Fprintf(&b, "\nratios against %s (ops/s above 1: faster; p50 and p99 above 1: slower)\n\n", ratios[0].Baseline)
		rows := [][]string{{"workload", "target", "ops/s ratio", "p50 ratio", "p99 ratio"}}
		for _, x := range ratios {
			rows = append(rows, []string{string(x.Workload), x.Target, ratioText(x.OpsPerSec), ratioText(x.P50), ratioText(x.P99)})
		}
		writeTable(&b, rows, 2, 5)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// writeTable writes rows with columns padded to their widest cell, two
// spaces apart: columns before leftCols and from lastLeft on are aligned
// left (names, free text), the others right (numbers). Trailing spaces are
// trimmed.
func writeTable(b *strings.Builder, rows [][]string, leftCols, lastLeft int) {
	var widths []int
	for _, row := range rows {
		for i, cell := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(cell))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for i, cell := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-len(cell))
			if i < leftCols || i >= lastLeft {
				line.WriteString(cell + pad)
			} else {
				line.WriteString(pad + cell)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))
}

func ratioText(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

// errorList formats error counts as "CODE=n" sorted by code, or "-".
func errorList(errs map[string]int64) string {
	if len(errs) == 0 {
		return "-"
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s=%d", code, errs[code]))
	}
	return strings.Join(parts, " ")
}

type jsonReport struct {
	Config  jsonConfig   `json:"config"`
	Targets []string     `json:"targets"`
	Results []jsonResult `json:"results"`
	Ratios  []jsonRatio  `json:"ratios,omitempty"`
}

type jsonConfig struct {
	Sessions        int     `json:"sessions"`
	Depth           int     `json:"depth"`
	ValueSize       int     `json:"value_size"`
	DurationSeconds float64 `json:"duration_s,omitempty"`
	Ops             int64   `json:"ops,omitempty"`
	WarmupSeconds   float64 `json:"warmup_s"`
	Children        int     `json:"children"`
	ReadPercent     int     `json:"read_percent"`
}

type jsonResult struct {
	Workload       Workload         `json:"workload"`
	Target         string           `json:"target"`
	OK             int64            `json:"ok"`
	Writes         int64            `json:"writes"`
	Errors         map[string]int64 `json:"errors,omitempty"`
	ElapsedSeconds float64          `json:"elapsed_s"`
	OpsPerSec      float64          `json:"ops_per_s"`
	P50Millis      float64          `json:"p50_ms"`
	P99Millis      float64          `json:"p99_ms"`
	MaxMillis      float64          `json:"max_ms"`
	MeanMillis     float64          `json:"mean_ms"`
}

type jsonRatio struct {
	Workload  Workload `json:"workload"`
	Target    string   `json:"target"`
	Baseline  string   `json:"baseline"`
	OpsPerSec *float64 `json:"ops_per_s"` // null when undefined
	P50       *float64 `json:"p50"`
	P99       *float64 `json:"p99"`
}

// WriteJSON writes the report as one indented JSON document: config,
// targets, results (latencies in milliseconds) and ratios, an undefined
// ratio as null. Figures are rounded to what the measurement supports.
func (r *Report) WriteJSON(out io.Writer) error {
	c := r.Config
	doc := jsonReport{
		Config: jsonConfig{
			Sessions:      c.Sessions,
			Depth:         c.Depth,
			ValueSize:     c.ValueSize,
			Ops:           c.Ops,
			WarmupSeconds: max(c.Warmup, 0).Seconds(),
			Children:      c.Children,
			ReadPercent:   c.ReadPercent,
		},
		Targets: r.Targets,
		Results: []jsonResult{},
	}
	if c.Ops == 0 {
		doc.Config.DurationSeconds = c.Duration.Seconds()
	}
	ms := func(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }
	for _, res := range r.Results {
		jr := jsonResult{
			Workload:       res.Workload,
			Target:         res.Target,
			OK:             res.OK,
			Writes:         res.Writes,
			ElapsedSeconds: round(res.Elapsed.Seconds(), 3),
			OpsPerSec:      round(res.OpsPerSec(), 1),
			P50Millis:      ms(res.Latency.Quantile(0.5)),
			P99Millis:      ms(res.Latency.Quantile(0.99)),
			MaxMillis:      ms(res.Latency.Max()),
			MeanMillis:     ms(res.Latency.Mean()),
		}
		if len(res.Errors) > 0 {
			jr.Errors = res.Errors
		}
		doc.Results = append(doc.Results, jr)
	}
	for _, x := range r.Ratios() {
		doc.Ratios = append(doc.Ratios, jsonRatio{
			Workload:  x.Workload,
			Target:    x.Target,
			Baseline:  x.Baseline,
			OpsPerSec: roundPtr(x.OpsPerSec, 3),
			P50:       roundPtr(x.P50, 3),
			P99:       roundPtr(x.P99, 3),
		})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

func roundPtr(x float64, digits int) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	x = round(x, digits)
	return &x
}

// WriteSweepText writes, after the reports of a run at several session
// counts (one report each, in order), the ratios of every one side by
// side: a row per workload, target and concurrency (sessions × depth).
// It writes nothing unless there are two or more reports with ratios.
func WriteSweepText(out io.Writer, reports []*Report) error {
	type row struct {
		x           Ratio
		concurrency int
	}
	var rows []row
	for _, rep := range reports {
		for _, x := range rep.Ratios() {
			rows = append(rows, row{x, rep.Config.Sessions * rep.Config.Depth})
		}
	}
	if len(reports) < 2 || len(rows) == 0 {
		return nil
	}
	// Workloads in the order they first ran, then targets, then
	// concurrency.
	order := map[Workload]int{}
	for _, r := range rows {
		if _, ok := order[r.x.Workload]; !ok {
			order[r.x.Workload] = len(order)
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if c := order[a.x.Workload] - order[b.x.Workload]; c != 0 {
			return c
		}
		if c := strings.Compare(a.x.Target, b.x.Target); c != 0 {
			return c
		}
		return a.concurrency - b.concurrency
	})
	var b strings.Builder
	fmt.Fprintf(&b, "\nratios against %s at every concurrency (sessions x depth)\n\n", rows[0].x.Baseline)
	table := [][]string{{"workload", "target", "concurrency", "ops/s ratio", "p50 ratio", "p99 ratio"}}
	for _, r := range rows {
		table = append(table, []string{string(r.x.Workload), r.x.Target, fmt.Sprint(r.concurrency), ratioText(r.x.OpsPerSec), ratioText(r.x.P50), ratioText(r.x.P99)})
	}
	writeTable(&b, table, 2, 6)
	_, err := io.WriteString(out, b.String())
	return err
}
