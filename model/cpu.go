package model

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/kernels"
)

// CPU is the pure-Go backend: every method calls the kernel of the same name.
type CPU struct{}

type cpuTensor []float32

func (t cpuTensor) Len() int { return len(t) }

// Data exposes a CPU tensor's storage, for tests and tools that want to read
// it in place.
func Data(t Tensor) []float32 { return f(t) }

func f(t Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.(cpuTensor)
}

func (CPU) Name() string { return "cpu" }

func (CPU) Alloc(n int) Tensor { return cpuTensor(make([]float32, n)) }

func (CPU) Slice(t Tensor, off, n int) Tensor {
	if off < 0 || n < 0 || off+n > t.Len() {
		panic(fmt.Sprintf("model: slice [%d:%d] of a tensor of %d", off, off+n, t.Len()))
	}
	return cpuTensor(f(t)[off : off+n : off+n])
}

func (CPU) Upload(dst Tensor, src []float32)   { copy(f(dst), src) }
func (CPU) Download(dst []float32, src Tensor) { copy(dst, f(src)) }
func (CPU) Zero(t Tensor)                      { clear(f(t)) }
func (CPU) Sync()                              {}
func (CPU) Axpy(y Tensor, a float32, x Tensor) { kernels.Axpy(f(y), a, f(x)) }

func (CPU) DenseForward(y, x, w, b Tensor, n, in, out int, accumulate bool) {
	kernels.DenseForward(f(y), f(x), f(w), f(b), n, in, out, accumulate)
}

func (CPU) DenseBackwardData(dx, dy, w Tensor, n, in, out int, accumulate bool) {
	kernels.DenseBackwardData(f(dx), f(dy), f(w), n, in, out, accumulate)
}

func (CPU) DenseBackwardParams(dw, db, dy, x Tensor, n, in, out int) {
	kernels.DenseBackwardParams(f(dw), f(db), f(dy), f(x), n, in, out)
}

func (CPU) Activation(a Act, y, x Tensor) {
	switch a.Kind {
	case Identity:
		copy(f(y), f(x))
	case ReLU:
		kernels.ReLUForward(f(y), f(x))
	case LeakyReLU:
		kernels.LeakyReLUForward(f(y), f(x), a.Slope)
	case Sigmoid:
		kernels.SigmoidForward(f(y), f(x))
	default:
		panic(fmt.Sprintf("model: unknown activation %d", a.Kind))
	}
}

func (CPU) ActivationBackward(a Act, dx, dy, x, y Tensor) {
	switch a.Kind {
	case Identity:
		copy(f(dx), f(dy))
	case ReLU:
		kernels.ReLUBackward(f(dx), f(dy), f(x))
	case LeakyReLU:
		kernels.LeakyReLUBackward(f(dx), f(dy), f(x), a.Slope)
	case Sigmoid:
		kernels.SigmoidBackward(f(dx), f(dy), f(y))
	default:
		panic(fmt.Sprintf("model: unknown activation %d", a.Kind))
	}
}

func (CPU) ConvForward(y, x, w, b Tensor, g ConvGeom) {
	kernels.ConvForward(f(y), f(x), f(w), f(b), g)
}

func (CPU) ConvBackwardData(dx, dy, w Tensor, g ConvGeom, accumulate bool) {
	kernels.ConvBackwardData(f(dx), f(dy), f(w), g, accumulate)
}

func (CPU) ConvBackwardFilter(dw, db, dy, x Tensor, g ConvGeom) {
	kernels.ConvBackwardFilter(f(dw), f(db), f(dy), f(x), g)
}

func (CPU) AddChannelBias(y, b Tensor, n, c, p int) { kernels.AddChannelBias(f(y), f(b), n, c, p) }

func (CPU) ChannelBiasBackward(db, dy Tensor, n, c, p int) {
	kernels.ChannelBiasBackward(f(db), f(dy), n, c, p)
}

func (CPU) BatchNormForward(y, x, gamma, beta, mean, invstd, runMean, runVar Tensor, n, c, p int, momentum, eps float32, training bool) {
	kernels.BatchNormForward(f(y), f(x), f(gamma), f(beta), f(mean), f(invstd), f(runMean), f(runVar), n, c, p, momentum, eps, training)
}

func (CPU) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd Tensor, n, c, p int) {
	kernels.BatchNormBackward(f(dx), f(dgamma), f(dbeta), f(dy), f(x), f(gamma), f(mean), f(invstd), n, c, p)
}

func (CPU) Reparameterize(z, eps, mu, logvar Tensor, seed, offset uint64) {
	kernels.Reparameterize(f(z), f(eps), f(mu), f(logvar), seed, offset)
}

func (CPU) ReparameterizeBackward(dmu, dlogvar, dz, eps, logvar Tensor) {
	kernels.ReparameterizeBackward(f(dmu), f(dlogvar), f(dz), f(eps), f(logvar))
}

func (CPU) KLStdNormal(loss, dmu, dlogvar, mu, logvar Tensor, n, d int, scale float32) {
	kernels.KLStdNormal(f(loss), f(dmu), f(dlogvar), f(mu), f(logvar), n, d, scale)
}

func (CPU) KLDiagonal(loss, dmu, dlogvar, dpmu, dplogvar, mu, logvar, pmu, plogvar Tensor, n, d int, scale float32) {
	kernels.KLDiagonal(f(loss), f(dmu), f(dlogvar), f(dpmu), f(dplogvar), f(mu), f(logvar), f(pmu), f(plogvar), n, d, scale)
}

func (CPU) LabelPrior(pmu, plogvar, y Tensor, n, k int, p Prior) {
	kernels.LabelPrior(f(pmu), f(plogvar), f(y), n, k, p.Mu1, p.LogVar1, p.Mu0, p.LogVar0)
}

func (CPU) MSE(loss, dxhat, xhat, x Tensor, n, d int, scale float32) {
	kernels.MSE(f(loss), f(dxhat), f(xhat), f(x), n, d, scale)
}

func (CPU) BCEWithLogits(loss, dlogit, logit, target Tensor, n, d int, scale float32) {
	kernels.BCEWithLogits(f(loss), f(dlogit), f(logit), f(target), n, d, scale)
}

func (CPU) WeightedBCEWithLogits(loss, dlogit, logit, target, posWeight, negWeight Tensor, n, d int, scale float32) {
	kernels.WeightedBCEWithLogits(f(loss), f(dlogit), f(logit), f(target), f(posWeight), f(negWeight), n, d, scale)
}

func (CPU) MeanGap(loss, dmu, gap, mu, y, attrW Tensor, n, d, k int, scale float32) {
	kernels.MeanGap(f(loss), f(dmu), f(gap), f(mu), f(y), f(attrW), n, d, k, scale)
}

func (CPU) NegEntropyWithLogits(loss, dlogit, logit Tensor, n, d int, scale float32) {
	kernels.NegEntropyWithLogits(f(loss), f(dlogit), f(logit), n, d, scale)
}

func (CPU) Adam(p, g, m, v Tensor, h AdamParams, step int) {
	kernels.Adam(f(p), f(g), f(m), f(v), h.LR, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, step)
}
