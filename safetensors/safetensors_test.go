package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func encode(t *testing.T, f File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, f); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b.Bytes()
}

// file builds a raw safetensors file from a header string and data.
func file(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func sample() File {
	return File{
		Tensors: []Tensor{
			F32("enc.w", []int{2, 3}, []float32{1, -2, 3.5, 0, 1e-7, -1e30}),
			I64("step", []int{1}, []int64{-9_000_000_000}),
			{Name: "mask", DType: "U8", Shape: []int{3}, Data: []byte{1, 0, 1}},
			F32("empty", []int{0, 4}, nil),
			{Name: "scalar", DType: "F64", Shape: []int{}, Data: []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
			F32("dec.b", []int{1}, []float32{42}),
		},
		Metadata: map[string]string{"format": "pt", "epoch": "7", "note": `quotes " and <html> & ünïcode`},
	}
}

func TestRoundTrip(t *testing.T) {
	want := sample()
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("got %d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i, w := range want.Tensors {
		g := got.Tensors[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %d: got %+v, want %+v", i, g, w)
		}
	}
	if len(got.Metadata) != len(want.Metadata) {
		t.Errorf("metadata: got %v, want %v", got.Metadata, want.Metadata)
	}
	for k, v := range want.Metadata {
		if got.Metadata[k] != v {
			t.Errorf("metadata[%q] = %q, want %q", k, got.Metadata[k], v)
		}
	}

	w, ok := got.Get("enc.w")
	if !ok {
		t.Fatal("Get(enc.w) not found")
	}
	fs, err := w.Float32s()
	if err != nil || !slices.Equal(fs, []float32{1, -2, 3.5, 0, 1e-7, -1e30}) {
		t.Errorf("Float32s = %v, %v", fs, err)
	}
	s, _ := got.Get("step")
	is, err := s.Int64s()
	if err != nil || !slices.Equal(is, []int64{-9_000_000_000}) {
		t.Errorf("Int64s = %v, %v", is, err)
	}
	if _, err := s.Float32s(); err == nil {
		t.Error("Float32s on I64 tensor: want error")
	}
	if _, err := w.Int64s(); err == nil {
		t.Error("Int64s on F32 tensor: want error")
	}
	if _, ok := got.Get("nope"); ok {
		t.Error("Get(nope) found")
	}
	bad := Tensor{Name: "x", DType: "F32", Shape: []int{3}, Data: make([]byte, 8)}
	if _, err := bad.Float32s(); err == nil {
		t.Error("Float32s with size mismatch: want error")
	}

	// Appending to one decoded tensor must not clobber its neighbour.
	m, _ := got.Get("mask")
	_ = append(m.Data, 0xff)
	if e, _ := got.Get("scalar"); e.Data[0] != 0 {
		t.Error("append to decoded Data overwrote the next tensor")
	}

	// No metadata round-trips as nil and the key is omitted.
	raw := encode(t, File{Tensors: want.Tensors[:1]})
	if bytes.Contains(raw, []byte(metadataKey)) {
		t.Error("empty metadata was written")
	}
	f, err := Decode(raw)
	if err != nil || f.Metadata != nil {
		t.Errorf("Decode: %v, metadata %v", err, f.Metadata)
	}
}

// TestSpecFixture checks Encode against bytes built by hand from the spec.
func TestSpecFixture(t *testing.T) {
	header := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	for (8+len(header))%8 != 0 {
		header += " "
	}
	want := file(header, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}) // 1.0f, 2.0f LE
	got := encode(t, File{Tensors: []Tensor{F32("a", []int{2}, []float32{1, 2})}})
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode:\n got %q\nwant %q", got, want)
	}

	// Read it back the way an independent reader would.
	f := sample()
	raw := encode(t, f)
	n := binary.LittleEndian.Uint64(raw)
	if (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		t.Fatalf("header is not JSON: %v", err)
	}
	buf := raw[8+n:]
	var md map[string]string
	if err := json.Unmarshal(hdr["__metadata__"], &md); err != nil || md["epoch"] != "7" {
		t.Errorf("metadata %v, %v", md, err)
	}
	var cursor uint64
	for _, tn := range f.Tensors {
		var info struct {
			DType       string   `json:"dtype"`
			Shape       []int    `json:"shape"`
			DataOffsets []uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(hdr[tn.Name], &info); err != nil {
			t.Fatalf("%s: %v", tn.Name, err)
		}
		if info.DType != tn.DType || !slices.Equal(info.Shape, tn.Shape) {
			t.Errorf("%s: header %+v", tn.Name, info)
		}
		b, e := info.DataOffsets[0], info.DataOffsets[1]
		if b != cursor || !bytes.Equal(buf[b:e], tn.Data) {
			t.Errorf("%s: offsets [%d,%d], cursor %d", tn.Name, b, e, cursor)
		}
		cursor = e
	}
	if cursor != uint64(len(buf)) {
		t.Errorf("tensors cover %d of %d buffer bytes", cursor, len(buf))
	}
	if len(hdr) != len(f.Tensors)+1 {
		t.Errorf("header has %d keys", len(hdr))
	}
}

// TestDecodeForeign reads files laid out as other writers produce them:
// unpadded header, metadata, tensors listed out of buffer order.
func TestDecodeForeign(t *testing.T) {
	header := `{"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]},"__metadata__":{"format":"pt"},` +
		`"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}`
	data := []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 5, 0, 0, 0, 0, 0, 0, 0}
	f, err := Decode(file(header, data))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 2 || f.Tensors[0].Name != "a" || f.Tensors[1].Name != "b" {
		t.Fatalf("tensors %+v", f.Tensors)
	}
	if v, _ := f.Tensors[1].Int64s(); !slices.Equal(v, []int64{5}) {
		t.Errorf("b = %v", v)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	if f, err := DecodeReader(bytes.NewReader(file(`{}`, nil))); err != nil || len(f.Tensors) != 0 {
		t.Errorf("empty file: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := encode(t, sample())

	t.Run("truncated", func(t *testing.T) {
		for n := range len(good) {
			if _, err := Decode(good[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes: no error", n, len(good))
			}
		}
	})

	hdrLen := binary.LittleEndian.Uint64(good)
	withSize := func(n uint64) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	flipped := slices.Clone(good)
	flipped[7] ^= 0x80
	a8 := `"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`
	two := make([]byte, 8)

	cases := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "shorter than the 8-byte", nil},
		{"short", "shorter than the 8-byte", []byte{1, 2, 3}},
		{"size flipped", "limit", flipped},
		{"size absurd", "limit", withSize(MaxHeaderSize + 1)},
		{"size past end", "truncated", withSize(uint64(len(good)))},
		{"size short", "JSON", withSize(hdrLen - 9)},
		{"size long", "header: ", withSize(hdrLen + 8)},
		{"bad JSON", "JSON", file(`{"a":{"dtype":"F32",`, two)},
		{"not object", "expected an object", file(`[1,2]`, nil)},
		{"trailing JSON", "after header object", file(`{} {}`, nil)},
		{"invalid UTF-8", "UTF-8", file("{\"\xff\":{}}", nil)},
		{"duplicate key", "duplicate", file(`{`+a8+`,`+a8+`}`, two)},
		{"unknown dtype", "unknown dtype", file(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, two)},
		{"missing dtype", "missing \"dtype\"", file(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, two)},
		{"wrong-case field", "missing \"dtype\"", file(`{"a":{"DTYPE":"F32","shape":[2],"data_offsets":[0,8]}}`, two)},
		{"missing offsets", "missing \"data_offsets\"", file(`{"a":{"dtype":"F32","shape":[2]}}`, two)},
		{"three offsets", "2 entries", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, two)},
		{"negative offset", "data_offsets", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, two)},
		{"negative dim", "negative dimension", file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, two)},
		{"end before begin", "end before begin", file(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}}`, two)},
		{"shape mismatch", "needs 12 bytes", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, two)},
		{"offsets past data", "truncated: header says 16 bytes of data, file has 8",
			file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, two)},
		{"overlap", "overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
			`"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two)},
		{"hole", "hole", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two)},
		{"trailing garbage", "trailing garbage: 4 bytes", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, two)},
		{"garbage after good", "trailing garbage", append(slices.Clone(good), 0)},
		{"metadata not strings", "not a string", file(`{"__metadata__":{"k":1}}`, nil)},
		{"metadata null value", "not a string", file(`{"__metadata__":{"k":null}}`, nil)},
		{"empty name", "empty tensor name", file(`{"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`, nil)},
		{"shape overflow", "overflows", file(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil)},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Decode: got %v, want error containing %q", err, c.want)
			}
			path := filepath.Join(dir, "checkpoint.safetensors")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = ReadFile(path)
			if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ReadFile: got %v, want error naming %s and containing %q", err, path, c.want)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	ok := F32("a", []int{1}, []float32{1})
	cases := map[string][]Tensor{
		"empty name":     {F32("", []int{1}, []float32{1})},
		"reserved name":  {F32("__metadata__", []int{1}, []float32{1})},
		"duplicate":      {ok, ok},
		"size mismatch":  {F32("a", []int{2, 2}, []float32{1, 2, 3})},
		"unknown dtype":  {{Name: "a", DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}},
		"negative shape": {{Name: "a", DType: "U8", Shape: []int{-1}}},
	}
	for name, ts := range cases {
		var b bytes.Buffer
		if err := Encode(&b, File{Tensors: ts}); err == nil {
			t.Errorf("%s: Encode succeeded", name)
		} else if b.Len() != 0 {
			t.Errorf("%s: Encode wrote %d bytes before failing", name, b.Len())
		}
	}
}

// onlyFile asserts dir holds exactly one entry, path, with content want.
func onlyFile(t *testing.T, dir, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s changed (err %v)", path, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only %s", names, filepath.Base(path))
	}
}

func TestWriteFileFailureLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)

	bad := sample()
	bad.Tensors = append(bad.Tensors, F32("x", []int{5}, []float32{1}))
	err := WriteFile(path, bad)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("invalid tensor: got %v, want error naming %s", err, path)
	}
	onlyFile(t, dir, path, old)

	// Success replaces the content and keeps permissions.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	small := File{Tensors: []Tensor{F32("a", []int{2}, []float32{1, 2})}}
	if err := WriteFile(path, small); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after replace, want 0600", fi.Mode().Perm())
	}
	onlyFile(t, dir, path, encode(t, small))

	// Failure after the temp file is fully written: the final rename
	// cannot replace a non-empty directory.
	dir2 := t.TempDir()
	target := filepath.Join(dir2, "ckpt.safetensors")
	if err := os.MkdirAll(filepath.Join(target, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, sample()); err == nil {
		t.Error("rename over directory: want error")
	}
	if ents, _ := os.ReadDir(dir2); len(ents) != 1 {
		t.Errorf("temp file left behind: %v", ents)
	}

	if err := WriteFile(filepath.Join(dir, "missing", "x.safetensors"), small); err == nil {
		t.Error("missing directory: want error")
	}
}

func TestWriteFileUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	if err := WriteFile(path, sample()); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if err := WriteFile(path, File{}); err == nil {
		t.Error("unwritable directory: want error")
	}
	onlyFile(t, dir, path, old)
}
