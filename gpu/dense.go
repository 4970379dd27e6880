package gpu

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Dense layers (kernels/gemm.cu): every op is one SGEMM launch, or, when
// the product is too small to fill the GPU but K is long, a split-K launch
// into scratch plus gemm_reduce_splitk. Launches cost more than these small
// products, so the bias rides along: added in the forward GEMM's (or the
// reduction's) epilogue, and summed in the weight-gradient GEMM as the
// product with an extra column of ones.

const (
	gemmTile    = 64  // GEMM_BM = GEMM_BN in gemm.cu
	gemmBK      = 16  // GEMM_BK
	gemmThreads = 128 // GEMM_THREADS

	// gemmWantBlocks is about two blocks for each of the 132 SMs of an
	// H100/H200; split-K aims for that many blocks when the tiles of C alone
	// are fewer than one per SM. On an H200, 132, 264 or 528 blocks with
	// slices of 2, 4 or 8 steps timed within 10% of each other on the
	// CelebA layers: they are bound by launch latency, not arithmetic.
	gemmSMs        = 132
	gemmWantBlocks = 2 * gemmSMs
	// gemmMinSliceTiles is the shortest K slice, in GEMM_BK steps, that is
	// worth its own block (the loads before the first step are not hidden).
	gemmMinSliceTiles = 4
	// gemmScratchLen bounds the split-K partial products, in floats (16 MiB).
	gemmScratchLen = 1 << 22
)

// gemmWorkspace holds the split-K partial products.
func (b *Backend) gemmWorkspace() uint64 { return b.workspace("gemm", gemmScratchLen) }

// gemmSplit is how a product of m×n outputs over k is cut along k: splits
// slices of chunk values each (a multiple of gemmBK, the last one shorter).
// It depends only on the shape, so results are reproducible.
func gemmSplit(m, n, k int) (splits, chunk int) {
	tiles := blocks(m, gemmTile) * blocks(n, gemmTile)
	kt := blocks(k, gemmBK)
	s := min(blocks(gemmWantBlocks, tiles), kt/gemmMinSliceTiles, gemmScratchLen/max(m*n, 1))
	if tiles >= gemmSMs || s < 2 {
		return 1, max(kt, 1) * gemmBK
	}
	per := blocks(kt, s)
	return blocks(kt, per), per * gemmBK
}

// gemmKernels lists the kernels gemm launches for the shape (for checks).
func gemmKernels(kernel string, m, n, k int) []string {
	if s, _ := gemmSplit(m, n, k); s > 1 {
		return []string{kernel, "gemm_reduce_splitk"}
	}
	return []string{kernel}
}

// gemmOp is one product c = alpha*op(a)*op(bm) + beta*c for kernel gemm_nt,
// gemm_nn or gemm_tn (see gemm.cu for the layouts): op(a) is m×k, op(bm)
// k×n, and lda, ldb, ldc are row strides as stored. bias (gemm_nt) is added
// to every row; db (gemm_tn) receives the column of C that the extra ones
// column of op(bm) yields: alpha*(row sums of op(a)) + beta*db.
type gemmOp struct {
	kernel      string
	m, n, k     int
	a           model.Tensor
	lda         int
	bm          model.Tensor
	ldb         int
	c           model.Tensor
	ldc         int
	alpha, beta float32
	bias, db    model.Tensor
}

func (b *Backend) gemm(g gemmOp) {
	ones := g.db != nil
	w := g.n // columns of the product, with the ones column
	if ones {
		w++
	}
	if g.m <= 0 || w <= 0 {
		return
	}
	grid := Dim3{blocks(w, gemmTile), blocks(g.m, gemmTile), 1}
	block := Dim3{gemmThreads, 1, 1}
	splits, chunk := gemmSplit(g.m, w, g.k)
	if splits == 1 {
		b.gemmLaunch(g, grid, block, ptr(g.c), I64(g.ldc), ptr(g.bias), ptr(g.db), ones,
			F32(g.alpha), F32(g.beta), chunk, 0)
		return
	}
	ws := b.gemmWorkspace()
	grid.Z = splits
	b.gemmLaunch(g, grid, block, ws, I64(w), 0, 0, ones, F32(1), F32(0), chunk, g.m*w)
	rgrid, rblock := grid1(g.m * w)
	rgrid.X = min(rgrid.X, 4*gemmSMs)
	b.dev.Launch("gemm_reduce_splitk", rgrid, rblock, ptr(g.c), ptr(g.db), ws, ptr(g.bias),
		I64(g.m), I64(g.n), I64(g.ldc), I64(splits), F32(g.alpha), F32(g.beta))
}

// gemmLaunch launches g.kernel writing to c (row stride ldc), with the
// parameters each of the three kernels takes.
func (b *Backend) gemmLaunch(g gemmOp, grid, block Dim3, c, ldc, bias, db uint64, ones bool,
	alpha, beta uint64, chunk, cstride int) {
	dims := []uint64{I64(g.m), I64(g.n), I64(g.k), I64(g.lda), I64(g.ldb), ldc, alpha, beta,
		I64(chunk), I64(cstride)}
	args := []uint64{ptr(g.a), ptr(g.bm), c}
	switch g.kernel {
	case "gemm_nt":
		args = append(args, bias)
	case "gemm_tn":
		var o uint64
		if ones {
			o = 1
		}
		args = append(args, db, o)
	}
	b.dev.Launch(g.kernel, grid, block, append(args, dims...)...)
}
func denseLens(op string, n, in, out int, ts ...model.Tensor) {
	if n < 0 || in < 0 || out < 0 {
		panic(fmt.Sprintf("gpu: %s: negative shape n=%d in=%d out=%d", op, n, in, out))
	}
	sizes := []int{n * out, n * in, out * in, out} // y|dy, x|dx, w|dw, b|db
	for i, t := range ts {
		if t != nil {
			mustLen(op, t, sizes[i])
		}
	}
}

func accBeta(accumulate bool) float32 {
	if accumulate {
		return 1
	}
	return 0
}

// Go fallback: kernels.DenseForward. y (=|+=) x·wᵀ + b; b may be nil.
func (b *Backend) DenseForward(y, x, w, bias model.Tensor, n, in, out int, accumulate bool) {
	denseLens("DenseForward", n, in, out, y, x, w, bias)
	b.gemm(gemmOp{kernel: "gemm_nt", m: n, n: out, k: in, a: x, lda: in, bm: w, ldb: in, c: y, ldc: out,
		alpha: 1, beta: accBeta(accumulate), bias: bias})
}

// Go fallback: kernels.DenseBackwardData. dx (=|+=) dy·w.
func (b *Backend) DenseBackwardData(dx, dy, w model.Tensor, n, in, out int, accumulate bool) {
	denseLens("DenseBackwardData", n, in, out, dy, dx, w)
	b.gemm(gemmOp{kernel: "gemm_nn", m: n, n: in, k: out, a: dy, lda: out, bm: w, ldb: in, c: dx, ldc: in,
		alpha: 1, beta: accBeta(accumulate)})
}

// Go fallback: kernels.DenseBackwardParams. dw += dyᵀ·x and, when db is not
// nil, db += the column sums of dy (parameter gradients accumulate). With
// n = 0 there is nothing to add.
func (b *Backend) DenseBackwardParams(dw, db, dy, x model.Tensor, n, in, out int) {
	denseLens("DenseBackwardParams", n, in, out, dy, x, dw, db)
	if n == 0 {
		return
	}
	b.gemm(gemmOp{kernel: "gemm_tn", m: out, n: in, k: n, a: dy, lda: out, bm: x, ldb: in, c: dw, ldc: in,
		alpha: 1, beta: 1, db: db})
}
