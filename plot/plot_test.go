package plot

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Colour tests: a pixel counts as red or blue only when that channel clearly
// dominates, so black text, grey grid lines and white paper count as neither.
func isRed(c color.Color) bool {
	r, g, b := rgb(c)
	return r > 150 && r > g+60 && r > b+60
}

func isBlue(c color.Color) bool {
	r, g, b := rgb(c)
	return b > 120 && b > r+50 && b > g+20
}

func rgb(c color.Color) (r, g, b int) {
	r32, g32, b32, _ := c.RGBA()
	return int(r32 >> 8), int(g32 >> 8), int(b32 >> 8)
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	return img
}

// count returns how many pixels of r satisfy is.
func count(img image.Image, r image.Rectangle, is func(color.Color) bool) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if is(img.At(x, y)) {
				n++
			}
		}
	}
	return n
}

// quadrants splits an image the way a reader does; image y grows downwards.
func quadrants(b image.Rectangle) (topLeft, topRight, bottomLeft, bottomRight image.Rectangle) {
	mx, my := (b.Min.X+b.Max.X)/2, (b.Min.Y+b.Max.Y)/2
	return image.Rect(b.Min.X, b.Min.Y, mx, my), image.Rect(mx, b.Min.Y, b.Max.X, my),
		image.Rect(b.Min.X, my, mx, b.Max.Y), image.Rect(mx, my, b.Max.X, b.Max.Y)
}

// cluster returns n points spread over the square [x0,x0+1]x[y0,y0+1].
func cluster(n int, x0, y0 float64) (xs, ys []float64) {
	for i := range n {
		xs = append(xs, x0+float64(i%17)/16)
		ys = append(ys, y0+float64(i%13)/12)
	}
	return xs, ys
}

func TestScatterColoursFollowLabels(t *testing.T) {
	// Label 1 in the top right corner of the data, label 0 in the bottom left.
	x1, y1 := cluster(300, 9, 9)
	x0, y0 := cluster(300, 0, 0)
	xs, ys := append(x0, x1...), append(y0, y1...)
	labels := make([]int, len(xs))
	for i := len(x0); i < len(labels); i++ {
		labels[i] = 1
	}
	path := filepath.Join(t.TempDir(), "s.png")
	if err := Scatter(path, "csvae  (w1,w2)  KL(y=1||y=0)=1.33", "w1", "w2", xs, ys, labels); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	if b := img.Bounds(); b.Dx() < 400 || b.Dx() > 700 || b.Dx() != b.Dy() {
		t.Fatalf("size %v, want a square of about 500 pixels", b.Size())
	}
	tl, tr, bl, br := quadrants(img.Bounds())
	if n := count(img, tr, isRed); n < 200 {
		t.Errorf("top right, where the label-1 points are: %d red pixels", n)
	}
	if n := count(img, bl, isBlue); n < 200 {
		t.Errorf("bottom left, where the label-0 points are: %d blue pixels", n)
	}
	if n := count(img, tr, isBlue); n > 0 {
		t.Errorf("top right has only label-1 points but %d blue pixels", n)
	}
	if n := count(img, bl, isRed); n > 0 {
		t.Errorf("bottom left has only label-0 points but %d red pixels", n)
	}
	// The top left holds the legend (the first free corner); the bottom
	// right holds nothing at all.
	if n := count(img, br, isRed) + count(img, br, isBlue); n > 0 {
		t.Errorf("bottom right has no points but %d red or blue pixels", n)
	}
	if count(img, tl, isRed) == 0 || count(img, tl, isBlue) == 0 {
		t.Errorf("top left should hold the legend with both class colours")
	}
}

func TestScatterLegendAvoidsData(t *testing.T) {
	// Points in three corners; only the bottom right is free, so a red
	// pixel there can only be the legend's swatch.
	var xs, ys []float64
	var labels []int
	for _, c := range [][3]float64{{0, 9, 0}, {9, 9, 1}, {0, 0, 0}} {
		cx, cy := cluster(200, c[0], c[1])
		xs, ys = append(xs, cx...), append(ys, cy...)
		for range cx {
			labels = append(labels, int(c[2]))
		}
	}
	path := filepath.Join(t.TempDir(), "s.png")
	if err := Scatter(path, "t", "x", "y", xs, ys, labels); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	_, _, _, br := quadrants(img.Bounds())
	if count(img, br, isRed) == 0 || count(img, br, isBlue) == 0 {
		t.Errorf("legend is not in the only free corner (bottom right)")
	}
}

func TestScatterDrawsLabelOneOnTop(t *testing.T) {
	// Every label-1 point sits exactly on five label-0 points and comes
	// first in the input; drawn in input order it would vanish.
	var xs, ys []float64
	var labels []int
	for i := range 40 {
		x, y := float64(i%8), float64(i/8)
		for k := range 6 {
			xs, ys = append(xs, x), append(ys, y)
			labels = append(labels, map[bool]int{true: 1, false: 0}[k == 0])
		}
	}
	path := filepath.Join(t.TempDir(), "s.png")
	if err := Scatter(path, "overlap", "x", "y", xs, ys, labels); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	red, blue := count(img, img.Bounds(), isRed), count(img, img.Bounds(), isBlue)
	// The legend contributes a few pixels of each colour.
	if red < 10*blue || red < 500 {
		t.Errorf("overlapping points show %d red and %d blue pixels, want red on top", red, blue)
	}
}

func TestScatterRejectsBadInput(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name      string
		xs, ys    []float64
		labels    []int
		wantInErr []string
	}{
		{"short ys", []float64{1, 2, 3}, []float64{1, 2}, []int{0, 1, 0}, []string{"3 xs", "2 ys"}},
		{"short labels", []float64{1, 2}, []float64{1, 2}, []int{0}, []string{"1 labels"}},
		{"NaN", []float64{1, 2, 3, 4}, []float64{1, 2, 3, nan}, []int{0, 1, 0, 1}, []string{"ys[3]", "NaN"}},
		{"Inf", []float64{inf, 2}, []float64{1, 2}, []int{0, 1}, []string{"xs[0]", "Inf"}},
		{"label 2", []float64{1, 2}, []float64{1, 2}, []int{0, 2}, []string{"labels[1]", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.png")
			err := Scatter(path, "t", "x", "y", tc.xs, tc.ys, tc.labels)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range append(tc.wantInErr, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
				t.Errorf("bad input still wrote %s", path)
			}
		})
	}
}

func TestScatterEdgeCasesStillDraw(t *testing.T) {
	dir := t.TempDir()
	for name, labels := range map[string][]int{"none": {}, "one class": {0, 0, 0}} {
		xs, ys := make([]float64, len(labels)), make([]float64, len(labels))
		if err := Scatter(filepath.Join(dir, "s.png"), name, "x", "y", xs, ys, labels); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A title far wider than the picture must not be a failure.
	long := strings.Repeat("KL(y=1||y=0)=1.33 ", 10)
	if err := Scatter(filepath.Join(dir, "s.png"), long, "x", "y", []float64{1}, []float64{2}, []int{1}); err != nil {
		t.Error(err)
	}
}

func lossPanels() []Panel {
	var panels []Panel
	for k, name := range []string{"recon", "kl_w", "kl_z"} {
		scale := math.Pow(100, float64(-k)) * 1000 // 1000, 10, 0.1
		var train, test Series
		train.Name, test.Name = "train", "test"
		for e := 1; e <= 40; e++ {
			v := scale * (1 + 2*math.Exp(-float64(e)/8))
			train.X, train.Y = append(train.X, float64(e)), append(train.Y, v)
			tv := math.NaN() // the test loss is measured every 5 epochs
			if e%5 == 0 {
				tv = 1.2 * v
			}
			test.X, test.Y = append(test.X, float64(e)), append(test.Y, tv)
		}
		panels = append(panels, Panel{Title: name, Series: []Series{train, test}})
	}
	return panels
}

func near(want color.NRGBA) func(color.Color) bool {
	return func(c color.Color) bool {
		r, g, b := rgb(c)
		d := math.Abs(float64(r)-float64(want.R)) + math.Abs(float64(g)-float64(want.G)) + math.Abs(float64(b)-float64(want.B))
		return d < 40
	}
}

func TestPanelsDrawsTrainAndTestInDistinctColours(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.png")
	if err := Panels(path, "losses", "epoch", lossPanels(), 2); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 300 || b.Dx() > 3000 || b.Dy() > 3000 {
		t.Fatalf("implausible size %v", b.Size())
	}
	colors := seriesColors(lossPanels())
	train, test := colors["train"], colors["test"]
	if train == test {
		t.Fatalf("train and test share colour %v", train)
	}
	for name, c := range map[string]color.NRGBA{"train": train, "test": test} {
		if n := count(img, img.Bounds(), near(c)); n < 300 {
			t.Errorf("%s colour %v: only %d pixels", name, c, n)
		}
	}
}

func TestPanelsScaleEachPanelOnItsOwn(t *testing.T) {
	panels := lossPanels()
	colors := seriesColors(panels)
	for _, pn := range panels {
		ch, err := panelChart(pn, "epoch", colors)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range pn.Series {
			for _, y := range s.Y {
				if !math.IsNaN(y) {
					lo, hi = math.Min(lo, y), math.Max(hi, y)
				}
			}
		}
		if ch.p.Y.Min != lo || ch.p.Y.Max != hi {
			t.Errorf("%s: y axis [%g, %g], want its own data range [%g, %g]", pn.Title, ch.p.Y.Min, ch.p.Y.Max, lo, hi)
		}
	}
}

func TestPanelsShowSinglePoints(t *testing.T) {
	nan := math.NaN()
	panels := []Panel{{Title: "one epoch", Series: []Series{
		{Name: "train", X: []float64{1, 2}, Y: []float64{5, nan}},
		{Name: "test", X: []float64{1, 2, 3}, Y: []float64{nan, 4, math.Inf(1)}},
	}}}
	path := filepath.Join(t.TempDir(), "one.png")
	if err := Panels(path, "after one epoch", "epoch", panels, 0); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	colors := seriesColors(panels)
	for _, name := range []string{"train", "test"} {
		// The legend alone draws a few pixels of each; a marker adds more.
		if n := count(img, img.Bounds(), near(colors[name])); n < 40 {
			t.Errorf("single %s point not visible: %d pixels of its colour", name, n)
		}
	}
}

func TestPanelsRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.png")
	err := Panels(path, "t", "epoch", nil, 2)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("no panels: error %v, want one naming %s", err, path)
	}
	bad := []Panel{{Title: "kl_z", Series: []Series{{Name: "test", X: []float64{1, 2}, Y: []float64{1}}}}}
	err = Panels(path, "t", "epoch", bad, 2)
	if err == nil {
		t.Fatal("mismatched series lengths: no error")
	}
	for _, want := range []string{path, "kl_z", `"test"`, "2 X", "1 Y"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestGridShape(t *testing.T) {
	for _, tc := range []struct{ n, cols, wantCols, wantRows int }{
		{5, 3, 3, 2}, {5, 0, 3, 2}, {4, 0, 2, 2}, {1, 0, 1, 1}, {2, 5, 2, 1}, {6, 1, 1, 6},
	} {
		c, r := gridShape(tc.n, tc.cols)
		if c != tc.wantCols || r != tc.wantRows {
			t.Errorf("gridShape(%d, %d) = %d cols %d rows, want %d, %d", tc.n, tc.cols, c, r, tc.wantCols, tc.wantRows)
		}
	}
}

func TestWriteFailureLeavesNothingBehind(t *testing.T) {
	xs, ys, labels := []float64{0, 1}, []float64{0, 1}, []int{0, 1}

	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "s.png")
	err := Scatter(missing, "t", "x", "y", xs, ys, labels)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing directory: error %v, want one naming %s", err, missing)
	}

	// A directory in the way makes the final rename fail after the
	// temporary file was written: that temporary must be removed.
	dir := t.TempDir()
	inTheWay := filepath.Join(dir, "s.png")
	if err := os.MkdirAll(filepath.Join(inTheWay, "child"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = Panels(inTheWay, "t", "epoch", lossPanels(), 2)
	if err == nil || !strings.Contains(err.Error(), inTheWay) {
		t.Errorf("directory in the way: error %v, want one naming %s", err, inTheWay)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("after a failed write the directory holds %v, want only s.png", names)
	}
}

func TestWriteReplacesAtomicallyAndReadably(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.png")
	if err := os.WriteFile(path, []byte("old picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Scatter(path, "t", "x", "y", []float64{0, 1}, []float64{0, 1}, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	decode(t, path)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only s.png", len(entries))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o044 == 0 {
		t.Errorf("picture is not readable by others: %v %v", fi.Mode(), err)
	}
}
