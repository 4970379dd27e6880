package model

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Extra adversary updates touch the adversary only: the same batch and
// initialisation give the same main parameters and reported losses with one
// adversary step or four, and different adversary parameters.
func TestAdvStepsTouchOnlyTheAdversary(t *testing.T) {
	cfg := DefaultConfig("csvae")
	cfg.Hidden, cfg.Batch = 8, 16
	nets := map[int]*Net{}
	for _, steps := range []int{0, 4} {
		c := cfg
		c.AdvSteps = steps
		net, err := NewNet(CPU{}, c, c.Batch)
		if err != nil {
			t.Fatal(err)
		}
		nets[steps] = net
	}
	n, k := cfg.Batch, cfg.K()
	_, _, xt, yt := randomBatch(rand.New(rand.NewPCG(9, 9)), n, cfg.XDim, k)
	l0, l4 := nets[0].Step(xt, yt, n, 1), nets[4].Step(xt, yt, n, 1)
	if !slices.Equal(l0.Values(), l4.Values()) {
		t.Errorf("reported losses differ: %v and %v", l0.Values(), l4.Values())
	}
	values := func(ps *ParamSet) []float32 {
		var out []float32
		for _, p := range ps.Params() {
			out = append(out, Data(p.Value)...)
		}
		return out
	}
	if !slices.Equal(values(nets[0].Main), values(nets[4].Main)) {
		t.Error("extra adversary steps changed the main parameters")
	}
	if slices.Equal(values(nets[0].Adv), values(nets[4].Adv)) {
		t.Error("extra adversary steps left the adversary as one step does")
	}
}
