package classifier

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A label that depends on one feature of twenty is found; a label drawn
// apart from the features is not (accuracy at the majority rate, balanced
// accuracy near 1/2).
func TestLogistic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	draw := func(n int, informative bool) ([][]float64, []int) {
		x, y := make([][]float64, n), make([]int, n)
		for i := range x {
			x[i] = make([]float64, 20)
			for j := range x[i] {
				x[i][j] = r.NormFloat64() * float64(j+1)
			}
			if informative {
				if x[i][7]+r.NormFloat64() > 12 { // rare: about 7%
					y[i] = 1
				}
			} else if r.Float64() < 0.1 {
				y[i] = 1
			}
		}
		return x, y
	}
	for _, informative := range []bool{true, false} {
		x, y := draw(3000, informative)
		xt, yt := draw(2000, informative)
		l, err := FitLogistic(x, y, false, 1)
		if err != nil {
			t.Fatal(err)
		}
		acc, _ := l.Accuracy(xt, yt)
		lb, err := FitLogistic(x, y, true, 1)
		if err != nil {
			t.Fatal(err)
		}
		_, bal := lb.Accuracy(xt, yt)
		pos := 0
		for _, v := range yt {
			pos += v
		}
		chance := math.Max(float64(pos), float64(len(yt)-pos)) / float64(len(yt))
		t.Logf("informative %v: accuracy %.3f (chance %.3f), balanced %.3f", informative, acc, chance, bal)
		if informative && (acc < chance+0.05 || bal < 0.85) {
			t.Errorf("informative label: accuracy %.3f against chance %.3f, balanced %.3f", acc, chance, bal)
		}
		if !informative && (math.Abs(acc-chance) > 0.02 || math.Abs(bal-0.5) > 0.06) {
			t.Errorf("uninformative label: accuracy %.3f against chance %.3f, balanced %.3f", acc, chance, bal)
		}
	}
}
