package gpu

import (
	"fmt"
	"math"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Checks of kernels/batchnorm.cu. Shapes: tiny and ragged ones (P odd: the
// scalar path; N·P not a multiple of the partial chunk: several blocks per
// channel with a short last one), and the CelebA-64 network's batch norms
// at n=2 (trunk 64x16x16, 128x8x8, 256x4x4; decoder 128x8x8, 64x16x16,
// 32x32x32).

type bnShapeCase struct {
	name    string
	n, c, p int
}

// The smallest is three values in one channel: with one value (which
// PyTorch refuses in training) dx is 0 up to rounding, and with two it is
// eps-sized after cancellation, so the relative error of either measures
// only the order of float operations (an H200 gave 6e14 against the
// fallback's exact zero for 1x1x1, both below 1e-15 in absolute terms).
var bnShapes = []bnShapeCase{
	{"1x1x3", 1, 1, 3},
	{"1x3x5", 1, 3, 5},
	{"3x5x7", 3, 5, 7},
	{"3x5x999", 3, 5, 999},
	{"5x3x300", 5, 3, 300},
	{"celeba trunk 2x64x16x16", 2, 64, 256},
	{"celeba trunk 2x128x8x8", 2, 128, 64},
	{"celeba trunk 2x256x4x4", 2, 256, 16},
	{"celeba dec 2x32x32x32", 2, 32, 1024},
}

// bnStats are the per-channel batch mean and 1/sqrt(var+eps) of x[n,c,p],
// in float64 on the host, as the forward pass would save them.
func bnStats(x []float32, n, c, p int, eps float64) (mean, invstd []float32) {
	mean, invstd = make([]float32, c), make([]float32, c)
	for ch := 0; ch < c; ch++ {
		var s, ss float64
		for i := 0; i < n; i++ {
			for _, v := range x[(i*c+ch)*p : (i*c+ch+1)*p] {
				s += float64(v)
			}
		}
		mu := s / float64(n*p)
		for i := 0; i < n; i++ {
			for _, v := range x[(i*c+ch)*p : (i*c+ch+1)*p] {
				ss += (float64(v) - mu) * (float64(v) - mu)
			}
		}
		mean[ch], invstd[ch] = float32(mu), float32(1/math.Sqrt(ss/float64(n*p)+eps))
	}
	return mean, invstd
}

func init() {
	// Statistics and dx are computed in double and rounded once, as the
	// fallback does; the only differences are double rounding in the order
	// of the sums (and the shifted variance), far below float32's.
	const tol = 1e-6
	fwd := []string{"bn_stats_partial", "bn_forward_finalize", "bn_forward_apply"}
	for _, s := range bnShapes {
		nv := s.n * s.c * s.p
		for _, mode := range []struct {
			name              string
			training, inPlace bool
			lo, hi            float32 // range of x
		}{
			{"train", true, false, -1, 3},
			{"train in-place", true, true, -1, 3},
			{"train offset", true, false, 100, 101}, // mean far from zero next to the spread
			{"eval", false, false, -1, 3},
		} {
			kernels := fwd
			if !mode.training {
				kernels = fwd[1:]
			}
			register(Check{
				Name:    fmt.Sprintf("BatchNormForward/%s %s", s.name, mode.name),
				Kernels: kernels,
				Tol:     tol,
				Run: func(b model.Backend, in *Inputs) []Output {
					x := in.Uniform(nv, mode.lo, mode.hi)
					y := x
					if !mode.inPlace {
						y = in.Uniform(nv, -9, 9)
					}
					gamma, beta := in.Uniform(s.c, 0.5, 1.5), in.Uniform(s.c, -0.5, 0.5)
					runMean, runVar := in.Uniform(s.c, -1, 1), in.Uniform(s.c, 0.5, 2)
					var mean, invstd model.Tensor
					if mode.training {
						mean, invstd = in.Uniform(s.c, -9, 9), in.Uniform(s.c, -9, 9)
					}
					b.BatchNormForward(y, x, gamma, beta, mean, invstd, runMean, runVar, s.n, s.c, s.p, 0.1, 1e-5, mode.training)
					out := []Output{in.Get("y", y), in.Get("runMean", runMean), in.Get("runVar", runVar)}
					if mode.training {
						out = append(out, in.Get("mean", mean), in.Get("invstd", invstd))
					}
					return out
				},
			})
		}
		for _, inPlace := range []bool{false, true} {
			register(Check{
				Name:    fmt.Sprintf("BatchNormBackward/%s in-place=%v", s.name, inPlace),
				Kernels: []string{"bn_backward_partial", "bn_backward_finalize", "bn_backward_apply"},
				Tol:     tol,
				Run: func(b model.Backend, in *Inputs) []Output {
					xv := in.Host(nv, -1, 3)
					mv, iv := bnStats(xv, s.n, s.c, s.p, 1e-5)
					x, mean, invstd := in.Tensor(xv), in.Tensor(mv), in.Tensor(iv)
					dy, gamma := in.Uniform(nv, -1, 1), in.Uniform(s.c, 0.5, 1.5)
					// Parameter gradients accumulate onto what is there.
					dgamma, dbeta := in.Uniform(s.c, -1, 1), in.Uniform(s.c, -1, 1)
					dx := dy
					if !inPlace {
						dx = in.Uniform(nv, -9, 9)
					}
					b.BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd, s.n, s.c, s.p)
					return []Output{in.Get("dx", dx), in.Get("dgamma", dgamma), in.Get("dbeta", dbeta)}
				},
			})
		}
	}
}
