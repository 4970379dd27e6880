package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// Combo is one combination of a split's labels and how many examples
// carry it.
type Combo struct {
	Labels []int // one 0 or 1 per attribute, in the split's order
	Count  int
	// Share is the combination's share of the examples drawn by
	// BalanceWeights' sampling; Count/n is its share of the data.
	Share float64
}

// String names the combination by its attributes, e.g. "Male=1 Heavy_Makeup=0".
func (c Combo) String(attrs []string) string {
	parts := make([]string, len(c.Labels))
	for i, v := range c.Labels {
		parts[i] = fmt.Sprintf("%s=%d", attrs[i], v)
	}
	return strings.Join(parts, " ")
}

// BalanceWeights returns the probability with which each example of s is
// drawn when examples of a rare label combination are favoured: every
// example's weight is (count of its combination)^−power, normalised to sum
// to 1. Power 0 is uniform sampling; 1 draws every combination present
// equally often. Attributes correlated in the data (Male and Heavy_Makeup,
// say) leave the decoder few examples of their rare combinations, which an
// edit asks for; this shows it more of them. It also returns the
// combinations, most common first.
func BalanceWeights(s Split, power float64) ([]float64, []Combo, error) {
	if !(power >= 0 && power <= 1) {
		return nil, nil, fmt.Errorf("balance power must be in [0, 1], got %g", power)
	}
	n, k := s.Len(), len(s.Attrs())
	if n == 0 {
		return nil, nil, fmt.Errorf("balance: the split has no examples")
	}
	if k > 30 {
		return nil, nil, fmt.Errorf("balance: %d attributes is more than 30 (the combinations are keyed by a bit each)", k)
	}
	key := make([]uint32, n)
	for a := range k {
		for i, v := range Labels(s, a) {
			key[i] |= uint32(v) << a
		}
	}
	count := map[uint32]int{}
	for _, c := range key {
		count[c]++
	}
	w := make([]float64, n)
	sum := 0.0
	for i, c := range key {
		w[i] = math.Pow(float64(count[c]), -power)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	combos := make([]Combo, 0, len(count))
	for c, m := range count {
		labels := make([]int, k)
		for a := range k {
			labels[a] = int(c>>a) & 1
		}
		combos = append(combos, Combo{Labels: labels, Count: m, Share: float64(m) * math.Pow(float64(m), -power) / sum})
	}
	slices.SortFunc(combos, func(a, b Combo) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return slices.Compare(a.Labels, b.Labels)
	})
	return w, combos, nil
}

// WeightedBatches is Batches for weighted sampling: len(p) examples drawn
// with replacement with probabilities p (summing to 1), split into batches
// of at most size. The draw depends on (seed, epoch) alone, so a resumed
// run sees the batches an uninterrupted one would have.
func WeightedBatches(p []float64, size int, seed uint64, epoch int) [][]int {
	if size < 1 {
		panic(fmt.Sprintf("dataset: batch size %d", size))
	}
	n := len(p)
	cum := make([]float64, n)
	acc := 0.0
	for i, v := range p {
		acc += v
		cum[i] = acc
	}
	// A stream apart from Batches' shuffle of the same (seed, epoch).
	r := rand.New(rand.NewPCG(seed^0xBA1A_9CED_5A3F_1E00, uint64(epoch)+1))
	order := make([]int, n)
	for i := range order {
		u := r.Float64() * acc
		// The first example whose cumulative weight passes u: one of
		// weight 0 is never drawn.
		order[i] = min(sort.Search(n, func(j int) bool { return cum[j] > u }), n-1)
	}
	var out [][]int
	for lo := 0; lo < n; lo += size {
		out = append(out, order[lo:min(lo+size, n)])
	}
	return out
}
