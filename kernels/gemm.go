package kernels

import (
	"sync"
	"unsafe"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(A) is m×k, op(B) is k×n and C is m×n; op transposes when tA or tB is
// set, and lda, ldb, ldc are row strides as stored. With beta == 0, C is
// overwritten without being read, so stale NaNs in C cannot leak through;
// with alpha == 0 or k == 0, A and B are not read.
//
// It is the one matrix product behind dense layers and the convolutions'
// im2col GEMMs. Where an assembly micro-kernel runs (amd64 with AVX-512, or
// AVX2 and FMA, and without the purego build tag), it is computed in the
// manner of BLIS (Van Zee & van de Geijn, 2015) by sgemm below; elsewhere
// by sgemmPortable, in plain Go.
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if sgemmKernel == nil {
		sgemmPortable(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemm(sgemmKernel, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmKernel is the fastest micro-kernel this CPU runs, or nil.
var sgemmKernel = func() *gemmKernel {
	if ks := gemmKernels(); len(ks) > 0 {
		return ks[0]
	}
	return nil
}()

// gemmKernel is a micro-kernel and the blocking that suits it.
type gemmKernel struct {
	name   string
	mr, nr int // the tile of C it computes
	kc     int // the longest k block: an mr×kc and a kc×nr panel fit in L1
	strip  int // the widest strip, in rows or columns: a kc×strip block fits in L2
	// asmPack packs with the AVX loops of gemm_amd64.s (when built).
	asmPack bool
	// fn sets the mr×nr tile c (row stride ldc) to alpha*acc + beta*c, or to
	// alpha*acc without reading c when beta == 0, where acc[i][j] =
	// Σ_{p<kc} a[p*mr+i]*b[p*nr+j]. The slices are long enough (checked by
	// the caller of the assembly).
	fn func(kc int, a, b, c []float32, ldc int, alpha, beta float32)
}

// gemmMaxTile bounds mr*nr of every kernel, for the scratch tile of edges.
const gemmMaxTile = 256

// gemmCall holds the arguments of one product and its blocking.
type gemmCall struct {
	kr          *gemmKernel
	serial      bool // run on the calling goroutine only
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	a, b, c     []float32
	lda, ldb    int
	ldc         int
	kc, nkb     int // k blocks [q*kc, min(k, q*kc+kc)) for q < nkb
}

// sgemm is Sgemm with the micro-kernel kr:
//
//   - k is cut into blocks of at most kr.kc. For each block, op(A) and op(B)
//     are copied ("packed") into panels of kr.mr rows and kr.nr columns
//     stored k-major, so that the micro-kernel reads both contiguously
//     whatever the transposes and strides were (the transposes happen in
//     the packing). Panels past the edge of the matrix are padded with
//     zeros, and tiles that stick out of C go through a scratch tile.
//   - The micro-kernel keeps an mr×nr tile of C in registers, sums one k
//     block into it and then stores alpha*sum + beta*C (beta = 1 after the
//     first block).
//   - The smaller of op(A) and op(B) is shared: packed once, whole, when
//     there are more than two strips. The other is split into strips, of
//     columns of C when A is shared and of rows when B is, and each strip,
//     a chunk of parallelFor, packs its own k blocks into a buffer that
//     stays in L2 while every tile of the strip is computed.
//   - When C is small and k long (a convolution's filter gradient), k is
//     cut into up to 8 pieces computed in parallel and summed in order.
//
// Every element of C is the same sequence of operations however C is split
// among goroutines, because the tile grid, the k blocks and the k pieces
// depend on the shape and the kernel only.
func sgemm(kr *gemmKernel, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		scaleMatrix(c, ldc, m, n, beta)
		return
	}
	if s := kSplits(kr, m, n, k); s > 1 {
		sgemmSplitK(kr, s, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	newGemmCall(kr, false, tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc).run()
}

func newGemmCall(kr *gemmKernel, serial, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) *gemmCall {
	nkb := (k + kr.kc - 1) / kr.kc
	g := &gemmCall{kr: kr, serial: serial, tA: tA, tB: tB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, kc: (k + nkb - 1) / nkb}
	g.nkb = (k + g.kc - 1) / g.kc
	return g
}

func (g *gemmCall) run() {
	if roundUp(g.m, g.kr.mr) <= roundUp(g.n, g.kr.nr) {
		g.sharedA()
	} else {
		g.sharedB()
	}
}

// forChunks is parallelFor, or the same chunks in order on this goroutine
// for a serial call.
func (g *gemmCall) forChunks(n, grain int, body func(lo, hi int)) {
	if !g.serial {
		parallelFor(n, grain, body)
		return
	}
	for lo := 0; lo < n; lo += grain {
		body(lo, min(lo+grain, n))
	}
}

// kSplits is the number of pieces k is cut into when C is too small to give
// every thread its own part of it (at most 64K elements) but k is long
// (at least 8 k blocks), as in a convolution's filter gradient: 8, or fewer
// so that each piece has at least 4 k blocks.
func kSplits(kr *gemmKernel, m, n, k int) int {
	if m*n > 1<<16 || k < 8*kr.kc {
		return 1
	}
	return min(8, k/(4*kr.kc))
}

// sgemmSplitK computes the products of s consecutive pieces of k as
// separate GEMMs, each on one goroutine, into scratch matrices P₀…P_{s-1}
// and then C = alpha*(((P₀+P₁)+P₂)+…) + beta*C. The pieces depend only on k
// and s, so the result does not depend on the thread count either.
func sgemmSplitK(kr *gemmKernel, s int, tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	pp := getPackBuf(s * m * n)
	defer putPackBuf(pp)
	parts := *pp
	bound := func(i int) int { // piece i is k columns [bound(i), bound(i+1))
		if i == s {
			return k
		}
		return i * k / s &^ 15
	}
	parallelFor(s, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k0, k1 := bound(i), bound(i+1)
			ao, bo := k0, k0*ldb // A is m×k (op), B is k×n (op), as stored
			if tA {
				ao = k0 * lda
			}
			if tB {
				bo = k0
			}
			newGemmCall(kr, true, tA, tB, m, n, k1-k0, 1, a[ao:], lda, b[bo:], ldb, 0, parts[i*m*n:(i+1)*m*n], n).run()
		}
	})
	parallelFor(m, max(1, 4096/n), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			crow := c[i*ldc : i*ldc+n]
			for j := range crow {
				sum := parts[i*n+j]
				for q := 1; q < s; q++ {
					sum += parts[q*m*n+i*n+j]
				}
				if beta == 0 {
					crow[j] = alpha * sum
				} else {
					crow[j] = alpha*sum + beta*crow[j]
				}
			}
		}
	})
}

// stripWidth picks the strip along a dimension of length n (a multiple of
// unit, the kernel's tile size along it) for a product whose other
// dimensions are other and k: about n/8, so that a few threads balance,
// but enough work per strip (a few MFLOP) to pay for handing it to a
// goroutine, and at most the kernel's L2-sized limit.
func stripWidth(n, unit, other, k, limit int) int {
	w := roundUp((n+7)/8, unit)
	w = max(w, roundUp((1<<21)/max(1, other*k), unit))
	w = min(w, max(unit, limit/unit*unit))
	return min(w, n)
}

// sharedA computes C in strips of columns, op(A) shared by all of them:
// packed once, whole, when there are more than two strips, else packed by
// each strip k block by k block like op(B) (a long-k product with a small
// C, where re-reading A costs less than writing and re-reading a packed
// copy of it).
func (g *gemmCall) sharedA() {
	kr := g.kr
	mr, nr := kr.mr, kr.nr
	mp := roundUp(g.m, mr)
	w := stripWidth(roundUp(g.n, nr), nr, g.m, g.k, kr.strip)
	prepack := (g.n+w-1)/w > 2
	var ap *[]float32
	if prepack {
		ap = getPackBuf(mp * g.k)
		defer putPackBuf(ap)
		g.packAll(*ap, mr, g.a, g.lda, g.tA, g.m)
	}
	g.forChunks(g.n, w, func(lo, hi int) {
		bp := getPackBuf(g.kc * roundUp(hi-lo, nr))
		defer putPackBuf(bp)
		var own *[]float32
		if !prepack {
			own = getPackBuf(g.kc * mp)
			defer putPackBuf(own)
		}
		var tmp [gemmMaxTile]float32
		beta := g.beta
		for q := 0; q < g.nkb; q++ {
			p0 := q * g.kc
			kc := min(g.kc, g.k-p0)
			packPanels(*bp, nr, g.b, g.ldb, !g.tB, kr.asmPack, lo, hi-lo, p0, kc)
			var aq []float32
			if prepack {
				aq = (*ap)[mp*p0:]
			} else {
				packPanels(*own, mr, g.a, g.lda, g.tA, kr.asmPack, 0, g.m, p0, kc)
				aq = *own
			}
			for i := 0; i < g.m; i += mr {
				apan := aq[i*kc : (i+mr)*kc]
				for j := lo; j < hi; j += nr {
					g.tile(apan, (*bp)[(j-lo)*kc:(j-lo+nr)*kc], kc, i, j, beta, tmp[:])
				}
			}
			beta = 1
		}
	})
}

// sharedB is sharedA with the roles of A and B swapped: C in strips of
// rows, op(B) shared.
func (g *gemmCall) sharedB() {
	kr := g.kr
	mr, nr := kr.mr, kr.nr
	np := roundUp(g.n, nr)
	h := stripWidth(roundUp(g.m, mr), mr, g.n, g.k, kr.strip)
	prepack := (g.m+h-1)/h > 2
	var bp *[]float32
	if prepack {
		bp = getPackBuf(np * g.k)
		defer putPackBuf(bp)
		g.packAll(*bp, nr, g.b, g.ldb, !g.tB, g.n)
	}
	g.forChunks(g.m, h, func(lo, hi int) {
		ap := getPackBuf(g.kc * roundUp(hi-lo, mr))
		defer putPackBuf(ap)
		var own *[]float32
		if !prepack {
			own = getPackBuf(g.kc * np)
			defer putPackBuf(own)
		}
		var tmp [gemmMaxTile]float32
		beta := g.beta
		for q := 0; q < g.nkb; q++ {
			p0 := q * g.kc
			kc := min(g.kc, g.k-p0)
			packPanels(*ap, mr, g.a, g.lda, g.tA, kr.asmPack, lo, hi-lo, p0, kc)
			var bq []float32
			if prepack {
				bq = (*bp)[np*p0:]
			} else {
				packPanels(*own, nr, g.b, g.ldb, !g.tB, kr.asmPack, 0, g.n, p0, kc)
				bq = *own
			}
			for j := 0; j < g.n; j += nr {
				bpan := bq[j*kc : (j+nr)*kc]
				for i := lo; i < hi; i += mr {
					g.tile((*ap)[(i-lo)*kc:(i-lo+mr)*kc], bpan, kc, i, j, beta, tmp[:])
				}
			}
			beta = 1
		}
	})
}

// packAll packs a whole operand, k block after k block (block q starts at
// dst[rows*q*kc], rows = count rounded up to w), in parallel over panels.
func (g *gemmCall) packAll(dst []float32, w int, src []float32, ld int, copyForm bool, count int) {
	rows := roundUp(count, w)
	grain := max(w, roundUp(1<<15/g.k, w))
	g.forChunks(count, grain, func(lo, hi int) {
		for q := 0; q < g.nkb; q++ {
			p0 := q * g.kc
			kc := min(g.kc, g.k-p0)
			packPanels(dst[rows*p0+lo*kc:], w, src, ld, copyForm, g.kr.asmPack, lo, hi-lo, p0, kc)
		}
	})
}

// tile runs the kernel on the tile of C at (i, j), through a scratch tile
// when it sticks out of C.
func (g *gemmCall) tile(ap, bp []float32, kc, i, j int, beta float32, tmp []float32) {
	kr := g.kr
	rows, cols := min(kr.mr, g.m-i), min(kr.nr, g.n-j)
	if rows == kr.mr && cols == kr.nr {
		kr.fn(kc, ap, bp, g.c[i*g.ldc+j:], g.ldc, g.alpha, beta)
		return
	}
	kr.fn(kc, ap, bp, tmp, kr.nr, 1, 0)
	alpha := g.alpha
	for r := range rows {
		crow := g.c[(i+r)*g.ldc+j : (i+r)*g.ldc+j+cols]
		trow := tmp[r*kr.nr : r*kr.nr+cols]
		if beta == 0 {
			for x, t := range trow {
				crow[x] = alpha * t
			}
		} else {
			for x, t := range trow {
				crow[x] = alpha*t + beta*crow[x]
			}
		}
	}
}

// packPanels copies rows [r0, r0+count) × k columns [p0, p0+kc) of a
// matrix into panels of w rows, panel after panel, each stored k-major
// (dst[panel*w*kc + p*w + r]), padding the last panel with zeros. Row r,
// column p of the matrix is src[p*ld+r] when copyForm is set (each k step
// of a panel is then one contiguous copy) and src[r*ld+p] otherwise (a
// transpose). With asm set, full panels go through the AVX loops of
// gemm_amd64.s where this build has them.
//
// op(A) is packed with rows = rows of C, copyForm = tA; op(B) with rows =
// columns of C, copyForm = !tB.
func packPanels(dst []float32, w int, src []float32, ld int, copyForm, asm bool, r0, count, p0, kc int) {
	start := 0
	if copyForm && asm {
		if full := count / w; full > 0 && packCopyAsm(dst, w, full, src, p0*ld+r0, ld, kc) {
			start = full * w
		}
	}
	for base := start; base < count; base += w {
		d := dst[base*kc : (base+w)*kc]
		full := min(w, count-base)
		if copyForm {
			if full == w {
				packCopyFull(d, w, src, ld, r0+base, p0, kc)
				continue
			}
			for p := range kc {
				s := (p0+p)*ld + r0 + base
				copy(d[p*w:p*w+full], src[s:s+full])
				clear(d[p*w+full : p*w+w])
			}
			continue
		}
		// The asm transposes k columns [0, done) of rows [0, full8).
		full8, done := full&^7, 0
		if asm && full8 > 0 {
			done = packTransAsm(d, w, full8, src, (r0+base)*ld+p0, ld, kc)
		}
		for r := range full {
			from := done
			if r >= full8 {
				from = 0
			}
			s := src[(r0+base+r)*ld+p0:]
			for p, v := range s[from:kc] {
				d[(from+p)*w+r] = v
			}
		}
		if full < w {
			for p := range kc {
				clear(d[p*w+full : p*w+w])
			}
		}
	}
}

// packCopyFull is packPanels' copy form for a full panel, with the common
// widths as fixed-size copies.
func packCopyFull(d []float32, w int, src []float32, ld, r, p0, kc int) {
	s := p0*ld + r
	switch w {
	case 4:
		for p := range kc {
			*(*[4]float32)(d[p*4:]) = *(*[4]float32)(src[s+p*ld:])
		}
	case 8:
		for p := range kc {
			*(*[8]float32)(d[p*8:]) = *(*[8]float32)(src[s+p*ld:])
		}
	case 16:
		for p := range kc {
			*(*[16]float32)(d[p*16:]) = *(*[16]float32)(src[s+p*ld:])
		}
	case 32:
		for p := range kc {
			*(*[32]float32)(d[p*32:]) = *(*[32]float32)(src[s+p*ld:])
		}
	default:
		for p := range kc {
			copy(d[p*w:p*w+w], src[s+p*ld:s+p*ld+w])
		}
	}
}

// scaleMatrix sets the m×n matrix c to beta*c, or to zero without reading it
// when beta == 0.
func scaleMatrix(c []float32, ldc, m, n int, beta float32) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

func roundUp(n, unit int) int { return (n + unit - 1) / unit * unit }

// packCache keeps packing buffers between calls, so that a training step
// neither allocates them afresh nor faults their pages in again (sync.Pool
// would drop them at every garbage collection, and hands back buffers of
// any size). It holds at most packCacheMax buffers, dropping the smallest,
// and none larger than packCacheLargest floats.
var packCache struct {
	sync.Mutex
	free []*[]float32
}

const (
	packCacheMax     = 16
	packCacheLargest = 64 << 20 // 256 MiB
)

// getPackBuf returns a buffer of n float32s starting on a 64-byte boundary
// (a cache line, and the alignment of a 512-bit load): the smallest cached
// one that is large enough, or a new one. Its contents are whatever the last
// user left.
func getPackBuf(n int) *[]float32 {
	packCache.Lock()
	best := -1
	for i, p := range packCache.free {
		if cap(*p) >= n && (best < 0 || cap(*p) < cap(*packCache.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		p := packCache.free[best]
		last := len(packCache.free) - 1
		packCache.free[best] = packCache.free[last]
		packCache.free = packCache.free[:last]
		packCache.Unlock()
		*p = (*p)[:n]
		return p
	}
	packCache.Unlock()
	raw := make([]float32, n+16)
	off := int((64-uintptr(unsafe.Pointer(&raw[0]))%64)%64) / 4
	s := raw[off : off+n]
	return &s
}

// putPackBuf returns a buffer from getPackBuf to the cache.
func putPackBuf(p *[]float32) {
	if cap(*p) > packCacheLargest {
		return
	}
	packCache.Lock()
	defer packCache.Unlock()
	packCache.free = append(packCache.free, p)
	if len(packCache.free) > packCacheMax {
		small := 0
		for i, q := range packCache.free {
			if cap(*q) < cap(*packCache.free[small]) {
				small = i
			}
		}
		last := len(packCache.free) - 1
		packCache.free[small] = packCache.free[last]
		packCache.free[last] = nil
		packCache.free = packCache.free[:last]
	}
}

// sgemmPortable is Sgemm in plain Go, for CPUs without an assembly
// micro-kernel (and the purego build tag): written for clarity first, it
// runs at 4 to 8 GFLOP/s on a Zen 5 core. A is packed row-major if
// transposed, then each row of C is built either from axpy sweeps over the
// rows of B (the inner loop runs along C's row) or, when C has only a few
// columns, from dot products with the rows of Bᵀ (the inner loop runs along
// k, which is then the long dimension). It has no packing overhead, which
// makes it faster than the blocked driver with a plain-Go micro-kernel on
// the small products of the MLPs, and as fast on large ones.
func sgemmPortable(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || alpha == 0 {
		scaleMatrix(c, ldc, m, n, beta)
		return
	}
	if tA {
		a, lda = transposeRows(a, lda, k, m), k
	}
	dotForm := n < 16
	switch {
	case dotForm && !tB:
		b, ldb = transposeRows(b, ldb, k, n), k
	case !dotForm && tB:
		b, ldb = transposeRows(b, ldb, n, k), n
	}
	// Rows are independent, so chunks only need enough work to pay for a goroutine.
	grain := max(1, 65536/max(1, n*k))
	parallelFor(m, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			crow := c[i*ldc : i*ldc+n]
			switch beta {
			case 0:
				clear(crow)
			case 1:
			default:
				for j := range crow {
					crow[j] *= beta
				}
			}
			arow := a[i*lda : i*lda+k]
			if dotForm {
				for j := range crow {
					crow[j] += alpha * dotf32(arow, b[j*ldb:j*ldb+k])
				}
				continue
			}
			for p, av := range arow {
				av *= alpha
				if av == 0 {
					continue
				}
				axpy(crow, av, b[p*ldb:p*ldb+n])
			}
		}
	})
}

// dotf32 is the inner product of x and y, with four partial sums.
func dotf32(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds a*x to y; unrolled by four because it is the inner loop of
// sgemmPortable, of the elementwise Axpy and of the col2im scatter.
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// transposeRows returns the cols×rows row-major transpose of the rows×cols
// matrix src stored with row stride ld.
func transposeRows(src []float32, ld, rows, cols int) []float32 {
	dst := make([]float32, rows*cols)
	parallelFor(cols, 64, func(lo, hi int) {
		for r := 0; r < rows; r++ {
			row := src[r*ld : r*ld+cols]
			for j := lo; j < hi; j++ {
				dst[j*rows+r] = row[j]
			}
		}
	})
	return dst
}
