// Package model holds the layers, the five models, their losses, the
// optimizers, the training loop and checkpoints of csvae-gpu, written once
// against the Backend interface so that the same code trains on the CPU and
// on the GPU.
package model

import "github.com/csvae-gpu/csvae-gpu/kernels"

// ConvGeom is a convolution's shape (see kernels.ConvGeom); a transposed
// convolution is described by the convolution it transposes.
type ConvGeom = kernels.ConvGeom

// Tensor is a flat float32 buffer owned by a Backend: a Go slice on the CPU,
// device memory on the GPU. Shapes are kept by the layers that use it.
type Tensor interface {
	Len() int
}

// ActKind names an elementwise activation.
type ActKind int

const (
	Identity ActKind = iota
	ReLU
	LeakyReLU
	Sigmoid
)

// Act is an activation with its parameter (the negative slope of LeakyReLU).
type Act struct {
	Kind  ActKind
	Slope float32
}

// AdamParams are the optimizer's hyperparameters.
type AdamParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
}

// Prior is the fixed Gaussian p(w_i | y_i) of one subspace coordinate:
// N(Mu1, exp(LogVar1)) where the attribute is present, N(Mu0, exp(LogVar0))
// where it is absent.
type Prior struct {
	Mu1, LogVar1, Mu0, LogVar0 float32
}

// Backend is every operation the models need. Its methods mirror the
// kernels package one to one (see there for the conventions: row-major,
// weights [out,in], gradients overwritten except parameter gradients and
// ReparameterizeBackward, losses written to a one-element tensor). A nil
// gradient tensor means "not wanted".
type Backend interface {
	Name() string
	Alloc(n int) Tensor
	Slice(t Tensor, off, n int) Tensor
	Upload(dst Tensor, src []float32)
	Download(dst []float32, src Tensor)
	Zero(t Tensor)
	Axpy(y Tensor, a float32, x Tensor)
	// Sync waits for queued work; timing code calls it, nothing else needs to.
	Sync()

	DenseForward(y, x, w, b Tensor, n, in, out int, accumulate bool)
	DenseBackwardData(dx, dy, w Tensor, n, in, out int, accumulate bool)
	DenseBackwardParams(dw, db, dy, x Tensor, n, in, out int)
	Activation(a Act, y, x Tensor)
	ActivationBackward(a Act, dx, dy, x, y Tensor)

	ConvForward(y, x, w, b Tensor, g ConvGeom)
	ConvBackwardData(dx, dy, w Tensor, g ConvGeom, accumulate bool)
	ConvBackwardFilter(dw, db, dy, x Tensor, g ConvGeom)
	AddChannelBias(y, b Tensor, n, c, p int)
	ChannelBiasBackward(db, dy Tensor, n, c, p int)
	BatchNormForward(y, x, gamma, beta, mean, invstd, runMean, runVar Tensor, n, c, p int, momentum, eps float32, training bool)
	BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd Tensor, n, c, p int)

	Reparameterize(z, eps, mu, logvar Tensor, seed, offset uint64)
	ReparameterizeBackward(dmu, dlogvar, dz, eps, logvar Tensor)
	KLStdNormal(loss, dmu, dlogvar, mu, logvar Tensor, n, d int, scale float32)
	KLDiagonal(loss, dmu, dlogvar, dpmu, dplogvar, mu, logvar, pmu, plogvar Tensor, n, d int, scale float32)
	LabelPrior(pmu, plogvar, y Tensor, n, k int, p Prior)
	MSE(loss, dxhat, xhat, x Tensor, n, d int, scale float32)
	BCEWithLogits(loss, dlogit, logit, target Tensor, n, d int, scale float32)
	WeightedBCEWithLogits(loss, dlogit, logit, target, posWeight, negWeight Tensor, n, d int, scale float32)
	NegEntropyWithLogits(loss, dlogit, logit Tensor, n, d int, scale float32)
	MeanGap(loss, dmu, gap, mu, y, attrW Tensor, n, d, k int, scale float32)
	Adam(p, g, m, v Tensor, h AdamParams, step int)
}
