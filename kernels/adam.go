package kernels

import "math"

// Adam applies one bias-corrected Adam update (Kingma & Ba) at step t >= 1 to
// parameters p with gradient g and moments m and v, as torch.optim.Adam does;
// a non-zero weightDecay adds AdamW's decoupled decay.
func Adam(p, g, m, v []float32, lr, beta1, beta2, eps, weightDecay float32, t int) {
	c1 := 1 - math.Pow(float64(beta1), float64(t))
	c2 := 1 - math.Pow(float64(beta2), float64(t))
	stepSize := float32(float64(lr) / c1)
	rc2 := float32(1 / math.Sqrt(c2))
	parallelFor(len(p), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gi := g[i]
			m[i] = beta1*m[i] + (1-beta1)*gi
			v[i] = beta2*v[i] + (1-beta2)*gi*gi
			denom := float32(math.Sqrt(float64(v[i])))*rc2 + eps
			p[i] -= stepSize*m[i]/denom + lr*weightDecay*p[i]
		}
	})
}
