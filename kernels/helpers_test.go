package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(r *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = scale * float32(r.NormFloat64())
	}
	return s
}

func sum64(s []float32) float64 {
	t := 0.0
	for _, v := range s {
		t += float64(v)
	}
	return t
}

func dot64(a, b []float32) float64 {
	t := 0.0
	for i := range a {
		t += float64(a[i]) * float64(b[i])
	}
	return t
}

// checkGrad compares an analytic gradient with central differences of f in
// every coordinate of x (or a sample of at most 40 of them). f is evaluated
// through the float32 kernels, so h must be large enough that rounding in
// the forward pass stays well below the tolerance; the tolerance is relative
// to max(1, |gradient|).
func checkGrad(t *testing.T, name string, x, analytic []float32, f func() float64, h, tol float64) {
	t.Helper()
	idx := make([]int, 0, len(x))
	step := max(1, len(x)/40)
	for i := 0; i < len(x); i += step {
		idx = append(idx, i)
	}
	worst := 0.0
	for _, i := range idx {
		orig := x[i]
		x[i] = orig + float32(h)
		fp := f()
		x[i] = orig - float32(h)
		fm := f()
		x[i] = orig
		num := (fp - fm) / (2 * h)
		err := math.Abs(num-float64(analytic[i])) / math.Max(1, math.Abs(num))
		worst = math.Max(worst, err)
		if err > tol || math.IsNaN(err) {
			t.Errorf("%s: d/dx[%d]: analytic %.6g, finite difference %.6g (rel err %.2g > %.2g)", name, i, analytic[i], num, err, tol)
			return
		}
	}
	t.Logf("%s: %d coordinates, worst relative error %.2g", name, len(idx), worst)
}

func closeTo(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}
