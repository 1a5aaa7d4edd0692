// Package chart draws zkload's results against concurrency: for one
// workload, throughput and p99 latency at each concurrency, a line per
// server, side by side in one PNG (docs/benchmarks.md shows them).
package chart

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Point is one measurement: a workload at one concurrency (sessions ×
// requests in flight per session).
type Point struct {
	Concurrency int
	OpsPerSec   float64
	P99Ms       float64
}

// Series is one server's points, in any order.
type Series struct {
	Target string
	Points []Point
}

// palette tells the servers apart; more than its length reuse it with
// other dashes.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// WritePNG draws title's two panels (ops/s and p99 ms against
// concurrency, concurrency on a log scale) into a PNG at path.
func WritePNG(path, title string, series []Series) error {
	if len(series) == 0 {
		return errors.New("chart: no series")
	}
	for _, s := range series {
		if len(s.Points) == 0 {
			return fmt.Errorf("chart: %s has no points", s.Target)
		}
		for _, p := range s.Points {
			if p.Concurrency < 1 {
				return fmt.Errorf("chart: %s: concurrency %d", s.Target, p.Concurrency)
			}
		}
	}
	ops, err := panel(title+": throughput", "ops/s", series, func(p Point) float64 { return p.OpsPerSec })
	if err != nil {
		return err
	}
	p99, err := panel(title+": p99 latency", "p99 ms", series, func(p Point) float64 { return p.P99Ms })
	if err != nil {
		return err
	}
	img := vgimg.New(18*vg.Centimeter, 8*vg.Centimeter)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	for i, p := range []*plot.Plot{ops, p99} {
		p.Draw(tiles.At(dc, i, 0))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("chart: %s: %w", path, err)
	}
	return f.Close()
}

// panel is one plot of y against concurrency, a line with points per
// series.
func panel(title, ylabel string, series []Series, y func(Point) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "concurrency (sessions × in flight)"
	p.Y.Label.Text = ylabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Millimeter*2, -vg.Millimeter*2
	p.Add(plotter.NewGrid())
	for i, s := range series {
		pts := slices.Clone(s.Points)
		slices.SortFunc(pts, func(a, b Point) int { return a.Concurrency - b.Concurrency })
		xys := make(plotter.XYs, len(pts))
		for j, pt := range pts {
			xys[j] = plotter.XY{X: float64(pt.Concurrency), Y: y(pt)}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("chart: %s: %w", s.Target, err)
		}
		c := palette[i%len(palette)]
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		if i >= len(palette) {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(line, points)
		p.Legend.Add(s.Target, line, points)
	}
	return p, nil
}
