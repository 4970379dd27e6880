package kernels

import "math"

const elemGrain = 16384

// LeakyReLUForward computes y = x for x > 0 and slope*x otherwise; y may be x.
func LeakyReLUForward(y, x []float32, slope float32) {
	parallelFor(len(x), elemGrain, func(lo, hi int) {
		// Branch-free: the sign of activations is a coin toss, which a
		// branch mispredicts half the time.
		for i, v := range x[lo:hi] {
			y[lo+i] = max(v, 0) + slope*min(v, 0)
		}
	})
}

// LeakyReLUBackward computes dx = dy * f'(x) from the layer's input x, or
// equally from its output (for a positive or zero slope the two have the
// same sign), which lets the layer run in place; dx may be dy.
func LeakyReLUBackward(dx, dy, x []float32, slope float32) {
	parallelFor(len(x), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k := slope
			if x[i] > 0 {
				k = 1
			}
			dx[i] = k * dy[i]
		}
	})
}

// ReLUForward is LeakyReLUForward with slope 0.
func ReLUForward(y, x []float32) { LeakyReLUForward(y, x, 0) }

// ReLUBackward is LeakyReLUBackward with slope 0.
func ReLUBackward(dx, dy, x []float32) { LeakyReLUBackward(dx, dy, x, 0) }

// SigmoidForward computes y = 1/(1+exp(-x)) without overflowing for large |x|.
func SigmoidForward(y, x []float32) {
	parallelFor(len(x), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = sigmoid(x[i])
		}
	})
}

// SigmoidBackward computes dx = dy * y(1-y) from the layer's output y.
func SigmoidBackward(dx, dy, y []float32) {
	parallelFor(len(y), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dx[i] = dy[i] * y[i] * (1 - y[i])
		}
	})
}

func sigmoid(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + float32(math.Exp(float64(-x))))
	}
	e := float32(math.Exp(float64(x)))
	return e / (1 + e)
}

// softplus is log(1+exp(x)), computed in float64 without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
