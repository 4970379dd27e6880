// Package safetensors reads and writes checkpoints in the Hugging Face
// safetensors format (https://github.com/huggingface/safetensors), so that
// weights saved here can be loaded by PyTorch/NumPy tooling and vice versa.
//
// The layout is: an 8-byte little-endian header length N, N bytes of JSON
// header, then one flat byte buffer holding every tensor, little-endian and
// in C order. The reader is deliberately strict: a checkpoint that is
// truncated or inconsistent is rejected with an error naming the file and the
// problem, rather than yielding weights that are silently wrong.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
)

// MaxHeaderSize bounds the JSON header, as the reference implementation
// does, so that a corrupted length field cannot trigger a huge allocation.
const MaxHeaderSize = 100_000_000

// metadataKey is reserved in the header for the free-form string map.
const metadataKey = "__metadata__"

// dtypeSizes lists the byte-addressable dtypes of the reference format.
// Sub-byte types (F4, F6_*) are omitted because their buffers cannot be
// validated with a whole-byte element size.
var dtypeSizes = map[string]uint64{
	"BOOL":    1,
	"U8":      1,
	"I8":      1,
	"F8_E5M2": 1,
	"F8_E4M3": 1,
	"F8_E8M0": 1,
	"I16":     2,
	"U16":     2,
	"F16":     2,
	"BF16":    2,
	"I32":     4,
	"U32":     4,
	"F32":     4,
	"I64":     8,
	"U64":     8,
	"F64":     8,
	"C64":     8,
}

// DTypeSize reports the element size in bytes of a dtype name such as "F32";
// ok is false for dtypes this package does not know.
func DTypeSize(dtype string) (size int, ok bool) {
	s, ok := dtypeSizes[dtype]
	return int(s), ok
}

// Tensor is one named array. Data holds the raw little-endian, C-order
// bytes so that any dtype round-trips, including ones without a Go helper.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// File is a whole checkpoint. Tensors keep their order: WriteFile lays them
// out in slice order and ReadFile returns them in buffer order, so a round
// trip preserves it.
type File struct {
	Tensors  []Tensor
	Metadata map[string]string
}

// Get looks a tensor up by name; checkpoints are small enough in tensor
// count that a linear scan beats maintaining an index.
func (f *File) Get(name string) (Tensor, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// F32 builds a float32 tensor. It does not check shape against len(v); a
// mismatch is reported by WriteFile/Encode, keeping construction panic-free.
func F32(name string, shape []int, v []float32) Tensor {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	return Tensor{Name: name, DType: "F32", Shape: slices.Clone(shape), Data: data}
}

// I64 builds an int64 tensor; see F32 for why the shape is not checked here.
func I64(name string, shape []int, v []int64) Tensor {
	data := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(data[8*i:], uint64(x))
	}
	return Tensor{Name: name, DType: "I64", Shape: slices.Clone(shape), Data: data}
}

// Float32s decodes the data as float32, refusing other dtypes rather than
// reinterpreting their bytes.
func (t Tensor) Float32s() ([]float32, error) {
	if err := t.expect("F32"); err != nil {
		return nil, err
	}
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Int64s decodes the data as int64, refusing other dtypes rather than
// reinterpreting their bytes.
func (t Tensor) Int64s() ([]int64, error) {
	if err := t.expect("I64"); err != nil {
		return nil, err
	}
	out := make([]int64, len(t.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

func (t Tensor) expect(dtype string) error {
	if t.DType != dtype {
		return fmt.Errorf("safetensors: tensor %q has dtype %s, not %s", t.Name, t.DType, dtype)
	}
	return t.checkSize()
}

// nbytes returns the byte size implied by dtype and shape.
func nbytes(dtype string, shape []int) (uint64, error) {
	size, ok := dtypeSizes[dtype]
	if !ok {
		return 0, fmt.Errorf("unknown dtype %q", dtype)
	}
	n := size
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
		n = lo
	}
	return n, nil
}

func (t Tensor) checkSize() error {
	n, err := nbytes(t.DType, t.Shape)
	if err != nil {
		return fmt.Errorf("safetensors: tensor %q: %v", t.Name, err)
	}
	if n != uint64(len(t.Data)) {
		return fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, data has %d",
			t.Name, t.Shape, t.DType, n, len(t.Data))
	}
	return nil
}

// validate checks everything Encode relies on before any byte is written,
// so a bad File never produces a partial output.
func (f File) validate() error {
	seen := make(map[string]bool, len(f.Tensors))
	for _, t := range f.Tensors {
		switch {
		case t.Name == "":
			return errors.New("safetensors: tensor with empty name")
		case t.Name == metadataKey:
			return fmt.Errorf("safetensors: tensor name %q is reserved", metadataKey)
		case !utf8.ValidString(t.Name):
			return fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", t.Name)
		case seen[t.Name]:
			return fmt.Errorf("safetensors: duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		if err := t.checkSize(); err != nil {
			return err
		}
	}
	for k, v := range f.Metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("safetensors: metadata %q is not valid UTF-8", k)
		}
	}
	return nil
}

// header builds the padded JSON header. Keys are written by hand so the
// order is deterministic (metadata first, then tensors in slice order).
func (f File) header() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	str := func(s string) {
		q, _ := json.Marshal(s) // cannot fail for a string
		b.Write(q)
	}
	if len(f.Metadata) > 0 {
		sep()
		str(metadataKey)
		b.WriteByte(':')
		m, err := json.Marshal(f.Metadata) // sorted keys
		if err != nil {
			return nil, fmt.Errorf("safetensors: metadata: %v", err)
		}
		b.Write(m)
	}
	var off uint64
	for _, t := range f.Tensors {
		sep()
		str(t.Name)
		b.WriteString(`:{"dtype":`)
		str(t.DType)
		b.WriteString(`,"shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		end := off + uint64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	b.WriteByte('}')
	// Pad with spaces so the data buffer starts 8-byte aligned (8 + N ≡ 0).
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header is %d bytes, over the %d limit", b.Len(), MaxHeaderSize)
	}
	return b.Bytes(), nil
}

// Encode writes f in safetensors format. It validates f first, so on a
// validation error nothing has been written to w.
func Encode(w io.Writer, f File) error {
	if err := f.validate(); err != nil {
		return err
	}
	h, err := f.header()
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	for _, t := range f.Tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile replaces path atomically (see package atomicfile) so that a
// crash or error mid-save never destroys the previous checkpoint.
func WriteFile(path string, f File) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error { return Encode(w, f) })
}

// ReadFile reads and fully validates a checkpoint; errors name path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decode(path, data)
}

// Decode parses a checkpoint held in memory. To avoid copying large
// weights, each Tensor.Data aliases data (capped so appends cannot clobber
// a neighbour); the caller must not modify data afterwards.
func Decode(data []byte) (*File, error) {
	return decode("safetensors", data)
}

// DecodeReader reads r to EOF and parses it like Decode.
func DecodeReader(r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}

type entry struct {
	t          Tensor
	begin, end uint64
	order      int
}

func decode(name string, data []byte) (*File, error) {
	fail := func(format string, args ...any) (*File, error) {
		return nil, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	if len(data) < 8 {
		return fail("truncated: file is %d bytes, shorter than the 8-byte header size field", len(data))
	}
	hlen := binary.LittleEndian.Uint64(data)
	rest := uint64(len(data) - 8)
	if hlen > MaxHeaderSize {
		return fail("header size %d exceeds the %d-byte limit (corrupt size field?)", hlen, MaxHeaderSize)
	}
	if hlen > rest {
		return fail("truncated: header size field says %d bytes, file has %d after it", hlen, rest)
	}
	hdr := data[8 : 8+hlen]
	buf := data[8+hlen:]

	entries, meta, err := parseHeader(hdr)
	if err != nil {
		return fail("header: %v", err)
	}

	var total uint64
	for _, e := range entries {
		total = max(total, e.end)
	}
	if total > uint64(len(buf)) {
		return fail("truncated: header says %d bytes of data, file has %d", total, len(buf))
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		if a.begin != b.begin {
			if a.begin < b.begin {
				return -1
			}
			return 1
		}
		if a.end != b.end {
			if a.end < b.end {
				return -1
			}
			return 1
		}
		return a.order - b.order
	})
	var cursor uint64
	prev := ""
	for _, e := range entries {
		switch {
		case e.begin < cursor:
			return fail("tensor %q data_offsets [%d,%d] overlap tensor %q, which ends at %d",
				e.t.Name, e.begin, e.end, prev, cursor)
		case e.begin > cursor:
			return fail("hole in data buffer: bytes [%d,%d) belong to no tensor (next is %q)",
				cursor, e.begin, e.t.Name)
		}
		cursor = e.end
		prev = e.t.Name
	}
	if cursor != uint64(len(buf)) {
		return fail("trailing garbage: %d bytes after the last tensor (data is %d bytes, file has %d)",
			uint64(len(buf))-cursor, cursor, len(buf))
	}

	f := &File{Metadata: meta, Tensors: make([]Tensor, len(entries))}
	for i, e := range entries {
		e.t.Data = buf[e.begin:e.end:e.end]
		f.Tensors[i] = e.t
	}
	return f, nil
}

// parseHeader walks the JSON with a token decoder so that key order is
// kept and duplicate keys are caught (json.Unmarshal into a map would
// silently keep the last one).
func parseHeader(hdr []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(hdr) {
		return nil, nil, errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("invalid JSON: expected an object, got %v", tok)
	}
	var (
		entries []entry
		meta    map[string]string
		seen    = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("invalid JSON: %v", err)
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return nil, nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("invalid JSON: %v", err)
		}
		if key == metadataKey {
			if meta, err = parseMetadata(raw); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := parseTensor(key, raw)
		if err != nil {
			return nil, nil, err
		}
		e.order = len(entries)
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return nil, nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, fmt.Errorf("invalid JSON after header object: %v", err)
		}
		return nil, nil, fmt.Errorf("unexpected %v after header object", tok)
	}
	return entries, meta, nil
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: must be an object of strings: %v", metadataKey, err)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		if string(v) == "null" || json.Unmarshal(v, &s) != nil {
			return nil, fmt.Errorf("%s: value of %q is %s, not a string", metadataKey, k, v)
		}
		out[k] = s
	}
	return out, nil
}

// parseTensor reads one entry with exact (case-sensitive) field names;
// encoding/json alone would match them case-insensitively.
func parseTensor(name string, raw json.RawMessage) (entry, error) {
	bad := func(format string, args ...any) (entry, error) {
		return entry{}, fmt.Errorf("tensor %q: %s", name, fmt.Sprintf(format, args...))
	}
	if name == "" {
		return bad("empty tensor name")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return bad("entry must be an object, got %s", raw)
	}
	field := func(k string, v any) error {
		r, ok := fields[k]
		if !ok || string(r) == "null" {
			return fmt.Errorf("missing %q", k)
		}
		if err := json.Unmarshal(r, v); err != nil {
			return fmt.Errorf("bad %q %s: %v", k, r, err)
		}
		return nil
	}
	var (
		dtype   string
		shape   []int
		offsets []uint64
	)
	if err := field("dtype", &dtype); err != nil {
		return bad("%v", err)
	}
	if err := field("shape", &shape); err != nil {
		return bad("%v", err)
	}
	if err := field("data_offsets", &offsets); err != nil {
		return bad("%v", err)
	}
	if shape == nil {
		shape = []int{}
	}
	if len(offsets) != 2 {
		return bad("data_offsets must have 2 entries, got %v", offsets)
	}
	begin, end := offsets[0], offsets[1]
	if end < begin {
		return bad("data_offsets [%d,%d] end before begin", begin, end)
	}
	n, err := nbytes(dtype, shape)
	if err != nil {
		return bad("%v", err)
	}
	if n != end-begin {
		return bad("shape %v of %s needs %d bytes, data_offsets [%d,%d] span %d",
			shape, dtype, n, begin, end, end-begin)
	}
	return entry{t: Tensor{Name: name, DType: dtype, Shape: shape}, begin: begin, end: end}, nil
}
