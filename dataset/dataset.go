// Package dataset holds the data csvae-gpu trains on: the swiss roll, and
// the batching shared by every source.
package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Split is one partition (train or test) of a dataset: examples of Dim
// values with K binary attributes each.
type Split interface {
	Len() int
	Dim() int
	Attrs() []string
	// Fill writes examples idx into x (len(idx)*Dim values) and their
	// attributes, 0 or 1, into y (len(idx)*K values).
	Fill(idx []int, x, y []float32)
}

// Memory is a Split held in memory.
type Memory struct {
	X, Y  []float32
	D     int
	Names []string
}

func (m *Memory) Len() int        { return len(m.X) / m.D }
func (m *Memory) Dim() int        { return m.D }
func (m *Memory) Attrs() []string { return m.Names }

func (m *Memory) Fill(idx []int, x, y []float32) {
	d, k := m.D, len(m.Names)
	for j, i := range idx {
		copy(x[j*d:(j+1)*d], m.X[i*d:(i+1)*d])
		copy(y[j*k:(j+1)*k], m.Y[i*k:(i+1)*k])
	}
}

// labeler is a Split that can read a label without decoding its example.
type labeler interface{ Label(i, a int) int }

// LabelRates returns the share of the examples of s with each attribute
// present (0 for an empty split).
func LabelRates(s Split) []float64 {
	rates := make([]float64, len(s.Attrs()))
	for a := range rates {
		pos := 0
		for _, v := range Labels(s, a) {
			pos += v
		}
		rates[a] = float64(pos) / float64(max(1, s.Len()))
	}
	return rates
}

// Labels returns attribute a of every example as 0 or 1.
func Labels(s Split, a int) []int {
	out := make([]int, s.Len())
	if label, ok := labelerOf(s); ok {
		for i := range out {
			out[i] = label(i, a)
		}
		return out
	}
	x, y := make([]float32, s.Dim()), make([]float32, len(s.Attrs()))
	for i := range out {
		s.Fill([]int{i}, x, y)
		if y[a] > 0.5 {
			out[i] = 1
		}
	}
	return out
}

// labelerOf returns a reader of s's labels that decodes no example, when s
// has one: its own, or, for a subset, its parent's at the subset's positions.
func labelerOf(s Split) (func(i, a int) int, bool) {
	switch s := s.(type) {
	case labeler:
		return s.Label, true
	case *subset:
		if label, ok := labelerOf(s.Split); ok {
			return func(i, a int) int { return label(s.idx[i], a) }, true
		}
	}
	return nil, false
}

// Batches splits a pass over n examples into batches of at most size. With
// shuffle set the order is a permutation drawn from (seed, epoch), so a run
// resumed at any epoch sees the batches an uninterrupted one would have; the
// last batch holds the remainder.
func Batches(n, size int, shuffle bool, seed uint64, epoch int) [][]int {
	if size < 1 {
		panic(fmt.Sprintf("dataset: batch size %d", size))
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if shuffle {
		r := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
		r.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var out [][]int
	for lo := 0; lo < n; lo += size {
		out = append(out, order[lo:min(lo+size, n)])
	}
	return out
}

// Standardize rescales every column of train and test to zero mean and unit
// variance using the training split's statistics, in place, and returns
// them. Networks then see inputs of order one whatever the data's units.
func Standardize(train, test *Memory) (mean, std []float64) {
	d, n := train.D, train.Len()
	mean, std = make([]float64, d), make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += float64(train.X[i*d+j])
		}
	}
	for j := range d {
		mean[j] /= float64(n)
	}
	for i := range n {
		for j := range d {
			e := float64(train.X[i*d+j]) - mean[j]
			std[j] += e * e
		}
	}
	for j := range d {
		std[j] = math.Sqrt(std[j] / float64(n))
		if std[j] == 0 {
			std[j] = 1
		}
	}
	for _, m := range []*Memory{train, test} {
		for i := range m.Len() {
			for j := range d {
				m.X[i*d+j] = float32((float64(m.X[i*d+j]) - mean[j]) / std[j])
			}
		}
	}
	return mean, std
}

// Subset is a Split of at most n examples of s, evenly spaced, for
// measurements that would be slow on a whole large split.
func Subset(s Split, n int) Split {
	if n >= s.Len() {
		return s
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i * s.Len() / n
	}
	return &subset{Split: s, idx: idx}
}

type subset struct {
	Split
	idx []int
}

func (s *subset) Len() int { return len(s.idx) }

func (s *subset) Fill(idx []int, x, y []float32) {
	m := make([]int, len(idx))
	for i, j := range idx {
		m[i] = s.idx[j]
	}
	s.Split.Fill(m, x, y)
}
