//go:build gpu

package cuda

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/csvae-gpu/csvae-gpu/gpu"
	"gorgonia.org/cu"
)

// Device is a CUDA device behind gpu.Device. A CUDA context is current to
// one OS thread at a time, and the driver API is cheapest when it stays
// there: one goroutine, locked to its thread, creates the context and makes
// every driver call; the methods hand it closures through a channel. Work
// that returns nothing to the caller (launches, uploads, memsets, frees) is
// queued without waiting; the first failure is kept (the sticky error) and
// every later queued call is skipped, so it surfaces at the next Sync,
// Download, Elapsed or Err. Everything runs on the context's NULL stream, in
// the order it was queued.
type Device struct {
	name    string
	kernels []string // sorted

	work   chan func()
	done   chan struct{} // closed when the owner goroutine has returned
	closed atomic.Bool

	mu  sync.Mutex
	err error // the sticky error

	// Owned by the goroutine that runs loop.
	ctx     cu.CUContext
	modules []cu.Module
	fns     map[string]function
	last    string // the kernel launched last, named by asynchronous errors
	syncAll bool
	quit    bool
}

type function struct {
	fn     cu.Function
	params int
}

// queueDepth bounds how far callers run ahead of the driver. A launch costs
// the owner a few microseconds, so this is milliseconds of work.
const queueDepth = 4096

// SyncEnv, set to 1, makes the device synchronise after every launch, so an
// error inside a kernel (an illegal address) names that kernel rather than
// surfacing at the next synchronisation. Slow; for debugging.
const SyncEnv = "CSVAE_CUDA_SYNC"

// ErrClosed is the error of any call after Close.
var ErrClosed = errors.New("cuda: device closed")

// Devices names the CUDA devices the driver reports.
func Devices() ([]string, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, cuErr("cuDeviceGetCount", "", err)
	}
	names := make([]string, 0, n)
	for i := 0; i < n; i++ {
		name, err := cu.Device(i).Name()
		if err != nil {
			return nil, cuErr("cuDeviceGetName", fmt.Sprint(i), err)
		}
		names = append(names, name)
	}
	return names, nil
}

// Open creates a context on device ordinal, loads every embedded kernel
// module and looks up every kernel.
func Open(ordinal int) (*Device, error) {
	mods, err := embedded()
	if err != nil {
		return nil, err
	}
	d := &Device{
		work:    make(chan func(), queueDepth),
		done:    make(chan struct{}),
		fns:     map[string]function{},
		syncAll: os.Getenv(SyncEnv) == "1",
	}
	ready := make(chan error, 1)
	go d.loop(ordinal, mods, ready)
	if err := <-ready; err != nil {
		<-d.done
		return nil, err
	}
	return d, nil
}

// loop is the owner goroutine: it never unlocks its thread, so the thread,
// which had the context current, ends with it.
func (d *Device) loop(ordinal int, mods []module, ready chan<- error) {
	runtime.LockOSThread()
	defer close(d.done)
	if err := d.setup(ordinal, mods); err != nil {
		d.teardown()
		ready <- err
		return
	}
	ready <- nil
	for !d.quit {
		(<-d.work)()
	}
}

func (d *Device) setup(ordinal int, mods []module) error {
	n, err := cu.NumDevices()
	if err != nil {
		return cuErr("cuDeviceGetCount", "", err)
	}
	if ordinal < 0 || ordinal >= n {
		return fmt.Errorf("cuda: no device %d: the driver reports %d", ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return cuErr("cuDeviceGet", fmt.Sprint(ordinal), err)
	}
	name, err := dev.Name()
	if err != nil {
		return cuErr("cuDeviceGetName", fmt.Sprint(ordinal), err)
	}
	major, err := dev.Attribute(cu.ComputeCapabilityMajor)
	if err != nil {
		return cuErr("cuDeviceGetAttribute", "compute capability major", err)
	}
	minor, err := dev.Attribute(cu.ComputeCapabilityMinor)
	if err != nil {
		return cuErr("cuDeviceGetAttribute", "compute capability minor", err)
	}
	d.name = fmt.Sprintf("%s, sm_%d%d (cuda)", name, major, minor)
	// cuCtxCreate makes the new context current to this (locked) thread.
	if d.ctx, err = dev.MakeContext(cu.SchedAuto); err != nil {
		return cuErr("cuCtxCreate", fmt.Sprint(ordinal), err)
	}
	for _, m := range mods {
		if err := d.load(m); err != nil {
			return err
		}
	}
	for k := range d.fns {
		d.kernels = append(d.kernels, k)
	}
	slices.Sort(d.kernels)
	return nil
}

// load loads one module's image and looks up each of its kernels.
func (d *Device) load(m module) error {
	mod, err := cu.LoadData(string(m.image))
	if err != nil {
		return cuErr("cuModuleLoadData", m.name, err)
	}
	d.modules = append(d.modules, mod)
	for _, e := range m.entries {
		if _, dup := d.fns[e.Name]; dup {
			return fmt.Errorf("cuda: kernel %s defined twice (second in %s)", e.Name, m.name)
		}
		for i, size := range e.Params {
			if size > 8 {
				return fmt.Errorf("cuda: kernel %s (%s): parameter %d has %d bytes, more than a launch slot's 8", e.Name, m.name, i, size)
			}
		}
		fn, err := mod.Function(e.Name)
		if err != nil {
			return cuErr("cuModuleGetFunction", e.Name, err)
		}
		d.fns[e.Name] = function{fn, len(e.Params)}
	}
	return nil
}

// teardown waits for the device, unloads the modules and destroys the
// context; it returns the first error.
func (d *Device) teardown() error {
	var errs []error
	if d.ctx != (cu.CUContext{}) {
		if err := cu.Synchronize(); err != nil {
			errs = append(errs, cuErr("cuCtxSynchronize", "close", err))
		}
	}
	for _, m := range d.modules {
		if err := m.Unload(); err != nil {
			errs = append(errs, cuErr("cuModuleUnload", "", err))
		}
	}
	d.modules = nil
	if d.ctx != (cu.CUContext{}) {
		if err := d.ctx.Destroy(); err != nil {
			errs = append(errs, cuErr("cuCtxDestroy", "", err))
		}
	}
	return errors.Join(errs...)
}

// cuErr names the driver call and what it was about, e.g.
// "cuLaunchKernel(conv_forward): InvalidValue (CUresult 1)".
func cuErr(call, what string, err error) error {
	code := ""
	if v := reflect.ValueOf(err); v.Kind() == reflect.Int {
		code = fmt.Sprintf(" (CUresult %d)", v.Int())
	}
	return fmt.Errorf("%s(%s): %w%s", call, what, err, code)
}

// Err returns the sticky error: the first failure of any queued call.
func (d *Device) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *Device) fail(err error) {
	d.mu.Lock()
	if d.err == nil {
		d.err = err
	}
	d.mu.Unlock()
}

// enqueue hands f to the owner without waiting.
func (d *Device) enqueue(f func()) {
	if d.closed.Load() {
		d.fail(ErrClosed)
		return
	}
	d.work <- f
}

// call runs f on the owner and waits for its result.
func (d *Device) call(f func() error) error {
	if d.closed.Load() {
		return ErrClosed
	}
	reply := make(chan error, 1)
	d.work <- func() { reply <- f() }
	return <-reply
}

func (d *Device) Name() string { return d.name }

// Kernels lists every loaded kernel, sorted.
func (d *Device) Kernels() []string { return slices.Clone(d.kernels) }

// Alloc returns bytes of zeroed device memory. Its error is returned, not
// kept: running out of memory leaves the device usable.
func (d *Device) Alloc(bytes int) (gpu.Ptr, error) {
	if bytes < 0 {
		return 0, fmt.Errorf("cuda: Alloc(%d bytes)", bytes)
	}
	var p cu.DevicePtr
	err := d.call(func() error {
		var err error
		if p, err = cu.MemAlloc(int64(max(bytes, 1))); err != nil {
			return cuErr("cuMemAlloc", fmt.Sprintf("%d bytes", bytes), err)
		}
		if bytes == 0 {
			return nil
		}
		if err := cu.MemsetD8(p, 0, int64(bytes)); err != nil {
			cu.MemFree(p)
			return cuErr("cuMemsetD8", fmt.Sprintf("%d bytes", bytes), err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return gpu.Ptr(p), nil
}

func (d *Device) Free(p gpu.Ptr) {
	if p == 0 || d.closed.Load() {
		return
	}
	d.enqueue(func() {
		// After a failure the context may be unusable; freeing then is
		// best effort and must not replace the first error.
		if err := cu.MemFree(cu.DevicePtr(p)); err != nil && d.Err() == nil {
			d.fail(cuErr("cuMemFree", fmt.Sprintf("0x%x", uint64(p)), err))
		}
	})
}

// Upload copies src to dst. src is copied first, so the caller may reuse it
// at once while the transfer waits in the queue.
func (d *Device) Upload(dst gpu.Ptr, src []float32) {
	if len(src) == 0 {
		return
	}
	buf := slices.Clone(src)
	d.enqueue(func() {
		if d.Err() != nil {
			return
		}
		err := cu.MemcpyHtoD(cu.DevicePtr(dst), unsafe.Pointer(&buf[0]), int64(4*len(buf)))
		if err != nil {
			d.fail(cuErr("cuMemcpyHtoD", fmt.Sprintf("%d floats after %s", len(buf), d.after()), err))
		}
	})
}

// Download copies from src into dst once all queued work is done. After a
// failure it leaves dst as it is; the caller learns of it from Sync or Err.
func (d *Device) Download(dst []float32, src gpu.Ptr) {
	if len(dst) == 0 {
		return
	}
	err := d.call(func() error {
		if d.Err() != nil {
			return nil
		}
		// Through a fresh buffer: dst may be part of a larger Go object that
		// holds pointers (a field of a struct), which cgo refuses to pass.
		tmp := make([]float32, len(dst))
		err := cu.MemcpyDtoH(unsafe.Pointer(&tmp[0]), cu.DevicePtr(src), int64(4*len(dst)))
		copy(dst, tmp)
		if err != nil {
			d.fail(cuErr("cuMemcpyDtoH", fmt.Sprintf("%d floats after %s", len(dst), d.after()), err))
		}
		return nil
	})
	if err != nil {
		d.fail(err)
	}
}

func (d *Device) Memset0(dst gpu.Ptr, bytes int) {
	if bytes <= 0 {
		return
	}
	d.enqueue(func() {
		if d.Err() != nil {
			return
		}
		if err := cu.MemsetD8(cu.DevicePtr(dst), 0, int64(bytes)); err != nil {
			d.fail(cuErr("cuMemsetD8", fmt.Sprintf("%d bytes after %s", bytes, d.after()), err))
		}
	})
}

// Launch queues kernel on grid x block. Each argument is one 8-byte slot;
// their number must match the kernel's parameters.
func (d *Device) Launch(kernel string, grid, block gpu.Dim3, args ...uint64) {
	slots := slices.Clone(args) // the caller may reuse its slice
	d.enqueue(func() { d.launch(kernel, grid, block, slots) })
}

func (d *Device) launch(kernel string, grid, block gpu.Dim3, slots []uint64) {
	if d.Err() != nil {
		return
	}
	f, ok := d.fns[kernel]
	switch {
	case !ok:
		d.fail(fmt.Errorf("cuda: launch of unknown kernel %q", kernel))
		return
	case len(slots) != f.params:
		d.fail(fmt.Errorf("cuda: kernel %s takes %d arguments, launched with %d", kernel, f.params, len(slots)))
		return
	case grid.X < 1 || grid.Y < 1 || grid.Z < 1 || block.X < 1 || block.Y < 1 || block.Z < 1:
		d.fail(fmt.Errorf("cuda: kernel %s launched on grid %v x block %v", kernel, grid, block))
		return
	}
	// cu copies each value to C memory before the call; slots stays alive
	// (and unmoved: Go's heap does not move) until Launch returns.
	params := make([]unsafe.Pointer, len(slots))
	for i := range slots {
		params[i] = unsafe.Pointer(&slots[i])
	}
	d.last = kernel
	err := f.fn.Launch(grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, 0, cu.NoStream, params)
	runtime.KeepAlive(slots)
	if err != nil {
		d.fail(cuErr("cuLaunchKernel", fmt.Sprintf("%s grid %v block %v", kernel, grid, block), err))
		return
	}
	if d.syncAll {
		if err := cu.Synchronize(); err != nil {
			d.fail(cuErr("cuCtxSynchronize", "after "+kernel, err))
		}
	}
}

// after names the last kernel launched, for errors of asynchronous work:
// a fault inside a kernel is reported by the next call that waits.
func (d *Device) after() string {
	if d.last == "" {
		return "no launch"
	}
	return "the launch of " + d.last
}

// Sync waits for all queued work (cuCtxSynchronize) and returns the sticky
// error.
func (d *Device) Sync() error {
	err := d.call(func() error {
		if d.Err() != nil {
			return nil
		}
		if err := cu.Synchronize(); err != nil {
			d.fail(cuErr("cuCtxSynchronize", "after "+d.after(), err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.Err()
}

// Elapsed times the work f queues with two events on the NULL stream.
func (d *Device) Elapsed(f func()) (time.Duration, error) {
	var start, end cu.Event
	err := d.call(func() error {
		var err error
		if start, err = cu.MakeEvent(cu.DefaultEvent); err != nil {
			return cuErr("cuEventCreate", "start", err)
		}
		if end, err = cu.MakeEvent(cu.DefaultEvent); err != nil {
			cu.DestroyEvent(&start)
			return cuErr("cuEventCreate", "end", err)
		}
		if err := start.Record(cu.NoStream); err != nil {
			cu.DestroyEvent(&start)
			cu.DestroyEvent(&end)
			return cuErr("cuEventRecord", "start", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var ms float64
	finished := false
	defer func() {
		if !finished { // f panicked: still release the events
			d.enqueue(func() { cu.DestroyEvent(&start); cu.DestroyEvent(&end) })
		}
	}()
	f()
	finished = true
	err = d.call(func() error {
		defer cu.DestroyEvent(&start)
		defer cu.DestroyEvent(&end)
		if err := end.Record(cu.NoStream); err != nil {
			return cuErr("cuEventRecord", "end", err)
		}
		if err := end.Synchronize(); err != nil {
			return cuErr("cuEventSynchronize", "after "+d.after(), err)
		}
		var err error
		if ms, err = start.Elapsed(end); err != nil {
			return cuErr("cuEventElapsedTime", "", err)
		}
		return nil
	})
	if e := d.Err(); e != nil {
		return 0, e
	}
	if err != nil {
		d.fail(err)
		return 0, err
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// MemInfo returns the free and total device memory in bytes.
func (d *Device) MemInfo() (free, total int64, err error) {
	err = d.call(func() error {
		var err error
		if free, total, err = cu.MemInfo(); err != nil {
			return cuErr("cuMemGetInfo", "", err)
		}
		return nil
	})
	return
}

// Close waits for the queued work, unloads the modules, destroys the context
// and ends the owner goroutine. Memory still allocated goes with the context.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	var err error
	d.work <- func() {
		err = d.teardown()
		d.quit = true
	}
	<-d.done
	return err
}

var _ gpu.Device = (*Device)(nil)
