package kernels

import "math"

// KL divergences of a diagonal Gaussian posterior q = N(mu, exp(logvar)) from
// its prior, summed over the d dimensions of each of n examples and averaged
// over the examples.

// KLStdNormal writes KL(q || N(0,I)) to loss[0] and, when dmu is not nil, the
// gradients of scale*loss[0] to dmu and dlogvar.
func KLStdNormal(loss, dmu, dlogvar, mu, logvar []float32, n, d int, scale float32) {
	total := sumChunks(n*d, func(lo, hi int) float64 {
		s := 0.0
		for i := lo; i < hi; i++ {
			m, lv := float64(mu[i]), float64(logvar[i])
			s += 0.5 * (math.Exp(lv) + m*m - 1 - lv)
		}
		return s
	})
	loss[0] = float32(total / float64(n))
	if dmu == nil {
		return
	}
	g := float64(scale) / float64(n)
	parallelFor(n*d, elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dmu[i] = float32(g * float64(mu[i]))
			dlogvar[i] = float32(g * 0.5 * (math.Exp(float64(logvar[i])) - 1))
		}
	})
}

// KLDiagonal writes KL(q || N(pmu, exp(plogvar))) to loss[0]; the prior is
// given per element. When dmu is not nil it writes the gradients of
// scale*loss[0] to dmu and dlogvar, and, when dpmu is not nil (a learned
// prior), to dpmu and dplogvar too.
func KLDiagonal(loss, dmu, dlogvar, dpmu, dplogvar, mu, logvar, pmu, plogvar []float32, n, d int, scale float32) {
	total := sumChunks(n*d, func(lo, hi int) float64 {
		s := 0.0
		for i := lo; i < hi; i++ {
			m, lv, pm, plv := float64(mu[i]), float64(logvar[i]), float64(pmu[i]), float64(plogvar[i])
			diff := m - pm
			s += 0.5 * (plv - lv + (math.Exp(lv)+diff*diff)*math.Exp(-plv) - 1)
		}
		return s
	})
	loss[0] = float32(total / float64(n))
	if dmu == nil {
		return
	}
	g := float64(scale) / float64(n)
	parallelFor(n*d, elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m, lv, pm, plv := float64(mu[i]), float64(logvar[i]), float64(pmu[i]), float64(plogvar[i])
			diff := m - pm
			ip := math.Exp(-plv)
			dmu[i] = float32(g * diff * ip)
			dlogvar[i] = float32(g * 0.5 * (math.Exp(lv)*ip - 1))
			if dpmu != nil {
				dpmu[i] = float32(-g * diff * ip)
				dplogvar[i] = float32(g * 0.5 * (1 - (math.Exp(lv)+diff*diff)*ip))
			}
		}
	})
}

// LabelPrior expands binary labels y[n,k] into the fixed prior of the 2k
// subspace coordinates w[n,2k]: both coordinates of attribute j get (mu1,
// logvar1) where y[i,j] is 1 and (mu0, logvar0) where it is 0.
func LabelPrior(pmu, plogvar, y []float32, n, k int, mu1, logvar1, mu0, logvar0 float32) {
	parallelFor(n, max(1, elemGrain/max(1, 2*k)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := 0; j < k; j++ {
				m, lv := mu0, logvar0
				if y[i*k+j] > 0.5 {
					m, lv = mu1, logvar1
				}
				o := i*2*k + 2*j
				pmu[o], pmu[o+1] = m, m
				plogvar[o], plogvar[o+1] = lv, lv
			}
		}
	})
}
