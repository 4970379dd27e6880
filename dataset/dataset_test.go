package dataset

import (
	"math"
	"slices"
	"testing"
)

func TestSwissRoll(t *testing.T) {
	train, test := SwissRollSplits(7)
	if train.Len() != 10000 || test.Len() != 10000 || train.Dim() != 3 {
		t.Fatalf("sizes %d/%d dim %d, want 10000/10000 dim 3", train.Len(), test.Len(), train.Dim())
	}
	pos := 0
	for i := range train.Len() {
		x1, x2, x3 := float64(train.X[3*i]), float64(train.X[3*i+1]), float64(train.X[3*i+2])
		// Every point lies on the roll: t = |(x1,x3)| in [1.5π, 4.5π], angle t.
		tt := math.Hypot(x1, x3)
		if tt < 1.5*math.Pi-1e-4 || tt > 4.5*math.Pi+1e-4 {
			t.Fatalf("point %d: radius %g outside [1.5π, 4.5π]", i, tt)
		}
		if d := math.Abs(math.Remainder(math.Atan2(x3, x1)-tt, 2*math.Pi)); d > 1e-3 {
			t.Fatalf("point %d: angle differs from radius by %g", i, d)
		}
		if x2 < 0 || x2 > 21 {
			t.Fatalf("point %d: height %g outside [0, 21]", i, x2)
		}
		if (x1 >= 10) != (train.Y[i] == 1) {
			t.Fatalf("point %d: x1=%g label %g", i, x1, train.Y[i])
		}
		pos += int(train.Y[i])
	}
	// Only part of the outer turn reaches x1 >= 10: about 9% of the points
	// (t cos t >= 10 for t in [11.5, 13.5] or so, out of t in [4.7, 14.1]).
	if frac := float64(pos) / 10000; frac < 0.05 || frac > 0.15 {
		t.Errorf("share of label 1 is %.3f, expected about 0.09", frac)
	}
	again, _ := SwissRollSplits(7)
	if !slices.Equal(again.X, train.X) {
		t.Error("the same seed gave different points")
	}
	other, _ := SwissRollSplits(8)
	if slices.Equal(other.X[:30], train.X[:30]) || slices.Equal(test.X[:30], train.X[:30]) {
		t.Error("different seeds or splits gave the same points")
	}
}

func TestBatches(t *testing.T) {
	b := Batches(10, 4, false, 1, 0)
	if len(b) != 3 || len(b[2]) != 2 || b[0][0] != 0 || b[2][1] != 9 {
		t.Fatalf("unshuffled batches %v", b)
	}
	s1 := Batches(1000, 100, true, 5, 3)
	s2 := Batches(1000, 100, true, 5, 3)
	s3 := Batches(1000, 100, true, 5, 4)
	seen := make([]bool, 1000)
	for _, batch := range s1 {
		for _, i := range batch {
			if seen[i] {
				t.Fatalf("index %d twice in one epoch", i)
			}
			seen[i] = true
		}
	}
	if !slices.Equal(s1[0], s2[0]) {
		t.Error("same seed and epoch gave different orders")
	}
	if slices.Equal(s1[0], s3[0]) {
		t.Error("consecutive epochs gave the same order")
	}
}

func TestStandardize(t *testing.T) {
	train, test := SwissRollSplits(3)
	raw := slices.Clone(test.X)
	mean, std := Standardize(train, test)
	for j := range 3 {
		m, v := 0.0, 0.0
		for i := range train.Len() {
			x := float64(train.X[3*i+j])
			m += x
			v += x * x
		}
		m /= float64(train.Len())
		v = v/float64(train.Len()) - m*m
		if math.Abs(m) > 1e-5 || math.Abs(v-1) > 1e-4 {
			t.Errorf("column %d: mean %g variance %g after standardizing", j, m, v)
		}
	}
	// The test split uses the training statistics.
	if got, want := float64(test.X[4]), (float64(raw[4])-mean[1])/std[1]; math.Abs(got-want) > 1e-5 {
		t.Errorf("test value %g, want %g", got, want)
	}
}
