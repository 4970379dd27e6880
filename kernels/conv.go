package kernels

import "sync"

// ConvGeom is the shape of a 2-D convolution over NCHW tensors: x[N,C,H,W]
// convolved with w[K,C,R,S] (PyTorch's layout) at Stride and zero Pad gives
// y[N,K,OH,OW]. A transposed convolution is described by the geometry of
// the convolution it transposes: its input is that convolution's y, its
// output that convolution's x, and its weight [K,C,R,S] is exactly
// PyTorch's ConvTranspose2d weight [in, out, kH, kW].
type ConvGeom struct {
	N, C, H, W int
	K, R, S    int
	Stride     int
	Pad        int
}

// OH is the output height.
func (g ConvGeom) OH() int { return (g.H+2*g.Pad-g.R)/g.Stride + 1 }

// OW is the output width.
func (g ConvGeom) OW() int { return (g.W+2*g.Pad-g.S)/g.Stride + 1 }

// The convolutions are GEMMs over an unrolled input (im2col): col has one
// row per (c, r, s) and one column per (n, oh, ow), so one product
// w[K, CRS] · col[CRS, N·OH·OW] convolves the whole batch at once and the
// GEMM, not the unrolling, does the arithmetic.

func (g ConvGeom) crs() int  { return g.C * g.R * g.S }
func (g ConvGeom) cols() int { return g.N * g.OH() * g.OW() }

// scratch keeps the large unrolled buffers between calls: a short free list
// rather than a sync.Pool, which the collector empties at every cycle and
// which then makes training reallocate tens of megabytes per layer.
var scratch struct {
	sync.Mutex
	free [][]float32
}

// getScratch returns a buffer of n values, the smallest free one that fits.
func getScratch(n int) []float32 {
	scratch.Lock()
	defer scratch.Unlock()
	best := -1
	for i, b := range scratch.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(scratch.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return make([]float32, n)
	}
	b := scratch.free[best]
	scratch.free = append(scratch.free[:best], scratch.free[best+1:]...)
	return b[:n]
}

// putScratch gives a buffer back; the list keeps the four largest.
func putScratch(b []float32) {
	scratch.Lock()
	defer scratch.Unlock()
	scratch.free = append(scratch.free, b)
	if len(scratch.free) > 4 {
		small := 0
		for i, f := range scratch.free {
			if cap(f) < cap(scratch.free[small]) {
				small = i
			}
		}
		scratch.free = append(scratch.free[:small], scratch.free[small+1:]...)
	}
}

// validCols returns the output columns [lo, hi) whose input column
// j*stride - pad + s falls inside a row of width w: outside them the
// unrolled value is zero padding, so the inner loops need no bounds tests.
func validCols(ow, stride, pad, s, w int) (lo, hi int) {
	lo = max(0, (pad-s+stride-1)/stride)
	hi = min(ow, (w-1+pad-s)/stride+1)
	return lo, max(lo, hi)
}

// im2col fills col[CRS, N·OH·OW] from x.
func im2col(col, x []float32, g ConvGeom) {
	oh, ow := g.OH(), g.OW()
	ncols := g.cols()
	parallelFor(g.crs(), 1, func(lo, hi int) {
		for row := lo; row < hi; row++ {
			c, r, s := row/(g.R*g.S), row/g.S%g.R, row%g.S
			jlo, jhi := validCols(ow, g.Stride, g.Pad, s, g.W)
			dst := col[row*ncols : (row+1)*ncols]
			for n := 0; n < g.N; n++ {
				plane := x[(n*g.C+c)*g.H*g.W : (n*g.C+c+1)*g.H*g.W]
				for i := 0; i < oh; i++ {
					d := dst[(n*oh+i)*ow : (n*oh+i+1)*ow]
					ih := i*g.Stride - g.Pad + r
					if ih < 0 || ih >= g.H || jlo == jhi {
						clear(d)
						continue
					}
					clear(d[:jlo])
					clear(d[jhi:])
					src := plane[ih*g.W : (ih+1)*g.W]
					iw := jlo*g.Stride - g.Pad + s
					if g.Stride == 1 {
						copy(d[jlo:jhi], src[iw:])
						continue
					}
					dd := d[jlo:jhi]
					src = src[iw : iw+(len(dd)-1)*g.Stride+1]
					for j := range dd {
						dd[j] = src[j*g.Stride]
					}
				}
			}
		}
	})
}

// col2im adds col[CRS, N·OH·OW] back into x, the adjoint of im2col. Work is
// split by (n, c) planes so that no two goroutines write the same value.
func col2im(x, col []float32, g ConvGeom) {
	oh, ow := g.OH(), g.OW()
	ncols := g.cols()
	parallelFor(g.N*g.C, 1, func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, c := nc/g.C, nc%g.C
			plane := x[nc*g.H*g.W : (nc+1)*g.H*g.W]
			for r := 0; r < g.R; r++ {
				for s := 0; s < g.S; s++ {
					row := (c*g.R+r)*g.S + s
					src := col[row*ncols+n*oh*ow : row*ncols+(n+1)*oh*ow]
					for i := 0; i < oh; i++ {
						ih := i*g.Stride - g.Pad + r
						if ih < 0 || ih >= g.H {
							continue
						}
						jlo, jhi := validCols(ow, g.Stride, g.Pad, s, g.W)
						if jlo == jhi {
							continue
						}
						iw := jlo*g.Stride - g.Pad + s
						vals := src[i*ow+jlo : i*ow+jhi]
						dst := plane[ih*g.W+iw : ih*g.W+iw+(len(vals)-1)*g.Stride+1]
						for j, v := range vals {
							dst[j*g.Stride] += v
						}
					}
				}
			}
		}
	})
}

// toNCHW reorders a [K, N·P] GEMM result into y[N,K,P], adding it to y when
// accumulate is set.
func toNCHW(y, t []float32, n, k, p int, accumulate bool) {
	parallelFor(n*k, max(1, elemGrain/max(1, p)), func(lo, hi int) {
		for nk := lo; nk < hi; nk++ {
			i, c := nk/k, nk%k
			dst, src := y[nk*p:(nk+1)*p], t[(c*n+i)*p:(c*n+i+1)*p]
			if accumulate {
				axpy(dst, 1, src)
			} else {
				copy(dst, src)
			}
		}
	})
}

// fromNCHW reorders y[N,K,P] into t[K, N·P].
func fromNCHW(t, y []float32, n, k, p int) {
	parallelFor(n*k, max(1, elemGrain/max(1, p)), func(lo, hi int) {
		for nk := lo; nk < hi; nk++ {
			i, c := nk/k, nk%k
			copy(t[(c*n+i)*p:(c*n+i+1)*p], y[nk*p:(nk+1)*p])
		}
	})
}

// ConvForward computes y = conv(x, w) + b; b may be nil.
func ConvForward(y, x, w, b []float32, g ConvGeom) {
	p := g.OH() * g.OW()
	col := getScratch(g.crs() * g.cols())
	im2col(col, x, g)
	t := getScratch(g.K * g.cols())
	Sgemm(false, false, g.K, g.cols(), g.crs(), 1, w, g.crs(), col, g.cols(), 0, t, g.cols())
	toNCHW(y, t, g.N, g.K, p, false)
	putScratch(col)
	putScratch(t)
	if b != nil {
		AddChannelBias(y, b, g.N, g.K, p)
	}
}

// ConvBackwardData computes dx = convᵀ(dy, w), the gradient of the input,
// or adds it to dx with accumulate. It is also a transposed convolution's
// forward pass.
func ConvBackwardData(dx, dy, w []float32, g ConvGeom, accumulate bool) {
	p := g.OH() * g.OW()
	t := getScratch(g.K * g.cols())
	fromNCHW(t, dy, g.N, g.K, p)
	col := getScratch(g.crs() * g.cols())
	Sgemm(true, false, g.crs(), g.cols(), g.K, 1, w, g.crs(), t, g.cols(), 0, col, g.cols())
	if !accumulate {
		clear(dx[:g.N*g.C*g.H*g.W])
	}
	col2im(dx, col, g)
	putScratch(col)
	putScratch(t)
}

// ConvBackwardFilter accumulates dw += the gradient of the weights and,
// when db is not nil, db += the gradient of the bias.
func ConvBackwardFilter(dw, db, dy, x []float32, g ConvGeom) {
	p := g.OH() * g.OW()
	t := getScratch(g.K * g.cols())
	fromNCHW(t, dy, g.N, g.K, p)
	col := getScratch(g.crs() * g.cols())
	im2col(col, x, g)
	Sgemm(false, true, g.K, g.crs(), g.cols(), 1, t, g.cols(), col, g.cols(), 1, dw, g.crs())
	putScratch(col)
	putScratch(t)
	if db != nil {
		ChannelBiasBackward(db, dy, g.N, g.K, p)
	}
}

// AddChannelBias adds b[c] to every value of channel c of y[N,C,P].
func AddChannelBias(y, b []float32, n, c, p int) {
	parallelFor(n*c, max(1, elemGrain/max(1, p)), func(lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			v := b[nc%c]
			row := y[nc*p : (nc+1)*p]
			for i := range row {
				row[i] += v
			}
		}
	})
}

// ChannelBiasBackward accumulates into db[c] the sum of channel c of
// dy[N,C,P], in float64.
func ChannelBiasBackward(db, dy []float32, n, c, p int) {
	parallelFor(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			s := 0.0
			for i := 0; i < n; i++ {
				for _, v := range dy[(i*c+ch)*p : (i*c+ch+1)*p] {
					s += float64(v)
				}
			}
			db[ch] += float32(s)
		}
	})
}
