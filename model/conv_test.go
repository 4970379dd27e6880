package model

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// The image network's backward pass, end to end, against central finite
// differences of the main objective: a tiny conv configuration (8x8 images,
// two stride-2 layers) so that every layer kind is crossed — convolution,
// batch norm in training mode, dense heads, transposed convolutions,
// sigmoid output, the adversary. Gorgonia has no transposed convolution, so
// this and the kernels' own gorgonia and adjointness tests stand in for it.
func TestConvNetGradients(t *testing.T) {
	// "+gap": csvae with the mean-gap penalty, which reaches the encoder
	// through the mean of z only.
	for _, name := range []string{"csvae", "condvae", "vae", "csvae+gap"} {
		t.Run(name, func(t *testing.T) {
			model, gap := strings.CutSuffix(name, "+gap")
			cfg := ImageConfig(model, 8, []string{"a", "b"})
			cfg.ConvChannels, cfg.Dz = []int{2, 3}, 3
			cfg.Betas = [5]float64{2, 1, 0.5, 3, 1}
			if gap {
				cfg.MeanGap = 4
			}
			const n = 3
			net, err := NewNet(CPU{}, cfg, n)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(51, 52))
			x, y := make([]float32, n*cfg.XDim), make([]float32, n*cfg.K())
			for i := range x {
				x[i] = float32(r.Float64())
			}
			for i := range y {
				y[i] = float32(i % 2)
			}
			if gap {
				// Both classes of both attributes in the batch, else the gap is 0.
				copy(y, []float32{1, 0, 0, 0, 0, 1})
			}
			be := CPU{}
			xt, yt := be.Alloc(len(x)), be.Alloc(len(y))
			be.Upload(xt, x)
			be.Upload(yt, y)
			loss := func() float64 {
				net.pass(xt, yt, n, 5, 0, true)
				return net.readLosses().Main(&cfg)
			}
			loss()
			net.backward(n)
			grads := net.Main.Grads(be)
			// Per tensor, the three coordinates with the largest gradient
			// (where a wrong or missing term shows) by central differences.
			// The loss comes back as a float32 of order 100, rounded to
			// ~1e-5, so a difference over 2h = 6e-4 is good to ~3e-2; the
			// rest of the tolerance allows for curvature and the kinks of
			// LeakyReLU.
			worst := 0.0
			for _, p := range net.Main.Params() {
				v := Data(p.Value)
				idx := make([]int, len(v))
				for i := range idx {
					idx[i] = i
				}
				sort.Slice(idx, func(a, b int) bool {
					return math.Abs(float64(grads[p.off+idx[a]])) > math.Abs(float64(grads[p.off+idx[b]]))
				})
				for _, i := range idx[:min(3, len(idx))] {
					g := float64(grads[p.off+i])
					orig := v[i]
					const h = 3e-4
					v[i] = orig + h
					lp := loss()
					v[i] = orig - h
					lm := loss()
					v[i] = orig
					num := (lp - lm) / (2 * h)
					worst = math.Max(worst, math.Abs(num-g)/(0.3+math.Abs(g)))
					if math.Abs(num-g) > 3e-2+0.03*math.Abs(g) {
						t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", p.Name, i, g, num)
					}
				}
			}
			t.Logf("%d tensors, worst error %.2g relative to 0.3+|g|", len(net.Main.Params()), worst)
		})
	}
}
