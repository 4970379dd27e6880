package dataset

// The packed image cache.
//
// PrepareCelebA decodes a CelebA-layout directory once and writes every
// image, already cropped and resized, with its attributes into one file;
// OpenCache maps that file into memory read-only, so training reads images
// straight from the page cache and never copies the image block into the Go
// heap. All integers are little-endian.
//
// Header, 128 bytes at offset 0:
//
//	off  size  field
//	  0   16   magic "CSVAECACHE" followed by six zero bytes
//	 16    4   format version, 1
//	 20    4   header length, 128
//	 24    8   N, the number of examples
//	 32    4   S, image height and width
//	 36    4   C, channels, 3 (RGB)
//	 40    4   K, the number of attributes
//	 44    4   reserved, 0
//	 48    8   offset of the attribute section, 128
//	 56    8   length of the attribute section, without its padding
//	 64    8   offset of the image block, a multiple of 4096
//	 72    8   length of the image block, N*C*S*S
//	 80    8   length of the whole file, image offset + image length
//	 88    4   CRC-32C (Castagnoli) of bytes [128, image offset): the
//	           attribute section and the zero padding after it
//	 92    4   CRC-32C of the image block
//	 96   28   reserved, 0
//	124    4   CRC-32C of header bytes [0, 124)
//
// Attribute section, from offset 128:
//
//	K attribute names, each a uint16 length and that many bytes (UTF-8)
//	N partition bytes: 0 train, 1 valid, 2 test
//	N*K attribute bytes, 0 or 1, example after example
//	N+1 uint32 offsets into the name blob (the first is 0, the last its length)
//	the name blob: each example's source file name as listed in
//	list_attr_celeba.txt (e.g. "000001.jpg"), one after the other
//
// then zero bytes up to the image block, which holds N images of C*S*S
// uint8 values each, every image in CHW order (the R plane, then G, then B,
// each row after row from the top), in the order of list_attr_celeba.txt.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"syscall"
)

const (
	cacheMagic      = "CSVAECACHE\x00\x00\x00\x00\x00\x00"
	cacheVersion    = 1
	cacheHeaderLen  = 128
	cacheImageAlign = 4096
	cacheChannels   = 3
	// Bounds that keep every size computation far from overflow.
	cacheMaxN    = 1 << 32
	cacheMaxSize = 1 << 14
	cacheMaxK    = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// cacheLayout is what the header describes.
type cacheLayout struct {
	n, size, k          int
	metaLen, imageOff   int64
	imageLen, fileLen   int64
	metaCRC, imageCRC   uint32
	namesLen, blobLen   int64
	partOff, attrOff    int64 // relative to the attribute section
	nameOffOff, blobOff int64
}

func newCacheLayout(n, size, k int, attrNames []string, blobLen int64) cacheLayout {
	l := cacheLayout{n: n, size: size, k: k, blobLen: blobLen}
	for _, a := range attrNames {
		l.namesLen += 2 + int64(len(a))
	}
	l.partOff = l.namesLen
	l.attrOff = l.partOff + int64(n)
	l.nameOffOff = l.attrOff + int64(n)*int64(k)
	l.blobOff = l.nameOffOff + 4*int64(n+1)
	l.metaLen = l.blobOff + blobLen
	l.imageOff = (cacheHeaderLen + l.metaLen + cacheImageAlign - 1) / cacheImageAlign * cacheImageAlign
	l.imageLen = int64(n) * cacheChannels * int64(size) * int64(size)
	l.fileLen = l.imageOff + l.imageLen
	return l
}

func (l *cacheLayout) header() []byte {
	h := make([]byte, cacheHeaderLen)
	le := binary.LittleEndian
	copy(h, cacheMagic)
	le.PutUint32(h[16:], cacheVersion)
	le.PutUint32(h[20:], cacheHeaderLen)
	le.PutUint64(h[24:], uint64(l.n))
	le.PutUint32(h[32:], uint32(l.size))
	le.PutUint32(h[36:], cacheChannels)
	le.PutUint32(h[40:], uint32(l.k))
	le.PutUint64(h[48:], cacheHeaderLen)
	le.PutUint64(h[56:], uint64(l.metaLen))
	le.PutUint64(h[64:], uint64(l.imageOff))
	le.PutUint64(h[72:], uint64(l.imageLen))
	le.PutUint64(h[80:], uint64(l.fileLen))
	le.PutUint32(h[88:], l.metaCRC)
	le.PutUint32(h[92:], l.imageCRC)
	le.PutUint32(h[124:], crc32.Checksum(h[:124], castagnoli))
	return h
}

// encodeCacheMeta returns the attribute section followed by its zero
// padding up to the image block. part holds n partition bytes, attrs n*k
// bytes of 0/1, files n names.
func encodeCacheMeta(l *cacheLayout, attrNames []string, part, attrs []byte, files []string) []byte {
	m := make([]byte, l.imageOff-cacheHeaderLen)
	le := binary.LittleEndian
	p := 0
	for _, a := range attrNames {
		le.PutUint16(m[p:], uint16(len(a)))
		p += 2
		p += copy(m[p:], a)
	}
	copy(m[l.partOff:], part)
	copy(m[l.attrOff:], attrs)
	off := uint32(0)
	for i, f := range files {
		le.PutUint32(m[l.nameOffOff+4*int64(i):], off)
		copy(m[l.blobOff+int64(off):], f)
		off += uint32(len(f))
	}
	le.PutUint32(m[l.nameOffOff+4*int64(len(files)):], off)
	return m
}

// Cache is an opened packed image cache (see the format at the top of
// cache.go). Its images stay in the memory-mapped file; Close unmaps it,
// after which no split of it may be used.
type Cache struct {
	path    string
	data    []byte // the whole mapped file; nil once closed
	n, size int
	attrs   []string
	part    []byte // n
	values  []byte // n*k
	nameOff []byte // 4*(n+1)
	blob    []byte
	images  []byte // n*3*size*size
}

// OpenCache maps the cache at path read-only and checks it: magic, version,
// the sizes in the header against the file's length, and the checksums of
// the header, the attribute section and the image block. Every error names
// the file.
func OpenCache(path string) (c *Cache, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, cacheFileErr(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, cacheFileErr(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	head := make([]byte, cacheHeaderLen)
	nh, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, cacheFileErr(path, err)
	}
	head = head[:nh]
	l, err := parseCacheHeader(path, head, size)
	if err != nil {
		return nil, err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("%s: mapping the cache into memory: %v", path, err)
	}
	defer func() {
		if err != nil {
			syscall.Munmap(data)
		}
	}()
	// The header was read through the file; check the mapping agrees (the
	// file could have been replaced in between, by a rename it would not).
	if string(data[:cacheHeaderLen]) != string(head) {
		return nil, fmt.Errorf("%s: changed while being opened", path)
	}
	if crc32.Checksum(data[cacheHeaderLen:l.imageOff], castagnoli) != l.metaCRC {
		return nil, fmt.Errorf("%s: corrupted: checksum mismatch in the attribute section (bytes %d to %d); prepare the cache again",
			path, cacheHeaderLen, l.imageOff)
	}
	if crc32.Checksum(data[l.imageOff:l.fileLen], castagnoli) != l.imageCRC {
		return nil, fmt.Errorf("%s: corrupted: checksum mismatch in the image block (bytes %d to %d); prepare the cache again",
			path, l.imageOff, l.fileLen)
	}
	c = &Cache{path: path, data: data, n: l.n, size: l.size}
	if err := c.parseMeta(&l); err != nil {
		return nil, err
	}
	return c, nil
}

func cacheFileErr(path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%s: %v", path, err)
}

// parseCacheHeader checks the header against the file's size.
func parseCacheHeader(path string, h []byte, size int64) (cacheLayout, error) {
	var l cacheLayout
	le := binary.LittleEndian
	switch {
	case len(h) == 0:
		return l, fmt.Errorf("%s: empty file, not a csvae-gpu image cache", path)
	case len(h) < len(cacheMagic) && cacheMagic[:len(h)] == string(h):
		return l, fmt.Errorf("%s: truncated: %d bytes, not even the %d-byte header", path, size, cacheHeaderLen)
	case len(h) < len(cacheMagic) || string(h[:len(cacheMagic)]) != cacheMagic:
		return l, fmt.Errorf("%s: not a csvae-gpu image cache (it does not start with %q); write one with `csvae-gpu prepare --celeba DIR --out FILE`",
			path, strings.TrimRight(cacheMagic, "\x00"))
	}
	if len(h) < 24 {
		return l, fmt.Errorf("%s: truncated: %d bytes, not even the %d-byte header", path, size, cacheHeaderLen)
	}
	if v := le.Uint32(h[16:]); v != cacheVersion {
		return l, fmt.Errorf("%s: cache format version %d, this program reads version %d; prepare the cache again",
			path, v, cacheVersion)
	}
	if hl := le.Uint32(h[20:]); hl != cacheHeaderLen {
		return l, fmt.Errorf("%s: corrupted header: header length %d, want %d", path, hl, cacheHeaderLen)
	}
	if len(h) < cacheHeaderLen {
		return l, fmt.Errorf("%s: truncated: %d bytes, not even the %d-byte header", path, size, cacheHeaderLen)
	}
	if crc32.Checksum(h[:124], castagnoli) != le.Uint32(h[124:]) {
		return l, fmt.Errorf("%s: corrupted: checksum mismatch in the header; prepare the cache again", path)
	}
	n, s, c, k := le.Uint64(h[24:]), le.Uint32(h[32:]), le.Uint32(h[36:]), le.Uint32(h[40:])
	switch {
	case n == 0 || n > cacheMaxN:
		return l, fmt.Errorf("%s: corrupted header: %d examples", path, n)
	case s == 0 || s > cacheMaxSize:
		return l, fmt.Errorf("%s: corrupted header: image size %d", path, s)
	case c != cacheChannels:
		return l, fmt.Errorf("%s: corrupted header: %d channels, want %d", path, c, cacheChannels)
	case k == 0 || k > cacheMaxK:
		return l, fmt.Errorf("%s: corrupted header: %d attributes", path, k)
	}
	l.n, l.size, l.k = int(n), int(s), int(k)
	metaOff, metaLen := le.Uint64(h[48:]), le.Uint64(h[56:])
	imageOff, imageLen, fileLen := le.Uint64(h[64:]), le.Uint64(h[72:]), le.Uint64(h[80:])
	minMeta := uint64(n)*(1+uint64(k)+4) + 4 + 3*uint64(k)
	switch {
	case metaOff != cacheHeaderLen:
		return l, fmt.Errorf("%s: corrupted header: attribute section at %d, want %d", path, metaOff, cacheHeaderLen)
	case metaLen < minMeta || metaLen > 1<<40:
		return l, fmt.Errorf("%s: corrupted header: attribute section of %d bytes for %d examples", path, metaLen, n)
	case imageOff%cacheImageAlign != 0 || imageOff < metaOff+metaLen || imageOff >= metaOff+metaLen+cacheImageAlign:
		return l, fmt.Errorf("%s: corrupted header: image block at %d after an attribute section ending at %d",
			path, imageOff, metaOff+metaLen)
	case imageLen != n*cacheChannels*uint64(s)*uint64(s):
		return l, fmt.Errorf("%s: corrupted header: image block of %d bytes for %d images of %dx%dx%d",
			path, imageLen, n, cacheChannels, s, s)
	case fileLen != imageOff+imageLen:
		return l, fmt.Errorf("%s: corrupted header: file length %d, want %d", path, fileLen, imageOff+imageLen)
	}
	l.metaLen, l.imageOff, l.imageLen, l.fileLen = int64(metaLen), int64(imageOff), int64(imageLen), int64(fileLen)
	l.metaCRC, l.imageCRC = le.Uint32(h[88:]), le.Uint32(h[92:])
	switch {
	case size < l.fileLen && size < l.imageOff:
		return l, fmt.Errorf("%s: truncated: %d bytes of %d; the attribute section and all %d images are missing",
			path, size, l.fileLen, n)
	case size < l.fileLen:
		imgLen := int64(cacheChannels * s * s)
		have := (size - l.imageOff) / imgLen
		return l, fmt.Errorf("%s: truncated: %d bytes of %d; the image block holds %d of %d images of %dx%dx%d, %d bytes are missing",
			path, size, l.fileLen, have, n, cacheChannels, s, s, l.fileLen-size)
	case size > l.fileLen:
		return l, fmt.Errorf("%s: %d bytes, but its header describes %d: trailing data after the image block",
			path, size, l.fileLen)
	}
	return l, nil
}

// parseMeta decodes the (already checksummed) attribute section.
func (c *Cache) parseMeta(l *cacheLayout) error {
	m := c.data[cacheHeaderLen : cacheHeaderLen+l.metaLen]
	le := binary.LittleEndian
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: corrupted attribute section: %s", c.path, fmt.Sprintf(format, a...))
	}
	p := 0
	seen := map[string]bool{}
	for range l.k {
		if p+2 > len(m) {
			return bad("attribute names run past its end")
		}
		ln := int(le.Uint16(m[p:]))
		p += 2
		if p+ln > len(m) {
			return bad("attribute names run past its end")
		}
		name := string(m[p : p+ln])
		p += ln
		if name == "" || seen[name] {
			return bad("attribute name %q empty or repeated", name)
		}
		seen[name] = true
		c.attrs = append(c.attrs, name)
	}
	n, k := l.n, l.k
	rest := int64(len(m) - p)
	if need := int64(n) + int64(n)*int64(k) + 4*int64(n+1); rest < need {
		return bad("%d bytes after the names, %d examples need %d", rest, n, need)
	}
	c.part = m[p : p+n]
	p += n
	c.values = m[p : p+n*k]
	p += n * k
	c.nameOff = m[p : p+4*(n+1)]
	p += 4 * (n + 1)
	c.blob = m[p:]
	for i, v := range c.part {
		if v > 2 {
			return bad("example %d has partition %d", i, v)
		}
	}
	for i, v := range c.values {
		if v > 1 {
			return bad("example %d has attribute value %d", i/k, v)
		}
	}
	prev := uint32(0)
	for i := range n + 1 {
		o := le.Uint32(c.nameOff[4*i:])
		if o < prev || (i == 0 && o != 0) {
			return bad("file name offsets out of order at example %d", i)
		}
		prev = o
	}
	if int(prev) != len(c.blob) {
		return bad("file names hold %d bytes, the offsets say %d", len(c.blob), prev)
	}
	c.images = c.data[l.imageOff:l.fileLen]
	return nil
}

// Close unmaps the cache. Splits of a closed cache must not be used.
func (c *Cache) Close() error {
	if c.data == nil {
		return nil
	}
	err := syscall.Munmap(c.data)
	c.data, c.part, c.values, c.nameOff, c.blob, c.images = nil, nil, nil, nil, nil, nil
	if err != nil {
		return fmt.Errorf("%s: unmapping: %v", c.path, err)
	}
	return nil
}

// Path is the file the cache was opened from.
func (c *Cache) Path() string { return c.path }

// Len is the number of examples in the cache, all partitions together.
func (c *Cache) Len() int { return c.n }

// Size is the side S of the S x S images.
func (c *Cache) Size() int { return c.size }

// Names returns every attribute name, in the order of the attribute file.
func (c *Cache) Names() []string { return append([]string(nil), c.attrs...) }

// Partitions counts the examples of partitions 0 (train), 1 (valid) and 2
// (test).
func (c *Cache) Partitions() [3]int {
	var out [3]int
	for _, p := range c.part {
		out[p]++
	}
	return out
}

// name is the source file of cache example i.
func (c *Cache) name(i int) string {
	le := binary.LittleEndian
	return string(c.blob[le.Uint32(c.nameOff[4*i:]):le.Uint32(c.nameOff[4*i+4:])])
}

// Split returns the examples of partition 0 (train), 1 (valid) or 2 (test),
// or of all of them for -1, in the cache's order, labelled with the
// attributes named in attrs in that order (all of them when attrs is
// empty).
func (c *Cache) Split(partition int, attrs []string) (*ImageSplit, error) {
	if c.data == nil {
		return nil, fmt.Errorf("%s: cache is closed", c.path)
	}
	if partition < -1 || partition > 2 {
		return nil, fmt.Errorf("%s: partition %d, want 0 (train), 1 (valid), 2 (test) or -1 (all)", c.path, partition)
	}
	if len(attrs) == 0 {
		attrs = c.attrs
	}
	col := make(map[string]int, len(c.attrs))
	for j, a := range c.attrs {
		col[a] = j
	}
	s := &ImageSplit{c: c, names: append([]string(nil), attrs...), cols: make([]int, len(attrs))}
	used := map[string]bool{}
	for j, a := range attrs {
		cj, ok := col[a]
		if !ok {
			return nil, fmt.Errorf("%s: unknown attribute %q; the cache has %s", c.path, a, strings.Join(c.attrs, ", "))
		}
		if used[a] {
			return nil, fmt.Errorf("%s: attribute %q selected twice", c.path, a)
		}
		used[a] = true
		s.cols[j] = cj
	}
	for i, p := range c.part {
		if partition == -1 || int(p) == partition {
			s.index = append(s.index, int32(i))
		}
	}
	return s, nil
}

// ImageSplit is one partition of a Cache with a choice of attributes. It
// implements Split; Fill may be called from several goroutines at once.
type ImageSplit struct {
	c     *Cache
	index []int32 // cache example of each split example
	cols  []int   // cache attribute column of each selected attribute
	names []string
}

// byteToUnit maps a stored byte v to v/255.
var byteToUnit = func() (t [256]float32) {
	for v := range t {
		t[v] = float32(v) / 255
	}
	return t
}()

func (s *ImageSplit) Len() int        { return len(s.index) }
func (s *ImageSplit) Dim() int        { return cacheChannels * s.c.size * s.c.size }
func (s *ImageSplit) Attrs() []string { return s.names }

// ImageShape is (channels, height, width) of one example, in the CHW order
// of Fill's x.
func (s *ImageSplit) ImageShape() (c, h, w int) { return cacheChannels, s.c.size, s.c.size }

// Name is the source file of example i (e.g. "000001.jpg").
func (s *ImageSplit) Name(i int) string { return s.c.name(int(s.index[i])) }

// Index is the position of example i in the whole cache.
func (s *ImageSplit) Index(i int) int { return int(s.index[i]) }

// Fill writes examples idx as float32 in [0,1], CHW, into x and their
// selected attributes as 0/1 into y.
func (s *ImageSplit) Fill(idx []int, x, y []float32) {
	images, values := s.c.images, s.c.values
	if images == nil {
		panic("dataset: Fill on a closed cache " + s.c.path)
	}
	d, k, kc := s.Dim(), len(s.cols), len(s.c.attrs)
	if len(x) < len(idx)*d || len(y) < len(idx)*k {
		panic(fmt.Sprintf("dataset: Fill of %d examples into x of %d and y of %d values, need %d and %d",
			len(idx), len(x), len(y), len(idx)*d, len(idx)*k))
	}
	for j, i := range idx {
		e := int(s.index[i])
		src := images[e*d : (e+1)*d]
		dst := x[j*d : (j+1)*d]
		dst = dst[:len(src)]
		for t, v := range src {
			dst[t] = byteToUnit[v]
		}
		row := values[e*kc : (e+1)*kc]
		for a, cj := range s.cols {
			y[j*k+a] = float32(row[cj])
		}
	}
}

// Label reads attribute a of example i without touching its image, so that
// label statistics over a large split stay cheap.
func (s *ImageSplit) Label(i, a int) int {
	return int(s.c.values[int(s.index[i])*len(s.c.attrs)+s.cols[a]])
}
