package gpu

import (
	"github.com/csvae-gpu/csvae-gpu/model"
)

// KL terms (kernels/kl.cu) and elementwise losses (kernels/loss.cu). Each
// loss is one launch: every block writes its gradient values and one double
// partial sum to a scratch buffer, and the last block to finish adds the
// partials in index order and writes sum/n to loss[0]. The grid depends
// only on n*d, so the loss is bit-reproducible.

const (
	lossThreads   = 256  // LOSS_THREADS in kernels/loss_reduce.cuh
	lossMaxBlocks = 1024 // LOSS_MAX_BLOCKS there: about one wave on an H100
)

// lossScratch holds lossMaxBlocks double partial sums, then the kernels'
// ticket counter, which starts at zero (a new workspace is zeroed) and which
// the last block of each launch resets.
func (b *Backend) lossScratch() uint64 { return b.workspace("loss", 2*lossMaxBlocks+2) }

// reduceLoss launches kernel(loss, scratch, args...) over nd elements.
func (b *Backend) reduceLoss(loss model.Tensor, kernel string, nd int, args ...uint64) {
	mustLen(kernel, loss, 1)
	grid := Dim3{min(max(blocks(nd, lossThreads), 1), lossMaxBlocks), 1, 1}
	b.dev.Launch(kernel, grid, Dim3{lossThreads, 1, 1}, append([]uint64{ptr(loss), b.lossScratch()}, args...)...)
}

// Go fallback: kernels.KLStdNormal; gradients are written only when dmu is
// not nil.
func (b *Backend) KLStdNormal(loss, dmu, dlogvar, mu, logvar model.Tensor, n, d int, scale float32) {
	lossLens("KLStdNormal", n*d, dmu, dlogvar, mu, logvar)
	b.reduceLoss(loss, "kl_std_normal", n*d,
		ptr(dmu), ptr(dlogvar), ptr(mu), ptr(logvar), I64(n*d), I64(n), F32(scale))
}

// Go fallback: kernels.KLDiagonal; posterior gradients when dmu is not nil,
// prior gradients when dpmu is not nil too.
func (b *Backend) KLDiagonal(loss, dmu, dlogvar, dpmu, dplogvar, mu, logvar, pmu, plogvar model.Tensor, n, d int, scale float32) {
	lossLens("KLDiagonal", n*d, dmu, dlogvar, dpmu, dplogvar, mu, logvar, pmu, plogvar)
	b.reduceLoss(loss, "kl_diagonal", n*d,
		ptr(dmu), ptr(dlogvar), ptr(dpmu), ptr(dplogvar), ptr(mu), ptr(logvar), ptr(pmu), ptr(plogvar),
		I64(n*d), I64(n), F32(scale))
}

// Go fallback: kernels.LabelPrior.
func (b *Backend) LabelPrior(pmu, plogvar, y model.Tensor, n, k int, p model.Prior) {
	lossLens("LabelPrior", n*k, y)
	lossLens("LabelPrior", 2*n*k, pmu, plogvar)
	grid, block := grid1(n * k)
	b.dev.Launch("kl_label_prior", grid, block, ptr(pmu), ptr(plogvar), ptr(y), I64(n*k),
		F32(p.Mu1), F32(p.LogVar1), F32(p.Mu0), F32(p.LogVar0))
}

// Go fallback: kernels.MSE; dxhat may be nil.
func (b *Backend) MSE(loss, dxhat, xhat, x model.Tensor, n, d int, scale float32) {
	lossLens("MSE", n*d, dxhat, xhat, x)
	b.reduceLoss(loss, "loss_mse", n*d, ptr(dxhat), ptr(xhat), ptr(x), I64(n*d), I64(n), F32(scale))
}

// Go fallback: kernels.BCEWithLogits; dlogit may be nil.
func (b *Backend) BCEWithLogits(loss, dlogit, logit, target model.Tensor, n, d int, scale float32) {
	lossLens("BCEWithLogits", n*d, dlogit, logit, target)
	b.reduceLoss(loss, "loss_bce", n*d, ptr(dlogit), ptr(logit), ptr(target), I64(n*d), I64(n), F32(scale))
}

// Go fallback: kernels.WeightedBCEWithLogits; dlogit may be nil.
func (b *Backend) WeightedBCEWithLogits(loss, dlogit, logit, target, posWeight, negWeight model.Tensor, n, d int, scale float32) {
	lossLens("WeightedBCEWithLogits", n*d, dlogit, logit, target)
	lossLens("WeightedBCEWithLogits", d, posWeight, negWeight)
	b.reduceLoss(loss, "loss_wbce", n*d, ptr(dlogit), ptr(logit), ptr(target),
		ptr(posWeight), ptr(negWeight), I64(n*d), I64(d), I64(n), F32(scale))
}

// Go fallback: kernels.NegEntropyWithLogits; dlogit may be nil.
func (b *Backend) NegEntropyWithLogits(loss, dlogit, logit model.Tensor, n, d int, scale float32) {
	lossLens("NegEntropyWithLogits", n*d, dlogit, logit)
	b.reduceLoss(loss, "loss_negent", n*d, ptr(dlogit), ptr(logit), I64(n*d), I64(n), F32(scale))
}

// Go fallback: kernels.MeanGap; gap receives the k*d class-mean differences,
// dmu (may be nil) the gradient of scale*loss from a second launch.
func (b *Backend) MeanGap(loss, dmu, gap, mu, y, attrW model.Tensor, n, d, k int, scale float32) {
	lossLens("MeanGap", n*d, dmu, mu)
	lossLens("MeanGap", k*d, gap)
	lossLens("MeanGap", n*k, y)
	lossLens("MeanGap", k, attrW)
	b.reduceLoss(loss, "loss_meangap", k*d, ptr(gap), ptr(mu), ptr(y), ptr(attrW), I64(n), I64(d), I64(k))
	if dmu != nil {
		grid, block := grid1(n * d)
		b.dev.Launch("loss_meangap_grad", grid, block, ptr(dmu), ptr(gap), ptr(y), ptr(attrW), I64(n), I64(d), I64(k), F32(scale))
	}
}

// lossLens panics unless every tensor that is not nil holds n values: a
// kernel would otherwise read or write past it.
func lossLens(op string, n int, ts ...model.Tensor) {
	for _, t := range ts {
		if t != nil {
			mustLen(op, t, n)
		}
	}
}
