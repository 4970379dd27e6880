package kernels

// A dense layer maps x[n,in] to y[n,out] = x·wᵀ + b with w stored [out,in].

// DenseForward computes y = x·wᵀ + b, or adds it to y when accumulate is set
// (a layer with several inputs is a sum of such products). b may be nil.
func DenseForward(y, x, w, b []float32, n, in, out int, accumulate bool) {
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	Sgemm(false, true, n, out, in, 1, x, in, w, in, beta, y, out)
	if b != nil {
		AddBias(y, b, n, out)
	}
}

// AddBias adds b[c] to every row of y[rows,c].
func AddBias(y, b []float32, rows, cols int) {
	parallelFor(rows, max(1, 8192/max(1, cols)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := y[i*cols : (i+1)*cols]
			for j := range row {
				row[j] += b[j]
			}
		}
	})
}

// DenseBackwardData computes dx = dy·w (or adds it with accumulate).
func DenseBackwardData(dx, dy, w []float32, n, in, out int, accumulate bool) {
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	Sgemm(false, false, n, in, out, 1, dy, out, w, in, beta, dx, in)
}

// DenseBackwardParams accumulates dw += dyᵀ·x and, when db is not nil,
// db += the column sums of dy.
func DenseBackwardParams(dw, db, dy, x []float32, n, in, out int) {
	Sgemm(true, false, out, in, n, 1, dy, out, x, in, 1, dw, in)
	if db != nil {
		BiasBackward(db, dy, n, out)
	}
}

// BiasBackward accumulates the column sums of dy[rows,cols] into db, summing
// each column in float64.
func BiasBackward(db, dy []float32, rows, cols int) {
	parallelFor(cols, 64, func(lo, hi int) {
		acc := make([]float64, hi-lo)
		for i := 0; i < rows; i++ {
			row := dy[i*cols+lo : i*cols+hi]
			for j, v := range row {
				acc[j] += float64(v)
			}
		}
		for j, s := range acc {
			db[lo+j] += float32(s)
		}
	})
}
