package kernels

import "math"

// Losses over n examples of d values each: summed over the d values of an
// example and averaged over the n examples, the one convention of the design.

// meanLoss writes the sum of value(i) over the n*d elements, divided by n,
// to loss[0] and, when grad is not nil, grad[i] = scale/n * deriv(i): the
// shape every elementwise loss below shares.
func meanLoss(loss, grad []float32, n, d int, scale float32, value, deriv func(i int) float64) {
	total := sumChunks(n*d, func(lo, hi int) float64 {
		s := 0.0
		for i := lo; i < hi; i++ {
			s += value(i)
		}
		return s
	})
	loss[0] = float32(total / float64(n))
	if grad == nil {
		return
	}
	g := float64(scale) / float64(n)
	parallelFor(n*d, elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			grad[i] = float32(g * deriv(i))
		}
	})
}

// MSE writes the squared error of xhat against x to loss[0] and, when dxhat
// is not nil, the gradient of scale*loss[0] to dxhat.
func MSE(loss, dxhat, xhat, x []float32, n, d int, scale float32) {
	diff := func(i int) float64 { return float64(xhat[i]) - float64(x[i]) }
	meanLoss(loss, dxhat, n, d, scale,
		func(i int) float64 { e := diff(i); return e * e },
		func(i int) float64 { return 2 * diff(i) })
}

// BCEWithLogits writes the binary cross-entropy of sigmoid(logit) against
// targets in [0,1] to loss[0], from the logits so that saturated predictions
// stay finite, and, when dlogit is not nil, the gradient of scale*loss[0].
func BCEWithLogits(loss, dlogit, logit, target []float32, n, d int, scale float32) {
	meanLoss(loss, dlogit, n, d, scale,
		func(i int) float64 { a := float64(logit[i]); return softplus(a) - float64(target[i])*a },
		func(i int) float64 { return float64(sigmoid(logit[i])) - float64(target[i]) })
}

// WeightedBCEWithLogits is BCEWithLogits with a weight per column and class:
// element (i,j) counts posWeight[j] times when its target is 1 and
// negWeight[j] times when it is 0 (targets are 0 or 1 here). With weights
// 1/(2π_j) and 1/(2(1-π_j)) for a label of base rate π_j the adversary's
// best constant guess becomes 1/2, so "uninformative" and "maximal entropy"
// coincide even for rare attributes.
func WeightedBCEWithLogits(loss, dlogit, logit, target, posWeight, negWeight []float32, n, d int, scale float32) {
	weight := func(i int) float64 {
		if target[i] > 0.5 {
			return float64(posWeight[i%d])
		}
		return float64(negWeight[i%d])
	}
	meanLoss(loss, dlogit, n, d, scale,
		func(i int) float64 {
			a := float64(logit[i])
			return weight(i) * (softplus(a) - float64(target[i])*a)
		},
		func(i int) float64 { return weight(i) * (float64(sigmoid(logit[i])) - float64(target[i])) })
}

// NegEntropyWithLogits writes sum_j [q log q + (1-q) log(1-q)], q =
// sigmoid(logit), to loss[0]: the adversary's negative entropy, smallest when
// its predictions are uninformative. With log q = -softplus(-a) and
// log(1-q) = -softplus(a) it stays finite for any logit a, and its
// derivative is simply q(1-q)*a.
func NegEntropyWithLogits(loss, dlogit, logit []float32, n, d int, scale float32) {
	meanLoss(loss, dlogit, n, d, scale,
		func(i int) float64 {
			a := float64(logit[i])
			q := 1 / (1 + math.Exp(-a))
			return -(q*softplus(-a) + (1-q)*softplus(a))
		},
		func(i int) float64 {
			a := float64(logit[i])
			q := 1 / (1 + math.Exp(-a))
			return q * (1 - q) * a
		})
}

// MeanGap writes sum_j sum_c (m1[j,c] - m0[j,c])^2 to loss[0], where m1[j]
// and m0[j] are the means of the rows of mu[n,d] whose label y[i,j] is 1 and
// 0 (y is [n,k]); an attribute with one class only in the batch adds
// nothing. It is a batch statistic, not a per-example mean: a linear probe
// reads a label from z mostly through this gap, which the adversary's
// entropy term leaves open (experiments/README.md, "Closing the mean gap").
// Attribute j's term counts attrW[j] times (0 leaves an attribute out).
// gap[k*d] receives the differences m1 - m0 (0 for a one-class attribute).
// When dmu is not nil it receives the gradient of scale*loss[0].
func MeanGap(loss, dmu, gap, mu, y, attrW []float32, n, d, k int, scale float32) {
	// Per attribute, d(scale*loss)/d(mu[i,c]) = w * gap[j,c] with w =
	// 2*scale*attrW[j]/n1 for a row in class 1 and -2*scale*attrW[j]/n0 in
	// class 0.
	w1, w0 := make([]float64, k), make([]float64, k)
	total := 0.0
	for j := range k {
		n1 := 0
		for i := range n {
			if y[i*k+j] > 0.5 {
				n1++
			}
		}
		n0 := n - n1
		if n1 > 0 && n0 > 0 {
			a := float64(scale) * float64(attrW[j])
			w1[j], w0[j] = 2*a/float64(n1), -2*a/float64(n0)
		}
		for c := range d {
			g := 0.0
			if n1 > 0 && n0 > 0 {
				var s1, s0 float64
				for i := range n {
					if y[i*k+j] > 0.5 {
						s1 += float64(mu[i*d+c])
					} else {
						s0 += float64(mu[i*d+c])
					}
				}
				g = s1/float64(n1) - s0/float64(n0)
			}
			gap[j*d+c] = float32(g)
			total += float64(attrW[j]) * g * g
		}
	}
	loss[0] = float32(total)
	if dmu == nil {
		return
	}
	for i := range n {
		for c := range d {
			s := 0.0
			for j := range k {
				w := w0[j]
				if y[i*k+j] > 0.5 {
					w = w1[j]
				}
				s += w * float64(gap[j*d+c])
			}
			dmu[i*d+c] = float32(s)
		}
	}
}
