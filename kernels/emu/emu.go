// Package emu runs the CUDA kernels of package kernels on the CPU: g++
// compiles every kernels/<family>.cu (through kernels/emu/<family>.cc)
// against emu.h, and Device implements gpu.Device over them, so every kernel
// and launch of package gpu is tested without a GPU.
//
// Device memory is C memory; a launch runs synchronously (blocks spread
// over EMU_THREADS OS threads, default one per CPU; EMU_THREADS=1 makes
// float atomics deterministic). The first error is kept, as on a GPU, and
// later launches are skipped.
//
// Debugging aids: EMU_TRACE=1 prints every launch to stderr; a kernel that
// faults ends the process with a report naming the kernel, block and thread;
// NewReversed runs threads and blocks in the other order; and
//
//	CGO_CXXFLAGS='-fsanitize=address -g -O1' go test -asan ./gpu/
//
// builds the kernels with AddressSanitizer, which reports any access outside
// an allocation.
package emu

/*
#cgo CXXFLAGS: -std=c++17 -O2 -I${SRCDIR}/.. -fno-strict-aliasing -ftls-model=initial-exec
#cgo LDFLAGS: -lstdc++ -lm -lpthread
#include <stdlib.h>
#include "capi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"
	"unsafe"

	"github.com/csvae-gpu/csvae-gpu/gpu"
)

// Device is the emulated gpu.Device.
type Device struct {
	mu       sync.Mutex
	allocs   map[gpu.Ptr]int
	err      error
	launched map[string]int
	flags    C.int
}

var _ gpu.Device = (*Device)(nil)

// New returns an emulated device.
func New() *Device {
	return &Device{allocs: map[gpu.Ptr]int{}, launched: map[string]int{}}
}

// NewReversed returns an emulated device that runs the blocks of a grid,
// and the threads of a block between barriers, last first: a kernel whose
// results depend on that order (a missing __syncthreads, blocks racing on
// an output) gives different results on New and NewReversed.
func NewReversed() *Device {
	d := New()
	d.flags = C.EMU_REVERSE
	return d
}

func (d *Device) Name() string { return "emulated (g++)" }

func (d *Device) setErr(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Device) Alloc(bytes int) (gpu.Ptr, error) {
	if bytes < 0 {
		return 0, fmt.Errorf("emu: Alloc of %d bytes", bytes)
	}
	p := gpu.Ptr(C.emu_alloc(C.size_t(bytes)))
	if p == 0 {
		return 0, fmt.Errorf("emu: out of memory allocating %d bytes", bytes)
	}
	d.mu.Lock()
	d.allocs[p] = bytes
	d.mu.Unlock()
	return p, nil
}

func (d *Device) Free(p gpu.Ptr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.allocs[p]; !ok {
		d.setErr(fmt.Errorf("emu: Free of %#x, not allocated by this device", uint64(p)))
		return
	}
	delete(d.allocs, p)
	C.emu_free(C.uint64_t(p))
}

// valid records an error unless [p, p+bytes) is in one allocation.
func (d *Device) valid(op string, p gpu.Ptr, bytes int) bool {
	if C.emu_check_range(C.uint64_t(p), C.size_t(bytes)) != 0 {
		return true
	}
	d.setErr(fmt.Errorf("emu: %s of %d bytes at %#x outside any allocation", op, bytes, uint64(p)))
	return false
}

func (d *Device) Upload(dst gpu.Ptr, src []float32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(src) == 0 || !d.valid("Upload", dst, 4*len(src)) {
		return
	}
	C.emu_copy_in(C.uint64_t(dst), unsafe.Pointer(&src[0]), C.size_t(4*len(src)))
}

func (d *Device) Download(dst []float32, src gpu.Ptr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(dst) == 0 || !d.valid("Download", src, 4*len(dst)) {
		return
	}
	C.emu_copy_out(unsafe.Pointer(&dst[0]), C.uint64_t(src), C.size_t(4*len(dst)))
}

func (d *Device) Memset0(dst gpu.Ptr, bytes int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if bytes == 0 || !d.valid("Memset0", dst, bytes) {
		return
	}
	C.emu_memset0(C.uint64_t(dst), C.size_t(bytes))
}

// Launch runs kernel to completion, unless an earlier call failed.
func (d *Device) Launch(kernel string, grid, block gpu.Dim3, args ...uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return
	}
	d.launched[kernel]++
	dims := func(v gpu.Dim3) (c [3]C.uint32_t, ok bool) {
		for i, x := range [3]int{v.X, v.Y, v.Z} {
			if x < 0 || x > 1<<31-1 {
				return c, false
			}
			c[i] = C.uint32_t(x)
		}
		return c, true
	}
	g, okg := dims(grid)
	b, okb := dims(block)
	if !okg || !okb {
		d.setErr(fmt.Errorf("emu: kernel %s: bad launch shape grid %v block %v", kernel, grid, block))
		return
	}
	name := C.CString(kernel)
	defer C.free(unsafe.Pointer(name))
	cargs := (*C.uint64_t)(C.malloc(C.size_t(8 * max(len(args), 1))))
	defer C.free(unsafe.Pointer(cargs))
	for i, a := range args {
		unsafe.Slice(cargs, len(args))[i] = C.uint64_t(a)
	}
	if e := C.emu_launch(name, &g[0], &b[0], cargs, C.int(len(args)), d.flags); e != nil {
		d.setErr(errors.New("emu: " + C.GoString(e)))
		C.free(unsafe.Pointer(e))
	}
}

func (d *Device) Sync() error { return d.Err() }

// Err returns the first error of any call so far.
func (d *Device) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

func (d *Device) Elapsed(f func()) (time.Duration, error) {
	t := time.Now()
	f()
	return time.Since(t), d.Err()
}

// ASan tells whether the kernels were compiled with AddressSanitizer.
func ASan() bool { return C.emu_asan() != 0 }

// Kernels lists every registered kernel, sorted.
func (d *Device) Kernels() []string { return Kernels() }

// Kernels lists every kernel compiled into the emulator, sorted.
func Kernels() []string {
	n := int(C.emu_kernel_count())
	ks := make([]string, n)
	for i := range ks {
		ks[i] = C.GoString(C.emu_kernel_name(C.int(i)))
	}
	sort.Strings(ks)
	return ks
}

// Launched returns how many times each kernel was launched on d.
func (d *Device) Launched() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.launched)
}

// Close frees everything still allocated.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p := range d.allocs {
		C.emu_free(C.uint64_t(p))
	}
	clear(d.allocs)
	return d.err
}
