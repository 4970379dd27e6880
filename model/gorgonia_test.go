package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The hand-written backward passes of every model are checked against
// gorgonia's reverse-mode autodiff of the same objectives, built here
// independently in float64 from the parameter values: concatenated inputs
// (where the model keeps per-input weight blocks), gorgonia's own
// LeakyRelu/Sigmoid/Log, and the noise the model drew.
//
// Tolerance: the model runs in float32, the graph in float64, so each
// gradient tensor must agree to 1e-4 in relative L2 norm, and each loss
// to 1e-5 relative; a wrong term or a missing path is off by far more.
const parityTol = 1e-4

type gg struct {
	t *testing.T
	g *G.ExprGraph
	// params maps a parameter name to its node; weights made of several
	// per-input blocks map to one concatenated node, see blocks.
	params map[string]*G.Node
	blocks map[string][]*Param
}

func (b *gg) must(n *G.Node, err error) *G.Node {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func (b *gg) mat(name string, rows, cols int, data []float64) *G.Node {
	return G.NewMatrix(b.g, G.Float64, G.WithShape(rows, cols), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(data))))
}

func to64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// dense builds x·Wᵀ + b for the layer prefix, concatenating the inputs and
// the weight blocks when there are several.
func (b *gg) dense(ps *ParamSet, prefix string, xs ...*G.Node) *G.Node {
	var ws []*Param
	if p, ok := ps.Get(prefix + ".weight"); ok {
		ws = []*Param{p}
	} else {
		for i := 0; ; i++ {
			p, ok := ps.Get(fmt.Sprintf("%s.weight.%d", prefix, i))
			if !ok {
				break
			}
			ws = append(ws, p)
		}
	}
	if len(ws) != len(xs) {
		b.t.Fatalf("%s: %d weight blocks for %d inputs", prefix, len(ws), len(xs))
	}
	out := ws[0].Shape[0]
	in := 0
	for _, w := range ws {
		in += w.Shape[1]
	}
	full := make([]float64, out*in) // [out, in] with the blocks side by side
	col := 0
	for _, w := range ws {
		v := Data(w.Value)
		for o := 0; o < out; o++ {
			for j := 0; j < w.Shape[1]; j++ {
				full[o*in+col+j] = float64(v[o*w.Shape[1]+j])
			}
		}
		col += w.Shape[1]
	}
	wn := b.mat(prefix+".W", out, in, full)
	b.params[prefix+".W"] = wn
	b.blocks[prefix+".W"] = ws
	bp, _ := ps.Get(prefix + ".bias")
	bn := b.mat(prefix+".b", 1, out, to64(Data(bp.Value)))
	b.params[prefix+".bias"] = bn
	x := xs[0]
	if len(xs) > 1 {
		x = b.must(G.Concat(1, xs...))
	}
	y := b.must(G.Mul(x, b.must(G.Transpose(wn))))
	return b.must(G.BroadcastAdd(y, bn, nil, []byte{0}))
}

func (b *gg) mlp(ps *ParamSet, name string, layers int, slope float64, xs ...*G.Node) *G.Node {
	for i := range layers {
		h := b.dense(ps, fmt.Sprintf("%s.%d", name, i), xs...)
		xs = []*G.Node{b.must(G.LeakyRelu(h, slope))}
	}
	return xs[0]
}

func (b *gg) scale(c float64, x *G.Node) *G.Node {
	return b.must(G.Mul(G.NewConstant(c), x))
}

// meanSum is the per-example sum averaged over the batch.
func (b *gg) meanSum(x *G.Node, n int) *G.Node {
	return b.scale(1/float64(n), b.must(G.Sum(x)))
}

// gradOf returns the gradient of the named parameter, split back into the
// model's per-input blocks, in the model's flat order.
func (b *gg) grads(ps *ParamSet) map[string][]float64 {
	out := map[string][]float64{}
	for name, node := range b.params {
		gv, err := node.Grad()
		if err != nil {
			b.t.Fatalf("%s: %v", name, err)
		}
		data := gv.Data().([]float64)
		if !strings.HasSuffix(name, ".W") {
			out[name] = data
			continue
		}
		ws := b.blocks[name]
		out0, in := ws[0].Shape[0], 0
		for _, w := range ws {
			in += w.Shape[1]
		}
		col := 0
		for _, w := range ws {
			blk := make([]float64, 0, w.Size())
			for o := 0; o < out0; o++ {
				blk = append(blk, data[o*in+col:o*in+col+w.Shape[1]]...)
			}
			out[w.Name] = blk
			col += w.Shape[1]
		}
	}
	return out
}

func relErr(got []float32, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range want {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num) / math.Max(math.Sqrt(den), 1e-12)
}

func TestGradientsMatchGorgonia(t *testing.T) {
	for _, tc := range []struct {
		model                     string
		learned, balance, advMean bool
	}{
		{"vae", false, false, false}, {"condvae", false, false, false}, {"condvae-info", false, false, false},
		{"csvae-noadv", false, false, false}, {"csvae", false, false, false}, {"csvae", true, false, false},
		{"csvae", false, true, false}, {"condvae-info", false, true, false},
		{"csvae", false, true, true}, {"condvae-info", false, false, true},
	} {
		name := tc.model
		if tc.learned {
			name += "/learned-prior"
		}
		if tc.balance {
			name += "/balanced-adversary"
		}
		if tc.advMean {
			name += "/adversary-on-mean"
		}
		t.Run(name, func(t *testing.T) { checkParity(t, tc.model, tc.learned, tc.balance, tc.advMean) })
	}
}

func checkParity(t *testing.T, model string, learned, balance, advMean bool) {
	cfg := DefaultConfig(model)
	cfg.Attrs = []string{"a", "b"}
	cfg.XDim, cfg.Dz, cfg.Hidden, cfg.Layers = 5, 3, 6, 2
	cfg.LearnedPrior = learned
	cfg.AdvOnMean = advMean
	if cfg.AdvBalance = balance; balance {
		cfg.LabelRates = []float64{0.3, 0.8}
	}
	cfg.Betas = [5]float64{2, 1.5, 0.7, 3, 1.3}
	const n = 7
	net, err := NewNet(CPU{}, cfg, n+1)
	if err != nil {
		t.Fatal(err)
	}
	x, y, xt, yt := randomBatch(rand.New(rand.NewPCG(3, 5)), n, cfg.XDim, cfg.K())
	net.pass(xt, yt, n, 11, 0, true)
	net.backward(n)
	losses := net.readLosses()
	k, zd, wd := cfg.K(), cfg.ZDim(), cfg.WDim()
	slope := float64(cfg.Slope)

	// The main objective.
	b := &gg{t: t, g: G.NewGraph(), params: map[string]*G.Node{}, blocks: map[string][]*Param{}}
	xn, yn := b.mat("x", n, cfg.XDim, to64(x)), b.mat("y", n, k, to64(y))
	var hz *G.Node
	if model == "condvae" {
		hz = b.mlp(net.Main, "enc_z", cfg.Layers, slope, xn, yn)
	} else {
		hz = b.mlp(net.Main, "enc_z", cfg.Layers, slope, xn)
	}
	zmu, zlv := b.dense(net.Main, "enc_z.mu", hz), b.dense(net.Main, "enc_z.logvar", hz)
	sample := func(mu, lv *G.Node, eps []float32, name string, d int) *G.Node {
		e := b.mat(name, n, d, to64(eps))
		return b.must(G.Add(mu, b.must(G.HadamardProd(e, b.must(G.Exp(b.scale(0.5, lv)))))))
	}
	z := sample(zmu, zlv, Data(net.zEps.rows(n)), "eps_z", zd)
	var decIn []*G.Node
	var klw *G.Node
	if cfg.HasW() {
		hw := b.mlp(net.Main, "enc_w", cfg.Layers, slope, xn, yn)
		wmu, wlv := b.dense(net.Main, "enc_w.mu", hw), b.dense(net.Main, "enc_w.logvar", hw)
		w := sample(wmu, wlv, Data(net.wEps.rows(n)), "eps_w", wd)
		decIn = []*G.Node{z, w}
		var pm, plv *G.Node
		if learned {
			hp := b.mlp(net.Main, "prior", cfg.Layers, slope, yn)
			pm, plv = b.dense(net.Main, "prior.mu", hp), b.dense(net.Main, "prior.logvar", hp)
		} else {
			m, v := make([]float64, n*wd), make([]float64, n*wd)
			for i := range n {
				for j := range k {
					mu, lv := cfg.Prior.Mu0, cfg.Prior.LogVar0
					if y[i*k+j] == 1 {
						mu, lv = cfg.Prior.Mu1, cfg.Prior.LogVar1
					}
					for c := 0; c < 2; c++ {
						m[i*wd+2*j+c], v[i*wd+2*j+c] = float64(mu), float64(lv)
					}
				}
			}
			pm, plv = b.mat("pm", n, wd, m), b.mat("plv", n, wd, v)
		}
		// KL = 0.5 (plv - lv + (exp(lv) + (mu-pm)^2)/exp(plv) - 1)
		d := b.must(G.Sub(wmu, pm))
		num := b.must(G.Add(b.must(G.Exp(wlv)), b.must(G.Square(d))))
		term := b.must(G.Add(b.must(G.Sub(plv, wlv)), b.must(G.HadamardDiv(num, b.must(G.Exp(plv))))))
		klw = b.meanSum(b.scale(0.5, b.must(G.Sub(term, G.NewConstant(1.0)))), n)
	} else if model == "vae" {
		decIn = []*G.Node{z}
	} else {
		decIn = []*G.Node{z, yn}
	}
	hd := b.mlp(net.Main, "dec", cfg.Layers, slope, decIn...)
	xhat := b.dense(net.Main, fmt.Sprintf("dec.%d", cfg.Layers), hd)
	recon := b.meanSum(b.must(G.Square(b.must(G.Sub(xhat, xn)))), n)
	klzTerm := b.must(G.Sub(b.must(G.Add(b.must(G.Exp(zlv)), b.must(G.Square(zmu)))), b.must(G.Add(zlv, G.NewConstant(1.0)))))
	klz := b.meanSum(b.scale(0.5, klzTerm), n)
	cost := b.must(G.Add(b.scale(cfg.Betas[0], recon), b.scale(cfg.Betas[2], klz)))
	if klw != nil {
		cost = b.must(G.Add(cost, b.scale(cfg.Betas[1], klw)))
	}
	var advTerm *G.Node
	// The adversary's cross-entropy; balanced, each label j counts
	// 1/(2 rate_j) where present and 1/(2 (1-rate_j)) where absent.
	wp, wn := make([]float64, n*k), make([]float64, n*k)
	for i := range wp {
		wp[i], wn[i] = 1, 1
		if balance {
			r := cfg.LabelRates[i%k]
			wp[i], wn[i] = 0.5/r, 0.5/(1-r)
		}
	}
	bce := func(b *gg, q, yn *G.Node) *G.Node {
		one := G.NewConstant(1.0)
		pos := b.must(G.HadamardProd(b.mat("wp", n, k, wp), b.must(G.HadamardProd(yn, b.must(G.Log(q))))))
		neg := b.must(G.HadamardProd(b.mat("wn", n, k, wn), b.must(G.HadamardProd(b.must(G.Sub(one, yn)), b.must(G.Log(b.must(G.Sub(one, q))))))))
		return b.meanSum(b.scale(-1, b.must(G.Add(pos, neg))), n)
	}
	advPrefix := fmt.Sprintf("adv.%d", cfg.Layers)
	if cfg.Adversary() != "" {
		// Adversary weights enter the main graph as constants: the main
		// objective must not produce gradients for them.
		ab := &gg{t: t, g: b.g, params: map[string]*G.Node{}, blocks: map[string][]*Param{}}
		in := z
		if advMean {
			in = zmu
		}
		q := b.must(G.Sigmoid(ab.dense(net.Adv, advPrefix, ab.mlp(net.Adv, "adv", cfg.Layers, slope, in))))
		if cfg.Adversary() == "negentropy" {
			one := G.NewConstant(1.0)
			notq := b.must(G.Sub(one, q))
			advTerm = b.meanSum(b.must(G.Add(b.must(G.HadamardProd(q, b.must(G.Log(q)))), b.must(G.HadamardProd(notq, b.must(G.Log(notq)))))), n)
		} else {
			advTerm = b.scale(-1, bce(b, q, yn))
		}
		cost = b.must(G.Add(cost, b.scale(cfg.Betas[3], advTerm)))
	}
	var wrt G.Nodes
	for _, nd := range b.params {
		wrt = append(wrt, nd)
	}
	if _, err := G.Grad(cost, wrt...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(b.g)
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	vm.Close()

	scalar := func(nd *G.Node) float64 { return nd.Value().Data().(float64) }
	checkLoss := func(name string, got float64, nd *G.Node) {
		want := scalar(nd)
		if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: model %.7g, gorgonia %.7g", name, got, want)
		}
	}
	checkLoss("recon", losses.Recon, recon)
	checkLoss("kl_z", losses.KLZ, klz)
	if klw != nil {
		checkLoss("kl_w", losses.KLW, klw)
	}
	if advTerm != nil {
		checkLoss("adv_term", losses.AdvTerm, advTerm)
	}
	compareGrads(t, net.Main, b.grads(net.Main))

	if cfg.Adversary() == "" {
		if net.Adv != nil {
			t.Fatal("a model without adversary has adversary parameters")
		}
		return
	}
	// The adversary's own objective, with z a constant.
	a := &gg{t: t, g: G.NewGraph(), params: map[string]*G.Node{}, blocks: map[string][]*Param{}}
	advIn := net.z.rows(n)
	if advMean {
		advIn = net.zmuT
	}
	za := a.mat("z", n, zd, to64(Data(advIn)))
	ya := a.mat("y", n, k, to64(y))
	q := a.must(G.Sigmoid(a.dense(net.Adv, advPrefix, a.mlp(net.Adv, "adv", cfg.Layers, slope, za))))
	advCost := bce(a, q, ya)
	checkLossA := func() {
		var wrtA G.Nodes
		for _, nd := range a.params {
			wrtA = append(wrtA, nd)
		}
		if _, err := G.Grad(a.scale(cfg.Betas[4], advCost), wrtA...); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(a.g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
	}
	checkLossA()
	checkLoss("adv_bce", losses.AdvBCE, advCost)
	compareGrads(t, net.Adv, a.grads(net.Adv))
}

func compareGrads(t *testing.T, ps *ParamSet, want map[string][]float64) {
	t.Helper()
	if len(want) != len(ps.Params()) {
		t.Errorf("%s: gorgonia graph has %d parameters, the model %d", ps.Name, len(want), len(ps.Params()))
	}
	worst := 0.0
	for _, p := range ps.Params() {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("%s: parameter %s missing from the gorgonia graph", ps.Name, p.Name)
			continue
		}
		e := relErr(Data(p.Grad), w)
		worst = math.Max(worst, e)
		if e > parityTol || math.IsNaN(e) {
			t.Errorf("%s: gradient of %s differs from gorgonia's by %.2g (relative L2)", ps.Name, p.Name, e)
		}
	}
	t.Logf("%s: %d parameters, worst relative gradient error %.2g", ps.Name, len(ps.Params()), worst)
}

// randomBatch is n standard-normal inputs of width xdim and k random 0/1
// labels each, drawn from r (inputs first), and their CPU tensors.
func randomBatch(r *rand.Rand, n, xdim, k int) (x, y []float32, xt, yt Tensor) {
	x, y = make([]float32, n*xdim), make([]float32, n*k)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range y {
		y[i] = float32(r.IntN(2))
	}
	be := CPU{}
	xt, yt = be.Alloc(len(x)), be.Alloc(len(y))
	be.Upload(xt, x)
	be.Upload(yt, y)
	return x, y, xt, yt
}
