package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// CelebA's 40 attribute names, in the order of list_attr_celeba.txt.
var celebaTestAttrs = strings.Fields(`5_o_Clock_Shadow Arched_Eyebrows Attractive
	Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair Blurry
	Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair
	Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes
	No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks
	Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat
	Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young`)

// celebaTestImage is one image of a fixture: img written as a JPEG of
// quality 100, or raw bytes as they are, or (missing) no file at all.
type celebaTestImage struct {
	img     image.Image
	raw     []byte
	missing bool
	part    int
}

func celebaTestName(i int) string { return fmt.Sprintf("%06d.jpg", i+1) }

// celebaTestValue is attribute j of image i in every fixture.
func celebaTestValue(i, j int) uint8 {
	if (7*i+j)%3 == 0 {
		return 1
	}
	return 0
}

func celebaTestJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// celebaTestFixture writes a CelebA-layout directory with the 40 names,
// laid out as the published files are (values right-aligned in columns of
// two, so separated by one or two spaces).
func celebaTestFixture(t testing.TB, dir string, imgs []celebaTestImage) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, CelebAImageDir), 0o755); err != nil {
		t.Fatal(err)
	}
	var attr, part strings.Builder
	fmt.Fprintf(&attr, "%d\n%s \n", len(imgs), strings.Join(celebaTestAttrs, " "))
	for i, im := range imgs {
		name := celebaTestName(i)
		attr.WriteString(name)
		for j := range celebaTestAttrs {
			fmt.Fprintf(&attr, " %2d", 2*int(celebaTestValue(i, j))-1)
		}
		attr.WriteString("\n")
		fmt.Fprintf(&part, "%s %d\n", name, im.part)
		data := im.raw
		if im.img != nil {
			data = celebaTestJPEG(t, im.img)
		}
		if !im.missing {
			if err := os.WriteFile(filepath.Join(dir, CelebAImageDir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	celebaTestWrite(t, filepath.Join(dir, CelebAAttrFile), attr.String())
	celebaTestWrite(t, filepath.Join(dir, CelebAPartitionFile), part.String())
}

func celebaTestWrite(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func celebaTestSolid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, 255
	}
	return m
}

// celebaTestFace is a smooth, face-like picture: a gradient background, a
// lit oval, two dark eyes, mild noise; seed varies it.
func celebaTestFace(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 3))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	hue := r.Float64()
	for y := range h {
		for x := range w {
			u, v := (float64(x)+0.5)/float64(w), (float64(y)+0.5)/float64(h)
			cr, cg, cb := 40+120*u, 60+100*v, 90+80*hue
			if d := math.Hypot((u-0.5)/0.3, (v-0.5)/0.38); d < 1 {
				k := 1 - d*d
				cr, cg, cb = cr+(230-cr)*k, cg+(180-cg)*k, cb+(150-cb)*k
			}
			for _, ex := range []float64{0.38, 0.62} {
				if math.Hypot(u-ex, v-0.45) < 0.04 {
					cr, cg, cb = 40, 30, 30
				}
			}
			n := 6 * (r.Float64() - 0.5)
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = celebaTestByte(cr+n), celebaTestByte(cg+n), celebaTestByte(cb+n), 255
		}
	}
	return m
}

func celebaTestByte(v float64) uint8 { return uint8(min(255, max(0, math.Round(v)))) }

// celebaTestPrepare prepares dir into dir/cache.bin and opens it.
func celebaTestPrepare(t testing.TB, dir string, opt PrepareOptions) (*Cache, PrepareReport) {
	t.Helper()
	out := filepath.Join(dir, "cache.bin")
	rep, err := PrepareCelebA(dir, out, opt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, rep
}

// ---- the area resize ----

// bruteArea is the exact area average of the w x h plane src over
// [x0, x0+lx) x [y0, y0+ly) onto nx x ny outputs, in float64, pixel by
// pixel over the whole plane.
func bruteArea(src []float64, w, h int, x0, lx float64, nx int, y0, ly float64, ny int) []float64 {
	overlap := func(a0, a1 float64, p int) float64 {
		return max(0, min(a1, float64(p+1))-max(a0, float64(p)))
	}
	out := make([]float64, nx*ny)
	for oy := range ny {
		ya, yb := y0+ly*float64(oy)/float64(ny), y0+ly*float64(oy+1)/float64(ny)
		for ox := range nx {
			xa, xb := x0+lx*float64(ox)/float64(nx), x0+lx*float64(ox+1)/float64(nx)
			var s float64
			for y := range h {
				wy := overlap(ya, yb, y)
				if wy == 0 {
					continue
				}
				for x := range w {
					s += wy * overlap(xa, xb, x) * src[y*w+x]
				}
			}
			out[oy*nx+ox] = s / ((xb - xa) * (yb - ya))
		}
	}
	return out
}

func TestAreaResizeMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		w, h           int
		x0, lx, y0, ly float64
		nx, ny         int
	}{
		{178, 218, 15, 148, 35, 148, 64, 64}, // CelebA to 64
		{178, 218, 15, 148, 35, 148, 32, 32}, // CelebA to 32
		{148, 148, 0, 148, 0, 148, 37, 37},   // an odd output size
		{70, 45, 3.25, 61.5, 1, 40, 13, 9},   // non-square, fractional window
		{9, 7, 0.5, 6, 1.5, 5, 11, 8},        // upsampling
		{64, 64, 0, 64, 0, 64, 64, 64},       // identity
	}
	for _, tc := range cases {
		src := make([]float64, tc.w*tc.h)
		for i := range src {
			src[i] = float64(r.IntN(256))
		}
		want := bruteArea(src, tc.w, tc.h, tc.x0, tc.lx, tc.nx, tc.y0, tc.ly, tc.ny)
		ax := newAreaAxis(tc.x0, tc.lx, tc.nx, tc.w)
		ay := newAreaAxis(tc.y0, tc.ly, tc.ny, tc.h)
		rw, rh := ax.hi-ax.lo, ay.hi-ay.lo
		planes := make([]float32, rw*rh)
		for y := range rh {
			for x := range rw {
				planes[y*rw+x] = float32(src[(y+ay.lo)*tc.w+x+ax.lo])
			}
		}
		got := make([]float32, tc.nx*tc.ny)
		areaResize(planes, 1, rw, rh, &ax, &ay, got, make([]float32, rh*tc.nx))
		worst := 0.0
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i])-want[i]))
		}
		if worst > 2e-3 {
			t.Errorf("%dx%d [%g+%g]x[%g+%g] -> %dx%d: off the float64 reference by %g",
				tc.w, tc.h, tc.x0, tc.lx, tc.y0, tc.ly, tc.nx, tc.ny, worst)
		}
		if tc.nx == tc.w && tc.lx == float64(tc.w) && tc.ny == tc.h {
			for i := range got {
				if float64(got[i]) != src[i] {
					t.Fatalf("identity resize changed value %d: %g -> %g", i, src[i], got[i])
				}
			}
		}
	}
}

// The whole preprocessing of a random 178x218 picture, rounded to bytes,
// against the brute-force reference on its central 148 square.
func TestPreprocessMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{64, 32, 9} {
		m := image.NewRGBA(image.Rect(0, 0, 178, 218))
		for i := range m.Pix {
			m.Pix[i] = uint8(r.IntN(256))
			if i%4 == 3 {
				m.Pix[i] = 255
			}
		}
		got, err := PreprocessCelebA(m, size)
		if err != nil {
			t.Fatal(err)
		}
		for c := range 3 {
			src := make([]float64, 178*218)
			for i := range src {
				src[i] = float64(m.Pix[4*i+c])
			}
			want := bruteArea(src, 178, 218, 15, 148, size, 35, 148, size)
			for i, v := range want {
				if d := math.Abs(float64(got[c*size*size+i]) - v); d > 0.5+1e-3 {
					t.Fatalf("S=%d channel %d pixel %d: %d, reference %g", size, c, i, got[c*size*size+i], v)
				}
			}
		}
	}
}

func TestCelebACropWindow(t *testing.T) {
	for _, tc := range []struct {
		w, h         int
		x0, y0, side float64
	}{
		{178, 218, 15, 35, 148},
		{356, 436, 30, 70, 296},
		{89, 109, 7.5, 17.5, 74},
		{64, 64, 0, 0, 64},
		{100, 60, 20, 0, 60},
		{65, 64, 0.5, 0, 64},
	} {
		x0, y0, side := CelebACropWindow(tc.w, tc.h)
		if x0 != tc.x0 || y0 != tc.y0 || side != tc.side {
			t.Errorf("%dx%d: crop (%g,%g) side %g, want (%g,%g) side %g", tc.w, tc.h, x0, y0, side, tc.x0, tc.y0, tc.side)
		}
	}
}

// opaqueImage hides an image's concrete type, forcing the generic path.
type opaqueImage struct{ image.Image }

// The YCbCr and Gray fast paths read what At would, for every chroma
// subsampling and an image whose bounds do not start at the origin.
func TestPlanesMatchAt(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	rect := image.Rect(3, 5, 3+41, 5+37)
	var imgs []image.Image
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		m := image.NewYCbCr(rect, ratio)
		for _, p := range [][]uint8{m.Y, m.Cb, m.Cr} {
			for i := range p {
				p[i] = uint8(r.IntN(256))
			}
		}
		imgs = append(imgs, m)
	}
	g := image.NewGray(rect)
	for i := range g.Pix {
		g.Pix[i] = uint8(r.IntN(256))
	}
	imgs = append(imgs, g)
	for n, img := range imgs {
		x0, y0, rw, rh := 4, 6, 33, 29 // odd offsets inside rect
		fast, slow := make([]float32, 3*rw*rh), make([]float32, 3*rw*rh)
		celebaToPlanes(img, x0, y0, rw, rh, fast)
		celebaToPlanes(opaqueImage{img}, x0, y0, rw, rh, slow)
		if !slices.Equal(fast, slow) {
			t.Errorf("image %d (%T): the fast path differs from At", n, img)
		}
	}
}

// ---- the attribute and partition lists ----

func TestReadCelebAIndex(t *testing.T) {
	dir := t.TempDir()
	imgs := make([]celebaTestImage, 5)
	for i := range imgs {
		imgs[i].part = i % 3
	}
	celebaTestFixture(t, dir, imgs)
	// CRLF line ends and trailing blank lines are accepted.
	p := filepath.Join(dir, CelebAPartitionFile)
	b, _ := os.ReadFile(p)
	celebaTestWrite(t, p, strings.ReplaceAll(string(b), "\n", "\r\n")+"\r\n\n")
	x, err := ReadCelebAIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x.Attrs, celebaTestAttrs) || len(x.Files) != 5 || x.Files[4] != "000005.jpg" {
		t.Fatalf("attrs %v files %v", x.Attrs, x.Files)
	}
	for i := range 5 {
		if int(x.Partition[i]) != i%3 {
			t.Errorf("image %d: partition %d, want %d", i, x.Partition[i], i%3)
		}
		for j := range celebaTestAttrs {
			if x.Values[i*40+j] != celebaTestValue(i, j) {
				t.Fatalf("image %d attribute %d: %d", i, j, x.Values[i*40+j])
			}
		}
	}
	if got := x.ImagePath(1); got != filepath.Join(dir, "img_align_celeba", "000002.jpg") {
		t.Errorf("ImagePath(1) = %s", got)
	}
}

// Every malformed list gives an error naming the file, the line and the
// fault.
func TestReadCelebAIndexErrors(t *testing.T) {
	const (
		attrHead = "4\nSmiling Male  Young\n"
		good     = "000001.jpg  1 -1  1\n000002.jpg -1 -1  1\n000003.jpg  1  1 -1\n000004.jpg -1  1  1\n"
		parts    = "000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n"
	)
	cases := []struct {
		name, attr, part string
		file             string // the file the error must name, with ":line:"
		want             string
	}{
		{"short line", attrHead + strings.Replace(good, "000002.jpg -1 -1  1", "000002.jpg -1 -1", 1), parts,
			CelebAAttrFile + ":4:", "000002.jpg has 2 attribute values, want 3"},
		{"long line", attrHead + strings.Replace(good, "000004.jpg -1  1  1", "000004.jpg -1  1  1 1", 1), parts,
			CelebAAttrFile + ":6:", "has 4 attribute values, want 3"},
		{"bad value", attrHead + strings.Replace(good, "000003.jpg  1  1 -1", "000003.jpg  1  0 -1", 1), parts,
			CelebAAttrFile + ":5:", `value "0" for Male (column 3) is not 1 or -1`},
		{"count too high", "5\nSmiling Male  Young\n" + good, parts,
			CelebAAttrFile + ":1:", "the count says 5 images but 4 image lines follow"},
		{"count too low", "3\nSmiling Male  Young\n" + good, parts,
			CelebAAttrFile + ":1:", "the count says 3 images but 4"},
		{"count not a number", "four\nSmiling Male  Young\n" + good, parts,
			CelebAAttrFile + ":1:", "should be the number of images"},
		{"duplicate attribute", "4\nSmiling Male Smiling\n" + good, parts,
			CelebAAttrFile + ":2:", `attribute "Smiling" appears twice (columns 1 and 3)`},
		{"duplicate image", attrHead + strings.Replace(good, "000004.jpg", "000002.jpg", 1), parts,
			CelebAAttrFile + ":6:", "000002.jpg listed twice (first on line 4)"},
		{"empty line", attrHead + strings.Replace(good, "000003.jpg  1  1 -1\n", "\n", 1) + "000003.jpg  1  1 -1\n", parts,
			CelebAAttrFile + ":5:", "empty line"},
		{"path in a name", attrHead + strings.Replace(good, "000003.jpg", "../x.jpg", 1), parts,
			CelebAAttrFile + ":5:", "not a plain file name"},
		{"name only in partitions", attrHead + good, parts + "000005.jpg 1\n",
			CelebAPartitionFile + ":5:", "000005.jpg is not listed in"},
		{"name only in attributes", attrHead + good, strings.Replace(parts, "000003.jpg 1\n", "", 1),
			CelebAAttrFile + ":5:", "000003.jpg has no line in"},
		{"unknown partition", attrHead + good, strings.Replace(parts, "000002.jpg 0", "000002.jpg 3", 1),
			CelebAPartitionFile + ":2:", `partition "3", want 0 (train), 1 (valid) or 2 (test)`},
		{"duplicate partition line", attrHead + good, parts + "000001.jpg 0\n",
			CelebAPartitionFile + ":5:", "000001.jpg listed twice (first on line 1)"},
		{"partition line short", attrHead + good, strings.Replace(parts, "000004.jpg 2", "000004.jpg", 1),
			CelebAPartitionFile + ":4:", "1 fields, want 2"},
		{"empty partition file", attrHead + good, "\n",
			CelebAPartitionFile + ":", "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			celebaTestWrite(t, filepath.Join(dir, CelebAAttrFile), tc.attr)
			celebaTestWrite(t, filepath.Join(dir, CelebAPartitionFile), tc.part)
			_, err := ReadCelebAIndex(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to name %s and say %q", err, tc.file, tc.want)
			}
		})
	}
	dir := t.TempDir()
	for _, f := range []string{CelebAAttrFile, CelebAPartitionFile} {
		_, err := ReadCelebAIndex(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, f)) {
			t.Errorf("missing %s: error %v", f, err)
		}
		celebaTestWrite(t, filepath.Join(dir, f), map[string]string{CelebAAttrFile: attrHead + good, CelebAPartitionFile: parts}[f])
	}
	if _, err := ReadCelebAIndex(dir); err != nil {
		t.Errorf("the good lists: %v", err)
	}
}

// ---- PrepareCelebA ----

// TestPrepareRoundTrip checks what comes out of Fill against the pictures
// that went in: colours and channel order, the 148 crop, orientation,
// images of other sizes, a grayscale JPEG, attributes, partitions, names.
func TestPrepareRoundTrip(t *testing.T) {
	const size = 64
	dir := t.TempDir()
	// A mid-grey central square in a black frame: black and grey differ in
	// luma only, so 4:2:0 chroma subsampling cannot smear the frame inward
	// and any of it in the output means the crop is off.
	frame := celebaTestSolid(178, 218, color.RGBA{0, 0, 0, 255})
	for y := 35; y < 35+148; y++ {
		for x := 15; x < 15+148; x++ {
			frame.SetRGBA(x, y, color.RGBA{200, 200, 200, 255})
		}
	}
	gray := image.NewGray(image.Rect(0, 0, 178, 218))
	for y := range 218 {
		for x := range 178 {
			gray.Pix[y*178+x] = uint8(x + y/4)
		}
	}
	pics := []image.Image{
		celebaTestSolid(178, 218, color.RGBA{210, 60, 30, 255}), // channel order
		frame,
		celebaTestFace(178, 218, 1), // orientation and detail
		celebaTestFace(64, 64, 2),   // already S x S: kept whole
		celebaTestFace(89, 109, 3),  // CelebA's proportion at half size
		celebaTestFace(120, 90, 4),  // landscape: the centred square
		gray,
	}
	imgs := make([]celebaTestImage, len(pics))
	for i, p := range pics {
		imgs[i] = celebaTestImage{img: p, part: (i + 1) % 3}
	}
	celebaTestFixture(t, dir, imgs)
	var calls []int
	c, rep := celebaTestPrepare(t, dir, PrepareOptions{Size: size, Workers: 3,
		Progress: func(done, total int) {
			if total != len(pics) {
				t.Errorf("progress total %d", total)
			}
			calls = append(calls, done)
		}})
	if want := []int{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(calls, want) {
		t.Errorf("progress calls %v, want %v", calls, want)
	}
	if rep.Images != 7 || rep.Skipped != 0 || rep.Partitions != [3]int{2, 3, 2} || rep.Size != size {
		t.Errorf("report %+v", rep)
	}
	if st, _ := os.Stat(filepath.Join(dir, "cache.bin")); st.Size() != rep.Bytes {
		t.Errorf("report says %d bytes, the file has %d", rep.Bytes, st.Size())
	}
	if c.Len() != 7 || c.Size() != size || !slices.Equal(c.Names(), celebaTestAttrs) || c.Partitions() != [3]int{2, 3, 2} {
		t.Fatalf("cache: %d examples, size %d, names %v, partitions %v", c.Len(), c.Size(), c.Names(), c.Partitions())
	}
	all, err := c.Split(-1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch, h, w := all.ImageShape(); ch != 3 || h != size || w != size || all.Dim() != 3*size*size || all.Len() != 7 {
		t.Fatalf("shape %d,%d,%d dim %d len %d", ch, h, w, all.Dim(), all.Len())
	}
	d := all.Dim()
	x, y := make([]float32, 7*d), make([]float32, 7*40)
	all.Fill([]int{0, 1, 2, 3, 4, 5, 6}, x, y)
	for i, p := range pics {
		if all.Name(i) != celebaTestName(i) {
			t.Errorf("example %d: name %s", i, all.Name(i))
		}
		for j := range 40 {
			if y[i*40+j] != float32(celebaTestValue(i, j)) {
				t.Fatalf("example %d attribute %d: %g", i, j, y[i*40+j])
			}
		}
		// Exactly what decoding the file and preprocessing it gives...
		decoded, err := LoadCelebAImage(filepath.Join(dir, CelebAImageDir, celebaTestName(i)), size)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range x[i*d : (i+1)*d] {
			if v != float32(decoded[k])/255 {
				t.Fatalf("example %d value %d: %g, the decoded file gives %d/255", i, k, v, decoded[k])
			}
		}
		// ...and, up to JPEG's losses, what preprocessing the picture
		// itself gives: flipped or shifted, the gradients would be far off.
		want, err := PreprocessCelebA(p, size)
		if err != nil {
			t.Fatal(err)
		}
		mean := 0.0
		for k, v := range decoded {
			mean += math.Abs(float64(v) - float64(want[k]))
		}
		mean /= float64(d)
		t.Logf("example %d (%s): %.2f levels from the picture on average", i, all.Name(i), mean)
		if mean > 1.5 {
			t.Errorf("example %d (%s): off the picture by %.2f levels on average", i, all.Name(i), mean)
		}
	}
	// The solid picture: R, G, B planes in that order.
	for ch, v := range []float64{210, 60, 30} {
		plane := x[ch*size*size : (ch+1)*size*size]
		for _, got := range plane {
			if math.Abs(float64(got)*255-v) > 2.5 {
				t.Fatalf("solid picture, channel %d: %g, want %g", ch, got*255, v)
			}
		}
	}
	// The frame: every output pixel, the border ones included, is grey.
	for k, v := range x[d : 2*d] {
		if math.Abs(float64(v)*255-200) > 2.5 {
			t.Fatalf("framed picture: value %d (row %d, col %d) is %.1f, want 200: the crop takes in the frame",
				k, k%(size*size)/size, k%size, v*255)
		}
	}
	// Selected attributes, in the order asked for, and partitions.
	valid, err := c.Split(1, []string{"Young", "Male"})
	if err != nil {
		t.Fatal(err)
	}
	if valid.Len() != 3 || !slices.Equal(valid.Attrs(), []string{"Young", "Male"}) {
		t.Fatalf("valid split: %d examples, attrs %v", valid.Len(), valid.Attrs())
	}
	yv := make([]float32, 2*3)
	xv := make([]float32, 3*d)
	valid.Fill([]int{2, 0, 1}, xv, yv)
	for j, i := range []int{2, 0, 1} {
		e := valid.Index(i) // examples 0, 3, 6 are in partition 1
		if e != 3*i || valid.Name(i) != celebaTestName(e) {
			t.Fatalf("valid example %d is cache example %d (%s)", i, e, valid.Name(i))
		}
		if yv[2*j] != float32(celebaTestValue(e, 39)) || yv[2*j+1] != float32(celebaTestValue(e, 20)) {
			t.Errorf("valid example %d: y %v", i, yv[2*j:2*j+2])
		}
		if !slices.Equal(xv[j*d:(j+1)*d], x[e*d:(e+1)*d]) {
			t.Errorf("valid example %d: pixels differ from cache example %d", i, e)
		}
	}
}

// The worker count changes nothing in the file.
func TestPrepareWorkersIdentical(t *testing.T) {
	dir := t.TempDir()
	imgs := make([]celebaTestImage, 24)
	for i := range imgs {
		imgs[i] = celebaTestImage{img: celebaTestFace(178, 218, uint64(i)), part: i % 3}
	}
	celebaTestFixture(t, dir, imgs)
	var files [][]byte
	for _, w := range []int{1, 4, 0, 24} {
		out := filepath.Join(dir, fmt.Sprintf("w%d.bin", w))
		if _, err := PrepareCelebA(dir, out, PrepareOptions{Size: 32, Workers: w}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	for i := 1; i < len(files); i++ {
		if !bytes.Equal(files[0], files[i]) {
			t.Errorf("cache %d differs from the single-worker one", i)
		}
	}
	// Limit keeps the first images of the attribute file.
	c, rep := celebaTestPrepare(t, dir, PrepareOptions{Size: 16, Limit: 5})
	if rep.Images != 5 || c.Len() != 5 {
		t.Fatalf("limit 5: %d images", c.Len())
	}
	s, _ := c.Split(-1, nil)
	if s.Name(4) != "000005.jpg" {
		t.Errorf("limit 5: last image %s", s.Name(4))
	}
}

// celebaTestDirFiles lists dir's entries, for checking nothing was left.
func celebaTestDirFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// Bad images: without SkipBad the first in file order stops everything and
// nothing is written; with it they are skipped and reported.
func TestPrepareBadImages(t *testing.T) {
	dir := t.TempDir()
	good := celebaTestJPEG(t, celebaTestFace(178, 218, 9))
	imgs := make([]celebaTestImage, 12)
	for i := range imgs {
		imgs[i] = celebaTestImage{raw: good, part: i % 3}
	}
	imgs[3] = celebaTestImage{missing: true}
	imgs[6] = celebaTestImage{raw: good[:len(good)/2]}                                                    // truncated
	imgs[8] = celebaTestImage{raw: append([]byte{0xff, 0xd8}, bytes.Repeat([]byte("not a jpeg"), 50)...)} // corrupt
	imgs[10] = celebaTestImage{raw: []byte("GIF89a")}                                                     // not a JPEG at all
	celebaTestFixture(t, dir, imgs)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "celeba.cache")

	// A good cache already there must survive every failed attempt.
	small := t.TempDir()
	celebaTestFixture(t, small, []celebaTestImage{{raw: good}})
	if _, err := PrepareCelebA(small, out, PrepareOptions{Size: 8}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(out)

	imgPath := func(i int) string { return filepath.Join(dir, CelebAImageDir, celebaTestName(i)) }
	for _, workers := range []int{1, 4} {
		_, err := PrepareCelebA(dir, out, PrepareOptions{Size: 16, Workers: workers})
		if err == nil || !strings.Contains(err.Error(), imgPath(3)) || !strings.Contains(err.Error(), "missing image") {
			t.Errorf("workers %d: error %v, want the missing %s", workers, err, imgPath(3))
		}
		_, err = PrepareCelebA(dir, out, PrepareOptions{Size: 16, Workers: workers, Limit: 3 + 5})
		if err == nil || !strings.Contains(err.Error(), imgPath(3)) {
			t.Errorf("workers %d, limit 8: error %v", workers, err)
		}
	}
	// The other kinds, each alone.
	for i, want := range map[int]string{6: "corrupt or truncated JPEG", 8: "corrupt or truncated JPEG", 10: "corrupt or truncated JPEG"} {
		one := t.TempDir()
		celebaTestFixture(t, one, []celebaTestImage{{raw: good}, imgs[i]})
		p := filepath.Join(one, CelebAImageDir, celebaTestName(1))
		_, err := PrepareCelebA(one, out, PrepareOptions{Size: 16})
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), want) {
			t.Errorf("image %d: error %v, want %q naming %s", i, err, want, p)
		}
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("a failed prepare changed the existing cache")
	}
	if names := celebaTestDirFiles(t, outDir); !slices.Equal(names, []string{"celeba.cache"}) {
		t.Errorf("left behind in the output folder: %v", names)
	}

	rep, err := PrepareCelebA(dir, out, PrepareOptions{Size: 16, Workers: 3, SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	wantSkipped := []string{celebaTestName(3), celebaTestName(6), celebaTestName(8), celebaTestName(10)}
	if rep.Images != 8 || rep.Skipped != 4 || !slices.Equal(rep.SkippedFiles, wantSkipped) || len(rep.SkipReasons) != 4 {
		t.Fatalf("report %+v", rep)
	}
	for i, why := range rep.SkipReasons {
		if !strings.Contains(why, filepath.Join(dir, CelebAImageDir, wantSkipped[i])) {
			t.Errorf("skip reason %q does not name %s", why, wantSkipped[i])
		}
	}
	c, err := OpenCache(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := c.Split(-1, []string{"Smiling"})
	kept := []int{0, 1, 2, 4, 5, 7, 9, 11}
	y := make([]float32, 1)
	x := make([]float32, s.Dim())
	for i, e := range kept {
		s.Fill([]int{i}, x, y)
		if s.Name(i) != celebaTestName(e) || y[0] != float32(celebaTestValue(e, 31)) {
			t.Errorf("example %d: %s, Smiling %g; want %s, %d", i, s.Name(i), y[0], celebaTestName(e), celebaTestValue(e, 31))
		}
	}

	// Every image bad is an error too, not an empty cache.
	bad := t.TempDir()
	celebaTestFixture(t, bad, []celebaTestImage{{missing: true}, {raw: []byte("x")}})
	if _, err := PrepareCelebA(bad, filepath.Join(bad, "c"), PrepareOptions{Size: 8, SkipBad: true}); err == nil ||
		!strings.Contains(err.Error(), "every one of the 2 images was bad") {
		t.Errorf("all bad: %v", err)
	}
}

func TestPrepareOptionErrors(t *testing.T) {
	dir := t.TempDir()
	celebaTestFixture(t, dir, []celebaTestImage{{img: celebaTestFace(32, 32, 1)}})
	for _, tc := range []struct {
		opt  PrepareOptions
		out  string
		want string
	}{
		{PrepareOptions{Size: 4}, "c", "image size 4"},
		{PrepareOptions{Size: 16, Workers: -1}, "c", "workers -1"},
		{PrepareOptions{Size: 16, Limit: -2}, "c", "limit -2"},
		{PrepareOptions{Size: 16}, "no/such/dir/c", filepath.Join(dir, "no/such/dir/c")},
	} {
		_, err := PrepareCelebA(dir, filepath.Join(dir, tc.out), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.opt, err, tc.want)
		}
	}
	if _, err := PrepareCelebA(filepath.Join(dir, "nowhere"), filepath.Join(dir, "c"), PrepareOptions{Size: 16}); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(dir, "nowhere", CelebAAttrFile)) {
		t.Errorf("missing directory: %v", err)
	}
	os.Rename(filepath.Join(dir, CelebAImageDir), filepath.Join(dir, "elsewhere"))
	if _, err := PrepareCelebA(dir, filepath.Join(dir, "c"), PrepareOptions{Size: 16}); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(dir, CelebAImageDir)+": no such directory") {
		t.Errorf("missing image folder: %v", err)
	}
	if names := celebaTestDirFiles(t, dir); !slices.Equal(names, []string{"elsewhere", CelebAAttrFile, CelebAPartitionFile}) {
		t.Errorf("left behind: %v", names)
	}
}

// BenchmarkPrepare prepares 256 178x218 JPEGs to 64x64 with every core,
// the final fsync included.
func BenchmarkPrepare(b *testing.B) {
	dir := b.TempDir()
	imgs := make([]celebaTestImage, 256)
	for i := range imgs {
		imgs[i] = celebaTestImage{img: celebaTestFace(178, 218, uint64(i)), part: i % 3}
	}
	// Quality 100 makes the files bigger and slower to decode than
	// CelebA's (quality ~75); the numbers are a lower bound.
	celebaTestFixture(b, dir, imgs)
	out := filepath.Join(dir, "bench.cache")
	b.ResetTimer()
	for b.Loop() {
		if _, err := PrepareCelebA(dir, out, PrepareOptions{Size: 64}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(imgs))/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkLoadImage decodes and preprocesses one 178x218 JPEG to 64x64 on
// one core: the work of one image in PrepareCelebA.
func BenchmarkLoadImage(b *testing.B) {
	dir := b.TempDir()
	celebaTestFixture(b, dir, []celebaTestImage{{img: celebaTestFace(178, 218, 1)}})
	r, px := newCelebaResizer(64), make([]uint8, 3*64*64)
	path := filepath.Join(dir, CelebAImageDir, celebaTestName(0))
	for b.Loop() {
		if err := r.load(path, px); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
