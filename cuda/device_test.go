//go:build gpu

package cuda

import (
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/csvae-gpu/csvae-gpu/gpu"
)

// Tests of the device on a real GPU: `make gpu` builds them as bin/cuda.test,
// run with `bin/cuda.test -test.v` on a GPU host. Without a GPU the binary
// exits at start (gorgonia.org/cu's init). The fault tests corrupt their
// context, so each runs alone in its own process, when CSVAE_CUDA_FAULT_TEST=1:
//
//	CSVAE_CUDA_FAULT_TEST=1 bin/cuda.test -test.run 'TestFaultSync$'
//	CSVAE_CUDA_FAULT_TEST=1 bin/cuda.test -test.run 'TestFaultAsync$'

// testPTX holds kernels for these tests only, loaded beside the embedded
// ones (and JIT-compiled by the driver, which tests that path too). nvcc 11.8
// -arch=compute_80 -ptx of:
//
//	extern "C" __global__ void test_axpy(float* y, const float* x, uint64_t a, int64_t n) {
//		int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
//		if (i < n) y[i] += __uint_as_float((unsigned)a) * x[i];
//	}
//	extern "C" __global__ void test_spin(float* out, int64_t cycles) {
//		long long t0 = clock64();
//		while (clock64() - t0 < cycles) {}
//		if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = 1.0f;
//	}
//	extern "C" __global__ void test_fault(float* p) { p[threadIdx.x] = 1.0f; }
const testPTX = `
.version 7.8
.target sm_80
.address_size 64
.visible .entry test_axpy(
	.param .u64 test_axpy_param_0,
	.param .u64 test_axpy_param_1,
	.param .u64 test_axpy_param_2,
	.param .u64 test_axpy_param_3
)
{
	.reg .pred 	%p<2>;
	.reg .f32 	%f<5>;
	.reg .b32 	%r<5>;
	.reg .b64 	%rd<13>;
	ld.param.u64 	%rd2, [test_axpy_param_0];
	ld.param.u64 	%rd3, [test_axpy_param_1];
	ld.param.u64 	%rd4, [test_axpy_param_2];
	ld.param.u64 	%rd5, [test_axpy_param_3];
	mov.u32 	%r1, %ctaid.x;
	mov.u32 	%r2, %ntid.x;
	mul.wide.u32 	%rd6, %r1, %r2;
	mov.u32 	%r3, %tid.x;
	cvt.u64.u32 	%rd7, %r3;
	add.s64 	%rd1, %rd6, %rd7;
	setp.ge.s64 	%p1, %rd1, %rd5;
	@%p1 bra 	$L__BB0_2;
	cvta.to.global.u64 	%rd8, %rd3;
	cvt.u32.u64 	%r4, %rd4;
	mov.b32 	%f1, %r4;
	shl.b64 	%rd9, %rd1, 2;
	add.s64 	%rd10, %rd8, %rd9;
	ld.global.f32 	%f2, [%rd10];
	cvta.to.global.u64 	%rd11, %rd2;
	add.s64 	%rd12, %rd11, %rd9;
	ld.global.f32 	%f3, [%rd12];
	fma.rn.f32 	%f4, %f2, %f1, %f3;
	st.global.f32 	[%rd12], %f4;
$L__BB0_2:
	ret;
}
.visible .entry test_spin(
	.param .u64 test_spin_param_0,
	.param .u64 test_spin_param_1
)
{
	.reg .pred 	%p<3>;
	.reg .b32 	%r<5>;
	.reg .b64 	%rd<8>;
	ld.param.u64 	%rd5, [test_spin_param_0];
	ld.param.u64 	%rd3, [test_spin_param_1];
	cvta.to.global.u64 	%rd1, %rd5;
	mov.u64 	%rd4, %clock64;
$L__BB1_1:
	mov.u64 	%rd6, %clock64;
	sub.s64 	%rd7, %rd6, %rd4;
	setp.lt.s64 	%p1, %rd7, %rd3;
	@%p1 bra 	$L__BB1_1;
	mov.u32 	%r1, %tid.x;
	mov.u32 	%r2, %ctaid.x;
	or.b32  	%r3, %r1, %r2;
	setp.ne.s32 	%p2, %r3, 0;
	@%p2 bra 	$L__BB1_4;
	mov.u32 	%r4, 1065353216;
	st.global.u32 	[%rd1], %r4;
$L__BB1_4:
	ret;
}
.visible .entry test_fault(
	.param .u64 test_fault_param_0
)
{
	.reg .b32 	%r<3>;
	.reg .b64 	%rd<5>;
	ld.param.u64 	%rd1, [test_fault_param_0];
	cvta.to.global.u64 	%rd2, %rd1;
	mov.u32 	%r1, %tid.x;
	mul.wide.u32 	%rd3, %r1, 4;
	add.s64 	%rd4, %rd2, %rd3;
	mov.u32 	%r2, 1065353216;
	st.global.u32 	[%rd4], %r2;
	ret;
}
`

// open opens device 0 with the test kernels loaded and closes it after t.
func open(t testing.TB) *Device {
	t.Helper()
	d, err := Open(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	entries, err := ParseEntries(testPTX)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.call(func() error { return d.load(module{"test.ptx", []byte(testPTX), entries}) }); err != nil {
		t.Fatal(err)
	}
	return d
}

func upload(t testing.TB, d *Device, v []float32) gpu.Ptr {
	t.Helper()
	p, err := d.Alloc(4 * len(v))
	if err != nil {
		t.Fatal(err)
	}
	d.Upload(p, v)
	return p
}

func download(t testing.TB, d *Device, p gpu.Ptr, n int) []float32 {
	t.Helper()
	v := make([]float32, n)
	d.Download(v, p)
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpen(t *testing.T) {
	names, err := Devices()
	if err != nil || len(names) == 0 {
		t.Fatalf("Devices: %v, %v", names, err)
	}
	d := open(t)
	t.Logf("%s; driver devices %q", d.Name(), names)
	if !strings.HasSuffix(d.Name(), "(cuda)") || !strings.Contains(d.Name(), names[0]) {
		t.Errorf("Name() = %q", d.Name())
	}
	mods, err := embedded()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range mods {
		for _, e := range m.entries {
			want = append(want, e.Name)
		}
	}
	slices.Sort(want)
	if got := d.Kernels(); len(got) == 0 || !slices.Equal(got, want) {
		t.Errorf("Kernels() = %v, want %v", got, want)
	}
	t.Logf("%d kernels from %d modules", len(want), len(mods))
	free, total, err := d.MemInfo()
	if err != nil || free <= 0 || total < free {
		t.Errorf("MemInfo() = %d, %d, %v", free, total, err)
	}
	t.Logf("memory: %.1f GiB free of %.1f GiB", float64(free)/(1<<30), float64(total)/(1<<30))
	if _, err := Open(len(names)); err == nil {
		t.Errorf("Open(%d) of %d devices: no error", len(names), len(names))
	}
}

func TestMemory(t *testing.T) {
	d := open(t)
	const n = 1000
	p, err := d.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range download(t, d, p, n) {
		if v != 0 {
			t.Fatalf("Alloc: value %d is %g, not zero", i, v)
		}
	}
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(i) + 0.5
	}
	d.Upload(p, src)
	sent := slices.Clone(src)
	src[0] = -1 // Upload copied src: this must not reach the device
	if got := download(t, d, p, n); !slices.Equal(got, sent) {
		t.Fatalf("Download after Upload differs")
	}
	// Sub-slices at 4-byte offsets, as tensor views use them.
	if got := download(t, d, p+4*3, 10); !slices.Equal(got, sent[3:13]) {
		t.Errorf("view [3:13] = %v, want %v", got, sent[3:13])
	}
	d.Upload(p+4*7, []float32{42})
	d.Memset0(p+4*5, 4*3)
	got := download(t, d, p, n)
	want := slices.Clone(sent)
	want[5], want[6], want[7] = 0, 0, 0
	if !slices.Equal(got, want) {
		t.Errorf("after Memset0 of [5:8]: %v, want %v", got[:10], want[:10])
	}
	z, err := d.Alloc(0)
	if err != nil || z == 0 {
		t.Errorf("Alloc(0) = %v, %v", z, err)
	}
	d.Free(z)
	d.Free(p)
	d.Free(0)
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Alloc(1 << 50); err == nil {
		t.Errorf("Alloc(1 PiB): no error")
	} else if err := d.Sync(); err != nil {
		t.Errorf("a failed Alloc poisoned the device: %v", err)
	}
}

func TestLaunch(t *testing.T) {
	d := open(t)
	const n = 1000 // not a multiple of the block
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i % 7)
	}
	xp := upload(t, d, x)
	yp := upload(t, d, make([]float32, n))
	ones := upload(t, d, slices.Repeat([]float32{1}, n))
	grid, block := gpu.Dim3{X: (n + 255) / 256, Y: 1, Z: 1}, gpu.Dim3{X: 256, Y: 1, Z: 1}
	d.Launch("test_axpy", grid, block, uint64(yp), uint64(xp), gpu.F32(2), gpu.I64(n))
	// More launches than the queue holds, all accumulating into y: the
	// result is exact in float32 and needs every launch, in order.
	const k = 3 * queueDepth / 2
	args := []uint64{uint64(yp), uint64(ones), gpu.F32(1), gpu.I64(n)}
	for range k {
		d.Launch("test_axpy", grid, block, args...)
	}
	args[2] = gpu.F32(1e9) // Launch copied args: this must not be used
	got := download(t, d, yp, n)
	for i := range got {
		if want := 2*x[i] + k; got[i] != want {
			t.Fatalf("y[%d] = %g, want %g", i, got[i], want)
		}
	}
}

func TestElapsed(t *testing.T) {
	d := open(t)
	out, err := d.Alloc(4)
	if err != nil {
		t.Fatal(err)
	}
	el, err := d.Elapsed(func() {
		d.Launch("test_spin", gpu.Dim3{X: 1, Y: 1, Z: 1}, gpu.Dim3{X: 32, Y: 1, Z: 1}, uint64(out), gpu.I64(100_000_000))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1e8 cycles: %v", el)
	if el < 10*time.Millisecond || el > 10*time.Second {
		t.Errorf("1e8 cycles took %v", el)
	}
	if got := download(t, d, out, 1); got[0] != 1 {
		t.Errorf("test_spin wrote %g", got[0])
	}
	if el, err := d.Elapsed(func() {}); err != nil || el < 0 || el > time.Second {
		t.Errorf("Elapsed(nothing) = %v, %v", el, err)
	}
}

func TestLaunchErrors(t *testing.T) {
	one := gpu.Dim3{X: 1, Y: 1, Z: 1}
	for _, c := range []struct {
		name, kernel string
		grid, block  gpu.Dim3
		args         int
		want         string
	}{
		{"unknown", "no_such_kernel", one, one, 4, `unknown kernel "no_such_kernel"`},
		{"args", "test_axpy", one, one, 3, "test_axpy takes 4 arguments, launched with 3"},
		{"grid", "test_axpy", gpu.Dim3{X: 0, Y: 1, Z: 1}, one, 4, "test_axpy launched on grid"},
		{"block", "test_axpy", one, gpu.Dim3{X: 2048, Y: 1, Z: 1}, 4, "cuLaunchKernel(test_axpy grid {1 1 1} block {2048 1 1}): InvalidValue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := open(t)
			p := upload(t, d, []float32{7})
			args := []uint64{uint64(p), uint64(p), gpu.F32(1), gpu.I64(0)}[:c.args]
			d.Launch(c.kernel, c.grid, c.block, args...)
			// Sticky: later work is skipped, Download leaves dst alone.
			d.Launch("test_axpy", one, one, uint64(p), uint64(p), gpu.F32(1), gpu.I64(1))
			dst := []float32{-3}
			d.Download(dst, p)
			err := d.Sync()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Sync() = %v, want an error with %q", err, c.want)
			}
			if dst[0] != -3 {
				t.Errorf("Download after the error wrote %g", dst[0])
			}
			if err2 := d.Err(); err2 != err {
				t.Errorf("Err() = %v, Sync() = %v", err2, err)
			}
			if _, err2 := d.Elapsed(func() {}); err2 != err {
				t.Errorf("Elapsed after the error: %v", err2)
			}
			t.Log(err)
		})
	}
}

func TestClosed(t *testing.T) {
	d := open(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.Alloc(4); !errors.Is(err, ErrClosed) {
		t.Errorf("Alloc after Close: %v", err)
	}
	d.Launch("test_axpy", gpu.Dim3{X: 1, Y: 1, Z: 1}, gpu.Dim3{X: 1, Y: 1, Z: 1})
	if err := d.Sync(); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
}

// A write through a bad pointer is reported as an error that names the
// kernel: at once with SyncEnv's mode, else as the launch before the failed
// synchronisation.
func TestFaultSync(t *testing.T) { fault(t, true, "cuCtxSynchronize(after test_fault)") }
func TestFaultAsync(t *testing.T) {
	fault(t, false, "cuCtxSynchronize(after the launch of test_fault)")
}

func fault(t *testing.T, syncAll bool, want string) {
	if os.Getenv("CSVAE_CUDA_FAULT_TEST") != "1" {
		t.Skip("corrupts the context: run alone with CSVAE_CUDA_FAULT_TEST=1")
	}
	d := open(t)
	d.syncAll = syncAll // before any launch: the owner reads it afterwards
	d.Launch("test_fault", gpu.Dim3{X: 1, Y: 1, Z: 1}, gpu.Dim3{X: 32, Y: 1, Z: 1}, 8)
	err := d.Sync()
	t.Log(err)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Sync() = %v, want an error with %q", err, want)
	}
}

// BenchmarkLaunch is the cost of queueing and issuing one small launch.
func BenchmarkLaunch(b *testing.B) {
	d := open(b)
	p, err := d.Alloc(4 * 256)
	if err != nil {
		b.Fatal(err)
	}
	one, block := gpu.Dim3{X: 1, Y: 1, Z: 1}, gpu.Dim3{X: 256, Y: 1, Z: 1}
	b.ResetTimer()
	for range b.N {
		d.Launch("test_axpy", one, block, uint64(p), uint64(p), gpu.F32(1), gpu.I64(256))
	}
	if err := d.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/launch")
}

// TestBackendChecks runs the conformance suite of package gpu (every op
// against its Go fallback) on this device, a fresh device per check since
// errors are sticky. GPU_CHECKS='^Conv' keeps the checks whose names match.
func TestBackendChecks(t *testing.T) {
	var keep *regexp.Regexp
	if f := os.Getenv("GPU_CHECKS"); f != "" {
		keep = regexp.MustCompile(f)
	}
	for _, c := range gpu.Checks() {
		if keep != nil && !keep.MatchString(c.Name) {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			d, err := Open(0)
			if err != nil {
				t.Fatal(err)
			}
			b := gpu.New(d)
			defer b.Close()
			rs := gpu.RunChecks(b, 1, func(name string) bool { return name == c.Name })
			if len(rs) != 1 {
				t.Fatalf("%d results", len(rs))
			}
			r := rs[0]
			switch {
			case r.Err != nil:
				t.Errorf("kernels %v: %v", r.Kernels, r.Err)
			case !r.Pass:
				t.Errorf("relative error %.3g on %s exceeds tolerance %.3g (kernels %v)", r.RelErr, r.Worst, r.Tol, r.Kernels)
			default:
				t.Logf("relative error %.3g (tolerance %.3g)", r.RelErr, r.Tol)
			}
		})
	}
}
