package dataset

import (
	"math"
	"math/rand/v2"
)

// Swiss roll sizes of the reference study.
const SwissRollSize = 10000

// SwissRoll draws n points of the swiss roll, as sklearn's make_swiss_roll
// without noise: t = 1.5π(1+2u), x = (t cos t, 21v, t sin t), u, v ~ U(0,1),
// with the label y = [x1 >= 10]. The points are a pure function of seed.
func SwissRoll(n int, seed uint64) *Memory {
	r := rand.New(rand.NewPCG(seed, 0x5157))
	m := &Memory{X: make([]float32, 3*n), Y: make([]float32, n), D: 3, Names: []string{"x1>=10"}}
	for i := range n {
		t := 1.5 * math.Pi * (1 + 2*r.Float64())
		v := r.Float64()
		x1 := t * math.Cos(t)
		m.X[3*i], m.X[3*i+1], m.X[3*i+2] = float32(x1), float32(21*v), float32(t*math.Sin(t))
		if x1 >= 10 {
			m.Y[i] = 1
		}
	}
	return m
}

// SwissRollSplits returns the 10,000 training and 10,000 test points of
// seed; the two are drawn from different streams, so they never coincide.
func SwissRollSplits(seed uint64) (train, test *Memory) {
	return SwissRoll(SwissRollSize, 2*seed), SwissRoll(SwissRollSize, 2*seed+1)
}
