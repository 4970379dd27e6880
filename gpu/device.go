// Package gpu is the GPU backend of csvae-gpu: model.Backend written once
// over a Device that launches the CUDA kernels of package kernels by name.
// Package cuda provides the real Device (build tag gpu, gorgonia.org/cu);
// package kernels/emu provides one that runs the same .cu sources compiled
// by g++ on the CPU, so every kernel and every launch in this package is
// tested in CI without a GPU, against the pure-Go fallbacks (see check.go).
package gpu

import (
	"fmt"
	"math"
	"time"
)

// Ptr is a device address.
type Ptr uint64

// Dim3 is a grid or block size.
type Dim3 struct{ X, Y, Z int }

// Device is what the backend needs from a GPU: memory, launches by kernel
// name, and synchronisation. Calls queue work and return; the first error of
// any of them is kept and returned by Err, Sync and every later Download, so
// a failed launch surfaces at the next point where the host reads results.
type Device interface {
	// Name describes the device, e.g. "NVIDIA H100 80GB HBM3 (cuda)".
	Name() string
	// Alloc returns bytes of device memory, zeroed.
	Alloc(bytes int) (Ptr, error)
	Free(p Ptr)
	Upload(dst Ptr, src []float32)
	Download(dst []float32, src Ptr)
	Memset0(dst Ptr, bytes int)
	// Launch queues kernel on grid x block with args, each one 8-byte slot:
	// a Ptr, an int64/uint64 as uint64, a float32 as F32(x).
	Launch(kernel string, grid, block Dim3, args ...uint64)
	// Sync waits for all queued work and returns the first error so far.
	Sync() error
	// Elapsed runs f (which queues work) and returns the device time it
	// took: CUDA events around it on a GPU, the wall clock in emulation.
	Elapsed(f func()) (time.Duration, error)
	// Kernels lists every kernel the device has loaded.
	Kernels() []string
	Close() error
}

// F32 passes a float32 kernel parameter in a 64-bit slot (read by f32() in
// kernels/cuda_common.cuh).
func F32(x float32) uint64 { return uint64(math.Float32bits(x)) }

// I64 passes an int kernel parameter as int64_t.
func I64(x int) uint64 { return uint64(int64(x)) }

// Error is a device failure surfaced through a Backend method that cannot
// return an error (model.Backend has none): the backend panics with it, and
// the command line turns it into a one-line message.
type Error struct{ Err error }

func (e *Error) Error() string { return "gpu: " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func check(err error) {
	if err != nil {
		panic(&Error{err})
	}
}

// blocks is how many blocks of size threads cover n items.
func blocks(n, threads int) int { return (n + threads - 1) / threads }

// grid1 is a 1-D launch shape over n items with 256 threads a block.
func grid1(n int) (Dim3, Dim3) {
	return Dim3{max(blocks(n, 256), 1), 1, 1}, Dim3{256, 1, 1}
}

func mustLen(op string, t interface{ Len() int }, n int) {
	if t.Len() < n {
		panic(fmt.Sprintf("gpu: %s: tensor of %d values, need %d", op, t.Len(), n))
	}
}
