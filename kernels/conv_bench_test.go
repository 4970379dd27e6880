package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The encoder's four convolutions of the CelebA-64 network at batch 64; the
// decoder's transposed convolutions are the same GEMMs run backwards.
var celeba64Convs = []ConvGeom{
	{N: 64, C: 3, H: 64, W: 64, K: 32, R: 4, S: 4, Stride: 2, Pad: 1},
	{N: 64, C: 32, H: 32, W: 32, K: 64, R: 4, S: 4, Stride: 2, Pad: 1},
	{N: 64, C: 64, H: 16, W: 16, K: 128, R: 4, S: 4, Stride: 2, Pad: 1},
	{N: 64, C: 128, H: 8, W: 8, K: 256, R: 4, S: 4, Stride: 2, Pad: 1},
}

func BenchmarkConv(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, g := range celeba64Convs {
		x, w, bias := randSlice(r, g.N*g.C*g.H*g.W, 1), randSlice(r, g.K*g.crs(), 0.1), randSlice(r, g.K, 1)
		y, dy := make([]float32, g.N*g.K*g.OH()*g.OW()), randSlice(r, g.N*g.K*g.OH()*g.OW(), 1)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, g.K)
		flops := 2 * float64(g.N*g.K*g.OH()*g.OW()*g.crs())
		name := fmt.Sprintf("%dto%d_%dx%d", g.C, g.K, g.H, g.W)
		for _, op := range []struct {
			name string
			fn   func()
		}{
			{"forward", func() { ConvForward(y, x, w, bias, g) }},
			{"backward_data", func() { ConvBackwardData(dx, dy, w, g, false) }},
			{"backward_filter", func() { ConvBackwardFilter(dw, db, dy, x, g) }},
		} {
			b.Run(op.name+"/"+name, func(b *testing.B) {
				for b.Loop() {
					op.fn()
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkBatchNorm(b *testing.B) {
	const n, c, p = 64, 64, 16 * 16
	r := rand.New(rand.NewPCG(8, 8))
	x, dy := randSlice(r, n*c*p, 1), randSlice(r, n*c*p, 1)
	y, dx := make([]float32, n*c*p), make([]float32, n*c*p)
	gamma, beta := randSlice(r, c, 1), randSlice(r, c, 1)
	mean, invstd, rm, rv, dg, db := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	benchElementwise(b, "forward_train", n*c*p, 8, func() { BatchNormForward(y, x, gamma, beta, mean, invstd, rm, rv, n, c, p, 0.1, 1e-5, true) })
	benchElementwise(b, "backward", n*c*p, 16, func() { BatchNormBackward(dx, dg, db, dy, x, gamma, mean, invstd, n, c, p) })
}
