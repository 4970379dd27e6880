package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The convolution and batch-norm kernels against gorgonia's own Conv2d and
// BatchNorm, forward and backward, in float64. Tolerance: the kernels run in
// float32, so values and gradients must agree to 1e-4 in relative L2 norm.
const gorgoniaTol = 1e-4

func node4(g *G.ExprGraph, name string, shape []int, data []float32) *G.Node {
	v := make([]float64, len(data))
	for i, x := range data {
		v[i] = float64(x)
	}
	return G.NewTensor(g, G.Float64, 4, G.WithShape(shape...), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(v))))
}

func relL2(got []float32, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range want {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num / math.Max(den, 1e-300))
}

// mustFor returns a checker that stops t on a graph-building error.
func mustFor(t *testing.T) func(*G.Node, error) *G.Node {
	return func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}

func runGraph(t *testing.T, g *G.ExprGraph, cost *G.Node, wrt ...*G.Node) {
	t.Helper()
	if _, err := G.Grad(cost, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
}

func gradOf(t *testing.T, n *G.Node) []float64 {
	t.Helper()
	v, err := n.Grad()
	if err != nil {
		t.Fatal(err)
	}
	return v.Data().([]float64)
}

func TestConvMatchesGorgonia(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	must := mustFor(t)
	for _, geom := range convGeoms {
		if geom.R != geom.S {
			continue // gorgonia pads both dimensions alike; square kernels suffice
		}
		x, w := randSlice(r, geom.N*geom.C*geom.H*geom.W, 1), randSlice(r, geom.K*geom.crs(), 1)
		probe := randSlice(r, geom.N*geom.K*geom.OH()*geom.OW(), 1)

		g := G.NewGraph()
		xn := node4(g, "x", []int{geom.N, geom.C, geom.H, geom.W}, x)
		wn := node4(g, "w", []int{geom.K, geom.C, geom.R, geom.S}, w)
		pn := node4(g, "probe", []int{geom.N, geom.K, geom.OH(), geom.OW()}, probe)
		y := must(G.Conv2d(xn, wn, tensor.Shape{geom.R, geom.S}, []int{geom.Pad, geom.Pad}, []int{geom.Stride, geom.Stride}, []int{1, 1}))
		cost := must(G.Sum(must(G.HadamardProd(y, pn))))
		runGraph(t, g, cost, xn, wn)

		got := make([]float32, len(probe))
		ConvForward(got, x, w, nil, geom)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		ConvBackwardData(dx, probe, w, geom, false)
		ConvBackwardFilter(dw, nil, probe, x, geom)
		for name, e := range map[string]float64{
			"y":  relL2(got, y.Value().Data().([]float64)),
			"dx": relL2(dx, gradOf(t, xn)),
			"dw": relL2(dw, gradOf(t, wn)),
		} {
			if e > gorgoniaTol || math.IsNaN(e) {
				t.Errorf("%+v: %s differs from gorgonia's by %.2g (relative L2)", geom, name, e)
			}
		}
	}
}

func TestBatchNormMatchesGorgonia(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	must := mustFor(t)
	n, c, h, w := 4, 3, 5, 6
	p := h * w
	x, gamma, beta := randSlice(r, n*c*p, 2), randSlice(r, c, 1), randSlice(r, c, 1)
	probe := randSlice(r, n*c*p, 1)

	g := G.NewGraph()
	xn := node4(g, "x", []int{n, c, h, w}, x)
	// (1,C,1,1) scale and bias: with nil ones gorgonia would learn one per value.
	gn := node4(g, "gamma", []int{1, c, 1, 1}, gamma)
	bn := node4(g, "beta", []int{1, c, 1, 1}, beta)
	pn := node4(g, "probe", []int{n, c, h, w}, probe)
	y, _, _, _, err := G.BatchNorm(xn, gn, bn, 0.1, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	cost := must(G.Sum(must(G.HadamardProd(y, pn))))
	runGraph(t, g, cost, xn, gn, bn)

	got := make([]float32, len(x))
	mean, invstd, rm, rv := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	BatchNormForward(got, x, gamma, beta, mean, invstd, rm, rv, n, c, p, 0.1, 1e-5, true)
	dx, dg, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
	BatchNormBackward(dx, dg, db, probe, x, gamma, mean, invstd, n, c, p)
	for name, e := range map[string]float64{
		"y":      relL2(got, y.Value().Data().([]float64)),
		"dx":     relL2(dx, gradOf(t, xn)),
		"dgamma": relL2(dg, gradOf(t, gn)),
		"dbeta":  relL2(db, gradOf(t, bn)),
	} {
		if e > gorgoniaTol || math.IsNaN(e) {
			t.Errorf("batch norm %s differs from gorgonia's by %.2g (relative L2)", name, e)
		}
	}
}
