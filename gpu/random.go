package gpu

import "github.com/csvae-gpu/csvae-gpu/model"

// Reparameterised sampling: kernels/random.cu, whose Philox4x32-10 stream
// and double-precision Box-Muller are those of kernels.NormalBlock, so a
// seed gives the same eps on the GPU as on the CPU.

// Go fallback: kernels.Reparameterize. One thread per Philox block of four
// values.
func (b *Backend) Reparameterize(z, eps, mu, logvar model.Tensor, seed, offset uint64) {
	n := z.Len()
	lossLens("Reparameterize", n, eps, mu, logvar)
	grid, block := grid1(blocks(n, 4))
	b.dev.Launch("random_reparam", grid, block, ptr(z), ptr(eps), ptr(mu), ptr(logvar), I64(n), seed, offset)
}

// Go fallback: kernels.ReparameterizeBackward; dmu and dlogvar accumulate.
func (b *Backend) ReparameterizeBackward(dmu, dlogvar, dz, eps, logvar model.Tensor) {
	n := dz.Len()
	lossLens("ReparameterizeBackward", n, dmu, dlogvar, eps, logvar)
	grid, block := grid1(n)
	b.dev.Launch("random_reparam_backward", grid, block, ptr(dmu), ptr(dlogvar), ptr(dz), ptr(eps), ptr(logvar), I64(n))
}
