package gpu

import (
	"math"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Go fallback: kernels.Adam, one step t >= 1 over len(p) parameters. The
// scalars the fallback derives once (bias corrections, 1-beta, lr·decay)
// are derived here the same way, so the kernel repeats its float32
// arithmetic exactly (kernels/adam.cu).
func (b *Backend) Adam(p, g, m, v model.Tensor, h model.AdamParams, step int) {
	n := p.Len()
	mustLen("Adam", g, n)
	mustLen("Adam", m, n)
	mustLen("Adam", v, n)
	if n == 0 {
		return
	}
	c1 := 1 - math.Pow(float64(h.Beta1), float64(step))
	c2 := 1 - math.Pow(float64(h.Beta2), float64(step))
	stepSize := float32(float64(h.LR) / c1)
	rc2 := float32(1 / math.Sqrt(c2))
	grid, block := ewGrid(n)
	b.dev.Launch("adam_update", grid, block, ptr(p), ptr(g), ptr(m), ptr(v), I64(n),
		F32(h.Beta1), F32(h.Beta2), F32(1-h.Beta1), F32(1-h.Beta2), F32(h.Eps), F32(stepSize), F32(rc2), F32(h.LR*h.WeightDecay))
}
