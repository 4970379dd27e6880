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
