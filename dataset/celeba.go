package dataset

// CelebA: the reader of its published layout, the preprocessing of one
// image (centre crop, exact area resize) and PrepareCelebA, which turns a
// CelebA-layout directory into a packed cache (cache.go).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
)

// The files of CelebA's published layout, relative to its directory.
const (
	CelebAImageDir      = "img_align_celeba"
	CelebAAttrFile      = "list_attr_celeba.txt"
	CelebAPartitionFile = "list_eval_partition.txt"
)

// CelebAIndex is the parsed attribute and partition lists of a
// CelebA-layout directory, in the order of the attribute file.
type CelebAIndex struct {
	Dir       string
	Attrs     []string // attribute names, line 2 of the attribute file
	Files     []string // image file names, e.g. "000001.jpg"
	Partition []uint8  // per image: 0 train, 1 valid, 2 test
	Values    []uint8  // per image, len(Attrs) values of 0 (-1 in the file) or 1
}

// ImagePath is the path of image i.
func (x *CelebAIndex) ImagePath(i int) string {
	return filepath.Join(x.Dir, CelebAImageDir, x.Files[i])
}

// ReadCelebAIndex parses dir's list_attr_celeba.txt and
// list_eval_partition.txt strictly; an error names the file and the line.
func ReadCelebAIndex(dir string) (*CelebAIndex, error) {
	x := &CelebAIndex{Dir: dir}
	attrPath := filepath.Join(dir, CelebAAttrFile)
	lineOf, err := x.readAttrs(attrPath)
	if err != nil {
		return nil, err
	}
	if err := x.readPartitions(filepath.Join(dir, CelebAPartitionFile), attrPath, lineOf); err != nil {
		return nil, err
	}
	return x, nil
}

// celebaLines splits a text file into lines without their "\n" or "\r\n";
// blank lines at the end are dropped.
func celebaLines(data []byte) [][]byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	for len(lines) > 0 && len(bytes.TrimSpace(lines[len(lines)-1])) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// celebaFields appends the space- or tab-separated fields of line to dst[:0].
func celebaFields(line []byte, dst [][]byte) [][]byte {
	dst = dst[:0]
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			dst = append(dst, line[i:j])
		}
		i = j
	}
	return dst
}

func celebaReadText(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, cacheFileErr(path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return data, nil
}

func celebaCheckName(name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return fmt.Errorf("image name %q is not a plain file name", name)
	}
	return nil
}

// readAttrs parses the attribute file and returns the line of every image:
// image i is on line i+3.
func (x *CelebAIndex) readAttrs(path string) (map[string]int, error) {
	data, err := celebaReadText(path)
	if err != nil {
		return nil, err
	}
	lines := celebaLines(data)
	countText := string(bytes.TrimSpace(lines[0]))
	count, err := strconv.Atoi(countText)
	if err != nil || count < 0 {
		return nil, fmt.Errorf("%s:1: the first line should be the number of images, got %q", path, countText)
	}
	if len(lines) < 2 {
		return nil, fmt.Errorf("%s:2: missing the line of attribute names", path)
	}
	var fields [][]byte
	fields = celebaFields(lines[1], fields)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%s:2: empty; it should hold the attribute names", path)
	}
	col := map[string]int{}
	for j, f := range fields {
		name := string(f)
		if first, ok := col[name]; ok {
			return nil, fmt.Errorf("%s:2: attribute %q appears twice (columns %d and %d)", path, name, first+1, j+1)
		}
		col[name] = j
		x.Attrs = append(x.Attrs, name)
	}
	k := len(x.Attrs)
	body := lines[2:]
	x.Files = make([]string, 0, len(body))
	x.Values = make([]uint8, 0, len(body)*k)
	lineOf := make(map[string]int, len(body))
	for i, line := range body {
		ln := i + 3
		fields = celebaFields(line, fields)
		if len(fields) == 0 {
			return nil, fmt.Errorf("%s:%d: empty line among the image lines", path, ln)
		}
		name := string(fields[0])
		if err := celebaCheckName(name); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, ln, err)
		}
		if first, ok := lineOf[name]; ok {
			return nil, fmt.Errorf("%s:%d: %s listed twice (first on line %d)", path, ln, name, first)
		}
		lineOf[name] = ln
		if len(fields)-1 != k {
			return nil, fmt.Errorf("%s:%d: %s has %d attribute values, want %d (one per name on line 2)",
				path, ln, name, len(fields)-1, k)
		}
		for j, f := range fields[1:] {
			switch string(f) {
			case "1":
				x.Values = append(x.Values, 1)
			case "-1":
				x.Values = append(x.Values, 0)
			default:
				return nil, fmt.Errorf("%s:%d: %s: value %q for %s (column %d) is not 1 or -1",
					path, ln, name, f, x.Attrs[j], j+2)
			}
		}
		x.Files = append(x.Files, name)
	}
	if len(body) != count {
		return nil, fmt.Errorf("%s:1: the count says %d images but %d image lines follow the header", path, count, len(body))
	}
	return lineOf, nil
}

// readPartitions parses the partition file; every image of the attribute
// file must appear in it exactly once, and nothing else.
func (x *CelebAIndex) readPartitions(path, attrPath string, lineOf map[string]int) error {
	data, err := celebaReadText(path)
	if err != nil {
		return err
	}
	lines := celebaLines(data)
	x.Partition = make([]uint8, len(x.Files))
	seen := make([]int, len(x.Files)) // line of each image in this file, 0 if none yet
	var fields [][]byte
	for i, line := range lines {
		ln := i + 1
		fields = celebaFields(line, fields)
		if len(fields) != 2 {
			return fmt.Errorf("%s:%d: %d fields, want 2 (an image name and its partition 0, 1 or 2)", path, ln, len(fields))
		}
		name := string(fields[0])
		e, ok := lineOf[name] // image e is on line e+3 of the attribute file
		e -= 3
		if !ok {
			return fmt.Errorf("%s:%d: %s is not listed in %s", path, ln, name, attrPath)
		}
		if seen[e] != 0 {
			return fmt.Errorf("%s:%d: %s listed twice (first on line %d)", path, ln, name, seen[e])
		}
		seen[e] = ln
		switch string(fields[1]) {
		case "0", "1", "2":
			x.Partition[e] = fields[1][0] - '0'
		default:
			return fmt.Errorf("%s:%d: %s: partition %q, want 0 (train), 1 (valid) or 2 (test)", path, ln, name, fields[1])
		}
	}
	for e, ln := range seen {
		if ln == 0 {
			return fmt.Errorf("%s:%d: %s has no line in %s", attrPath, lineOf[x.Files[e]], x.Files[e], path)
		}
	}
	return nil
}

// ---- preprocessing of one image ----

// CelebACropWindow is the square of a w x h image that preprocessing keeps:
// the side and the top-left corner, possibly fractional. An image shaped
// like CelebA's aligned ones (178x218, or any size of that proportion)
// keeps the central square of side 148/178 of its width, which for 178x218
// is the central 148x148 square at (15, 35); any other image keeps its
// largest centred square.
func CelebACropWindow(w, h int) (x0, y0, side float64) {
	if w*218 == h*178 {
		side = float64(w) * 148 / 178
	} else {
		side = float64(min(w, h))
	}
	return (float64(w) - side) / 2, (float64(h) - side) / 2, side
}

// areaAxis holds, for one axis, the weights of the area (box) filter that
// maps the source interval [a, a+l) onto n output pixels: output o averages
// [a + o*l/n, a + (o+1)*l/n), each source pixel p weighted by the length of
// its overlap [p, p+1) with that interval, so fractional at the ends.
type areaAxis struct {
	lo, hi int   // source pixels touched, [lo, hi)
	first  []int // per output, its first source pixel, relative to lo
	start  []int // per output, where its weights start in w; n+1 entries
	w      []float32
}

func newAreaAxis(a, l float64, n, limit int) areaAxis {
	ax := areaAxis{lo: max(0, int(math.Floor(a))), hi: min(limit, int(math.Ceil(a+l)))}
	ax.first, ax.start = make([]int, n), make([]int, n+1)
	var ws []float64
	for o := range n {
		x0 := a + l*float64(o)/float64(n)
		x1 := a + l*float64(o+1)/float64(n)
		p0 := max(ax.lo, int(math.Floor(x0)))
		p1 := min(ax.hi, int(math.Ceil(x1)))
		if p1 <= p0 { // a window of almost no width at the very edge
			p0 = min(p0, ax.hi-1)
			p1 = p0 + 1
		}
		ws, sum := ws[:0], 0.0
		for p := p0; p < p1; p++ {
			ov := max(0, min(x1, float64(p+1))-max(x0, float64(p)))
			ws = append(ws, ov)
			sum += ov
		}
		if sum <= 0 {
			ws[0], sum = 1, 1
		}
		ax.first[o] = p0 - ax.lo
		ax.start[o] = len(ax.w)
		for _, v := range ws {
			ax.w = append(ax.w, float32(v/sum))
		}
	}
	ax.start[n] = len(ax.w)
	return ax
}

// areaResize resizes nch planes of rw x rh values, which hold the source
// pixels [ax.lo, ax.hi) x [ay.lo, ay.hi), to nch planes of len(ax.first) x
// len(ay.first) values in out; tmp is scratch of nch*rh*outW values.
func areaResize(src []float32, nch, rw, rh int, ax, ay *areaAxis, out, tmp []float32) {
	outW, outH := len(ax.first), len(ay.first)
	tmp = tmp[:nch*rh*outW]
	for c := range nch {
		for r := range rh {
			row := src[(c*rh+r)*rw : (c*rh+r+1)*rw]
			dst := tmp[(c*rh+r)*outW : (c*rh+r+1)*outW]
			for o := range dst {
				ws := ax.w[ax.start[o]:ax.start[o+1]]
				s := row[ax.first[o]:]
				s = s[:len(ws)]
				var acc float32
				for t, w := range ws {
					// The conversion forbids fusing into an FMA, so the
					// bytes are the same on every architecture.
					acc += float32(w * s[t])
				}
				dst[o] = acc
			}
		}
	}
	for c := range nch {
		for o := range outH {
			dst := out[(c*outH+o)*outW : (c*outH+o+1)*outW]
			clear(dst)
			for t, w := range ay.w[ay.start[o]:ay.start[o+1]] {
				r := ay.first[o] + t
				s := tmp[(c*rh+r)*outW : (c*rh+r+1)*outW]
				s = s[:len(dst)]
				for i, v := range s {
					dst[i] += float32(w * v)
				}
			}
		}
	}
}

// celebaResizer preprocesses images to S x S; it keeps its weights and
// buffers between images of the same size. One per goroutine.
type celebaResizer struct {
	size       int
	w, h       int
	ax, ay     areaAxis
	planes     []float32
	tmp, out   []float32
	haveLayout bool
}

func newCelebaResizer(size int) *celebaResizer { return &celebaResizer{size: size} }

func (r *celebaResizer) layout(w, h int) {
	if r.haveLayout && r.w == w && r.h == h {
		return
	}
	x0, y0, side := CelebACropWindow(w, h)
	r.ax = newAreaAxis(x0, side, r.size, w)
	r.ay = newAreaAxis(y0, side, r.size, h)
	r.w, r.h, r.haveLayout = w, h, true
	rw, rh := r.ax.hi-r.ax.lo, r.ay.hi-r.ay.lo
	r.planes = make([]float32, 3*rw*rh)
	r.tmp = make([]float32, 3*rh*r.size)
	r.out = make([]float32, 3*r.size*r.size)
}

// run crops and resizes img into dst, 3*S*S bytes in CHW order.
func (r *celebaResizer) run(img image.Image, dst []uint8) error {
	b := img.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return fmt.Errorf("empty image (%dx%d)", b.Dx(), b.Dy())
	}
	r.layout(b.Dx(), b.Dy())
	rw, rh := r.ax.hi-r.ax.lo, r.ay.hi-r.ay.lo
	celebaToPlanes(img, b.Min.X+r.ax.lo, b.Min.Y+r.ay.lo, rw, rh, r.planes)
	areaResize(r.planes, 3, rw, rh, &r.ax, &r.ay, r.out, r.tmp)
	dst = dst[:len(r.out)]
	for i, v := range r.out {
		dst[i] = uint8(min(255, max(0, v+0.5)))
	}
	return nil
}

// celebaToPlanes converts the rw x rh pixels of img from (x0, y0) to three
// float32 planes R, G, B of values 0..255, as img.At would give them.
func celebaToPlanes(img image.Image, x0, y0, rw, rh int, planes []float32) {
	n := rw * rh
	pr, pg, pb := planes[:n], planes[n:2*n], planes[2*n:3*n]
	switch m := img.(type) {
	case *image.YCbCr:
		dx, dy := 1, 1
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			dx = 2
		case image.YCbCrSubsampleRatio420:
			dx, dy = 2, 2
		case image.YCbCrSubsampleRatio440:
			dy = 2
		case image.YCbCrSubsampleRatio411:
			dx = 4
		case image.YCbCrSubsampleRatio410:
			dx, dy = 4, 2
		}
		for r := range rh {
			y := y0 + r
			yrow := m.Y[(y-m.Rect.Min.Y)*m.YStride:]
			cbase := (y/dy - m.Rect.Min.Y/dy) * m.CStride
			for c := range rw {
				x := x0 + c
				ci := cbase + x/dx - m.Rect.Min.X/dx
				cr, cg, cb := color.YCbCrToRGB(yrow[x-m.Rect.Min.X], m.Cb[ci], m.Cr[ci])
				pr[r*rw+c], pg[r*rw+c], pb[r*rw+c] = float32(cr), float32(cg), float32(cb)
			}
		}
	case *image.Gray:
		for r := range rh {
			row := m.Pix[m.PixOffset(x0, y0+r):]
			for c := range rw {
				v := float32(row[c])
				pr[r*rw+c], pg[r*rw+c], pb[r*rw+c] = v, v, v
			}
		}
	default:
		for r := range rh {
			for c := range rw {
				cr, cg, cb, _ := img.At(x0+c, y0+r).RGBA()
				pr[r*rw+c], pg[r*rw+c], pb[r*rw+c] = float32(cr>>8), float32(cg>>8), float32(cb>>8)
			}
		}
	}
}

// PreprocessCelebA crops img as CelebACropWindow says and resizes the
// square to size x size with an exact area filter, returning 3*size*size
// bytes, RGB in CHW order. The cache holds images made by it.
func PreprocessCelebA(img image.Image, size int) ([]uint8, error) {
	if size < 1 {
		return nil, fmt.Errorf("image size %d", size)
	}
	out := make([]uint8, 3*size*size)
	return out, newCelebaResizer(size).run(img, out)
}

// load decodes the JPEG at path and preprocesses it into dst; errors name
// the file.
func (r *celebaResizer) load(path string, dst []uint8) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: missing image (no such file)", path)
		}
		return cacheFileErr(path, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: corrupt or truncated JPEG (%d bytes): %v", path, len(data), err)
	}
	if err := r.run(img, dst); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// LoadCelebAImage decodes one JPEG and preprocesses it as PreprocessCelebA.
func LoadCelebAImage(path string, size int) ([]uint8, error) {
	if size < 1 {
		return nil, fmt.Errorf("image size %d", size)
	}
	out := make([]uint8, 3*size*size)
	return out, newCelebaResizer(size).load(path, out)
}

// ---- PrepareCelebA ----

// PrepareOptions control PrepareCelebA.
type PrepareOptions struct {
	Size    int  // side S of the square images, at least 8
	Workers int  // decoding goroutines; 0 means GOMAXPROCS
	SkipBad bool // skip unreadable images and report them instead of stopping
	Limit   int  // prepare only the first Limit images of the attribute file; 0 means all
	// Progress, if set, is called after each image, in order, with the
	// number done and the total, always from the same goroutine.
	Progress func(done, total int)
}

// PrepareReport says what PrepareCelebA did.
type PrepareReport struct {
	Images       int      // examples written
	Skipped      int      // bad images left out (SkipBad only)
	SkippedFiles []string // their names, as in the attribute file
	SkipReasons  []string // why each was skipped, naming the file
	Partitions   [3]int   // examples written per partition: train, valid, test
	Attrs        []string // attribute names
	Size         int      // image side S
	Bytes        int64    // size of the cache file
	Elapsed      time.Duration
}

const celebaMinSize, celebaMaxSize = 8, 4096

type prepResult struct {
	i   int
	px  []uint8
	err error
}

// PrepareCelebA decodes the images of the CelebA-layout directory dir in
// parallel, crops and resizes each to opt.Size as PreprocessCelebA does,
// and writes them with their attributes and partitions, in the order of
// the attribute file whatever the number of workers, to the packed cache
// out. The cache is written to a temporary name and renamed into place
// only once complete: on any error nothing is left behind and an existing
// file at out is untouched. Without opt.SkipBad the first bad image (in
// file order) stops the preparation with its error.
//
// While it runs, the image block also goes through an unnamed scratch file
// beside out (the header's checksum needs the whole block first), so the
// disk must hold the cache twice: about 5 GB for all of CelebA at 64x64.
func PrepareCelebA(dir, out string, opt PrepareOptions) (rep PrepareReport, err error) {
	start := time.Now()
	switch {
	case opt.Size < celebaMinSize || opt.Size > celebaMaxSize:
		return rep, fmt.Errorf("image size %d, want %d to %d", opt.Size, celebaMinSize, celebaMaxSize)
	case opt.Workers < 0:
		return rep, fmt.Errorf("workers %d, want 0 (all cores) or more", opt.Workers)
	case opt.Limit < 0:
		return rep, fmt.Errorf("limit %d, want 0 (all images) or more", opt.Limit)
	}
	idx, err := ReadCelebAIndex(dir)
	if err != nil {
		return rep, err
	}
	if st, err := os.Stat(filepath.Join(dir, CelebAImageDir)); err != nil || !st.IsDir() {
		return rep, fmt.Errorf("%s: no such directory; the images belong there", filepath.Join(dir, CelebAImageDir))
	}
	n := len(idx.Files)
	if opt.Limit > 0 && opt.Limit < n {
		n = opt.Limit
	}
	if n == 0 {
		return rep, fmt.Errorf("%s: lists no images", filepath.Join(dir, CelebAAttrFile))
	}
	if int64(n) > cacheMaxN {
		return rep, fmt.Errorf("%d images, a cache holds at most %d", n, int64(cacheMaxN))
	}
	workers := opt.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	k, size := len(idx.Attrs), opt.Size
	imgLen := 3 * size * size

	// The images go, in order, to an unnamed scratch file beside out: the
	// header's checksum of the image block is known only once all are
	// decoded, and the whole block need not fit in memory.
	scratch, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.scratch")
	if err != nil {
		return rep, fmt.Errorf("%s: cannot write beside it: %v", out, err)
	}
	scratchName := scratch.Name()
	removed := os.Remove(scratchName) == nil // unlinked at once where the system allows
	defer func() {
		scratch.Close()
		if !removed {
			os.Remove(scratchName)
		}
	}()
	sw := bufio.NewWriterSize(scratch, 1<<20)
	imageCRC := crc32.New(castagnoli)
	keep := make([]int, 0, n)

	window := 4*workers + 8
	jobs := make(chan int)
	results := make(chan prepResult, window)
	tokens := make(chan struct{}, window)
	stop := make(chan struct{})
	free := make(chan []uint8, window+workers)
	go func() {
		defer close(jobs)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case jobs <- i:
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newCelebaResizer(size)
			for i := range jobs {
				var px []uint8
				select {
				case px = <-free:
				default:
					px = make([]uint8, imgLen)
				}
				err := r.load(idx.ImagePath(i), px)
				results <- prepResult{i, px, err}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	var fatal error
	stopOnce := func(e error) {
		if fatal == nil {
			fatal = e
			close(stop)
		}
	}
	pending := map[int]prepResult{}
	next := 0
	for res := range results {
		pending[res.i] = res
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			switch {
			case fatal != nil:
			case p.err != nil && opt.SkipBad:
				rep.Skipped++
				rep.SkippedFiles = append(rep.SkippedFiles, idx.Files[p.i])
				rep.SkipReasons = append(rep.SkipReasons, p.err.Error())
			case p.err != nil:
				stopOnce(p.err)
			default:
				imageCRC.Write(p.px)
				if _, err := sw.Write(p.px); err != nil {
					stopOnce(fmt.Errorf("%s: writing the scratch file beside it: %v", out, err))
				}
				keep = append(keep, p.i)
			}
			select {
			case free <- p.px:
			default:
			}
			<-tokens
			next++
			if fatal == nil && opt.Progress != nil {
				opt.Progress(next, n)
			}
		}
	}
	if fatal != nil {
		return rep, fatal
	}
	if len(keep) == 0 {
		return rep, fmt.Errorf("%s: every one of the %d images was bad; the first: %s",
			dir, n, rep.SkipReasons[0])
	}
	if err := sw.Flush(); err != nil {
		return rep, fmt.Errorf("%s: writing the scratch file beside it: %v", out, err)
	}

	part := make([]byte, len(keep))
	values := make([]byte, 0, len(keep)*k)
	files := make([]string, len(keep))
	blobLen := int64(0)
	for j, i := range keep {
		part[j] = idx.Partition[i]
		values = append(values, idx.Values[i*k:(i+1)*k]...)
		files[j] = idx.Files[i]
		blobLen += int64(len(files[j]))
		rep.Partitions[part[j]]++
	}
	for _, a := range idx.Attrs {
		if len(a) > math.MaxUint16 {
			return rep, fmt.Errorf("%s: attribute name of %d bytes is too long", filepath.Join(dir, CelebAAttrFile), len(a))
		}
	}
	if blobLen > math.MaxUint32 {
		return rep, fmt.Errorf("%s: file names too long for the cache", dir)
	}
	l := newCacheLayout(len(keep), size, k, idx.Attrs, blobLen)
	meta := encodeCacheMeta(&l, idx.Attrs, part, values, files)
	l.metaCRC = crc32.Checksum(meta, castagnoli)
	l.imageCRC = imageCRC.Sum32()
	err = atomicfile.Write(out, func(w io.Writer) error {
		if _, err := w.Write(l.header()); err != nil {
			return err
		}
		if _, err := w.Write(meta); err != nil {
			return err
		}
		// Copy the block back, checking it reads back as it was written.
		check := crc32.New(castagnoli)
		nc, err := io.Copy(io.MultiWriter(w, check), io.NewSectionReader(scratch, 0, l.imageLen))
		if err != nil {
			return fmt.Errorf("reading back the scratch file: %v", err)
		}
		if nc != l.imageLen || check.Sum32() != l.imageCRC {
			return fmt.Errorf("the scratch file read back differently (%d of %d bytes)", nc, l.imageLen)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("%s: %v", out, err)
	}
	rep.Images, rep.Attrs, rep.Size, rep.Bytes = len(keep), idx.Attrs, size, l.fileLen
	rep.Elapsed = time.Since(start)
	return rep, nil
}
