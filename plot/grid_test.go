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

// gridSolid is a c x h x w image of one colour (c = 3) or grey level.
func gridSolid(c, h, w int, v ...float32) []float32 {
	out := make([]float32, c*h*w)
	for ch := range c {
		for i := range h * w {
			out[ch*h*w+i] = v[ch]
		}
	}
	return out
}

func gridDecode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func gridRGB(img image.Image, x, y int) [3]uint8 {
	c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
	return [3]uint8{c.R, c.G, c.B}
}

// gridBox is the bounding box of the pixels of colour want.
func gridBox(img image.Image, want [3]uint8) image.Rectangle {
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if gridRGB(img, x, y) == want {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

var (
	gridRed     = [3]uint8{255, 0, 0}
	gridBlue    = [3]uint8{0, 0, 255}
	gridMagenta = [3]uint8{255, 0, 255}
)

func TestImageGridLayout(t *testing.T) {
	// Five 6x4 images, three to a row, magnified twice: cells of 12x8
	// pixels with gaps (and margins) of 2.
	const c, h, w, scale = 3, 4, 6, 2
	var images [][]float32
	for i := range 5 {
		if i == 4 {
			images = append(images, gridSolid(c, h, w, 1, 0, 0))
		} else {
			images = append(images, gridSolid(c, h, w, 0, 0, 1))
		}
	}
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := ImageGrid(path, images, c, h, w, 3, scale, "", nil, nil); err != nil {
		t.Fatal(err)
	}
	img := gridDecode(t, path)
	if got := img.Bounds().Size(); got != image.Pt(2+3*12+2*2+2, 2+2*8+2+2) {
		t.Fatalf("sheet is %v, want 44x22", got)
	}
	// Image 4 is the second of the second row.
	if got, want := gridBox(img, gridRed), image.Rect(2+14, 2+10, 2+14+12, 2+10+8); got != want {
		t.Errorf("red image at %v, want %v", got, want)
	}
	for y := 12; y < 20; y++ {
		for x := 16; x < 28; x++ {
			if gridRGB(img, x, y) != gridRed {
				t.Fatalf("pixel (%d,%d) of the red image is %v", x, y, gridRGB(img, x, y))
			}
		}
	}
	// The first image fills its cell in blue; the gap beside it is white.
	if got := gridRGB(img, 2, 2); got != gridBlue {
		t.Errorf("top left of the first image is %v, want blue", got)
	}
	if got := gridRGB(img, 14, 5); got != [3]uint8{255, 255, 255} {
		t.Errorf("gap between images is %v, want white", got)
	}
	// The sixth cell, with no image, stays white.
	if got := gridRGB(img, 2+2*14+5, 2+10+4); got != [3]uint8{255, 255, 255} {
		t.Errorf("empty cell is %v, want white", got)
	}
}

func TestImageGridValues(t *testing.T) {
	const h, w = 3, 3
	// Channel 1 of pixel (x=2, y=1) is NaN; the rest out of range.
	rgb := gridSolid(3, h, w, -0.5, 2, 0.5)
	rgb[h*w+1*w+2] = float32(math.NaN())
	grey := gridSolid(1, h, w, 0.25)
	grey[0] = float32(math.NaN())
	dir := t.TempDir()

	path := filepath.Join(dir, "rgb.png")
	if err := ImageGrid(path, [][]float32{rgb}, 3, h, w, 1, 4, "", nil, nil); err != nil {
		t.Fatal(err)
	}
	img := gridDecode(t, path)
	if got, want := gridBox(img, gridMagenta), image.Rect(2+8, 2+4, 2+12, 2+8); got != want {
		t.Errorf("NaN pixel shows magenta at %v, want %v", got, want)
	}
	if got := gridRGB(img, 2, 2); got != [3]uint8{0, 255, 128} {
		t.Errorf("(-0.5, 2, 0.5) shows as %v, want clamped to (0, 255, 128)", got)
	}

	path = filepath.Join(dir, "grey.png")
	if err := ImageGrid(path, [][]float32{grey}, 1, h, w, 0, 1, "", nil, nil); err != nil {
		t.Fatal(err)
	}
	img = gridDecode(t, path)
	if got := gridRGB(img, 2, 2); got != gridMagenta {
		t.Errorf("grey NaN shows as %v, want magenta", got)
	}
	if got := gridRGB(img, 3, 2); got != [3]uint8{64, 64, 64} {
		t.Errorf("grey 0.25 shows as %v, want (64, 64, 64)", got)
	}
}

func TestImageGridText(t *testing.T) {
	const c, h, w, scale = 3, 8, 8, 4
	images := [][]float32{gridSolid(c, h, w, 0, 0, 1), gridSolid(c, h, w, 1, 0, 0), gridSolid(c, h, w, 0, 0, 1), gridSolid(c, h, w, 0, 0, 1)}
	path := filepath.Join(t.TempDir(), "text.png")
	err := ImageGrid(path, images, c, h, w, 2, scale, "A title for the sheet",
		[]string{"first row", "second"}, []string{"with a long label", "without"})
	if err != nil {
		t.Fatal(err)
	}
	img := gridDecode(t, path)
	size := img.Bounds().Size()
	red := gridBox(img, gridRed)
	if red.Dx() != w*scale || red.Dy() != h*scale {
		t.Fatalf("red image covers %v, want a full %dx%d cell", red, w*scale, h*scale)
	}
	// Dark text pixels: the title above everything, row labels left of
	// the images, column labels between the title and the images.
	dark := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if p := gridRGB(img, x, y); int(p[0])+int(p[1])+int(p[2]) < 3*128 {
					n++
				}
			}
		}
		return n
	}
	firstTop := red.Min.Y // both images of the first row start at the same height
	if n := dark(image.Rect(0, 0, size.X, firstTop/2)); n < 20 {
		t.Errorf("title: %d dark pixels in the top band", n)
	}
	left := red.Min.X - w*scale - 2 // the first column starts left of the red image
	if n := dark(image.Rect(0, firstTop, left-1, size.Y)); n < 20 {
		t.Errorf("row labels: %d dark pixels left of the images", n)
	}
	if n := dark(image.Rect(left, firstTop/2, size.X, firstTop)); n < 20 {
		t.Errorf("column labels: %d dark pixels above the images", n)
	}
	if left < 20 || firstTop < 30 {
		t.Errorf("images start at (%d,%d): no room was made for the labels", left, firstTop)
	}
}

func TestImageGridErrors(t *testing.T) {
	dir := t.TempDir()
	ok := gridSolid(3, 2, 2, 0, 0, 0)
	for _, c := range []struct {
		name      string
		images    [][]float32
		c, h, w   int
		cols, sc  int
		rows, hdr []string
		want      string
	}{
		{"none", nil, 3, 2, 2, 1, 1, nil, nil, "no images"},
		{"short", [][]float32{ok, ok[:5]}, 3, 2, 2, 1, 1, nil, nil, "image 1 has 5 values"},
		{"channels", [][]float32{ok}, 2, 2, 3, 1, 1, nil, nil, "2 channels"},
		{"size", [][]float32{ok}, 3, 0, 2, 1, 1, nil, nil, "image size"},
		{"scale", [][]float32{ok}, 3, 2, 2, 1, 0, nil, nil, "scale 0"},
		{"rows", [][]float32{ok, ok, ok}, 3, 2, 2, 2, 1, []string{"a"}, nil, "1 row labels for 2 rows"},
		{"cols", [][]float32{ok, ok, ok}, 3, 2, 2, 2, 1, nil, []string{"a", "b", "c"}, "3 column labels for 2 columns"},
	} {
		path := filepath.Join(dir, c.name+".png")
		err := ImageGrid(path, c.images, c.c, c.h, c.w, c.cols, c.sc, "", c.rows, c.hdr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if _, serr := os.Stat(path); serr == nil {
			t.Errorf("%s: a file was written despite the error", c.name)
		}
	}
	if err := ImageGrid(filepath.Join(dir, "missing", "x.png"), [][]float32{ok}, 3, 2, 2, 1, 1, "", nil, nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	// A failed write leaves an existing sheet as it was.
	path := filepath.Join(dir, "keep.png")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ImageGrid(path, [][]float32{ok[:3]}, 3, 2, 2, 1, 1, "", nil, nil); err == nil {
		t.Fatal("bad image accepted")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Error("a rejected call changed the existing file")
	}
}

func TestImagePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "one.png")
	v := gridSolid(3, 4, 4, 0.5, -1, 2) // clamped to 0 and 255
	v[0] = 0
	if err := ImagePNG(path, v, 4); err != nil {
		t.Fatal(err)
	}
	img := gridDecode(t, path)
	if b := img.Bounds(); b.Dx() != 4 || b.Dy() != 4 {
		t.Fatalf("size %v, want 4x4", b)
	}
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{{0, 0, color.RGBA{0, 0, 255, 255}}, {3, 3, color.RGBA{128, 0, 255, 255}}} {
		if got := color.RGBAModel.Convert(img.At(c.x, c.y)).(color.RGBA); got != c.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	if err := ImagePNG(path, v[:10], 4); err == nil || !strings.Contains(err.Error(), "10 values") {
		t.Errorf("short image: got %v", err)
	}
}
