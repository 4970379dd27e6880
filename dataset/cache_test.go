package dataset

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// celebaTestCache prepares a small cache of n 32x32 faces at size S and
// returns its path.
func celebaTestCache(t testing.TB, n, size int) string {
	t.Helper()
	dir := t.TempDir()
	imgs := make([]celebaTestImage, n)
	for i := range imgs {
		imgs[i] = celebaTestImage{img: celebaTestFace(size, size, uint64(i)), part: i % 3}
	}
	celebaTestFixture(t, dir, imgs)
	out := filepath.Join(dir, "cache.bin")
	if _, err := PrepareCelebA(dir, out, PrepareOptions{Size: size}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCacheLayout(t *testing.T) {
	path := celebaTestCache(t, 5, 16)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if string(b[:10]) != "CSVAECACHE" || le.Uint32(b[16:]) != 1 || le.Uint64(b[24:]) != 5 ||
		le.Uint32(b[32:]) != 16 || le.Uint32(b[36:]) != 3 || le.Uint32(b[40:]) != 40 {
		t.Fatalf("header % x", b[:48])
	}
	imageOff := le.Uint64(b[64:])
	if imageOff%4096 != 0 || uint64(len(b)) != imageOff+5*3*16*16 || le.Uint64(b[80:]) != uint64(len(b)) {
		t.Errorf("image block at %d, file of %d bytes", imageOff, len(b))
	}
	if crc32.Checksum(b[imageOff:], castagnoli) != le.Uint32(b[92:]) ||
		crc32.Checksum(b[128:imageOff], castagnoli) != le.Uint32(b[88:]) {
		t.Error("section checksums do not match the header")
	}
	// The first attribute name follows the header.
	if n := le.Uint16(b[128:]); string(b[130:130+n]) != "5_o_Clock_Shadow" {
		t.Errorf("first name %q", b[130:130+n])
	}
}

func TestCacheSplitErrors(t *testing.T) {
	c, err := OpenCache(celebaTestCache(t, 3, 8))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Split(0, []string{"Smiling", "Wearing_Glasses"})
	if err == nil || !strings.Contains(err.Error(), c.Path()) || !strings.Contains(err.Error(), `unknown attribute "Wearing_Glasses"`) ||
		!strings.Contains(err.Error(), "Eyeglasses, Goatee") || !strings.Contains(err.Error(), "5_o_Clock_Shadow") {
		t.Errorf("unknown attribute: %v", err)
	}
	if _, err := c.Split(0, []string{"Male", "Male"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("repeated attribute: %v", err)
	}
	if _, err := c.Split(3, nil); err == nil || !strings.Contains(err.Error(), "partition 3") {
		t.Errorf("partition 3: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Split(0, nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("split of a closed cache: %v", err)
	}
}

// Every damaged or foreign file is refused with an error that names it.
func TestOpenCacheErrors(t *testing.T) {
	path := celebaTestCache(t, 4, 16)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	imageOff := int(binary.LittleEndian.Uint64(good[64:]))
	dir := t.TempDir()
	type damage struct {
		name string
		data []byte
		want string
	}
	var cases []damage
	for _, n := range []int{0, 10, 100, 128, 600, imageOff, imageOff + 1000, len(good) - 1} {
		want := map[int]string{
			0:             "empty file, not a csvae-gpu image cache",
			10:            "truncated: 10 bytes, not even the 128-byte header",
			600:           "truncated: 600 bytes of 7168; the attribute section and all 4 images are missing",
			imageOff:      "the image block holds 0 of 4 images of 3x16x16",
			len(good) - 1: "the image block holds 3 of 4 images of 3x16x16, 1 bytes are missing",
		}[n]
		if want == "" {
			want = "truncated"
		}
		cases = append(cases, damage{"cut at " + strconv.Itoa(n), good[:n], want})
	}
	for _, off := range []int{30, 70, 90, 124, 131, 300, imageOff - 1, imageOff, imageOff + 777, len(good) - 1} {
		b := bytes.Clone(good)
		b[off] ^= 0x10
		want := "checksum mismatch"
		switch {
		case off >= imageOff:
			want = "corrupted: checksum mismatch in the image block"
		case off >= 128:
			want = "corrupted: checksum mismatch in the attribute section"
		}
		cases = append(cases, damage{"flip at " + strconv.Itoa(off), b, want})
	}
	version := bytes.Clone(good)
	version[16] = 2
	jpg := celebaTestJPEG(t, celebaTestFace(20, 20, 1))
	cases = append(cases,
		damage{"version 2", version, "cache format version 2, this program reads version 1"},
		damage{"magic", append([]byte("CSVAECACHX"), good[10:]...), "not a csvae-gpu image cache"},
		damage{"a JPEG", jpg, "not a csvae-gpu image cache"},
		damage{"a text file", []byte(strings.Repeat("202599\n", 100)), "not a csvae-gpu image cache"},
		damage{"trailing bytes", append(bytes.Clone(good), 0), "trailing data"},
	)
	for _, tc := range cases {
		p := filepath.Join(dir, "damaged.cache")
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenCache(p)
		if err == nil {
			c.Close()
			t.Errorf("%s: opened", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), p+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want %q naming the file", tc.name, err, tc.want)
		}
	}
	missing := filepath.Join(dir, "missing.cache")
	if _, err := OpenCache(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := OpenCache(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("a directory: %v", err)
	}
}

// BenchmarkFill fills batches of 64 random 64x64 images.
func BenchmarkFill(b *testing.B) {
	c, err := OpenCache(celebaTestCache(b, 256, 64))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := c.Split(-1, nil)
	if err != nil {
		b.Fatal(err)
	}
	idx := Batches(s.Len(), 64, true, 1, 0)[0]
	x, y := make([]float32, 64*s.Dim()), make([]float32, 64*len(s.Attrs()))
	b.SetBytes(int64(64 * s.Dim()))
	b.ResetTimer()
	for b.Loop() {
		s.Fill(idx, x, y)
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "images/s")
}

func TestLabelsAgreeWithFill(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSynthFaces(dir, 40, 3, 16, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "c.cache")
	if _, err := PrepareCelebA(dir, out, PrepareOptions{Size: 8}); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Split(-1, []string{"Male", "Eyeglasses"})
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]float32, s.Dim()), make([]float32, 2)
	for a := range 2 {
		fast := Labels(s, a)
		for i := range s.Len() {
			s.Fill([]int{i}, x, y)
			if int(y[a]) != fast[i] || fast[i] != s.Label(i, a) {
				t.Fatalf("example %d attribute %d: Fill says %g, Labels %d", i, a, y[a], fast[i])
			}
		}
	}
	// A subset reads its parent's labels (the cache's directly, a memory
	// split's through Fill), at its own positions.
	mem := &Memory{X: make([]float32, 6*2), Y: []float32{1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0}, D: 2, Names: []string{"a", "b"}}
	for _, parent := range []Split{s, mem} {
		sub := Subset(parent, parent.Len()/2)
		for a := range 2 {
			got := Labels(sub, a)
			for i := range sub.Len() {
				x, y := make([]float32, sub.Dim()), make([]float32, 2)
				sub.Fill([]int{i}, x, y)
				if got[i] != int(y[a]) {
					t.Fatalf("%T subset, example %d attribute %d: Fill says %g, Labels %d", parent, i, a, y[a], got[i])
				}
			}
		}
	}
}
