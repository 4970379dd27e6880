package dataset

import (
	"math"
	"slices"
	"testing"
)

// comboSplit holds two attributes whose four combinations occur 600, 300,
// 90 and 10 times: a correlated pair with one rare combination.
func comboSplit() *Memory {
	counts := map[[2]int]int{{0, 0}: 600, {1, 1}: 300, {1, 0}: 90, {0, 1}: 10}
	m := &Memory{D: 1, Names: []string{"A", "B"}}
	for _, c := range [][2]int{{0, 0}, {1, 1}, {1, 0}, {0, 1}} {
		for range counts[c] {
			m.X = append(m.X, float32(len(m.X)))
			m.Y = append(m.Y, float32(c[0]), float32(c[1]))
		}
	}
	return m
}

func TestBalanceWeights(t *testing.T) {
	s := comboSplit()
	shareOf := func(w []float64, a, b int) float64 {
		sum := 0.0
		for i := range w {
			if int(s.Y[2*i]) == a && int(s.Y[2*i+1]) == b {
				sum += w[i]
			}
		}
		return sum
	}
	for _, tc := range []struct {
		power float64
		want  map[[2]int]float64 // each combination's share of the draws
	}{
		{0, map[[2]int]float64{{0, 0}: 0.6, {1, 1}: 0.3, {1, 0}: 0.09, {0, 1}: 0.01}},
		{1, map[[2]int]float64{{0, 0}: 0.25, {1, 1}: 0.25, {1, 0}: 0.25, {0, 1}: 0.25}},
		// Shares proportional to sqrt(count): 600^½ : 300^½ : 90^½ : 10^½.
		{0.5, func() map[[2]int]float64 {
			r := []float64{math.Sqrt(600), math.Sqrt(300), math.Sqrt(90), math.Sqrt(10)}
			z := r[0] + r[1] + r[2] + r[3]
			return map[[2]int]float64{{0, 0}: r[0] / z, {1, 1}: r[1] / z, {1, 0}: r[2] / z, {0, 1}: r[3] / z}
		}()},
	} {
		w, combos, err := BalanceWeights(s, tc.power)
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, v := range w {
			total += v
		}
		if math.Abs(total-1) > 1e-12 {
			t.Errorf("power %g: weights sum to %g, want 1", tc.power, total)
		}
		for c, want := range tc.want {
			if got := shareOf(w, c[0], c[1]); math.Abs(got-want) > 1e-12 {
				t.Errorf("power %g: combination %v drawn with probability %g, want %g", tc.power, c, got, want)
			}
		}
		wantOrder := [][]int{{0, 0}, {1, 1}, {1, 0}, {0, 1}}
		for i, c := range combos {
			if !slices.Equal(c.Labels, wantOrder[i]) || math.Abs(c.Share-tc.want[[2]int{c.Labels[0], c.Labels[1]}]) > 1e-12 {
				t.Errorf("power %g: combination %d is %v (count %d, share %g), want %v first-to-last by count with share %g",
					tc.power, i, c.Labels, c.Count, c.Share, wantOrder[i], tc.want[[2]int{wantOrder[i][0], wantOrder[i][1]}])
			}
		}
	}
	if got := combosString(s); got != "A=1 B=0" {
		t.Errorf("combination name %q, want %q", got, "A=1 B=0")
	}
	for _, p := range []float64{-0.1, 1.5, math.NaN()} {
		if _, _, err := BalanceWeights(s, p); err == nil {
			t.Errorf("power %g accepted", p)
		}
	}
}

func combosString(s *Memory) string {
	_, combos, _ := BalanceWeights(s, 1)
	return combos[2].String(s.Names)
}

func TestWeightedBatches(t *testing.T) {
	p := []float64{0.5, 0, 0.3, 0.2}
	n := 4
	// Repeat the four probabilities so that an epoch holds enough draws to
	// compare their frequencies with p.
	var big []float64
	for range 5000 {
		for _, v := range p {
			big = append(big, v/5000)
		}
	}
	b := WeightedBatches(big, 64, 9, 2)
	drawn, count := 0, make([]int, n)
	for i, batch := range b {
		if i < len(b)-1 && len(batch) != 64 {
			t.Fatalf("batch %d holds %d, want 64", i, len(batch))
		}
		for _, j := range batch {
			count[j%n]++
			drawn++
		}
	}
	if drawn != len(big) {
		t.Fatalf("an epoch drew %d examples, want %d", drawn, len(big))
	}
	if count[1] != 0 {
		t.Errorf("an example of probability 0 was drawn %d times", count[1])
	}
	for j, want := range p {
		// Five standard errors of a share over 20,000 draws.
		got := float64(count[j]) / float64(drawn)
		if se := math.Sqrt(want * (1 - want) / float64(drawn)); math.Abs(got-want) > 5*se+1e-12 {
			t.Errorf("example class %d drawn at rate %.4f, want %.4f", j, got, want)
		}
	}
	if again := WeightedBatches(big, 64, 9, 2); !slices.Equal(slices.Concat(again...), slices.Concat(b...)) {
		t.Error("the same seed and epoch drew other batches")
	}
	if other := WeightedBatches(big, 64, 9, 3); slices.Equal(slices.Concat(other...), slices.Concat(b...)) {
		t.Error("another epoch drew the same batches")
	}
}
