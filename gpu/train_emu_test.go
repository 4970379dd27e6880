package gpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/gpu"
	"github.com/csvae-gpu/csvae-gpu/kernels/emu"
	"github.com/csvae-gpu/csvae-gpu/model"
)

// Whole training steps through the device backend under emulation against
// the CPU backend: the same model code, seed, batch and noise stream must
// give the same losses step after step (up to float32 reduction order), so
// every launch the model makes, not only each kernel alone, is covered.
func TestEmuTrainStepsMatchCPU(t *testing.T) {
	cases := []struct {
		name string
		cfg  model.Config
	}{
		{"csvae-swissroll", func() model.Config {
			c := model.DefaultConfig("csvae")
			c.Hidden, c.Batch = 16, 32
			return c
		}()},
		{"csvae-conv8", func() model.Config {
			c := model.ImageConfig("csvae", 8, []string{"a", "b"})
			c.ConvChannels, c.Dz, c.Batch = []int{4, 8}, 4, 8
			return c
		}()},
		{"csvae-conv8-adversary-on-mean-3-steps", func() model.Config {
			c := model.ImageConfig("csvae", 8, []string{"a"})
			c.ConvChannels, c.Dz, c.Batch, c.AdvOnMean, c.AdvSteps = []int{4, 8}, 4, 8, true, 3
			return c
		}()},
		{"csvae-conv8-mean-gap", func() model.Config {
			c := model.ImageConfig("csvae", 8, []string{"a", "b"})
			c.ConvChannels, c.Dz, c.Batch, c.MeanGap = []int{4, 8}, 4, 8, 50
			c.MeanGapAttrs = []string{"b"}
			return c
		}()},
		{"csvae-conv8-ema", func() model.Config {
			c := model.ImageConfig("csvae", 8, []string{"a", "b"})
			c.ConvChannels, c.Dz, c.Batch, c.EMA = []int{4, 8}, 4, 8, 0.9
			return c
		}()},
		{"condvae-info-conv8", func() model.Config {
			c := model.ImageConfig("condvae-info", 8, []string{"a"})
			c.ConvChannels, c.Dz, c.Batch = []int{4, 8}, 4, 8
			return c
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dev := gpu.New(emu.New())
			defer dev.Close()
			cpu, err := model.NewNet(model.CPU{}, tc.cfg, tc.cfg.Batch)
			if err != nil {
				t.Fatal(err)
			}
			gpuNet, err := model.NewNet(dev, tc.cfg, tc.cfg.Batch)
			if err != nil {
				t.Fatal(err)
			}
			n, k := tc.cfg.Batch, tc.cfg.K()
			r := rand.New(rand.NewPCG(7, 7))
			hand := map[string][]float64{}
			for step := range 5 {
				x := make([]float32, n*tc.cfg.XDim)
				y := make([]float32, n*k)
				for i := range x {
					x[i] = float32(r.Float64())
				}
				for i := range y {
					y[i] = float32(r.IntN(2))
				}
				want := stepOn(cpu, x, y, n)
				if step == 4 {
					t.Logf("step 4 cpu losses %.6g", want.Values())
				}
				got := stepOn(gpuNet, x, y, n)
				if tc.cfg.EMA > 0 {
					followAverage(t, gpuNet, hand, step, tc.cfg.EMA)
				}
				for i, w := range want.Values() {
					g := got.Values()[i]
					if d := math.Abs(g - w); !(d <= 1e-3*math.Max(1, math.Abs(w))) {
						t.Errorf("step %d loss %d: device %.7g, cpu %.7g", step, i, g, w)
					}
				}
			}
		})
	}
}

func stepOn(net *model.Net, x, y []float32, n int) model.Losses {
	be := net.Backend()
	xt, yt := be.Alloc(len(x)), be.Alloc(len(y))
	be.Upload(xt, x)
	be.Upload(yt, y)
	return net.Step(xt, yt, n, 1)
}

// followAverage checks the device's moving average of its weights (two Axpy
// calls, one in place) against the one written out by hand from the
// device's own weights after each step: the device's weights drift from the
// CPU's over steps, as Adam's steps on near-zero gradients differ, so the
// CPU's average is no reference for them.
func followAverage(t *testing.T, net *model.Net, hand map[string][]float64, step int, d float64) {
	t.Helper()
	for _, ps := range []*model.ParamSet{net.Main, net.State} {
		v, _, _ := ps.State(net.Backend())
		h := hand[ps.Name]
		if step == 0 {
			h = make([]float64, len(v))
			for i := range v {
				h[i] = float64(v[i])
			}
			hand[ps.Name] = h
			continue
		}
		for i := range v {
			h[i] = d*h[i] + (1-d)*float64(v[i])
		}
		got := ps.Average(net.Backend())
		for i := range got {
			if diff := math.Abs(float64(got[i]) - h[i]); diff > 1e-5*math.Max(1, math.Abs(h[i])) {
				t.Fatalf("step %d: average of %s, value %d: device %.7g, by hand %.7g", step, ps.Name, i, got[i], h[i])
			}
		}
	}
}
