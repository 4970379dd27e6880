package kernels

import "math"

// Batch normalisation over x[N,C,P] per channel c (P = H·W), as
// torch.nn.BatchNorm2d: in training the batch's mean and biased variance
// normalise, and the running statistics move by momentum towards the mean
// and the unbiased variance; in inference the running statistics normalise.

// BatchNormForward writes y = gamma·(x-mean)·invstd + beta. In training it
// also writes the batch mean and invstd = 1/sqrt(var+eps) for the backward
// pass and updates runMean and runVar.
func BatchNormForward(y, x, gamma, beta, mean, invstd, runMean, runVar []float32, n, c, p int, momentum, eps float32, training bool) {
	m := n * p
	parallelFor(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var mu, is float64
			if training {
				s := 0.0
				for i := 0; i < n; i++ {
					for _, v := range x[(i*c+ch)*p : (i*c+ch+1)*p] {
						s += float64(v)
					}
				}
				mu = s / float64(m)
				ss := 0.0
				for i := 0; i < n; i++ {
					for _, v := range x[(i*c+ch)*p : (i*c+ch+1)*p] {
						d := float64(v) - mu
						ss += d * d
					}
				}
				variance := ss / float64(m)
				is = 1 / math.Sqrt(variance+float64(eps))
				mean[ch], invstd[ch] = float32(mu), float32(is)
				unbiased := variance
				if m > 1 {
					unbiased = ss / float64(m-1)
				}
				mo := float64(momentum)
				runMean[ch] = float32((1-mo)*float64(runMean[ch]) + mo*mu)
				runVar[ch] = float32((1-mo)*float64(runVar[ch]) + mo*unbiased)
			} else {
				mu = float64(runMean[ch])
				is = 1 / math.Sqrt(float64(runVar[ch])+float64(eps))
			}
			scale := float32(float64(gamma[ch]) * is)
			shift := float32(float64(beta[ch]) - mu*float64(gamma[ch])*is)
			for i := 0; i < n; i++ {
				src, dst := x[(i*c+ch)*p:(i*c+ch+1)*p], y[(i*c+ch)*p:(i*c+ch+1)*p]
				for j, v := range src {
					dst[j] = v*scale + shift
				}
			}
		}
	})
}

// BatchNormBackward writes dx and accumulates dgamma and dbeta, from the
// mean and invstd that the training forward pass saved.
func BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd []float32, n, c, p int) {
	m := float64(n * p)
	parallelFor(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mu, is := float64(mean[ch]), float64(invstd[ch])
			var sdy, sdyx float64
			for i := 0; i < n; i++ {
				xs, ds := x[(i*c+ch)*p:(i*c+ch+1)*p], dy[(i*c+ch)*p:(i*c+ch+1)*p]
				for j, d := range ds {
					sdy += float64(d)
					sdyx += float64(d) * (float64(xs[j]) - mu) * is
				}
			}
			dbeta[ch] += float32(sdy)
			dgamma[ch] += float32(sdyx)
			k := float64(gamma[ch]) * is / m
			for i := 0; i < n; i++ {
				xs, ds, out := x[(i*c+ch)*p:(i*c+ch+1)*p], dy[(i*c+ch)*p:(i*c+ch+1)*p], dx[(i*c+ch)*p:(i*c+ch+1)*p]
				for j, d := range ds {
					xh := (float64(xs[j]) - mu) * is
					out[j] = float32(k * (m*float64(d) - sdy - xh*sdyx))
				}
			}
		}
	})
}
