package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// gemmBenchShapes are the products the models run: the dense layers of
// BenchmarkSgemm and BenchmarkDense (forward is x·wᵀ, so tB), the three
// GEMMs of each CelebA-64 convolution at batch 64 (celeba64Convs: forward
// K×cols×crs, backward-data crsᵀ, backward-filter ×colsᵀ), and square
// products for the peak.
func gemmBenchShapes() []struct {
	name    string
	tA, tB  bool
	m, n, k int
} {
	type shape = struct {
		name    string
		tA, tB  bool
		m, n, k int
	}
	shapes := []shape{
		{"dense", false, false, 64, 256, 4096},
		{"dense", false, false, 256, 4096, 64},
		{"dense", false, false, 64, 4096, 256},
		{"dense", false, false, 128, 64, 64},
		{"dense_fwd", false, true, 64, 256, 4096},
		{"dense_fwd", false, true, 128, 64, 64},
		{"dense_dw", true, false, 256, 4096, 64},
		// The swiss-roll MLP at batch 128: 3 inputs, 64 hidden, a 2-d latent.
		{"mlp_fwd", false, true, 128, 64, 3},
		{"mlp_fwd", false, true, 128, 2, 64},
		{"mlp_bwd_data", false, false, 128, 3, 64},
		{"mlp_dw", true, false, 64, 3, 128},
		{"mlp_dw", true, false, 2, 64, 128},
	}
	for i, g := range celeba64Convs {
		crs, cols := g.crs(), g.N*g.OH()*g.OW()
		shapes = append(shapes,
			shape{fmt.Sprintf("conv%d_fwd", i+1), false, false, g.K, cols, crs},
			shape{fmt.Sprintf("conv%d_bwd_data", i+1), true, false, crs, cols, g.K},
			shape{fmt.Sprintf("conv%d_bwd_filter", i+1), false, true, g.K, crs, cols})
	}
	shapes = append(shapes, shape{"square", false, false, 1024, 1024, 1024}, shape{"square", false, false, 2048, 2048, 2048})
	return shapes
}

// BenchmarkSgemmShapes runs Sgemm ("new") beside the axpy/dot version it
// replaced ("old", now sgemmPortable, which Sgemm still is where no
// assembly kernel runs), each at 1 thread ("t1") and at
// GOMAXPROCS ("tmax"), reporting GFLOP/s; then, at 1 thread, the same packed
// driver with each other kernel this machine runs ("new_avx2_6x16",
// "new_simd_4x32" with GOEXPERIMENT=simd, "new_go4x8", the plain-Go kernel
// of the tests). The slow versions skip the 2048³ product.
func BenchmarkSgemmShapes(b *testing.B) {
	type impl struct {
		name    string
		threads []int
		fn      func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	}
	impls := []impl{{"old", []int{1, 0}, sgemmPortable}, {"new", []int{1, 0}, Sgemm}}
	for _, kr := range allGemmKernels() {
		if kr != sgemmKernel {
			impls = append(impls, impl{"new_" + kr.name, []int{1}, func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				sgemm(kr, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			}})
		}
	}
	r := rand.New(rand.NewPCG(21, 21))
	defer func() { Threads = 0 }()
	for _, s := range gemmBenchShapes() {
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		var a, bb, c []float32 // made on first use, so that -bench filters stay quick
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, im := range impls {
			if im.name != "new" && flops > 1e10 {
				continue
			}
			for _, th := range im.threads {
				tname := "t1"
				if th == 0 {
					tname = "tmax"
				}
				b.Run(fmt.Sprintf("%s_%dx%dx%d/%s/%s", s.name, s.m, s.n, s.k, im.name, tname), func(b *testing.B) {
					if a == nil {
						a, bb, c = randSlice(r, s.m*s.k, 1), randSlice(r, s.k*s.n, 1), make([]float32, s.m*s.n)
					}
					Threads = th
					for b.Loop() {
						im.fn(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					}
					Threads = 0
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
