package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks at the shapes the models use: the CelebA-64 network's dense
// layers at batch 64 and the swiss-roll MLP at batch 128. Each reports
// GFLOP/s or GB/s so runs on different machines can be read side by side.

func BenchmarkSgemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{{64, 256, 4096}, {256, 4096, 64}, {64, 4096, 256}, {128, 64, 64}} {
		m, n, k := s[0], s[1], s[2]
		a, bb, c := randSlice(r, m*k, 1), randSlice(r, k*n, 1), make([]float32, m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			for b.Loop() {
				Sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkDense(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, s := range [][3]int{{64, 4096, 256}, {64, 68, 4096}, {128, 64, 64}} {
		n, in, out := s[0], s[1], s[2]
		x, w, bias := randSlice(r, n*in, 1), randSlice(r, out*in, 1), randSlice(r, out, 1)
		y, dy := make([]float32, n*out), randSlice(r, n*out, 1)
		dx, dw, db := make([]float32, n*in), make([]float32, out*in), make([]float32, out)
		flops := 2 * float64(n*in*out)
		name := fmt.Sprintf("n%d_in%d_out%d", n, in, out)
		b.Run("forward/"+name, func(b *testing.B) {
			for b.Loop() {
				DenseForward(y, x, w, bias, n, in, out, false)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("backward/"+name, func(b *testing.B) {
			for b.Loop() {
				DenseBackwardData(dx, dy, w, n, in, out, false)
				DenseBackwardParams(dw, db, dy, x, n, in, out)
			}
			b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// benchElementwise reports GB/s for a kernel that touches bytesPerElem bytes
// per element of an n-element tensor.
func benchElementwise(b *testing.B, name string, n, bytesPerElem int, fn func()) {
	b.Run(name, func(b *testing.B) {
		for b.Loop() {
			fn()
		}
		b.ReportMetric(float64(n*bytesPerElem)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
}

func BenchmarkElementwise(b *testing.B) {
	const n = 64 * 32 * 32 * 32 // the first conv layer's output at batch 64
	r := rand.New(rand.NewPCG(3, 3))
	x, dy, y, dx := randSlice(r, n, 1), randSlice(r, n, 1), make([]float32, n), make([]float32, n)
	loss := make([]float32, 1)
	benchElementwise(b, "LeakyReLUForward", n, 8, func() { LeakyReLUForward(y, x, 0.2) })
	benchElementwise(b, "LeakyReLUBackward", n, 12, func() { LeakyReLUBackward(dx, dy, x, 0.2) })
	benchElementwise(b, "SigmoidForward", n, 8, func() { SigmoidForward(y, x) })
	benchElementwise(b, "SigmoidBackward", n, 12, func() { SigmoidBackward(dx, dy, y) })
	benchElementwise(b, "Normal", n, 4, func() { Normal(y, 1, 0) })
	benchElementwise(b, "MSE", n, 12, func() { MSE(loss, dx, x, dy, 64, n/64, 1) })
	benchElementwise(b, "BCEWithLogits", n, 12, func() { BCEWithLogits(loss, dx, x, dy, 64, n/64, 1) })
	benchElementwise(b, "Axpy", n, 12, func() { Axpy(y, 0.5, x) })
}

func BenchmarkLatent(b *testing.B) {
	const n = 64 * 72 // batch 64, Dz 64 plus 2k = 8
	r := rand.New(rand.NewPCG(4, 4))
	mu, lv, pm, plv := randSlice(r, n, 1), randSlice(r, n, 1), randSlice(r, n, 1), randSlice(r, n, 1)
	z, eps, g1, g2, g3, g4 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	loss := make([]float32, 1)
	benchElementwise(b, "Reparameterize", n, 16, func() { Reparameterize(z, eps, mu, lv, 1, 0) })
	benchElementwise(b, "ReparameterizeBackward", n, 24, func() { ReparameterizeBackward(g1, g2, z, eps, lv) })
	benchElementwise(b, "KLStdNormal", n, 16, func() { KLStdNormal(loss, g1, g2, mu, lv, 64, 72, 1) })
	benchElementwise(b, "KLDiagonal", n, 32, func() { KLDiagonal(loss, g1, g2, g3, g4, mu, lv, pm, plv, 64, 72, 1) })
	benchElementwise(b, "WeightedBCEWithLogits", n, 12, func() { WeightedBCEWithLogits(loss, g1, mu, pm, lv[:72], plv[:72], 64, 72, 1) })
	benchElementwise(b, "NegEntropyWithLogits", n, 8, func() { NegEntropyWithLogits(loss, g1, mu, 64, 72, 1) })
	// The Male recipe's shape: batch 64, Dz 64, three attributes.
	y := make([]float32, 64*3)
	for i := range y {
		y[i] = float32(r.IntN(2))
	}
	aw := []float32{1, 1, 1}
	benchElementwise(b, "MeanGap", 64*64, 8, func() { MeanGap(loss, g1[:64*64], g2[:3*64], mu[:64*64], y, aw, 64, 64, 3, 1) })
}

func BenchmarkAdam(b *testing.B) {
	const n = 4_000_000 // about the CelebA-64 CSVAE's parameter count
	r := rand.New(rand.NewPCG(5, 5))
	p, g, m, v := randSlice(r, n, 1), randSlice(r, n, 1), make([]float32, n), make([]float32, n)
	benchElementwise(b, "Adam", n, 28, func() { Adam(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0, 10) })
}
