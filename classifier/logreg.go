package classifier

import (
	"fmt"
	"math"
)

// Logistic is a logistic regression on standardised features, fitted by
// Newton's method with a small ridge penalty: the "fresh classifier" that
// measures how much a latent code tells of an attribute (leakage).
type Logistic struct {
	Mean, SD []float64 // standardisation, from the training features
	W        []float64 // weights of the standardised features, then the bias
}

// FitLogistic fits P(y=1|x) = sigmoid(w·x + b) to rows x and labels y (0 or
// 1). With balanced set the examples are weighted so that both labels weigh
// the same in total (then the threshold 1/2 balances the two errors).
// lambda is the ridge penalty on w (not on b), in units of examples.
func FitLogistic(x [][]float64, y []int, balanced bool, lambda float64) (*Logistic, error) {
	n := len(x)
	if n == 0 || len(y) != n {
		return nil, fmt.Errorf("logistic regression: %d rows and %d labels", n, len(y))
	}
	d := len(x[0])
	l := &Logistic{Mean: make([]float64, d), SD: make([]float64, d), W: make([]float64, d+1)}
	for _, r := range x {
		for j, v := range r {
			l.Mean[j] += v
		}
	}
	for j := range d {
		l.Mean[j] /= float64(n)
	}
	for _, r := range x {
		for j, v := range r {
			l.SD[j] += (v - l.Mean[j]) * (v - l.Mean[j])
		}
	}
	for j := range d {
		l.SD[j] = math.Sqrt(l.SD[j] / float64(n))
		if l.SD[j] < 1e-12 {
			l.SD[j] = 1
		}
	}
	pos := 0
	for _, v := range y {
		pos += v
	}
	wt := [2]float64{1, 1}
	if balanced && pos > 0 && pos < n {
		wt[1], wt[0] = float64(n)/(2*float64(pos)), float64(n)/(2*float64(n-pos))
	}
	f := make([]float64, d+1) // one standardised row with a trailing 1
	row := func(i int) []float64 {
		for j := range d {
			f[j] = (x[i][j] - l.Mean[j]) / l.SD[j]
		}
		f[d] = 1
		return f
	}
	m := d + 1
	g, h := make([]float64, m), make([]float64, m*m)
	for range 50 {
		clear(g)
		clear(h)
		for i := range n {
			r := row(i)
			p := sigmoid64(dot(l.W, r))
			w := wt[y[i]]
			e := w * (p - float64(y[i]))
			c := w * max(p*(1-p), 1e-10)
			for a := range m {
				g[a] += e * r[a]
				ha := h[a*m:]
				for b := 0; b <= a; b++ {
					ha[b] += c * r[a] * r[b]
				}
			}
		}
		for a := range d {
			g[a] += lambda * l.W[a]
			h[a*m+a] += lambda
		}
		h[d*m+d] += 1e-9
		for a := range m {
			for b := a + 1; b < m; b++ {
				h[a*m+b] = h[b*m+a]
			}
		}
		step, err := cholSolve(h, g, m)
		if err != nil {
			return nil, fmt.Errorf("logistic regression: %v", err)
		}
		size := 0.0
		for a := range m {
			l.W[a] -= step[a]
			size = max(size, math.Abs(step[a]))
		}
		if size < 1e-8 {
			break
		}
	}
	return l, nil
}

// Prob is P(y=1|x).
func (l *Logistic) Prob(x []float64) float64 {
	d := len(l.Mean)
	s := l.W[d]
	for j := range d {
		s += l.W[j] * (x[j] - l.Mean[j]) / l.SD[j]
	}
	return sigmoid64(s)
}

// Accuracy is the share of rows whose decision (threshold 1/2) matches y,
// and the balanced accuracy (the mean of the true-positive and
// true-negative rates; the accuracy when one label is absent).
func (l *Logistic) Accuracy(x [][]float64, y []int) (acc, balanced float64) {
	var hit, tp, tn, pos, neg int
	for i, r := range x {
		p := 0
		if l.Prob(r) >= 0.5 {
			p = 1
		}
		if p == y[i] {
			hit++
		}
		if y[i] == 1 {
			pos++
			if p == 1 {
				tp++
			}
		} else {
			neg++
			if p == 0 {
				tn++
			}
		}
	}
	acc = float64(hit) / float64(max(1, len(x)))
	if pos == 0 || neg == 0 {
		return acc, acc
	}
	return acc, (float64(tp)/float64(pos) + float64(tn)/float64(neg)) / 2
}

func sigmoid64(s float64) float64 { return 1 / (1 + math.Exp(-s)) }

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// cholSolve solves h·x = g for a symmetric positive definite h (m x m,
// row-major; overwritten by its Cholesky factor).
func cholSolve(h, g []float64, m int) ([]float64, error) {
	for j := range m {
		s := h[j*m+j]
		for k := range j {
			s -= h[j*m+k] * h[j*m+k]
		}
		if !(s > 0) {
			return nil, fmt.Errorf("the Hessian is not positive definite")
		}
		h[j*m+j] = math.Sqrt(s)
		for i := j + 1; i < m; i++ {
			s := h[i*m+j]
			for k := range j {
				s -= h[i*m+k] * h[j*m+k]
			}
			h[i*m+j] = s / h[j*m+j]
		}
	}
	x := make([]float64, m)
	for i := range m {
		s := g[i]
		for k := range i {
			s -= h[i*m+k] * x[k]
		}
		x[i] = s / h[i*m+i]
	}
	for i := m - 1; i >= 0; i-- {
		s := x[i]
		for k := i + 1; k < m; k++ {
			s -= h[k*m+i] * x[k]
		}
		x[i] = s / h[i*m+i]
	}
	return x, nil
}
