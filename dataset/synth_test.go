package dataset

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/plot"
)

// synthCHW renders f at size x size as CHW float32, as the readers give it.
func synthCHW(f *synthFace, size int) []float32 {
	c := synthRender(f, size)
	n := c.w * c.h
	out := make([]float32, 3*n)
	for i := range n {
		for ch := range 3 {
			out[ch*n+i] = c.pix[3*i+ch]
		}
	}
	return out
}

// synthSheetAttrs are the ten attributes every face must show, and the
// sex the comparison faces are drawn from (-1 either, 0 female, 1 male).
var synthSheetAttrs = []struct {
	attr int
	sex  int
}{
	{saEyeglasses, -1}, {saSmiling, -1}, {saMale, -1}, {saHeavyMakeup, 0},
	{saWearingLipstick, 0}, {saMustache, 1}, {saRecedingHairline, 1},
	{saWearingHat, -1}, {saBlondHair, 0}, {saBangs, -1},
}

// TestSynthSheet writes a contact sheet of the ten attributes (four faces
// with, four without, per row) to $SYNTH_SHEET, for a person to look at.
func TestSynthSheet(t *testing.T) {
	path := os.Getenv("SYNTH_SHEET")
	if path == "" {
		t.Skip("set SYNTH_SHEET=/tmp/synth_sheet.png to write the contact sheet")
	}
	const per = 4
	var images [][]float32
	var rows []string
	idx := 0
	for _, s := range synthSheetAttrs {
		var with, without [][]float32
		for len(with) < per || len(without) < per {
			f := synthSample(1, idx)
			idx++
			if s.sex >= 0 && f.attr[saMale] != (s.sex == 1) {
				continue
			}
			if f.attr[s.attr] && len(with) < per {
				with = append(with, synthCHW(&f, 64))
			} else if !f.attr[s.attr] && len(without) < per {
				without = append(without, synthCHW(&f, 64))
			}
		}
		images = append(append(images, with...), without...)
		rows = append(rows, synthAttrNames[s.attr])
	}
	cols := []string{"with", "with", "with", "with", "without", "without", "without", "without"}
	if err := plot.ImageGrid(path, images, 3, 64, 64, 2*per, 2, "synthetic faces, 64x64", rows, cols); err != nil {
		t.Fatal(err)
	}
}

// synthDecodeCHW reads a JPEG as CHW float32.
func synthDecodeCHW(t *testing.T, path string) ([]float32, int, int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := jpeg.Decode(fh)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, 3*w*h)
	for y := range h {
		for x := range w {
			r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out[y*w+x], out[w*h+y*w+x], out[2*w*h+y*w+x] = float32(r)/65535, float32(g)/65535, float32(bb)/65535
		}
	}
	return out, w, h
}

// synthCropResize does the readers' preprocessing on a CHW picture: the
// centred 148x148 square, area-averaged down to 64x64.
func synthCropResize(src []float32, w, h int) []float32 {
	const crop, out = 148, 64
	x0, y0 := (w-crop)/2, (h-crop)/2
	dst := make([]float32, 3*out*out)
	for ch := range 3 {
		for oy := range out {
			for ox := range out {
				// Area average over the source span [a, b) in each axis.
				ax, bx := float64(ox)*crop/out, float64(ox+1)*crop/out
				ay, by := float64(oy)*crop/out, float64(oy+1)*crop/out
				var s, wt float64
				for sy := int(ay); float64(sy) < by; sy++ {
					fy := min(by, float64(sy+1)) - max(ay, float64(sy))
					for sx := int(ax); float64(sx) < bx; sx++ {
						fx := min(bx, float64(sx+1)) - max(ax, float64(sx))
						s += fx * fy * float64(src[ch*w*h+(y0+sy)*w+x0+sx])
						wt += fx * fy
					}
				}
				dst[ch*out*out+oy*out+ox] = float32(s / wt)
			}
		}
	}
	return dst
}

// TestSynthSheetFull writes 16 faces of WriteSynthFaces (size 0) as JPEG
// decodes, in full and through the readers' crop and resize, to
// $SYNTH_SHEET with "_full" and "_crop" before the extension.
func TestSynthSheetFull(t *testing.T) {
	path := os.Getenv("SYNTH_SHEET")
	if path == "" {
		t.Skip("set SYNTH_SHEET=/tmp/synth_sheet.png to write the contact sheets")
	}
	dir := t.TempDir()
	const n = 16
	if err := WriteSynthFaces(dir, n, 1, 0, nil); err != nil {
		t.Fatal(err)
	}
	var full, crop [][]float32
	var w, h int
	for i := range n {
		img, iw, ih := synthDecodeCHW(t, filepath.Join(dir, "img_align_celeba", synthFileName(i)))
		w, h = iw, ih
		full = append(full, img)
		crop = append(crop, synthCropResize(img, w, h))
	}
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext)
	if err := plot.ImageGrid(base+"_full"+ext, full, 3, h, w, 8, 1, "178x218 JPEGs", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := plot.ImageGrid(base+"_crop"+ext, crop, 3, 64, 64, 8, 2, "centre crop 148, resized to 64", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkSynthRender64(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		f := synthSample(1, i)
		synthRender(&f, 64)
	}
}

func BenchmarkSynthRender0(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		f := synthSample(1, i)
		synthRender(&f, 0)
	}
}

func TestSynthDeterministic(t *testing.T) {
	for _, size := range []int{0, 32} {
		a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
		const n = 10
		for _, d := range []string{a, b} {
			if err := WriteSynthFaces(d, n, 42, size, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteSynthFaces(c, n, 43, size, nil); err != nil {
			t.Fatal(err)
		}
		files := []string{"list_attr_celeba.txt", "list_eval_partition.txt"}
		for i := range n {
			files = append(files, filepath.Join("img_align_celeba", synthFileName(i)))
		}
		same := 0
		for _, name := range files {
			x, err := os.ReadFile(filepath.Join(a, name))
			if err != nil {
				t.Fatal(err)
			}
			y, err := os.ReadFile(filepath.Join(b, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x, y) {
				t.Errorf("size %d: %s differs between two calls with the same seed", size, name)
			}
			if z, _ := os.ReadFile(filepath.Join(c, name)); bytes.Equal(x, z) {
				same++
			}
		}
		// Only the partition list is the same for another seed.
		if same > 1 {
			t.Errorf("size %d: %d of %d files identical for seeds 42 and 43", size, same, len(files))
		}
	}
}

func TestSynthLayout(t *testing.T) {
	dir := t.TempDir()
	const n = 25
	var calls []int
	err := WriteSynthFaces(dir, n, 7, 64, func(done, total int) {
		if total != n {
			t.Errorf("progress total %d, want %d", total, n)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := func() []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i + 1
		}
		return s
	}(); !slices.Equal(calls, want) {
		t.Errorf("progress calls %v, want 1..%d", calls, n)
	}

	entries, err := os.ReadDir(filepath.Join(dir, "img_align_celeba"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != n || names[0] != "000001.jpg" || names[n-1] != "000025.jpg" {
		t.Fatalf("image directory holds %d files %v..., want 000001.jpg to 000025.jpg", len(names), names[:min(3, len(names))])
	}
	img, w, h := synthDecodeCHW(t, filepath.Join(dir, "img_align_celeba", "000003.jpg"))
	if w != 64 || h != 64 {
		t.Errorf("size 64 gave %dx%d pictures", w, h)
	}
	// The JPEG is the rendering, up to compression.
	f := synthSample(7, 2)
	ref := synthCHW(&f, 64)
	var diff float64
	for i := range img {
		diff += math.Abs(float64(img[i] - ref[i]))
	}
	if diff /= float64(len(img)); diff > 0.02 {
		t.Errorf("JPEG differs from the rendering by %.3f on average", diff)
	}

	raw, err := os.ReadFile(filepath.Join(dir, "list_attr_celeba.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != n+2 || lines[0] != "25" {
		t.Fatalf("list_attr_celeba.txt: %d lines starting %q, want %d starting \"25\"", len(lines), lines[0], n+2)
	}
	header := strings.Fields(lines[1])
	want := strings.Fields(`5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs
		Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin
		Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache
		Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns
		Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace
		Wearing_Necktie Young`)
	if !slices.Equal(header, want) {
		t.Fatalf("header %v, want CelebA's 40 names", header)
	}
	row := regexp.MustCompile(`^(\d{6}\.jpg)((  1| -1){40})$`)
	for i, l := range lines[2:] {
		m := row.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("attribute line %d %q is not a name and 40 values of 1/-1", i+1, l)
		}
		if m[1] != synthFileName(i) {
			t.Errorf("attribute line %d names %s", i+1, m[1])
		}
		f := synthSample(7, i)
		for k, v := range strings.Fields(m[2]) {
			if (v == "1") != f.attr[k] {
				t.Errorf("line %d: %s = %s, but the face was drawn with %v", i+1, want[k], v, f.attr[k])
			}
		}
	}

	raw, err = os.ReadFile(filepath.Join(dir, "list_eval_partition.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("list_eval_partition.txt has %d lines, want %d", len(lines), n)
	}
	count := [3]int{}
	for i, l := range lines {
		var name string
		var p int
		if _, err := fmt.Sscanf(l, "%s %d", &name, &p); err != nil || name != synthFileName(i) || p < 0 || p > 2 {
			t.Fatalf("partition line %d %q", i+1, l)
		}
		count[p]++
	}
	if count != [3]int{20, 3, 2} {
		t.Errorf("partitions %v, want 80/10/10%% = [20 3 2]", count)
	}
	if c := synthPartitionCounts(202599); c != [3]int{162079, 20260, 20260} {
		t.Errorf("partitions of 202599: %v", c)
	}
}

func synthPartitionCounts(n int) (c [3]int) {
	for i := range n {
		c[synthPartition(i, n)]++
	}
	return c
}

func TestSynthFullSize(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSynthFaces(dir, 2, 3, 0, nil); err != nil {
		t.Fatal(err)
	}
	img, w, h := synthDecodeCHW(t, filepath.Join(dir, "img_align_celeba", "000002.jpg"))
	if w != 178 || h != 218 {
		t.Fatalf("size 0 gave %dx%d pictures, want CelebA's 178x218", w, h)
	}
	// The face fills the centred 148x148 square: cropped and resized as
	// the readers do, it is the face drawn at 64x64 directly.
	crop := synthCropResize(img, w, h)
	f := synthSample(3, 1)
	ref := synthCHW(&f, 64)
	var diff float64
	for i := range ref {
		diff += math.Abs(float64(crop[i] - ref[i]))
	}
	if diff /= float64(len(ref)); diff > 0.02 {
		t.Errorf("centre crop of the 178x218 picture differs from the 64x64 drawing by %.3f on average", diff)
	}
}

func TestSynthErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		n, size int
		want    string
	}{
		{0, 0, "n = 0"}, {-3, 64, "n = -3"}, {1_000_000, 0, "n = 1000000"},
		{5, -1, "size -1"}, {5, 8, "size 8"},
	} {
		err := WriteSynthFaces(dir, c.n, 1, c.size, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("n=%d size=%d: error %v, want one naming %q", c.n, c.size, err, c.want)
		}
	}
	// A file where the directory should be.
	blocked := filepath.Join(dir, "blocked")
	if err := os.WriteFile(blocked, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSynthFaces(blocked, 3, 1, 32, nil); err == nil {
		t.Error("writing under a regular file succeeded")
	}
	// An image name taken by a directory: the error names that file.
	d := filepath.Join(dir, "taken")
	if err := os.MkdirAll(filepath.Join(d, "img_align_celeba", "000002.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteSynthFaces(d, 3, 1, 32, nil)
	if err == nil || !strings.Contains(err.Error(), "000002.jpg") {
		t.Errorf("error %v, want one naming 000002.jpg", err)
	}
	if _, err := os.Stat(filepath.Join(d, "list_attr_celeba.txt")); err == nil {
		t.Error("the attribute list was written although an image failed")
	}
}

func TestSynthRates(t *testing.T) {
	const n = 20000
	var count [synthNumAttrs]int
	var male, female, makeupM, makeupF, lipMakeup, makeup, mustacheM int
	for i := range n {
		f := synthSample(5, i)
		a := f.attr
		for k, v := range a {
			if v {
				count[k]++
			}
		}
		// Labels are what was drawn.
		if a[saBlondHair] != (f.hairKind == synthHairBlond) || a[saBlackHair] != (f.hairKind == synthHairBlack) ||
			a[saBrownHair] != (f.hairKind == synthHairBrown) || a[saGrayHair] != (f.hairKind == synthHairGray) {
			t.Fatalf("face %d: hair labels disagree with hair kind %d", i, f.hairKind)
		}
		if a[saNoBeard] == (a[saMustache] || a[saGoatee]) {
			t.Fatalf("face %d: No_Beard %v with mustache %v goatee %v", i, a[saNoBeard], a[saMustache], a[saGoatee])
		}
		if !a[saMale] && (a[saMustache] || a[saGoatee] || a[saBald] || a[saSideburns] || a[saFiveOClockShadow] || a[saWearingNecktie]) {
			t.Fatalf("face %d: facial hair, baldness or a necktie on a female face", i)
		}
		if a[saWearingHat] && (a[saRecedingHairline] || a[saBald]) || a[saBangs] && (a[saRecedingHairline] || a[saBald]) {
			t.Fatalf("face %d: hat or bangs with a receding hairline or a bald head, which would not show", i)
		}
		if a[saHeavyMakeup] && !a[saRosyCheeks] || a[saSmiling] && !a[saMouthSlightlyOpen] {
			t.Fatalf("face %d: makeup without blush or a smile with a closed mouth", i)
		}
		if a[saMale] {
			male++
			if a[saHeavyMakeup] {
				makeupM++
			}
			if a[saMustache] {
				mustacheM++
			}
		} else {
			female++
			if a[saHeavyMakeup] {
				makeupF++
			}
		}
		if a[saHeavyMakeup] {
			makeup++
			if a[saWearingLipstick] {
				lipMakeup++
			}
		}
	}
	rate := func(k int) float64 { return float64(count[k]) / n }
	for _, c := range []struct {
		attr   int
		lo, hi float64
	}{
		{saMale, 0.40, 0.44}, {saEyeglasses, 0.06, 0.10}, {saSmiling, 0.46, 0.50},
		{saBangs, 0.13, 0.17}, {saRecedingHairline, 0.06, 0.10}, {saWearingHat, 0.04, 0.06},
		{saBlondHair, 0.13, 0.17}, {saHeavyMakeup, 0.33, 0.40}, {saWearingLipstick, 0.40, 0.48},
		{saMustache, 0.09, 0.12}, {saYoung, 0.75, 0.79}, {saGrayHair, 0.035, 0.065},
		{saBlackHair, 0.22, 0.29}, {saBrownHair, 0.19, 0.26}, {saNoBeard, 0.82, 0.88},
	} {
		if r := rate(c.attr); r < c.lo || r > c.hi {
			t.Errorf("%s: rate %.3f outside [%.2f, %.2f]", synthAttrNames[c.attr], r, c.lo, c.hi)
		}
	}
	if p := float64(makeupF) / float64(female); p < 0.55 || p > 0.65 {
		t.Errorf("P(Heavy_Makeup | female) = %.3f, want about 0.6", p)
	}
	if p := float64(makeupM) / float64(male); p > 0.04 {
		t.Errorf("P(Heavy_Makeup | male) = %.3f, want about 0.02", p)
	}
	if p := float64(lipMakeup) / float64(makeup); p < 0.85 {
		t.Errorf("P(Wearing_Lipstick | Heavy_Makeup) = %.3f, want about 0.9", p)
	}
	if p := float64(mustacheM) / float64(male); p < 0.22 || p > 0.28 {
		t.Errorf("P(Mustache | male) = %.3f, want about 0.25", p)
	}
	if testing.Verbose() {
		for k, name := range synthAttrNames {
			t.Logf("%-20s %.3f", name, rate(k))
		}
	}
}

// synthImg is a 64x64 CHW rendering of a face with helpers that average
// over regions given in that face's coordinates (the head's centre at the
// origin, half the side of the square as the unit, y down).
type synthImg struct {
	pix []float32
	c   *synthCanvas
}

const synthN = 64

func newSynthImg(f *synthFace) synthImg {
	return synthImg{synthCHW(f, synthN), newSynthCanvas(f, synthN)}
}

func (im synthImg) px(x, y int) (r, g, b float64) {
	const n = synthN * synthN
	i := y*synthN + x
	return float64(im.pix[i]), float64(im.pix[n+i]), float64(im.pix[2*n+i])
}

// mean averages fn over the pixels whose centres lie in [x0,x1]x[y0,y1]
// (face units), and over its mirror image in x when mirror is set.
func (im synthImg) mean(x0, x1, y0, y1 float64, mirror bool, fn func(r, g, b float64) float64) float64 {
	var s float64
	cnt := 0
	for py := range synthN {
		for px := range synthN {
			x, y := im.c.toFace(float64(px)+0.5, float64(py)+0.5)
			if y < y0 || y > y1 {
				continue
			}
			if !(x >= x0 && x <= x1) && !(mirror && -x >= x0 && -x <= x1) {
				continue
			}
			s += fn(im.px(px, py))
			cnt++
		}
	}
	if cnt == 0 {
		panic("empty region")
	}
	return s / float64(cnt)
}

// top averages the k largest values of fn in a region.
func (im synthImg) top(x0, x1, y0, y1 float64, k int, fn func(r, g, b float64) float64) float64 {
	var v []float64
	im.mean(x0, x1, y0, y1, false, func(r, g, b float64) float64 {
		v = append(v, fn(r, g, b))
		return 0
	})
	slices.Sort(v)
	return synthMean(v[len(v)-k:])
}

func synthLum(r, g, b float64) float64 { return 0.299*r + 0.587*g + 0.114*b }

// skin is the mean colour of the nose bridge below the eyes.
func (im synthImg) skin() (r, g, b float64) {
	r = im.mean(-0.04, 0.04, 0.0, 0.08, false, func(r, _, _ float64) float64 { return r })
	g = im.mean(-0.04, 0.04, 0.0, 0.08, false, func(_, g, _ float64) float64 { return g })
	b = im.mean(-0.04, 0.04, 0.0, 0.08, false, func(_, _, b float64) float64 { return b })
	return
}

// distFrom is the mean L1 colour distance from (r0,g0,b0) over a region.
func (im synthImg) distFrom(r0, g0, b0, x0, x1, y0, y1 float64, mirror bool) float64 {
	return im.mean(x0, x1, y0, y1, mirror, func(r, g, b float64) float64 {
		return math.Abs(r-r0) + math.Abs(g-g0) + math.Abs(b-b0)
	})
}

// synthVisible lists, for each of the ten attributes, which faces are
// compared (cond) and a statistic that the attribute must raise.
var synthVisible = []struct {
	attr int
	what string
	cond func(a *[synthNumAttrs]bool) bool
	stat func(im synthImg) float64
}{
	{saEyeglasses, "dark pixels around the eyes", nil, func(im synthImg) float64 {
		sr, sg, sb := im.skin()
		s := synthLum(sr, sg, sb)
		return im.mean(-0.4, 0.4, -0.12, 0.08, false, func(r, g, b float64) float64 {
			if synthLum(r, g, b) < 0.45*s {
				return 1
			}
			return 0
		})
	}},
	{saSmiling, "dark open mouth below the lip line", nil, func(im synthImg) float64 {
		sr, sg, sb := im.skin()
		dark := min(0.16, 0.5*synthLum(sr, sg, sb))
		return im.mean(-0.15, 0.15, 0.4, 0.56, false, func(r, g, b float64) float64 {
			if synthLum(r, g, b) < dark {
				return 1
			}
			return 0
		})
	}},
	{saMale, "background showing beside the cheeks (no long hair)", nil, func(im synthImg) float64 {
		r0, g0, b0 := im.px(1, 1)
		return -im.distFrom(r0, g0, b0, 0.63, 0.73, 0.2, 0.5, true)
	}},
	{saHeavyMakeup, "eyelid colour away from the skin (women, no glasses)", func(a *[synthNumAttrs]bool) bool {
		return !a[saMale] && !a[saEyeglasses]
	}, func(im synthImg) float64 {
		sr, sg, sb := im.skin()
		r := im.mean(0.12, 0.32, -0.15, -0.1, true, func(r, _, _ float64) float64 { return r })
		g := im.mean(0.12, 0.32, -0.15, -0.1, true, func(_, g, _ float64) float64 { return g })
		b := im.mean(0.12, 0.32, -0.15, -0.1, true, func(_, _, b float64) float64 { return b })
		return math.Abs(r-sr) + math.Abs(g-sg) + math.Abs(b-sb)
	}},
	{saHeavyMakeup, "redness of the cheeks (women)", synthFemale, func(im synthImg) float64 {
		sr, sg, sb := im.skin()
		return im.mean(0.24, 0.38, 0.13, 0.25, true, synthRedness) - synthRedness(sr, sg, sb)
	}},
	{saWearingLipstick, "redness of the mouth (women)", synthFemale, func(im synthImg) float64 {
		return im.top(-0.18, 0.18, 0.34, 0.52, 8, synthRedness)
	}},
	{saMustache, "darkness over the upper lip (men)", synthMale, func(im synthImg) float64 {
		sr, sg, sb := im.skin()
		return synthLum(sr, sg, sb) - im.mean(-0.12, 0.12, 0.31, 0.37, false, synthLum)
	}},
	{saRecedingHairline, "skin at the temples (men, no hat, bangs or baldness)", func(a *[synthNumAttrs]bool) bool {
		return a[saMale] && !a[saWearingHat] && !a[saBangs] && !a[saBald]
	}, func(im synthImg) float64 {
		sr, sg, sb := im.skin()
		return -im.distFrom(sr, sg, sb, 0.2, 0.36, -0.62, -0.5, true)
	}},
	{saWearingHat, "colourfulness over the crown", nil, func(im synthImg) float64 {
		return im.mean(-0.2, 0.2, -0.75, -0.58, false, func(r, g, b float64) float64 { return max(r, g, b) - min(r, g, b) })
	}},
	{saBlondHair, "brightness of the hair on top (no hat, baldness or receding hairline)", func(a *[synthNumAttrs]bool) bool {
		return !a[saWearingHat] && !a[saBald] && !a[saRecedingHairline]
	}, func(im synthImg) float64 {
		return im.mean(-0.2, 0.2, -0.7, -0.6, false, synthLum)
	}},
	{saBangs, "forehead colour away from the skin", nil, func(im synthImg) float64 {
		sr, sg, sb := im.skin()
		return im.distFrom(sr, sg, sb, -0.12, 0.12, -0.37, -0.32, false)
	}},
}

func synthFemale(a *[synthNumAttrs]bool) bool { return !a[saMale] }
func synthMale(a *[synthNumAttrs]bool) bool   { return a[saMale] }
func synthRedness(r, g, b float64) float64    { return r - max(g, b) }

// TestSynthVisible checks that each of the ten attributes shows at 64x64:
// in the region where it is drawn, a statistic separates faces with the
// attribute from faces without it (the probability that a random face with
// it scores higher than one without, the AUC, is near 1). The test fails
// if an attribute stops being drawn.
func TestSynthVisible(t *testing.T) {
	const per = 120 // faces with and without, per statistic
	type group struct{ with, without []int }
	groups := make([]group, len(synthVisible))
	need := map[int]bool{}
	full := func() bool {
		for _, g := range groups {
			if len(g.with) < per || len(g.without) < per {
				return false
			}
		}
		return true
	}
	for i := 0; !full(); i++ {
		f := synthSample(11, i)
		for k, v := range synthVisible {
			if v.cond != nil && !v.cond(&f.attr) {
				continue
			}
			g := &groups[k]
			if f.attr[v.attr] && len(g.with) < per {
				g.with = append(g.with, i)
				need[i] = true
			} else if !f.attr[v.attr] && len(g.without) < per {
				g.without = append(g.without, i)
				need[i] = true
			}
		}
	}
	var idx []int
	for i := range need {
		idx = append(idx, i)
	}
	imgs := make([]synthImg, len(idx))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := int(next.Add(1) - 1); j < len(idx); j = int(next.Add(1) - 1) {
				f := synthSample(11, idx[j])
				imgs[j] = newSynthImg(&f)
			}
		})
	}
	wg.Wait()
	byIndex := map[int]synthImg{}
	for j, i := range idx {
		byIndex[i] = imgs[j]
	}
	for k, v := range synthVisible {
		score := func(ids []int) []float64 {
			s := make([]float64, len(ids))
			for j, i := range ids {
				s[j] = v.stat(byIndex[i])
			}
			return s
		}
		with, without := score(groups[k].with), score(groups[k].without)
		auc := 0.0
		for _, a := range with {
			for _, b := range without {
				switch {
				case a > b:
					auc++
				case a == b:
					auc += 0.5
				}
			}
		}
		auc /= float64(len(with) * len(without))
		mw, mo := synthMean(with), synthMean(without)
		t.Logf("%-18s %-60s with %.3f without %.3f AUC %.3f", synthAttrNames[v.attr], v.what, mw, mo, auc)
		if auc < 0.95 {
			t.Errorf("%s is not clearly visible: %s is %.3f with it and %.3f without, AUC %.3f < 0.95",
				synthAttrNames[v.attr], v.what, mw, mo, auc)
		}
	}
}

func synthMean(s []float64) float64 {
	var t float64
	for _, v := range s {
		t += v
	}
	return t / float64(len(s))
}

// TestSynthCounterfactuals: a flipped face is the same face with only the
// flipped attribute changed, in its labels and in its picture.
func TestSynthCounterfactuals(t *testing.T) {
	const n, seed = 16, 5
	orig := t.TempDir()
	if err := WriteSynthFaces(orig, n, seed, 0, nil); err != nil {
		t.Fatal(err)
	}
	// Rows of the 178x218 picture that the flipped feature must not touch
	// (JPEG's 16-row blocks included): the glasses sit at the eyes, the
	// smile at the mouth, the makeup between the brows and the cheeks.
	for _, c := range []struct {
		attr string
		tied []string
		keep [][2]int
	}{
		{"Eyeglasses", nil, [][2]int{{160, 218}}},
		{"Smiling", []string{"Mouth_Slightly_Open", "High_Cheekbones"}, [][2]int{{0, 96}}},
		{"Heavy_Makeup", nil, [][2]int{{0, 80}, {160, 218}}}, // Rosy_Cheeks: checked below
	} {
		flip := t.TempDir()
		if err := WriteSynthCounterfactuals(flip, n, seed, 0, []string{c.attr}, nil); err != nil {
			t.Fatal(err)
		}
		for _, list := range []string{"list_eval_partition.txt"} {
			a, _ := os.ReadFile(filepath.Join(orig, list))
			b, _ := os.ReadFile(filepath.Join(flip, list))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: %s differs", c.attr, list)
			}
		}
		la, lb := synthReadAttrLines(t, orig), synthReadAttrLines(t, flip)
		changed := 0
		for i := range n {
			for k, name := range synthAttrNames {
				switch {
				case name == c.attr:
					if la[i][k] == lb[i][k] {
						t.Errorf("%s: face %d keeps its label", c.attr, i)
					}
				case name == "Rosy_Cheeks" && c.attr == "Heavy_Makeup":
					// Every made-up face wears blush.
					if lb[i][saHeavyMakeup] == "1" && lb[i][k] != "1" {
						t.Errorf("%s: face %d: makeup added without blush", c.attr, i)
					}
				case slices.Contains(c.tied, name):
				case la[i][k] != lb[i][k]:
					t.Errorf("%s: face %d: %s changed from %s to %s", c.attr, i, name, la[i][k], lb[i][k])
				}
			}
			p := filepath.Join("img_align_celeba", synthFileName(i))
			x, w, h := synthDecodeCHW(t, filepath.Join(orig, p))
			y, _, _ := synthDecodeCHW(t, filepath.Join(flip, p))
			diff, outside := 0.0, 0.0
			for ch := range 3 {
				for r := range h {
					for q := range w {
						d := math.Abs(float64(x[ch*w*h+r*w+q] - y[ch*w*h+r*w+q]))
						diff += d
						for _, k := range c.keep {
							if r >= k[0] && r < k[1] {
								outside += d
							}
						}
					}
				}
			}
			if diff/float64(3*w*h) < 1e-3 {
				t.Errorf("%s: face %d: flipped picture barely differs (mean |d| %.2g)", c.attr, i, diff/float64(3*w*h))
			}
			if outside != 0 {
				t.Errorf("%s: face %d: rows %v changed (sum |d| %.3g)", c.attr, i, c.keep, outside)
			}
			changed++
		}
		if changed != n {
			t.Errorf("%s: %d of %d faces compared", c.attr, changed, n)
		}
	}
	if err := WriteSynthCounterfactuals(t.TempDir(), 2, 1, 32, []string{"Male"}, nil); err == nil || !strings.Contains(err.Error(), `"Male"`) {
		t.Errorf("flipping Male: got %v, want an error naming it", err)
	}
}

// synthReadAttrLines returns the value columns of list_attr_celeba.txt.
func synthReadAttrLines(t *testing.T, dir string) [][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "list_attr_celeba.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")[2:]
	out := make([][]string, len(lines))
	for i, l := range lines {
		out[i] = strings.Fields(l)[1:]
	}
	return out
}
