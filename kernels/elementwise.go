package kernels

// Axpy adds a*x to y: where a tensor feeds two consumers, their gradients meet
// here.
func Axpy(y []float32, a float32, x []float32) {
	parallelFor(len(y), elemGrain, func(lo, hi int) { axpy(y[lo:hi], a, x[lo:hi]) })
}

// Fill sets every element of x to v.
func Fill(x []float32, v float32) {
	parallelFor(len(x), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x[i] = v
		}
	})
}
