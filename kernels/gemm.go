package kernels

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(A) is m×k, op(B) is k×n and C is m×n; op transposes when tA or tB is
// set, and lda, ldb, ldc are row strides as stored. With beta == 0, C is
// overwritten without being read, so stale NaNs in C cannot leak through.
//
// It is the one matrix product behind dense layers (and, later, the
// convolutions' implicit GEMM), so it is written for clarity first: A is
// packed row-major if transposed, then each row of C is built either from
// axpy sweeps over the rows of B (the inner loop runs along C's row) or, when
// C has only a few columns, from dot products with the rows of Bᵀ (the
// inner loop runs along k, which is then the long dimension).
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if tA {
		a, lda = transpose(a, lda, k, m), k
	}
	dotForm := n < 16
	switch {
	case dotForm && !tB:
		b, ldb = transpose(b, ldb, k, n), k
	case !dotForm && tB:
		b, ldb = transpose(b, ldb, n, k), n
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
					crow[j] += alpha * dot(arow, b[j*ldb:j*ldb+k])
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

// dot is the inner product of x and y, with four partial sums.
func dot(x, y []float32) float32 {
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

// axpy adds a*x to y; unrolled by four because it is the inner loop of Sgemm.
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

// transpose returns the cols×rows row-major transpose of the rows×cols matrix
// src stored with row stride ld.
func transpose(src []float32, ld, rows, cols int) []float32 {
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
