package kernels

import "math"

// Reparameterize draws z = mu + eps*exp(logvar/2) with eps the standard
// normals Normal(eps, seed, offset) makes, and keeps eps for the backward pass.
func Reparameterize(z, eps, mu, logvar []float32, seed, offset uint64) {
	Normal(eps, seed, offset)
	parallelFor(len(z), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			z[i] = mu[i] + eps[i]*float32(math.Exp(0.5*float64(logvar[i])))
		}
	})
}

// ReparameterizeBackward accumulates the gradient of z into its parameters:
// dmu += dz and dlogvar += dz*eps*exp(logvar/2)/2. It adds rather than
// overwrites because the KL term has already written its own gradient there.
func ReparameterizeBackward(dmu, dlogvar, dz, eps, logvar []float32) {
	parallelFor(len(dz), elemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dmu[i] += dz[i]
			dlogvar[i] += dz[i] * eps[i] * 0.5 * float32(math.Exp(0.5*float64(logvar[i])))
		}
	})
}
