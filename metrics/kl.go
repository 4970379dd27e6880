// Package metrics holds measurements on the latent codes learned by a VAE.
//
// The main entry point is KLDivergence1NN, the 1-nearest-neighbour estimator
// of the Kullback-Leibler divergence D(P||Q) between two distributions known
// only through samples (Wang, Kulkarni & Verdú, 2009, "Divergence estimation
// for multidimensional densities via k-nearest-neighbor distances", IEEE
// Trans. Inf. Theory 55(5), with k = 1). KLFromLabels applies it to the two
// label groups of a set of latent codes.
package metrics

import (
	"errors"
	"fmt"
	"math"
)

// KLDivergence1NN estimates the Kullback-Leibler divergence D(P||Q), in nats,
// from the samples p ~ P and q ~ Q with the k = 1 nearest-neighbour estimator
// of Wang, Kulkarni & Verdú (2009):
//
//	D̂ = (d/n) Σ_i log(ν(i)/ρ(i)) + log(m/(n−1))
//
// where n = len(p), m = len(q), d is the dimension of the rows, ρ(i) is the
// Euclidean distance from p[i] to its nearest neighbour among the other rows
// of p, and ν(i) the distance from p[i] to its nearest neighbour in q. The
// estimate is consistent but noisy and can be negative for finite samples.
//
// Requirements: p and q are non-empty, len(p) ≥ 2, every row of both has the
// same length d ≥ 1, and every value is finite. Violations return an error
// that names the sample ("p" or "q") and, for bad values, the row and column.
//
// Exact duplicates: a point p[i] whose ρ(i) = 0 (it has an exact copy
// elsewhere in p) or ν(i) = 0 (it also occurs in q) would contribute ±Inf. Such
// points are skipped: the sum runs over the remaining n' points and is divided
// by n' instead of n, i.e. the first term is d times the mean of the finite
// log ratios. The correction term keeps the full sample sizes, log(m/(n−1)),
// because the distances of the kept points are still measured against all of
// p and q. If no point is left (n' = 0) an error is returned. The rule is
// deterministic: which points are skipped does not depend on the order of
// the rows (reordering p changes the result only by summation rounding).
// Distances so small that their square underflows to zero count as
// duplicates.
//
// The nearest-neighbour searches are exact: a k-d tree when d ≤ 8 and a
// tiled brute-force scan otherwise, both parallelised over
// runtime.GOMAXPROCS(0) goroutines. Every per-point distance is computed the
// same way whatever the number of goroutines and the logs are summed
// sequentially in index order, so the result is bit-for-bit reproducible.
func KLDivergence1NN(p, q [][]float64) (float64, error) {
	d, err := validatePair(p, q)
	if err != nil {
		return 0, err
	}
	return kl1NN(flatten(p, d), flatten(q, d), d, defaultWorkers())
}

// KLFromLabels splits the rows of latents by label and returns the estimate
// D(label 1 || label 0) of KLDivergence1NN, with the rows labelled 1 as p and
// the rows labelled 0 as q. Labels must be 0 or 1, len(labels) must equal
// len(latents), and each group must hold at least 2 rows (so that the
// estimate is defined in both directions); otherwise an error is returned.
// Rows are validated as in KLDivergence1NN, with errors naming the sample
// "latents" and the original row index.
func KLFromLabels(latents [][]float64, labels []int) (float64, error) {
	if len(latents) != len(labels) {
		return 0, fmt.Errorf("metrics: KLFromLabels: %d latent rows but %d labels", len(latents), len(labels))
	}
	d, err := validateSample("latents", latents)
	if err != nil {
		return 0, err
	}
	var n1, n0 int
	for i, l := range labels {
		switch l {
		case 0:
			n0++
		case 1:
			n1++
		default:
			return 0, fmt.Errorf("metrics: KLFromLabels: label %d at row %d; labels must be 0 or 1", l, i)
		}
	}
	if n1 < 2 || n0 < 2 {
		return 0, fmt.Errorf("metrics: KLFromLabels: need at least 2 rows per label, got %d with label 1 and %d with label 0", n1, n0)
	}
	p := make([]float64, 0, n1*d)
	q := make([]float64, 0, n0*d)
	for i, row := range latents {
		if labels[i] == 1 {
			p = append(p, row...)
		} else {
			q = append(q, row...)
		}
	}
	return kl1NN(p, q, d, defaultWorkers())
}

// kl1NN evaluates the estimator on validated, flattened (row-major) samples.
func kl1NN(p, q []float64, d, workers int) (float64, error) {
	n, m := len(p)/d, len(q)/d
	rho2 := nearestSq(p, p, d, true, workers)
	nu2 := nearestSq(p, q, d, false, workers)
	var sum float64
	used := 0
	for i := range n { // fixed order: reproducible whatever the worker count
		if rho2[i] == 0 || nu2[i] == 0 {
			continue
		}
		sum += 0.5 * (math.Log(nu2[i]) - math.Log(rho2[i]))
		used++
	}
	if used == 0 {
		return 0, errors.New("metrics: KLDivergence1NN: every point of p has an exact duplicate in p or q (zero nearest-neighbour distance); the estimate is undefined")
	}
	est := float64(d)*sum/float64(used) + math.Log(float64(m)/float64(n-1))
	if math.IsNaN(est) || math.IsInf(est, 0) {
		return 0, fmt.Errorf("metrics: KLDivergence1NN: non-finite estimate %v (squared distances overflow float64; rescale the data)", est)
	}
	return est, nil
}

func validatePair(p, q [][]float64) (int, error) {
	if len(p) < 2 {
		return 0, fmt.Errorf("metrics: KLDivergence1NN: sample p has %d rows, need at least 2", len(p))
	}
	if len(q) == 0 {
		return 0, errors.New("metrics: KLDivergence1NN: sample q is empty")
	}
	d, err := validateSample("p", p)
	if err != nil {
		return 0, err
	}
	dq, err := validateSample("q", q)
	if err != nil {
		return 0, err
	}
	if dq != d {
		return 0, fmt.Errorf("metrics: KLDivergence1NN: sample p has dimension %d but sample q has dimension %d", d, dq)
	}
	return d, nil
}

// validateSample checks that x is non-empty, rectangular with d ≥ 1 columns
// and finite, and returns d.
func validateSample(name string, x [][]float64) (int, error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("metrics: sample %s is empty", name)
	}
	d := len(x[0])
	if d == 0 {
		return 0, fmt.Errorf("metrics: sample %s has dimension 0 (row 0 is empty)", name)
	}
	for i, row := range x {
		if len(row) != d {
			return 0, fmt.Errorf("metrics: sample %s row %d has %d columns, want %d (as row 0)", name, i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("metrics: sample %s row %d column %d is %v", name, i, j, v)
			}
		}
	}
	return d, nil
}

func flatten(x [][]float64, d int) []float64 {
	out := make([]float64, 0, len(x)*d)
	for _, row := range x {
		out = append(out, row...)
	}
	return out
}
