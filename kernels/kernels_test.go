package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Random123's known-answer vectors (kat_vectors): counter, key, output.
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)}, [2]uint32{^uint32(0), ^uint32(0)}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("Philox4x32(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
}

func TestNormalStream(t *testing.T) {
	const n = 1 << 18
	a := make([]float32, n)
	Normal(a, 42, 7)
	mean, sq, tail := 0.0, 0.0, 0
	for _, v := range a {
		mean += float64(v)
		sq += float64(v) * float64(v)
		if math.Abs(float64(v)) > 3 {
			tail++
		}
	}
	mean /= n
	variance := sq/n - mean*mean
	// The standard error of the mean is 1/sqrt(n) ~ 0.002; of the variance ~0.003.
	if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.015 {
		t.Errorf("mean %.4f variance %.4f, want 0 and 1", mean, variance)
	}
	// P(|N(0,1)| > 3) = 0.0027; n*p = 708 with sd ~27.
	if tail < 600 || tail > 820 {
		t.Errorf("%d values beyond 3 sigma, want about 708", tail)
	}
	// Counter-based: block b of offset o is block b-1 of offset o+1, so any
	// slice of the stream can be regenerated on its own.
	b := make([]float32, n-4)
	Normal(b, 42, 8)
	if !slices.Equal(a[4:], b) {
		t.Error("Normal(seed, offset+1) is not the stream of offset shifted by one block")
	}
	c := make([]float32, 8)
	Normal(c, 43, 7)
	if slices.Equal(a[:8], c) {
		t.Error("different seeds gave the same noise")
	}
	Threads = 1
	defer func() { Threads = 0 }()
	d := make([]float32, n)
	Normal(d, 42, 7)
	if !slices.Equal(a, d) {
		t.Error("noise depends on the thread count")
	}
}

func naiveGemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if tA {
					ai = p*lda + i
				}
				if tB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			prev := 0.0
			if beta != 0 {
				prev = float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = float64(alpha)*s + prev
		}
	}
	return out
}

func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 1, 33}, {64, 96, 31}, {130, 67, 257}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
					// Strides one wider than needed catch row-stride mistakes.
					ar, ac := m, k
					if tA {
						ar, ac = k, m
					}
					br, bc := k, n
					if tB {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+1, bc+1, n+1
					a := randSlice(r, ar*lda, 1)
					b := randSlice(r, br*ldb, 1)
					c := randSlice(r, m*ldc, 1)
					if ab[1] == 0 {
						for i := range c {
							c[i] = float32(math.NaN())
						}
					}
					want := naiveGemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					Sgemm(tA, tB, m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							got := float64(c[i*ldc+j])
							// float32 accumulation over k terms of size ~1.
							if !closeTo(got, want[i*n+j], 1e-5*math.Sqrt(float64(k))) {
								t.Fatalf("m,n,k=%d,%d,%d tA=%v tB=%v alpha,beta=%v: C[%d,%d]=%g want %g", m, n, k, tA, tB, ab, i, j, got, want[i*n+j])
							}
						}
						// The padding column past n must be untouched.
						if i*ldc+n < len(c) && ab[1] != 0 && math.IsNaN(float64(c[i*ldc+n])) {
							t.Fatal("wrote outside C")
						}
					}
				}
			}
		}
	}
}

func TestDenseGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n, in, out := 5, 7, 4
	x, w, b := randSlice(r, n*in, 1), randSlice(r, out*in, 0.5), randSlice(r, out, 0.5)
	probe := randSlice(r, n*out, 1) // L = <probe, y>, so dL/dy = probe
	y := make([]float32, n*out)
	f := func() float64 { DenseForward(y, x, w, b, n, in, out, false); return dot64(probe, y) }
	f()
	// The forward pass against a float64 product.
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			s := float64(b[o])
			for j := 0; j < in; j++ {
				s += float64(x[i*in+j]) * float64(w[o*in+j])
			}
			if !closeTo(float64(y[i*out+o]), s, 1e-5) {
				t.Fatalf("y[%d,%d]=%g want %g", i, o, y[i*out+o], s)
			}
		}
	}
	dx := make([]float32, n*in)
	dw, db := make([]float32, out*in), make([]float32, out)
	DenseBackwardData(dx, probe, w, n, in, out, false)
	DenseBackwardParams(dw, db, probe, x, n, in, out)
	checkGrad(t, "dense dx", x, dx, f, 1e-2, 1e-3)
	checkGrad(t, "dense dw", w, dw, f, 1e-2, 1e-3)
	checkGrad(t, "dense db", b, db, f, 1e-2, 1e-3)

	// accumulate adds to what is there; parameter gradients always add.
	dx2 := slices.Clone(dx)
	DenseBackwardData(dx2, probe, w, n, in, out, true)
	DenseBackwardParams(dw, db, probe, x, n, in, out)
	for i := range dx {
		if !closeTo(float64(dx2[i]), 2*float64(dx[i]), 1e-6) {
			t.Fatalf("accumulating DenseBackwardData: dx[%d]=%g, want %g", i, dx2[i], 2*dx[i])
		}
	}
	f() // checkGrad left y at a perturbed point
	y2 := slices.Clone(y)
	DenseForward(y2, x, w, nil, n, in, out, true)
	for i := range y2 {
		want := 2*float64(y[i]) - float64(b[i%out])
		if !closeTo(float64(y2[i]), want, 1e-5) {
			t.Fatalf("accumulating DenseForward: y[%d]=%g want %g", i, y2[i], want)
		}
	}
}

func TestActivationGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randSlice(r, 64, 2)
	for i := range x { // keep away from the kink at 0, where differences straddle it
		if math.Abs(float64(x[i])) < 0.05 {
			x[i] = 0.3
		}
	}
	probe := randSlice(r, 64, 1)
	y, dx := make([]float32, 64), make([]float32, 64)

	f := func() float64 { LeakyReLUForward(y, x, 0.2); return dot64(probe, y) }
	f()
	LeakyReLUBackward(dx, probe, x, 0.2)
	checkGrad(t, "leaky relu", x, dx, f, 1e-3, 1e-3)

	f = func() float64 { ReLUForward(y, x); return dot64(probe, y) }
	f()
	ReLUBackward(dx, probe, x)
	checkGrad(t, "relu", x, dx, f, 1e-3, 1e-3)
	for i := range x {
		if x[i] < 0 && (y[i] != 0 || dx[i] != 0) {
			t.Fatalf("relu passes negative input %g: y=%g dx=%g", x[i], y[i], dx[i])
		}
	}

	f = func() float64 { SigmoidForward(y, x); return dot64(probe, y) }
	f()
	SigmoidBackward(dx, probe, y)
	checkGrad(t, "sigmoid", x, dx, f, 1e-2, 1e-3)

	big := []float32{-1000, 1000, 0}
	out := make([]float32, 3)
	SigmoidForward(out, big)
	if out[0] != 0 || out[1] != 1 || out[2] != 0.5 {
		t.Errorf("sigmoid(-1000, 1000, 0) = %v, want [0 1 0.5]", out)
	}
}

func TestReparameterizeGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	n := 24
	mu, lv := randSlice(r, n, 1), randSlice(r, n, 0.5)
	probe := randSlice(r, n, 1)
	z, eps := make([]float32, n), make([]float32, n)
	f := func() float64 { Reparameterize(z, eps, mu, lv, 9, 100); return dot64(probe, z) }
	f()
	for i := range z {
		want := float64(mu[i]) + float64(eps[i])*math.Exp(0.5*float64(lv[i]))
		if !closeTo(float64(z[i]), want, 1e-6) {
			t.Fatalf("z[%d]=%g want %g", i, z[i], want)
		}
	}
	dmu, dlv := make([]float32, n), make([]float32, n)
	ReparameterizeBackward(dmu, dlv, probe, eps, lv)
	checkGrad(t, "reparameterize dmu", mu, dmu, f, 1e-2, 1e-3)
	checkGrad(t, "reparameterize dlogvar", lv, dlv, f, 1e-2, 1e-3)
}

func TestKLStdNormal(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	n, d := 6, 5
	mu, lv := randSlice(r, n*d, 1), randSlice(r, n*d, 0.7)
	loss := make([]float32, 1)
	f := func() float64 { KLStdNormal(loss, nil, nil, mu, lv, n, d, 1); return float64(loss[0]) }
	want := 0.0
	for i := range mu {
		// KL(N(m,s^2)||N(0,1)) = log(1/s) + (s^2+m^2)/2 - 1/2
		s := math.Exp(0.5 * float64(lv[i]))
		want += -math.Log(s) + (s*s+float64(mu[i])*float64(mu[i]))/2 - 0.5
	}
	if got := f(); !closeTo(got, want/float64(n), 1e-5) {
		t.Fatalf("KL = %g, want %g", got, want/float64(n))
	}
	dmu, dlv := make([]float32, n*d), make([]float32, n*d)
	const scale = 0.2
	KLStdNormal(loss, dmu, dlv, mu, lv, n, d, scale)
	fs := func() float64 { return scale * f() }
	checkGrad(t, "KL(q||N(0,I)) dmu", mu, dmu, fs, 1e-2, 1e-3)
	checkGrad(t, "KL(q||N(0,I)) dlogvar", lv, dlv, fs, 1e-2, 1e-3)
}

func TestKLDiagonal(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n, d := 4, 6
	mu, lv, pm, plv := randSlice(r, n*d, 1), randSlice(r, n*d, 0.5), randSlice(r, n*d, 1), randSlice(r, n*d, 0.5)
	loss := make([]float32, 1)
	f := func() float64 {
		KLDiagonal(loss, nil, nil, nil, nil, mu, lv, pm, plv, n, d, 1)
		return 1.5 * float64(loss[0])
	}
	// Against the KL to N(0,I) where the prior is N(0,I).
	zeros := make([]float32, n*d)
	l2 := make([]float32, 1)
	KLDiagonal(loss, nil, nil, nil, nil, mu, lv, zeros, zeros, n, d, 1)
	KLStdNormal(l2, nil, nil, mu, lv, n, d, 1)
	if !closeTo(float64(loss[0]), float64(l2[0]), 1e-6) {
		t.Fatalf("KL to a zero diagonal prior %g differs from KL to N(0,I) %g", loss[0], l2[0])
	}
	g := make([][]float32, 4)
	for i := range g {
		g[i] = make([]float32, n*d)
	}
	KLDiagonal(loss, g[0], g[1], g[2], g[3], mu, lv, pm, plv, n, d, 1.5)
	checkGrad(t, "KL diag dmu", mu, g[0], f, 1e-2, 1e-3)
	checkGrad(t, "KL diag dlogvar", lv, g[1], f, 1e-2, 1e-3)
	checkGrad(t, "KL diag dpmu", pm, g[2], f, 1e-2, 1e-3)
	checkGrad(t, "KL diag dplogvar", plv, g[3], f, 1e-2, 1e-3)
}

func TestLabelPrior(t *testing.T) {
	y := []float32{1, 0, 0, 1} // two examples, two attributes
	pm, plv := make([]float32, 8), make([]float32, 8)
	LabelPrior(pm, plv, y, 2, 2, 0, -4.6, 3, 0)
	wantM := []float32{0, 0, 3, 3, 3, 3, 0, 0}
	wantV := []float32{-4.6, -4.6, 0, 0, 0, 0, -4.6, -4.6}
	if !slices.Equal(pm, wantM) || !slices.Equal(plv, wantV) {
		t.Errorf("LabelPrior = %v %v, want %v %v", pm, plv, wantM, wantV)
	}
}

func TestLosses(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	n, d := 5, 6
	a, x := randSlice(r, n*d, 2), randSlice(r, n*d, 1)
	target := make([]float32, n*d)
	for i := range target {
		target[i] = float32(r.IntN(2))
	}
	loss := make([]float32, 1)
	grad := make([]float32, n*d)
	const scale = 3
	posW, negW := randSlice(r, d, 1), randSlice(r, d, 1)
	for j := range posW {
		posW[j], negW[j] = 1+posW[j]*posW[j], 0.5+negW[j]*negW[j]
	}

	type lossFn func(loss, grad []float32, scale float32)
	cases := []struct {
		name string
		fn   lossFn
		// value of one element, to check the forward pass in float64
		elem func(i int) float64
	}{
		{"mse", func(l, g []float32, s float32) { MSE(l, g, a, x, n, d, s) },
			func(i int) float64 { e := float64(a[i]) - float64(x[i]); return e * e }},
		{"bce", func(l, g []float32, s float32) { BCEWithLogits(l, g, a, target, n, d, s) },
			func(i int) float64 {
				p := 1 / (1 + math.Exp(-float64(a[i])))
				return -(float64(target[i])*math.Log(p) + (1-float64(target[i]))*math.Log(1-p))
			}},
		{"weighted bce", func(l, g []float32, s float32) { WeightedBCEWithLogits(l, g, a, target, posW, negW, n, d, s) },
			func(i int) float64 {
				p := 1 / (1 + math.Exp(-float64(a[i])))
				if target[i] == 1 {
					return -float64(posW[i%d]) * math.Log(p)
				}
				return -float64(negW[i%d]) * math.Log(1-p)
			}},
		{"negentropy", func(l, g []float32, s float32) { NegEntropyWithLogits(l, g, a, n, d, s) },
			func(i int) float64 {
				q := 1 / (1 + math.Exp(-float64(a[i])))
				return q*math.Log(q) + (1-q)*math.Log(1-q)
			}},
	}
	for _, c := range cases {
		want := 0.0
		for i := range a {
			want += c.elem(i)
		}
		want /= float64(n)
		c.fn(loss, nil, 1)
		if !closeTo(float64(loss[0]), want, 1e-5) {
			t.Errorf("%s = %g, want %g", c.name, loss[0], want)
		}
		c.fn(loss, grad, scale)
		f := func() float64 { c.fn(loss, nil, 1); return scale * float64(loss[0]) }
		checkGrad(t, c.name, a, grad, f, 1e-2, 1e-3)
	}

	// Saturated logits stay finite: the adversary can be very sure.
	ext := []float32{-100, 100, 0}
	tg := []float32{1, 0, 1}
	g := make([]float32, 3)
	BCEWithLogits(loss, g, ext, tg, 1, 3, 1)
	if want := 200 + math.Ln2; !closeTo(float64(loss[0]), want, 1e-6) {
		t.Errorf("BCE of saturated logits = %g, want %g", loss[0], want)
	}
	NegEntropyWithLogits(loss, g, ext, 1, 3, 1)
	if want := -math.Ln2; !closeTo(float64(loss[0]), want, 1e-5) || math.IsNaN(float64(g[0])) {
		t.Errorf("negentropy of saturated logits = %g (grad %v), want %g", loss[0], g, want)
	}
}

func TestAdam(t *testing.T) {
	// A float64 transcription of torch.optim.Adam, run side by side.
	r := rand.New(rand.NewPCG(15, 16))
	n := 50
	p := randSlice(r, n, 1)
	m, v := make([]float32, n), make([]float32, n)
	p64, m64, v64 := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range p {
		p64[i] = float64(p[i])
	}
	const lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 0.01
	for step := 1; step <= 20; step++ {
		g := randSlice(r, n, 1)
		Adam(p, g, m, v, lr, b1, b2, eps, wd, step)
		for i := range p64 {
			gi := float64(g[i])
			p64[i] *= 1 - lr*wd
			m64[i] = b1*m64[i] + (1-b1)*gi
			v64[i] = b2*v64[i] + (1-b2)*gi*gi
			mh := m64[i] / (1 - math.Pow(b1, float64(step)))
			vh := v64[i] / (1 - math.Pow(b2, float64(step)))
			p64[i] -= lr * mh / (math.Sqrt(vh) + eps)
		}
	}
	for i := range p {
		if !closeTo(float64(p[i]), p64[i], 1e-5) {
			t.Fatalf("p[%d] = %g after 20 steps, want %g", i, p[i], p64[i])
		}
	}
	// The first step moves every parameter by lr against its gradient's sign.
	q := []float32{1, 1}
	Adam(q, []float32{0.5, -3}, make([]float32, 2), make([]float32, 2), 0.1, 0.9, 0.999, 1e-8, 0, 1)
	if !closeTo(float64(q[0]), 0.9, 1e-6) || !closeTo(float64(q[1]), 1.1, 1e-6) {
		t.Errorf("first Adam step gave %v, want [0.9 1.1]", q)
	}
}

func TestAxpyFill(t *testing.T) {
	y := []float32{1, 2, 3, 4, 5}
	Axpy(y, 2, []float32{1, 1, 1, 1, 1})
	if !slices.Equal(y, []float32{3, 4, 5, 6, 7}) {
		t.Errorf("Axpy = %v", y)
	}
	Fill(y, -1)
	if !slices.Equal(y, []float32{-1, -1, -1, -1, -1}) {
		t.Errorf("Fill = %v", y)
	}
}

// Reductions and products must not depend on how many threads ran them.
func TestThreadCountInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	n, d := 300, 257
	a, x := randSlice(r, n*d, 1), randSlice(r, n*d, 1)
	w := randSlice(r, 64*d, 1)
	run := func() (float32, []float32, []float32) {
		loss := make([]float32, 1)
		MSE(loss, nil, a, x, n, d, 1)
		y := make([]float32, n*64)
		DenseForward(y, x, w, nil, n, d, 64, false)
		db := make([]float32, d)
		BiasBackward(db, a, n, d)
		return loss[0], y, db
	}
	l1, y1, b1 := run()
	Threads = 1
	l2, y2, b2 := run()
	Threads = 0
	if l1 != l2 || !slices.Equal(y1, y2) || !slices.Equal(b1, b2) {
		t.Error("results differ between 1 thread and GOMAXPROCS threads")
	}
}

func TestMeanGap(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	n, d, k := 7, 4, 4
	mu := randSlice(r, n*d, 1.5)
	// Attributes 0, 1 and 3 mixed (3 weighted 0: left out), 2 present
	// everywhere (adds nothing).
	y := make([]float32, n*k)
	for i := range n {
		y[i*k] = float32(i % 2)
		y[i*k+1] = float32(min(1, i%3))
		y[i*k+2] = 1
		y[i*k+3] = float32(i / 4)
	}
	aw := []float32{1, 0.5, 1, 0}
	loss, gap := make([]float32, 1), make([]float32, k*d)
	MeanGap(loss, nil, gap, mu, y, aw, n, d, k, 1)
	want := 0.0
	for j := range k {
		for c := range d {
			var s1, s0, n1, n0 float64
			for i := range n {
				if y[i*k+j] == 1 {
					s1, n1 = s1+float64(mu[i*d+c]), n1+1
				} else {
					s0, n0 = s0+float64(mu[i*d+c]), n0+1
				}
			}
			g := 0.0
			if n1 > 0 && n0 > 0 {
				g = s1/n1 - s0/n0
			}
			if !closeTo(float64(gap[j*d+c]), g, 1e-6) {
				t.Errorf("gap[%d,%d] = %g, want %g", j, c, gap[j*d+c], g)
			}
			want += float64(aw[j]) * g * g
		}
	}
	if !closeTo(float64(loss[0]), want, 1e-5) || want == 0 {
		t.Fatalf("mean gap = %g, want %g (> 0)", loss[0], want)
	}
	dmu := make([]float32, n*d)
	const scale = 2.5
	MeanGap(loss, dmu, gap, mu, y, aw, n, d, k, scale)
	f := func() float64 { MeanGap(loss, nil, gap, mu, y, aw, n, d, k, 1); return scale * float64(loss[0]) }
	checkGrad(t, "mean gap dmu", mu, dmu, f, 1e-2, 1e-3)
	// The gap closed: nothing left to push.
	for i := range n {
		copy(mu[i*d:(i+1)*d], mu[:d])
	}
	MeanGap(loss, dmu, gap, mu, y, aw, n, d, k, scale)
	if loss[0] != 0 || slices.ContainsFunc(dmu, func(v float32) bool { return v != 0 }) {
		t.Errorf("equal rows: loss %g, dmu %v, want all 0", loss[0], dmu)
	}
}
