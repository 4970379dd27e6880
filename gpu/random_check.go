package gpu

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Checks of kernels/random.cu. The noise must be the CPU's number for number,
// hence the tight tolerance: at most a rare last-bit difference where the
// double exp, log or sincos of the two sides round differently.

func init() {
	type shape struct {
		name         string
		n, off       int // values; position of the tensors inside a larger allocation
		seed, offset uint64
	}
	for _, s := range []shape{
		{"n=1", 1, 0, 1, 0},
		{"n=37x45 odd offset", 37 * 45, 3, 0xDEADBEEFCAFEBABE, 12345},
		{"n=64x72 counter carry", 64 * 72, 0, 42, 1<<32 - 500},
		{"n=1023 high counter", 1023, 1, 7, 5<<32 + 7},
		{"n=6 top of counter", 6, 0, 1<<64 - 1, 1<<64 - 1},
	} {
		register(Check{
			Name:    "Reparameterize/" + s.name,
			Kernels: []string{"random_reparam"},
			Tol:     1e-7,
			Run: func(b model.Backend, in *Inputs) []Output {
				mu := b.Slice(in.Uniform(s.n+s.off, -2, 2), s.off, s.n)
				logvar := b.Slice(in.Uniform(s.n+s.off, -4, 2), s.off, s.n)
				z := b.Slice(in.Uniform(s.n+s.off, -9, 9), s.off, s.n)
				eps := b.Slice(in.Uniform(s.n+s.off, -9, 9), s.off, s.n)
				b.Reparameterize(z, eps, mu, logvar, s.seed, s.offset)
				return []Output{in.Get("eps", eps), in.Get("z", z)}
			},
		})
	}
	for _, n := range []int{1, 37 * 45, 64 * 72} {
		register(Check{
			Name:    fmt.Sprintf("ReparameterizeBackward/n=%d", n),
			Kernels: []string{"random_reparam_backward"},
			Tol:     1e-7,
			Run: func(b model.Backend, in *Inputs) []Output {
				// dmu and dlogvar start non-zero: the op must add to them.
				dmu, dlogvar := in.Uniform(n, -1, 1), in.Uniform(n, -1, 1)
				dz, eps, logvar := in.Uniform(n, -1, 1), in.Uniform(n, -3, 3), in.Uniform(n, -4, 2)
				b.ReparameterizeBackward(dmu, dlogvar, dz, eps, logvar)
				return []Output{in.Get("dmu", dmu), in.Get("dlogvar", dlogvar)}
			},
		})
	}
}
