package chart

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The PNG decodes, and every server's line is drawn in its colour.
func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "setData.png")
	series := []Series{
		{Target: "zookeeper", Points: []Point{{64, 21000, 7}, {1, 4600, 0.3}, {16, 15000, 3}}},
		{Target: "layerd", Points: []Point{{1, 3200, 0.5}, {16, 9000, 6}, {64, 9200, 27}}},
	}
	if err := WritePNG(path, "setData", series); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 150 {
		t.Fatalf("image of %v", b)
	}
	for i, s := range series {
		want := color.RGBAModel.Convert(palette[i]).(color.RGBA)
		found := 0
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if near(color.RGBAModel.Convert(img.At(x, y)).(color.RGBA), want) {
					found++
				}
			}
		}
		if found < 200 {
			t.Errorf("%s's colour %v: %d pixels, want its lines", s.Target, want, found)
		}
	}
}

// near says whether two colours differ by little in every channel (the
// lines are anti-aliased).
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) < 40 && d(a.G, b.G) < 40 && d(a.B, b.B) < 40
}

func TestWritePNGRefusesEmpty(t *testing.T) {
	dir := t.TempDir()
	for name, series := range map[string][]Series{
		"no series":     nil,
		"no points":     {{Target: "a"}},
		"concurrency 0": {{Target: "a", Points: []Point{{0, 1, 1}}}},
	} {
		if err := WritePNG(filepath.Join(dir, "x.png"), "x", series); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
