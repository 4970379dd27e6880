package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var convGeoms = []ConvGeom{
	{N: 2, C: 3, H: 8, W: 8, K: 4, R: 4, S: 4, Stride: 2, Pad: 1}, // the network's layers
	{N: 1, C: 2, H: 7, W: 5, K: 3, R: 3, S: 3, Stride: 1, Pad: 0}, // odd, unpadded
	{N: 3, C: 1, H: 6, W: 9, K: 2, R: 3, S: 2, Stride: 2, Pad: 1}, // ragged edges
	{N: 2, C: 5, H: 4, W: 4, K: 6, R: 1, S: 1, Stride: 1, Pad: 0}, // 1x1
}

func naiveConv(x, w, b []float32, g ConvGeom) []float64 {
	oh, ow := g.OH(), g.OW()
	y := make([]float64, g.N*g.K*oh*ow)
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					s := 0.0
					if b != nil {
						s = float64(b[k])
					}
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							for q := 0; q < g.S; q++ {
								ih, iw := i*g.Stride-g.Pad+r, j*g.Stride-g.Pad+q
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								s += float64(x[((n*g.C+c)*g.H+ih)*g.W+iw]) * float64(w[((k*g.C+c)*g.R+r)*g.S+q])
							}
						}
					}
					y[((n*g.K+k)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return y
}

func TestConvForwardMatchesDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, g := range convGeoms {
		x, w, b := randSlice(r, g.N*g.C*g.H*g.W, 1), randSlice(r, g.K*g.crs(), 1), randSlice(r, g.K, 1)
		y := make([]float32, g.N*g.K*g.OH()*g.OW())
		ConvForward(y, x, w, b, g)
		want := naiveConv(x, w, b, g)
		for i := range y {
			if !closeTo(float64(y[i]), want[i], 1e-5*math.Sqrt(float64(g.crs()))) {
				t.Fatalf("%+v: y[%d] = %g, want %g", g, i, y[i], want[i])
			}
		}
	}
}

// ConvBackwardData is the adjoint of the convolution: <conv(x), u> = <x, convᵀ(u)>.
func TestConvBackwardDataIsAdjoint(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, g := range convGeoms {
		x, w := randSlice(r, g.N*g.C*g.H*g.W, 1), randSlice(r, g.K*g.crs(), 1)
		u := randSlice(r, g.N*g.K*g.OH()*g.OW(), 1)
		y := make([]float32, len(u))
		ConvForward(y, x, w, nil, g)
		v := make([]float32, len(x))
		ConvBackwardData(v, u, w, g, false)
		if a, b := dot64(y, u), dot64(x, v); !closeTo(a, b, 1e-4) {
			t.Errorf("%+v: <conv x, u> = %g but <x, convT u> = %g", g, a, b)
		}
		v2 := slices.Clone(v)
		ConvBackwardData(v2, u, w, g, true)
		for i := range v {
			if !closeTo(float64(v2[i]), 2*float64(v[i]), 1e-5) {
				t.Fatalf("accumulating ConvBackwardData: %g, want %g", v2[i], 2*v[i])
			}
		}
	}
}

func TestConvGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, g := range convGeoms[:3] {
		t.Run(fmt.Sprintf("%dx%dx%dx%d_k%d_%dx%d_s%d_p%d", g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.Stride, g.Pad), func(t *testing.T) {
			x, w, b := randSlice(r, g.N*g.C*g.H*g.W, 1), randSlice(r, g.K*g.crs(), 0.5), randSlice(r, g.K, 0.5)
			probe := randSlice(r, g.N*g.K*g.OH()*g.OW(), 1)
			y := make([]float32, len(probe))
			f := func() float64 { ConvForward(y, x, w, b, g); return dot64(probe, y) }
			dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
			ConvBackwardData(dx, probe, w, g, false)
			ConvBackwardFilter(dw, db, probe, x, g)
			checkGrad(t, "conv dx", x, dx, f, 1e-2, 1e-3)
			checkGrad(t, "conv dw", w, dw, f, 1e-2, 1e-3)
			checkGrad(t, "conv db", b, db, f, 1e-2, 1e-3)

			// The transposed convolution u = convᵀ(t, w): its input gradient
			// is the convolution of the output gradient, its weight gradient
			// ConvBackwardFilter with the roles of input and output swapped.
			in := randSlice(r, len(probe), 1)
			outProbe := randSlice(r, len(x), 1)
			u := make([]float32, len(x))
			ft := func() float64 { ConvBackwardData(u, in, w, g, false); return dot64(outProbe, u) }
			din, dwt := make([]float32, len(in)), make([]float32, len(w))
			ConvForward(din, outProbe, w, nil, g)
			ConvBackwardFilter(dwt, nil, in, outProbe, g)
			checkGrad(t, "transposed conv dinput", in, din, ft, 1e-2, 1e-3)
			checkGrad(t, "transposed conv dw", w, dwt, ft, 1e-2, 1e-3)
		})
	}
}

func TestChannelBias(t *testing.T) {
	y := make([]float32, 2*3*4)
	AddChannelBias(y, []float32{1, 2, 3}, 2, 3, 4)
	db := make([]float32, 3)
	ChannelBiasBackward(db, y, 2, 3, 4)
	if !slices.Equal(db, []float32{8, 16, 24}) {
		t.Errorf("channel bias round trip %v, want [8 16 24]", db)
	}
}

func TestBatchNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	n, c, p := 3, 4, 5
	x := randSlice(r, n*c*p, 2)
	for i := range x {
		x[i] += float32(i % c) // channel-dependent offsets
	}
	gamma, beta := randSlice(r, c, 1), randSlice(r, c, 1)
	mean, invstd := make([]float32, c), make([]float32, c)
	rm, rv := make([]float32, c), []float32{1, 1, 1, 1}
	y := make([]float32, len(x))
	BatchNormForward(y, x, gamma, beta, mean, invstd, rm, rv, n, c, p, 0.1, 1e-5, true)
	for ch := 0; ch < c; ch++ {
		var vals []float64
		for i := 0; i < n; i++ {
			for j := 0; j < p; j++ {
				vals = append(vals, float64(x[(i*c+ch)*p+j]))
			}
		}
		mu, ss := 0.0, 0.0
		for _, v := range vals {
			mu += v
		}
		mu /= float64(len(vals))
		for _, v := range vals {
			ss += (v - mu) * (v - mu)
		}
		is := 1 / math.Sqrt(ss/float64(len(vals))+1e-5)
		if !closeTo(float64(mean[ch]), mu, 1e-6) || !closeTo(float64(invstd[ch]), is, 1e-5) {
			t.Errorf("channel %d: mean %g invstd %g, want %g %g", ch, mean[ch], invstd[ch], mu, is)
		}
		if !closeTo(float64(rm[ch]), 0.1*mu, 1e-6) || !closeTo(float64(rv[ch]), 0.9+0.1*ss/float64(len(vals)-1), 1e-6) {
			t.Errorf("channel %d: running stats %g %g", ch, rm[ch], rv[ch])
		}
		for i := 0; i < n; i++ {
			for j := 0; j < p; j++ {
				k := (i*c+ch)*p + j
				want := float64(gamma[ch])*(float64(x[k])-mu)*is + float64(beta[ch])
				if !closeTo(float64(y[k]), want, 1e-5) {
					t.Fatalf("y[%d] = %g, want %g", k, y[k], want)
				}
			}
		}
	}
	// Inference normalises with the running statistics.
	BatchNormForward(y, x, gamma, beta, mean, invstd, rm, rv, n, c, p, 0.1, 1e-5, false)
	want := float64(gamma[1])*(float64(x[p])-float64(rm[1]))/math.Sqrt(float64(rv[1])+1e-5) + float64(beta[1])
	if !closeTo(float64(y[p]), want, 1e-5) {
		t.Errorf("inference y = %g, want %g", y[p], want)
	}

	// Gradients through the batch statistics, by finite differences.
	probe := randSlice(r, len(x), 1)
	f := func() float64 {
		m2, v2 := make([]float32, c), make([]float32, c)
		BatchNormForward(y, x, gamma, beta, mean, invstd, m2, v2, n, c, p, 0.1, 1e-5, true)
		return dot64(probe, y)
	}
	f()
	dx, dg, db := make([]float32, len(x)), make([]float32, c), make([]float32, c)
	BatchNormBackward(dx, dg, db, probe, x, gamma, mean, invstd, n, c, p)
	checkGrad(t, "batchnorm dx", x, dx, f, 1e-2, 2e-3)
	checkGrad(t, "batchnorm dgamma", gamma, dg, f, 1e-2, 1e-3)
	checkGrad(t, "batchnorm dbeta", beta, db, f, 1e-2, 1e-3)
}

func TestConvThreadInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	g := ConvGeom{N: 4, C: 8, H: 16, W: 16, K: 16, R: 4, S: 4, Stride: 2, Pad: 1}
	x, w := randSlice(r, g.N*g.C*g.H*g.W, 1), randSlice(r, g.K*g.crs(), 1)
	dy := randSlice(r, g.N*g.K*g.OH()*g.OW(), 1)
	run := func() ([]float32, []float32, []float32) {
		y, dx, dw := make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))
		ConvForward(y, x, w, nil, g)
		ConvBackwardData(dx, dy, w, g, false)
		ConvBackwardFilter(dw, nil, dy, x, g)
		return y, dx, dw
	}
	a1, b1, c1 := run()
	Threads = 1
	a2, b2, c2 := run()
	Threads = 0
	if !slices.Equal(a1, a2) || !slices.Equal(b1, b2) || !slices.Equal(c1, c2) {
		t.Error("convolution results depend on the thread count")
	}
}
