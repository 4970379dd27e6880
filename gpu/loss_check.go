package gpu

import (
	"fmt"
	"math"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Checks of kernels/kl.cu and kernels/loss.cu. Every gradient tensor starts
// full of junk, so a kernel that accumulates instead of overwriting, or
// writes a gradient the fallback leaves alone, fails. The loss lands in one
// slot of a larger tensor, as the models keep it.

// lossShape is n examples of d values.
type lossShape struct {
	name string
	n, d int
}

var (
	lossSmall = []lossShape{{"1x1", 1, 1}, {"37x45", 37, 45}}
	lossKL    = append(lossSmall, lossShape{"64x72", 64, 72})
	lossAdv   = append(lossSmall, lossShape{"64x5", 64, 5})
	lossImage = append(lossSmall, lossShape{"celeba64 n=2", 2, 3 * 64 * 64})
)

// lossSlot is a one-value loss tensor inside a larger one.
func lossSlot(b model.Backend, in *Inputs) model.Tensor {
	return b.Slice(in.Uniform(4, -1, 1), 2, 1)
}

// lossJunk is a gradient tensor of n values, or nil when not wanted.
func lossJunk(in *Inputs, n int, want bool) model.Tensor {
	if !want {
		return nil
	}
	return in.Uniform(n, -9, 9)
}

// lossOuts downloads the loss and every tensor that is not nil.
func lossOuts(in *Inputs, loss model.Tensor, named ...any) []Output {
	o := []Output{in.Get("loss", loss)}
	for i := 0; i < len(named); i += 2 {
		if t, _ := named[i+1].(model.Tensor); t != nil {
			o = append(o, in.Get(named[i].(string), t))
		}
	}
	return o
}

func init() {
	const tol = 1e-6
	for _, s := range lossKL {
		for _, grad := range []bool{true, false} {
			register(Check{
				Name:    fmt.Sprintf("KLStdNormal/%s grad=%v", s.name, grad),
				Kernels: []string{"kl_std_normal"},
				Tol:     tol,
				Run: func(b model.Backend, in *Inputs) []Output {
					nd := s.n * s.d
					mu, logvar := in.Uniform(nd, -3, 3), in.Uniform(nd, -5, 3)
					loss, dmu, dlv := lossSlot(b, in), lossJunk(in, nd, grad), lossJunk(in, nd, grad)
					b.KLStdNormal(loss, dmu, dlv, mu, logvar, s.n, s.d, 0.2)
					return lossOuts(in, loss, "dmu", dmu, "dlogvar", dlv)
				},
			})
		}
	}
	// Gradient modes of KLDiagonal: all four, the posterior's only (fixed
	// prior), and none (dmu nil: the prior's gradients must stay untouched).
	for _, s := range lossKL {
		for _, m := range []struct {
			name        string
			post, prior bool
		}{{"all grads", true, true}, {"posterior grads", true, false}, {"no grads", false, true}} {
			register(Check{
				Name:    fmt.Sprintf("KLDiagonal/%s %s", s.name, m.name),
				Kernels: []string{"kl_diagonal"},
				Tol:     tol,
				Run: func(b model.Backend, in *Inputs) []Output {
					nd := s.n * s.d
					mu, logvar := in.Uniform(nd, -3, 3), in.Uniform(nd, -5, 3)
					pmu, plogvar := in.Uniform(nd, -3, 3), in.Uniform(nd, -5, 3)
					loss := lossSlot(b, in)
					dmu, dlv := lossJunk(in, nd, m.post), lossJunk(in, nd, m.post)
					dpmu, dplv := lossJunk(in, nd, m.prior), lossJunk(in, nd, m.prior)
					b.KLDiagonal(loss, dmu, dlv, dpmu, dplv, mu, logvar, pmu, plogvar, s.n, s.d, 1.5)
					return lossOuts(in, loss, "dmu", dmu, "dlogvar", dlv, "dpmu", dpmu, "dplogvar", dplv)
				},
			})
		}
	}
	for _, s := range []lossShape{{"1x1", 1, 1}, {"37x5", 37, 5}, {"64x40", 64, 40}} {
		register(Check{
			Name:    "LabelPrior/" + s.name,
			Kernels: []string{"kl_label_prior"},
			Tol:     0,
			Run: func(b model.Backend, in *Inputs) []Output {
				y := in.Labels(s.n * s.d)
				pmu, plv := lossJunk(in, 2*s.n*s.d, true), lossJunk(in, 2*s.n*s.d, true)
				b.LabelPrior(pmu, plv, y, s.n, s.d, model.Prior{Mu1: 0, LogVar1: float32(math.Log(0.01)), Mu0: 3, LogVar0: 0})
				return []Output{in.Get("pmu", pmu), in.Get("plogvar", plv)}
			},
		})
	}

	// The class-mean gap of z: one example (one class only, so nothing), a
	// ragged shape, and the full CelebA label set at batch 64, Dz 64; the
	// attribute weights 0 or 1 at random, as --mean-gap-attrs makes them.
	for _, s := range []struct {
		name    string
		n, d, k int
	}{{"1x1x1", 1, 1, 1}, {"37x45x3", 37, 45, 3}, {"64x64x40", 64, 64, 40}} {
		for _, grad := range []bool{true, false} {
			kernels := []string{"loss_meangap"}
			if grad {
				kernels = append(kernels, "loss_meangap_grad")
			}
			register(Check{
				Name:    fmt.Sprintf("MeanGap/%s grad=%v", s.name, grad),
				Kernels: kernels,
				Tol:     tol,
				Run: func(b model.Backend, in *Inputs) []Output {
					mu, y, aw := in.Uniform(s.n*s.d, -3, 3), in.Labels(s.n*s.k), in.Labels(s.k)
					loss, gap, dmu := lossSlot(b, in), lossJunk(in, s.k*s.d, true), lossJunk(in, s.n*s.d, grad)
					b.MeanGap(loss, dmu, gap, mu, y, aw, s.n, s.d, s.k, 7)
					return lossOuts(in, loss, "gap", gap, "dmu", dmu)
				},
			})
		}
	}

	// The elementwise losses, each with and without its gradient.
	type loss struct {
		op     string
		kernel string
		shapes []lossShape
		run    func(b model.Backend, in *Inputs, s lossShape, loss, grad model.Tensor)
	}
	for _, l := range []loss{
		{"MSE", "loss_mse", lossImage, func(b model.Backend, in *Inputs, s lossShape, loss, grad model.Tensor) {
			xhat, x := in.Uniform(s.n*s.d, 0, 1), in.Uniform(s.n*s.d, 0, 1)
			b.MSE(loss, grad, xhat, x, s.n, s.d, 20)
		}},
		{"BCEWithLogits", "loss_bce", lossImage, func(b model.Backend, in *Inputs, s lossShape, loss, grad model.Tensor) {
			// Logits far into both tails: the loss must stay finite.
			logit, target := in.Uniform(s.n*s.d, -40, 40), in.Uniform(s.n*s.d, 0, 1)
			b.BCEWithLogits(loss, grad, logit, target, s.n, s.d, 20)
		}},
		{"WeightedBCEWithLogits", "loss_wbce", lossAdv, func(b model.Backend, in *Inputs, s lossShape, loss, grad model.Tensor) {
			logit, target := in.Uniform(s.n*s.d, -40, 40), in.Labels(s.n*s.d)
			pos, neg := in.Uniform(s.d, 0.5, 5), in.Uniform(s.d, 0.5, 5)
			b.WeightedBCEWithLogits(loss, grad, logit, target, pos, neg, s.n, s.d, 1)
		}},
		{"NegEntropyWithLogits", "loss_negent", lossAdv, func(b model.Backend, in *Inputs, s lossShape, loss, grad model.Tensor) {
			logit := in.Uniform(s.n*s.d, -40, 40)
			b.NegEntropyWithLogits(loss, grad, logit, s.n, s.d, 10)
		}},
	} {
		for _, s := range l.shapes {
			for _, grad := range []bool{true, false} {
				register(Check{
					Name:    fmt.Sprintf("%s/%s grad=%v", l.op, s.name, grad),
					Kernels: []string{l.kernel},
					Tol:     tol,
					Run: func(b model.Backend, in *Inputs) []Output {
						loss, g := lossSlot(b, in), lossJunk(in, s.n*s.d, grad)
						l.run(b, in, s, loss, g)
						return lossOuts(in, loss, "grad", g)
					},
				})
			}
		}
	}

	// Consecutive reductions on one backend share its scratch buffer: each
	// launch must leave the ticket counter at zero for the next.
	register(Check{
		Name:    "KLStdNormal+MSE/consecutive",
		Kernels: []string{"kl_std_normal", "loss_mse"},
		Tol:     tol,
		Run: func(b model.Backend, in *Inputs) []Output {
			mu, logvar := in.Uniform(64*72, -3, 3), in.Uniform(64*72, -5, 3)
			xhat, x := in.Uniform(2*12288, 0, 1), in.Uniform(2*12288, 0, 1)
			losses := in.Uniform(3, -1, 1)
			b.KLStdNormal(b.Slice(losses, 0, 1), nil, nil, mu, logvar, 64, 72, 1)
			b.MSE(b.Slice(losses, 1, 1), nil, xhat, x, 2, 12288, 1)
			b.KLStdNormal(b.Slice(losses, 2, 1), nil, nil, xhat, x, 37, 45, 1)
			return []Output{in.Get("losses", losses)}
		},
	})
}
