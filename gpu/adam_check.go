package gpu

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Checks of kernels/adam.cu: the model's hyperparameters with and without
// weight decay, at the first step (moments zero) and a later one (moments
// already filled), on whole tensors (float4 path) and on windows one value
// into junk (scalar path, and no write outside).

func init() {
	// The kernel repeats the fallback's float32 operations one for one
	// (no fused multiply-adds), so results are bitwise equal.
	const tol = 1e-6
	for _, n := range ewSizes {
		for _, step := range []int{1, 10} {
			for _, wd := range []float32{0, 0.01} {
				for _, off := range []int{0, 1} {
					register(Check{
						Name:    fmt.Sprintf("Adam/n=%d step=%d wd=%g off=%d", n, step, wd, off),
						Kernels: []string{"adam_update"},
						Tol:     tol,
						Run: func(b model.Backend, in *Inputs) []Output {
							h := model.AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: wd}
							window := func(all model.Tensor) model.Tensor { return b.Slice(all, off, n) }
							p, g := in.Uniform(n+2*off, -1, 1), in.Uniform(n+2*off, -0.1, 0.1)
							m, v := in.Uniform(n+2*off, -0.01, 0.01), in.Uniform(n+2*off, 0, 1e-4)
							if step == 1 {
								b.Zero(m)
								b.Zero(v)
							}
							b.Adam(window(p), window(g), window(m), window(v), h, step)
							return []Output{in.Get("p", p), in.Get("m", m), in.Get("v", v)}
						},
					})
				}
			}
		}
	}
}
