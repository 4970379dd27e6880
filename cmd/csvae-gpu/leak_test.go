package main

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/classifier"
)

// probeDirection's promise, checked through the regression's own
// probabilities: the logit of a row moved by t·s·u/|u|² rises by t·s, s
// is the pooled within-class standard deviation of the logits, and the
// class means of the logits are gap·s apart.
func TestProbeDirection(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var x [][]float64
	var y []int
	for i := range 400 {
		c := i % 2
		// Two informative units on very different scales and a noise unit.
		x = append(x, []float64{float64(c)*0.8 + r.NormFloat64(), 5 + 0.1*float64(c) + 0.05*r.NormFloat64(), 3 * r.NormFloat64()})
		y = append(y, c)
	}
	l, err := classifier.FitLogistic(x, y, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	logit := func(v []float64) float64 { p := l.Prob(v); return math.Log(p / (1 - p)) }
	u, s, gap := probeDirection(l, x, y)
	uu := 0.0
	for _, v := range u {
		uu += v * v
	}
	for _, step := range []float64{-3, 0.5, 2} {
		row := x[7]
		moved := make([]float64, len(row))
		for c := range row {
			moved[c] = row[c] + step*s*u[c]/uu
		}
		if got, want := logit(moved)-logit(row), step*s; math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("moving %g sd changed the logit by %g, want %g", step, got, want)
		}
	}
	var sum [2]float64
	var cnt [2]int
	for i, row := range x {
		sum[y[i]] += logit(row)
		cnt[y[i]]++
	}
	ss := 0.0
	for i, row := range x {
		d := logit(row) - sum[y[i]]/float64(cnt[y[i]])
		ss += d * d
	}
	if want := math.Sqrt(ss / float64(len(x)-2)); math.Abs(s-want) > 1e-6*want {
		t.Errorf("within-class sd %g, want %g (of the logits)", s, want)
	}
	if want := (sum[1]/float64(cnt[1]) - sum[0]/float64(cnt[0])) / s; math.Abs(gap-want) > 1e-6*math.Abs(want) || !(gap > 0) {
		t.Errorf("class means %g sd apart, want %g (of the logits), and positive", gap, want)
	}
	if !(s > 0) {
		t.Errorf("within-class sd %g", s)
	}
}
