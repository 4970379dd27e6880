package gpu

import (
	"fmt"
	"math"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Batch normalisation (kernels/batchnorm.cu). Each pass is a partial
// reduction on a (S, C) grid, a per-channel finalize, and an elementwise
// apply; see the .cu file for the scratch layout. The split S depends only
// on the shape, so the results are bit-reproducible.

const (
	bnThreads   = 256 // BN_THREADS in batchnorm.cu
	bnCoef      = 4   // BN_COEF: doubles of per-channel coefficients
	bnMinChunk  = 1024
	bnMaxChunk  = 16384
	bnWaveBlock = 1024 // partial blocks to aim for: a few per SM of an H100
	bnMaxBlocks = 4096 // for the apply pass, which loops beyond that
)

// bnSplit returns the values each partial block reduces (a multiple of 4)
// and the number S of blocks per channel, for m = n·p values per channel:
// enough blocks overall to fill the GPU, but each with enough values to
// make its partial worth writing.
func bnSplit(m, c int) (chunk, s int) {
	chunk = blocks(m*c, bnWaveBlock)
	chunk = min(max(chunk, bnMinChunk), bnMaxChunk)
	chunk = (chunk + 3) &^ 3
	return chunk, blocks(m, chunk)
}

// bnScratch is the workspace of c channels split s ways (see the .cu file
// for its layout), at least what 256 channels need so that it is rarely
// outgrown.
func (b *Backend) bnScratch(c, s int) uint64 {
	return b.workspace("batchnorm", max(2*(bnCoef*c+2*c*s), 2*bnCoef*256))
}

// bnShape checks the [n,c,p] tensors ts, which must not be nil.
func bnShape(op string, n, c, p int, ts ...model.Tensor) {
	if n*c*p >= math.MaxInt32 {
		panic(fmt.Sprintf("gpu: %s: %d values, the kernels index with 32 bits", op, n*c*p))
	}
	for _, t := range ts {
		mustLen(op, t, n*c*p)
	}
}

// bnChannels checks per-channel tensors, which may be nil if optional.
func bnChannels(op string, c int, optional bool, ts ...model.Tensor) {
	for _, t := range ts {
		if t == nil && !optional {
			panic(fmt.Sprintf("gpu: %s: a nil per-channel tensor", op))
		}
		if t != nil {
			mustLen(op, t, c)
		}
	}
}

func bnApplyGrid(total int) (Dim3, Dim3) {
	return Dim3{min(max(blocks(blocks(total, 4), bnThreads), 1), bnMaxBlocks), 1, 1}, Dim3{bnThreads, 1, 1}
}

// Go fallback: kernels.BatchNormForward. y may be x. In training mean and
// invstd receive the batch statistics (either may be nil when not wanted)
// and runMean, runVar move; in inference only runMean and runVar are read.
func (b *Backend) BatchNormForward(y, x, gamma, beta, mean, invstd, runMean, runVar model.Tensor, n, c, p int, momentum, eps float32, training bool) {
	bnShape("BatchNormForward", n, c, p, y, x)
	bnChannels("BatchNormForward", c, false, gamma, beta, runMean, runVar)
	bnChannels("BatchNormForward", c, true, mean, invstd)
	if n*c*p == 0 {
		return
	}
	chunk, s := bnSplit(n*p, c)
	scratch := b.bnScratch(c, s)
	block := Dim3{bnThreads, 1, 1}
	train := 0
	if training {
		train = 1
		b.dev.Launch("bn_stats_partial", Dim3{s, c, 1}, block, scratch, ptr(x), I64(n), I64(c), I64(p), I64(chunk))
	}
	b.dev.Launch("bn_forward_finalize", Dim3{blocks(c, 64), 1, 1}, Dim3{64, 1, 1},
		scratch, ptr(x), ptr(gamma), ptr(beta), ptr(mean), ptr(invstd), ptr(runMean), ptr(runVar),
		I64(n), I64(c), I64(p), I64(s), F32(momentum), F32(eps), I64(train))
	grid, block := bnApplyGrid(n * c * p)
	b.dev.Launch("bn_forward_apply", grid, block, ptr(y), ptr(x), scratch, I64(n), I64(c), I64(p))
}

// Go fallback: kernels.BatchNormBackward. dx is overwritten and may be dy
// or x; dgamma and dbeta accumulate, and either may be nil when not wanted.
func (b *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invstd model.Tensor, n, c, p int) {
	bnShape("BatchNormBackward", n, c, p, dx, dy, x)
	bnChannels("BatchNormBackward", c, false, gamma, mean, invstd)
	bnChannels("BatchNormBackward", c, true, dgamma, dbeta)
	if n*c*p == 0 {
		return
	}
	chunk, s := bnSplit(n*p, c)
	scratch := b.bnScratch(c, s)
	block := Dim3{bnThreads, 1, 1}
	b.dev.Launch("bn_backward_partial", Dim3{s, c, 1}, block,
		scratch, ptr(dy), ptr(x), ptr(mean), ptr(invstd), I64(n), I64(c), I64(p), I64(chunk))
	b.dev.Launch("bn_backward_finalize", Dim3{blocks(c, 64), 1, 1}, Dim3{64, 1, 1},
		scratch, ptr(dgamma), ptr(dbeta), ptr(gamma), ptr(mean), ptr(invstd), I64(n), I64(c), I64(p), I64(s))
	grid, block := bnApplyGrid(n * c * p)
	b.dev.Launch("bn_backward_apply", grid, block, ptr(dx), ptr(dy), ptr(x), scratch, I64(n), I64(c), I64(p))
}
