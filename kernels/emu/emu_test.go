package emu

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/gpu"
)

// buf is a device buffer of n 8-byte or 4-byte values for the test kernels.
type buf struct {
	p gpu.Ptr
	n int // float32 words
}

func alloc(t *testing.T, d *Device, words int) buf {
	t.Helper()
	p, err := d.Alloc(4 * words)
	if err != nil {
		t.Fatal(err)
	}
	return buf{p, words}
}

func (b buf) floats(d *Device) []float32 {
	v := make([]float32, b.n)
	d.Download(v, b.p)
	return v
}

// words64 downloads b as 64-bit words.
func (b buf) words64(d *Device) []uint64 {
	v := b.floats(d)
	out := make([]uint64, len(v)/2)
	for i := range out {
		out[i] = uint64(math.Float32bits(v[2*i])) | uint64(math.Float32bits(v[2*i+1]))<<32
	}
	return out
}

func (b buf) float64s(d *Device) []float64 {
	w := b.words64(d)
	out := make([]float64, len(w))
	for i, x := range w {
		out[i] = math.Float64frombits(x)
	}
	return out
}

func dim(x int) gpu.Dim3 { return d3(x, 1, 1) }

func d3(x, y, z int) gpu.Dim3 { return gpu.Dim3{X: x, Y: y, Z: z} }

func mustOK(t *testing.T, d *Device) {
	t.Helper()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func TestBarrier(t *testing.T) {
	for _, block := range []gpu.Dim3{d3(32, 1, 1), d3(256, 1, 1), d3(1024, 1, 1), d3(16, 4, 2), d3(7, 3, 1), d3(1, 1, 1)} {
		d := New()
		nt := block.X * block.Y * block.Z
		grid := 5
		n := grid*nt - 3
		out := alloc(t, d, n)
		d.Launch("emutest_barrier", dim(grid), block, uint64(out.p), gpu.I64(n))
		mustOK(t, d)
		got := out.floats(d)
		for i := range n {
			b, th := i/nt, i%nt
			want := float32((th+1)%nt+1000*b) + float32((th+nt-1)%nt+1000*b)
			if got[i] != want {
				t.Fatalf("block %v: out[%d] = %v, want %v", block, i, got[i], want)
			}
		}
		d.Close()
	}
}

func TestSharedPerBlock(t *testing.T) {
	d := New()
	defer d.Close()
	bad := alloc(t, d, 2)
	d.Launch("emutest_shared", dim(64), dim(256), uint64(bad.p), gpu.I64(20))
	mustOK(t, d)
	if n := bad.words64(d)[0]; n != 0 {
		t.Fatalf("%d reads saw another block's shared memory", n)
	}
}

func TestWarp(t *testing.T) {
	d := New()
	defer d.Close()
	const threads, grid = 128, 3
	n := threads*grid - 37
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((i*7919)%100) / 100
	}
	xb := alloc(t, d, n)
	d.Upload(xb.p, x)
	sum, xor, scan := alloc(t, d, 2*grid), alloc(t, d, n), alloc(t, d, n)
	bcast, ballot := alloc(t, d, 2*n), alloc(t, d, 2*n)
	d.Launch("emutest_warp", dim(grid), dim(threads), uint64(sum.p), uint64(xor.p), uint64(scan.p), uint64(bcast.p),
		uint64(ballot.p), uint64(xb.p), gpu.I64(n))
	mustOK(t, d)
	sums, xs, ss, bs, bl := sum.float64s(d), xor.floats(d), scan.floats(d), bcast.words64(d), ballot.words64(d)
	for b := range grid {
		var want float64
		for i := b * threads; i < min((b+1)*threads, n); i++ {
			want += float64(x[i])
		}
		if math.Abs(sums[b]-want) > 1e-9 {
			t.Errorf("block %d sum %v, want %v", b, sums[b], want)
		}
	}
	for i := range n {
		w := i &^ 31
		var tot, pre float32
		var ones uint64
		for l := range 32 {
			v := float32(0)
			if w+l < n {
				v = x[w+l]
			}
			tot += v
			if l <= i-w {
				pre += v
			}
			if w+l < n && v > 0.5 {
				ones |= 1 << l
			}
		}
		if math.Abs(float64(xs[i]-tot)) > 1e-4 {
			t.Errorf("xor sum at %d: %v, want %v", i, xs[i], tot)
		}
		if math.Abs(float64(ss[i]-pre)) > 1e-4 {
			t.Errorf("scan at %d: %v, want %v", i, ss[i], pre)
		}
		if bs[i] != uint64(w) {
			t.Errorf("broadcast at %d: %d, want %d", i, bs[i], w)
		}
		if bl[i] != ones {
			t.Errorf("ballot at %d: %#x, want %#x", i, bl[i], ones)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

func TestAtomicAcrossBlocks(t *testing.T) {
	d := New()
	defer d.Close()
	n := 100003
	x := make([]float32, n)
	var want float64
	for i := range x {
		x[i] = 0.25 // exact in float32 at every partial sum below 2^22
		want += float64(x[i])
	}
	xb := alloc(t, d, n)
	d.Upload(xb.p, x)
	f, dd, u, m := alloc(t, d, 1), alloc(t, d, 2), alloc(t, d, 2), alloc(t, d, 1)
	d.Launch("emutest_atomic", dim(37), dim(96), uint64(f.p), uint64(dd.p), uint64(u.p), uint64(m.p), uint64(xb.p), gpu.I64(n))
	mustOK(t, d)
	if got := f.floats(d)[0]; float64(got) != want {
		t.Errorf("float atomicAdd: %v, want %v", got, want)
	}
	if got := dd.float64s(d)[0]; got != want {
		t.Errorf("double atomicAdd: %v, want %v", got, want)
	}
	if got := u.words64(d)[0]; got != uint64(n) {
		t.Errorf("ull atomicAdd: %v, want %v", got, n)
	}
	if got := int32(math.Float32bits(m.floats(d)[0])); got != int32(n-1) {
		t.Errorf("atomicMax: %v, want %v", got, n-1)
	}
}

func TestGridStride(t *testing.T) {
	for _, c := range []struct{ n, grid, block int }{{1, 1, 1}, {1000, 3, 64}, {4097, 16, 256}, {5, 8, 32}} {
		d := New()
		x := make([]float32, c.n)
		for i := range x {
			x[i] = float32(i%13) - 6
		}
		xb, y := alloc(t, d, c.n), alloc(t, d, c.n+1)
		d.Upload(xb.p, x)
		d.Upload(y.p+gpu.Ptr(4*c.n), []float32{42})
		d.Launch("emutest_axpy", dim(c.grid), dim(c.block), uint64(y.p), uint64(xb.p), gpu.I64(c.n), gpu.F32(-1.5))
		mustOK(t, d)
		got := y.floats(d)
		for i := range c.n {
			if want := -1.5*x[i] + float32(i); got[i] != want {
				t.Fatalf("%+v: y[%d] = %v, want %v", c, i, got[i], want)
			}
		}
		if got[c.n] != 42 {
			t.Fatalf("%+v: wrote past n", c)
		}
		d.Close()
	}
}

func TestParams(t *testing.T) {
	d := New()
	defer d.Close()
	out, p := alloc(t, d, 10), alloc(t, d, 2)
	d.Upload(p.p, f64words(7.5))
	d.Launch("emutest_params", dim(1), dim(32), uint64(out.p), gpu.I64(-3), uint64(1)<<40, gpu.F32(0.1),
		uint64(p.p), math.Float64bits(2.5))
	mustOK(t, d)
	got := out.float64s(d)
	want := []float64{-3, 1 << 40, float64(float32(0.1)), 7.5, 2.5}
	if !slices.Equal(got, want) {
		t.Fatalf("params %v, want %v", got, want)
	}
	d.Launch("emutest_params", dim(1), dim(1), uint64(out.p), 0, 0, 0, 0, 0)
	mustOK(t, d)
	if got := out.float64s(d)[3]; got != -1 {
		t.Fatalf("null pointer parameter read %v", got)
	}
}

func f64words(x float64) []float32 {
	b := math.Float64bits(x)
	return []float32{math.Float32frombits(uint32(b)), math.Float32frombits(uint32(b >> 32))}
}

func TestSyncReduce(t *testing.T) {
	d := New()
	defer d.Close()
	x := make([]float32, 3*64)
	for i := range 64 {
		x[i] = 1 // block 0: all
	}
	x[64+5], x[64+60] = 1, 1 // block 1: two; block 2: none
	xb, out := alloc(t, d, len(x)), alloc(t, d, 18)
	d.Upload(xb.p, x)
	d.Launch("emutest_syncreduce", dim(3), dim(64), uint64(out.p), uint64(xb.p))
	mustOK(t, d)
	got := out.words64(d)
	want := []uint64{64, 1, 1, 2, 0, 1, 0, 0, 0}
	if !slices.Equal(got, want) {
		t.Fatalf("count/and/or %v, want %v", got, want)
	}
}

// Launch errors name the kernel and stick: later launches are skipped.
func TestErrors(t *testing.T) {
	cases := []struct {
		kernel      string
		grid, block gpu.Dim3
		args        int
		want        string
	}{
		{"emutest_divergent", dim(2), dim(64), 1, "__syncthreads not reached by all threads"},
		{"emutest_shfl_ragged", dim(1), dim(48), 1, "not a multiple of 32"},
		{"emutest_nosuch", dim(1), dim(32), 1, "not found"},
		{"emutest_divergent", dim(1), dim(0), 1, "bad block"},
		{"emutest_divergent", dim(1), dim(1025), 1, "bad block"},
		{"emutest_divergent", dim(0), dim(32), 1, "bad grid"},
		{"emutest_divergent", dim(1), dim(32), 2, "takes 1 arguments"},
	}
	for _, c := range cases {
		d := New()
		out := alloc(t, d, 2048)
		args := []uint64{uint64(out.p), 0}[:c.args]
		d.Launch(c.kernel, c.grid, c.block, args...)
		err := d.Sync()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.kernel) {
			t.Errorf("%s %v %v: error %v, want one with %q", c.kernel, c.grid, c.block, err, c.want)
		}
		d.Launch("emutest_axpy", dim(1), dim(32), uint64(out.p), uint64(out.p), 1, 0)
		if d.Launched()["emutest_axpy"] != 0 {
			t.Errorf("launch after an error was not skipped")
		}
		d.Close()
	}
}

func TestBadPointer(t *testing.T) {
	d := New()
	defer d.Close()
	out := alloc(t, d, 4)
	d.Launch("emutest_axpy", dim(1), dim(32), uint64(out.p)+4096, uint64(out.p), 1, 0)
	if err := d.Sync(); err == nil || !strings.Contains(err.Error(), "argument 0") {
		t.Fatalf("error %v, want a bad argument 0", err)
	}
	d2 := New()
	defer d2.Close()
	d2.Upload(out.p+8, make([]float32, 4))
	if err := d2.Sync(); err == nil || !strings.Contains(err.Error(), "Upload") {
		t.Fatalf("error %v, want an Upload out of range", err)
	}
}

func TestKernelsListed(t *testing.T) {
	ks := New().Kernels()
	for _, k := range []string{"emutest_barrier", "emutest_warp", "emutest_atomic"} {
		if !slices.Contains(ks, k) {
			t.Errorf("%s not in Kernels() = %v", k, ks)
		}
	}
}

func TestReversedOrderExposesRace(t *testing.T) {
	run := func(d *Device) []float32 {
		defer d.Close()
		out := alloc(t, d, 64)
		d.Launch("emutest_race", dim(1), dim(64), uint64(out.p))
		mustOK(t, d)
		return out.floats(d)
	}
	fwd, rev := run(New()), run(NewReversed())
	if slices.Equal(fwd, rev) {
		t.Fatalf("a missing barrier gave the same result in both orders: %v", fwd)
	}
	if rev[0] != 2 || fwd[63] != 1 {
		t.Fatalf("forward %v, reversed %v", fwd, rev)
	}
}

// A kernel's fault kills the process with a report naming the kernel, its
// block and thread; run in a child process. Under AddressSanitizer an
// access just past an allocation is reported too.
func TestCrashReport(t *testing.T) {
	if mode := os.Getenv("EMU_CRASH_MODE"); mode != "" {
		d := New()
		out := alloc(t, d, 4)
		d.Launch("emutest_crash", dim(2), dim(32), uint64(out.p), uint64(mode[0]-'0'), 4)
		t.Fatalf("emutest_crash returned: %v", d.Sync())
	}
	for mode, want := range []string{"bad memory access", "fiber stack overflow", "heap-buffer-overflow"} {
		if mode == 2 && !ASan() {
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashReport$")
		cmd.Env = append(os.Environ(), "EMU_CRASH_MODE="+string(rune('0'+mode)))
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("mode %d: the child did not crash:\n%s", mode, out)
		}
		report := "), thread (3,0,0): signal"
		if mode == 2 {
			report = "), thread (3,0,0): AddressSanitizer report above"
		}
		if !strings.Contains(string(out), report) || !strings.Contains(string(out), want) {
			t.Errorf("mode %d: crash output lacks the report %q:\n%s", mode, want, out)
		}
	}
}

var (
	reRegister = regexp.MustCompile(`(?m)^\s*EMU_REGISTER\((\w+)\)`)
	reKernel   = regexp.MustCompile(`(?m)^[ \t]*KERNEL\s+void\s+(?:__launch_bounds__\((?:[^()]|\([^()]*\))*\)\s*)?(\w+)\s*\(`)
	reDevice   = regexp.MustCompile(`^(?:template\s*<[^>]*>\s*)?(?:\w+\s+)*__device__\s[^=;(]*?\b(\w+)\s*\(`)
)

// TestSources lints kernels/*.cu for what g++ cannot catch: a kernel
// without EMU_REGISTER, or a family without its kernels/emu/<family>.cc,
// is missing from the emulator; and since every family links into one
// binary here (unlike nvcc, which compiles each .cu alone), two families
// defining the same non-static __device__ function would silently share
// one body.
func TestSources(t *testing.T) {
	for _, p := range lintSources(t, "..", New().Kernels()) {
		t.Error(p)
	}
}

func TestSourcesLint(t *testing.T) {
	dir := t.TempDir()
	bad := `#include "cuda_common.cuh"
__device__ float helper(float x) { return x; }
KERNEL void __launch_bounds__(128)
lint_unregistered(float* y) { extern __shared__ float s[]; }
KERNEL void lint_registered(float* y) {}
EMU_REGISTER(lint_registered)
`
	other := "__device__ __forceinline__ float helper(float x) { return 2 * x; }\n"
	os.WriteFile(filepath.Join(dir, "a.cu"), []byte(bad), 0o644)
	os.WriteFile(filepath.Join(dir, "b.cu"), []byte(other), 0o644)
	got := strings.Join(lintSources(t, dir, nil), "\n")
	for _, want := range []string{
		"a.cu: kernel lint_registered is not compiled into the emulator",
		"a.cu:3: kernel lint_unregistered has no EMU_REGISTER",
		"a.cu:4: extern __shared__",
		"b.cu:1: __device__ helper is also defined in a.cu",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lint output lacks %q:\n%s", want, got)
		}
	}
}

// lintSources returns the problems in dir/*.cu.
func lintSources(t *testing.T, dir string, compiled []string) (problems []string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.cu"))
	if err != nil {
		t.Fatal(err)
	}
	helpers := map[string]string{} // non-static __device__ function -> file
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		registered := map[string]bool{}
		for _, m := range reRegister.FindAllStringSubmatch(string(src), -1) {
			registered[m[1]] = true
			if !slices.Contains(compiled, m[1]) {
				problems = append(problems, fmt.Sprintf("%s: kernel %s is not compiled into the emulator "+
					"(is there a kernels/emu/%s.cc?)", name, m[1], strings.TrimSuffix(name, ".cu")))
			}
		}
		// Blank out macro definitions: their kernels are named by arguments.
		lines := strings.Split(string(src), "\n")
		inMacro := false
		for i, line := range lines {
			macro := inMacro || strings.HasPrefix(strings.TrimSpace(line), "#define")
			inMacro = macro && strings.HasSuffix(strings.TrimRight(line, " \t"), "\\")
			if macro {
				lines[i] = ""
			}
		}
		clean := strings.Join(lines, "\n")
		for _, m := range reKernel.FindAllStringSubmatchIndex(clean, -1) {
			k := clean[m[2]:m[3]]
			if !registered[k] {
				problems = append(problems, fmt.Sprintf("%s:%d: kernel %s has no EMU_REGISTER(%s) line", name,
					strings.Count(clean[:m[0]], "\n")+1, k, k))
			}
		}
		for i, line := range lines {
			where := fmt.Sprintf("%s:%d", name, i+1)
			if strings.Contains(line, "extern __shared__") {
				problems = append(problems, where+": extern __shared__ (dynamic shared memory) is not supported; use a static size")
			}
			if m := reDevice.FindStringSubmatch(line); m != nil && !strings.Contains(line, "static") {
				if other, ok := helpers[m[1]]; ok && other != name {
					problems = append(problems, fmt.Sprintf("%s: __device__ %s is also defined in %s; make both static", where, m[1], other))
				}
				helpers[m[1]] = name
			}
		}
	}
	return problems
}

// BenchmarkBarrier measures a fiber switch: 1024 threads meeting at three
// barriers per block.
func BenchmarkBarrier(b *testing.B) {
	d := New()
	defer d.Close()
	const blocks, threads = 16, 1024
	p, _ := d.Alloc(4 * blocks * threads)
	for b.Loop() {
		d.Launch("emutest_barrier", dim(blocks), dim(threads), uint64(p), gpu.I64(blocks*threads))
	}
	if err := d.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*blocks*threads*4), "ns/switch")
}

func TestMath(t *testing.T) {
	d := New()
	defer d.Close()
	out := alloc(t, d, 2*64)
	const i, j = 7, 3
	d.Launch("emutest_math", dim(1), dim(32), uint64(out.p), gpu.F32(0.3), i, j)
	mustOK(t, d)
	got := out.float64s(d)
	x := float64(float32(0.3))
	f := func(v float64) float64 { return float64(float32(v)) }
	want := []float64{
		math.Exp(x), math.Log(x), math.Log1p(x), math.Expm1(x), math.Tanh(x), math.Sqrt(x), x, 0.25, x,
		1 / math.Sqrt(x), math.Exp(x), math.Log(x), 1 / x, 1, math.Sin(x), math.Cos(x), math.Sin(x), math.Cos(x),
		math.Exp(x), math.Log1p(x), math.Exp(x), 1 / math.Sqrt(x), f(x*x + 1), f(3 * x), f(x + 3),
		j, i, j, i, j - 1, j - 1, 8, 31, x, x, x, 0.25, x, math.Exp(x),
	}
	for k, w := range want {
		if math.Abs(got[k]-w) > 2e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("expression %d: %v, want %v", k, got[k], w)
		}
	}
}
