package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Threads bounds the goroutines a kernel uses; 0 means GOMAXPROCS. Benchmarks
// set it to compare with single-threaded references.
var Threads = 0

func threads() int {
	if Threads > 0 {
		return Threads
	}
	return runtime.GOMAXPROCS(0)
}

// parallelFor calls body on the chunks [lo,hi) of [0,n), each at most grain
// long. Chunk boundaries depend only on n and grain, never on the thread
// count, so any per-chunk partial result is reproducible.
func parallelFor(n, grain int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	workers := min(threads(), chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += grain {
			body(lo, min(lo+grain, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= chunks {
					return
				}
				lo := i * grain
				body(lo, min(lo+grain, n))
			}
		})
	}
	wg.Wait()
}

// sumChunks adds up f over [0,n) in float64, chunk by chunk, and combines
// the chunk sums in index order so the total does not depend on scheduling.
func sumChunks(n int, f func(lo, hi int) float64) float64 {
	const grain = 4096
	chunks := (n + grain - 1) / grain
	if chunks == 0 {
		return 0
	}
	parts := make([]float64, chunks)
	parallelFor(n, grain, func(lo, hi int) { parts[lo/grain] = f(lo, hi) })
	s := 0.0
	for _, p := range parts {
		s += p
	}
	return s
}
