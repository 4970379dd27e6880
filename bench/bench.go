// Package bench is the benchmark suite: every backend operation at the
// shapes the models use, and whole training steps, timed on any backend so
// that the CPU fallback and the GPU kernels can be compared side by side in
// one run.
package bench

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Case is one benchmark: Setup allocates its inputs on a backend and returns
// the operation to time.
type Case struct {
	Name  string
	Shape string
	Flops float64 // per run, 0 for memory-bound operations
	Bytes float64 // moved per run, for memory-bound operations
	Items float64 // examples per run, for training steps
	Setup func(be model.Backend) func()
}

// Result is the timing of one case on one backend.
type Result struct {
	Case    Case
	Backend string
	PerRun  time.Duration // median over repeats
	Runs    int
}

// Rate is the case's throughput: GFLOP/s, GB/s or examples/s.
func (r Result) Rate() (float64, string) {
	s := r.PerRun.Seconds()
	switch {
	case r.Case.Items > 0:
		return r.Case.Items / s, "examples/s"
	case r.Case.Flops > 0:
		return r.Case.Flops / s / 1e9, "GFLOP/s"
	default:
		return r.Case.Bytes / s / 1e9, "GB/s"
	}
}

// Run times c on be: one warm-up run, one run to size the repeats, then
// repeats of as many runs as fill minTime, and returns the median time per
// run. Each timed repeat starts and ends with the backend synchronised, so
// on a GPU it measures the queued kernels, not their launches.
func Run(be model.Backend, c Case, minTime time.Duration) Result {
	op := c.Setup(be)
	op()
	be.Sync()
	t0 := time.Now()
	op()
	be.Sync()
	one := max(time.Since(t0), time.Microsecond)
	// A case slower than a fifth of minTime gets a median of three rather
	// than five: the CPU side of a GPU table stays short.
	repeats := 5
	if one > minTime/5 {
		repeats = 3
	}
	runs := max(1, int(minTime/time.Duration(repeats)/one))
	var per []time.Duration
	for range repeats {
		t := time.Now()
		for range runs {
			op()
		}
		be.Sync()
		per = append(per, time.Since(t)/time.Duration(runs))
	}
	sort.Slice(per, func(i, j int) bool { return per[i] < per[j] })
	return Result{Case: c, Backend: be.Name(), PerRun: per[len(per)/2], Runs: repeats * runs}
}

func random(be model.Backend, r *rand.Rand, n int, scale float32) model.Tensor {
	h := make([]float32, n)
	for i := range h {
		h[i] = scale * float32(r.NormFloat64())
	}
	t := be.Alloc(n)
	be.Upload(t, h)
	return t
}

func labels(be model.Backend, r *rand.Rand, n int) model.Tensor {
	h := make([]float32, n)
	for i := range h {
		h[i] = float32(r.IntN(2))
	}
	t := be.Alloc(n)
	be.Upload(t, h)
	return t
}

// Kernels lists every backend operation at the shapes of the models: the
// dense layers of the CelebA-64 network at batch 64 and of the swiss-roll
// MLP at batch 128, every convolution, channel bias and batch norm of the
// CelebA-64 network at batch 64 (conv.go), activations at the first
// convolution's output size, latent and loss terms at their sizes, Adam
// over the whole CSVAE.
func Kernels() []Case {
	var cs []Case
	for _, s := range [][3]int{{64, 4096, 256}, {64, 72, 4096}, {128, 64, 64}} {
		n, in, out := s[0], s[1], s[2]
		shape := fmt.Sprintf("%dx%d->%d", n, in, out)
		flops := 2 * float64(n*in*out)
		dense := func(fn func(be model.Backend, x, w, b, y, dy, dx, dw, db model.Tensor)) func(be model.Backend) func() {
			return func(be model.Backend) func() {
				r := rand.New(rand.NewPCG(1, 1))
				x, w, b := random(be, r, n*in, 1), random(be, r, out*in, 0.05), random(be, r, out, 0.1)
				y, dy, dx := be.Alloc(n*out), random(be, r, n*out, 1), be.Alloc(n*in)
				dw, db := be.Alloc(out*in), be.Alloc(out)
				return func() { fn(be, x, w, b, y, dy, dx, dw, db) }
			}
		}
		cs = append(cs,
			Case{Name: "DenseForward", Shape: shape, Flops: flops, Setup: dense(func(be model.Backend, x, w, b, y, _, _, _, _ model.Tensor) {
				be.DenseForward(y, x, w, b, n, in, out, false)
			})},
			Case{Name: "DenseBackwardData", Shape: shape, Flops: flops, Setup: dense(func(be model.Backend, _, w, _, _, dy, dx, _, _ model.Tensor) {
				be.DenseBackwardData(dx, dy, w, n, in, out, false)
			})},
			Case{Name: "DenseBackwardParams", Shape: shape, Flops: flops, Setup: dense(func(be model.Backend, x, _, _, _, dy, _, dw, db model.Tensor) {
				be.DenseBackwardParams(dw, db, dy, x, n, in, out)
			})},
		)
	}
	cs = append(cs, convCases()...)
	cs = append(cs, batchNormCases()...)

	const act = 64 * 32 * 32 * 32
	actShape := "64x32x32x32"
	unary := func(fn func(be model.Backend, x, y, dy, dx model.Tensor)) func(be model.Backend) func() {
		return func(be model.Backend) func() {
			r := rand.New(rand.NewPCG(2, 2))
			x, y, dy, dx := random(be, r, act, 1), be.Alloc(act), random(be, r, act, 1), be.Alloc(act)
			return func() { fn(be, x, y, dy, dx) }
		}
	}
	leaky := model.Act{Kind: model.LeakyReLU, Slope: 0.2}
	sig := model.Act{Kind: model.Sigmoid}
	cs = append(cs,
		Case{Name: "LeakyReLU", Shape: actShape, Bytes: 8 * act, Setup: unary(func(be model.Backend, x, y, _, _ model.Tensor) { be.Activation(leaky, y, x) })},
		Case{Name: "LeakyReLUBackward", Shape: actShape, Bytes: 12 * act, Setup: unary(func(be model.Backend, x, y, dy, dx model.Tensor) { be.ActivationBackward(leaky, dx, dy, x, y) })},
		Case{Name: "Sigmoid", Shape: actShape, Bytes: 8 * act, Setup: unary(func(be model.Backend, x, y, _, _ model.Tensor) { be.Activation(sig, y, x) })},
		Case{Name: "SigmoidBackward", Shape: actShape, Bytes: 12 * act, Setup: unary(func(be model.Backend, x, y, dy, dx model.Tensor) { be.ActivationBackward(sig, dx, dy, x, y) })},
		Case{Name: "Axpy", Shape: actShape, Bytes: 12 * act, Setup: unary(func(be model.Backend, x, y, _, _ model.Tensor) { be.Axpy(y, 0.5, x) })},
	)

	const n, d = 64, 72 // batch 64, Dz 64 plus 2k = 8
	latShape := fmt.Sprintf("%dx%d", n, d)
	latent := func(fn func(be model.Backend, t [8]model.Tensor, loss model.Tensor)) func(be model.Backend) func() {
		return func(be model.Backend) func() {
			r := rand.New(rand.NewPCG(3, 3))
			var t [8]model.Tensor
			for i := range t {
				t[i] = random(be, r, n*d, 1)
			}
			loss := be.Alloc(1)
			return func() { fn(be, t, loss) }
		}
	}
	cs = append(cs,
		Case{Name: "Reparameterize", Shape: latShape, Bytes: 16 * n * d, Setup: latent(func(be model.Backend, t [8]model.Tensor, _ model.Tensor) {
			be.Reparameterize(t[0], t[1], t[2], t[3], 1, 0)
		})},
		Case{Name: "ReparameterizeBackward", Shape: latShape, Bytes: 24 * n * d, Setup: latent(func(be model.Backend, t [8]model.Tensor, _ model.Tensor) {
			be.ReparameterizeBackward(t[0], t[1], t[2], t[3], t[4])
		})},
		Case{Name: "KLStdNormal", Shape: latShape, Bytes: 16 * n * d, Setup: latent(func(be model.Backend, t [8]model.Tensor, loss model.Tensor) {
			be.KLStdNormal(loss, t[0], t[1], t[2], t[3], n, d, 1)
		})},
		Case{Name: "KLDiagonal", Shape: latShape, Bytes: 32 * n * d, Setup: latent(func(be model.Backend, t [8]model.Tensor, loss model.Tensor) {
			be.KLDiagonal(loss, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], n, d, 1)
		})},
		Case{Name: "WeightedBCEWithLogits", Shape: latShape, Bytes: 16 * n * d, Setup: latent(func(be model.Backend, t [8]model.Tensor, loss model.Tensor) {
			be.WeightedBCEWithLogits(loss, t[0], t[1], t[2], be.Slice(t[3], 0, d), be.Slice(t[4], 0, d), n, d, 1)
		})},
		Case{Name: "NegEntropyWithLogits", Shape: latShape, Bytes: 8 * n * d, Setup: latent(func(be model.Backend, t [8]model.Tensor, loss model.Tensor) {
			be.NegEntropyWithLogits(loss, t[0], t[1], n, d, 1)
		})},
		Case{Name: "LabelPrior", Shape: fmt.Sprintf("%dx%d", n, 4), Bytes: 12 * n * 4, Setup: func(be model.Backend) func() {
			r := rand.New(rand.NewPCG(4, 4))
			y, pm, plv := labels(be, r, n*4), be.Alloc(n*8), be.Alloc(n*8)
			return func() { be.LabelPrior(pm, plv, y, n, 4, model.Prior{Mu0: 3, LogVar1: -4.6}) }
		}},
		// The Male recipe's shape: Dz 64, three attributes.
		Case{Name: "MeanGap", Shape: fmt.Sprintf("%dx64x3", n), Bytes: 8 * n * 64, Setup: func(be model.Backend) func() {
			r := rand.New(rand.NewPCG(6, 6))
			mu, y, dmu, gap, loss := random(be, r, n*64, 1), labels(be, r, n*3), be.Alloc(n*64), be.Alloc(3*64), be.Alloc(1)
			aw := be.Alloc(3)
			be.Upload(aw, []float32{1, 1, 1})
			return func() { be.MeanGap(loss, dmu, gap, mu, y, aw, n, 64, 3, 1) }
		}},
	)

	const img = 64 * 3 * 64 * 64
	recon := func(fn func(be model.Backend, a, b, g, loss model.Tensor)) func(be model.Backend) func() {
		return func(be model.Backend) func() {
			r := rand.New(rand.NewPCG(5, 5))
			a, b, g, loss := random(be, r, img, 1), labels(be, r, img), be.Alloc(img), be.Alloc(1)
			return func() { fn(be, a, b, g, loss) }
		}
	}
	cs = append(cs,
		Case{Name: "MSE", Shape: "64x3x64x64", Bytes: 12 * img, Setup: recon(func(be model.Backend, a, b, g, loss model.Tensor) {
			be.MSE(loss, g, a, b, 64, img/64, 1)
		})},
		Case{Name: "BCEWithLogits", Shape: "64x3x64x64", Bytes: 12 * img, Setup: recon(func(be model.Backend, a, b, g, loss model.Tensor) {
			be.BCEWithLogits(loss, g, a, b, 64, img/64, 1)
		})},
	)

	const params = 4_000_000 // about the CelebA-64 CSVAE's parameter count
	cs = append(cs, Case{Name: "Adam", Shape: "4M params", Bytes: 28 * params, Setup: func(be model.Backend) func() {
		r := rand.New(rand.NewPCG(6, 6))
		p, g, m, v := random(be, r, params, 1), random(be, r, params, 1), be.Alloc(params), be.Alloc(params)
		return func() { be.Adam(p, g, m, v, model.AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, 10) }
	}})
	return cs
}

// TrainSteps lists whole training steps (forward, both losses, backward,
// both Adam updates): every model on the swiss roll at its default batch,
// and csvae with two attributes on the CelebA-64 network at batch 64 and
// 128, the shapes of the PyTorch reference (shared/reference/csvae64.py),
// and on the 32x32 network at batch 64.
func TrainSteps() []Case {
	var cs []Case
	for _, kind := range model.Kinds {
		cfg := model.DefaultConfig(kind)
		cs = append(cs, trainStep("TrainStep/"+kind, fmt.Sprintf("swissroll batch %d", cfg.Batch), cfg))
	}
	for _, s := range []struct{ size, batch int }{{64, 64}, {64, 128}, {32, 64}} {
		img := model.ImageConfig("csvae", s.size, []string{"a", "b"})
		img.Batch = s.batch
		name := fmt.Sprintf("TrainStep/csvae-celeba%d", s.size)
		cs = append(cs, trainStep(name, fmt.Sprintf("3x%dx%d batch %d", s.size, s.size, s.batch), img))
	}
	return cs
}

// trainStep times one Net.Step on a fixed random batch.
func trainStep(name, shape string, cfg model.Config) Case {
	return Case{Name: name, Shape: shape, Items: float64(cfg.Batch), Setup: func(be model.Backend) func() {
		net, err := model.NewNet(be, cfg, cfg.Batch)
		if err != nil {
			panic(err)
		}
		r := rand.New(rand.NewPCG(9, 9))
		x := random(be, r, cfg.Batch*cfg.XDim, 0.5)
		if cfg.Arch == "conv" {
			h := make([]float32, cfg.Batch*cfg.XDim)
			for i := range h {
				h[i] = float32(r.Float64())
			}
			be.Upload(x, h)
		}
		y := labels(be, r, cfg.Batch*cfg.K())
		return func() { net.Step(x, y, cfg.Batch, 1) }
	}}
}
