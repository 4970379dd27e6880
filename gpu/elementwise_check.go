package gpu

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Checks of kernels/elementwise.cu. Each output is a window of a larger
// tensor full of junk and the whole tensor is compared, so a write past
// either end fails; the window starts 16-byte aligned (the float4 path) or
// one value in (the scalar path). In-place variants are the model's calls:
// Activation(a, y, y) and ActivationBackward(a, dy, dy, y, y).

var ewSizes = []int{1, 37, 1000, 4097}

// ewOffsets are where the output window starts in its junk tensor.
var ewOffsets = []int{4, 1}

// ewWindow returns a junk tensor of n+off+3 values and its window [off, off+n).
func ewWindow(b model.Backend, in *Inputs, n, off int, lo, hi float32) (all, w model.Tensor) {
	all = in.Uniform(n+off+3, lo, hi)
	return all, b.Slice(all, off, n)
}

var ewActs = []struct {
	name   string
	act    model.Act
	lo, hi float32 // input range: sigmoid's reaches both branches and saturation
}{
	{"identity", model.Act{Kind: model.Identity}, -3, 3},
	{"relu", model.Act{Kind: model.ReLU}, -3, 3},
	{"leaky0.2", model.Act{Kind: model.LeakyReLU, Slope: 0.2}, -3, 3},
	{"sigmoid", model.Act{Kind: model.Sigmoid}, -20, 20},
}

func ewActKernels(a model.Act, backward bool) []string {
	switch {
	case a.Kind == model.Identity:
		return []string{"ew_copy"}
	case a.Kind == model.Sigmoid && backward:
		return []string{"ew_sigmoid_backward"}
	case a.Kind == model.Sigmoid:
		return []string{"ew_sigmoid_forward"}
	case backward:
		return []string{"ew_leaky_relu_backward"}
	}
	return []string{"ew_leaky_relu_forward"}
}

func init() {
	// Results are bitwise equal to the fallback's by construction (same
	// float32 operations, no fused multiply-adds, exp in double); the
	// tolerance only leaves room for a different libm's last bit in exp.
	const tol = 1e-6
	for _, n := range ewSizes {
		for _, off := range ewOffsets {
			register(Check{
				Name:    fmt.Sprintf("Axpy/n=%d off=%d", n, off),
				Kernels: []string{"ew_axpy"},
				Tol:     tol,
				Run: func(b model.Backend, in *Inputs) []Output {
					all, y := ewWindow(b, in, n, off, -2, 2)
					_, x := ewWindow(b, in, n, off, -2, 2)
					b.Axpy(y, -0.7, x)
					return []Output{in.Get("y", all)}
				},
			})
		}
	}
	for _, a := range ewActs {
		for _, n := range ewSizes {
			for _, off := range ewOffsets {
				for _, inPlace := range []bool{true, false} {
					name := fmt.Sprintf("Activation/%s n=%d off=%d in-place=%v", a.name, n, off, inPlace)
					register(Check{
						Name:    name,
						Kernels: ewActKernels(a.act, false),
						Tol:     tol,
						Run: func(b model.Backend, in *Inputs) []Output {
							allX, x := ewWindow(b, in, n, off, a.lo, a.hi)
							allY, y := allX, x
							if !inPlace {
								allY, y = ewWindow(b, in, n, off, -9, 9)
							}
							b.Activation(a.act, y, x)
							return []Output{in.Get("y", allY), in.Get("x", allX)}
						},
					})
					name = fmt.Sprintf("ActivationBackward/%s n=%d off=%d in-place=%v", a.name, n, off, inPlace)
					register(Check{
						Name:    name,
						Kernels: ewActKernels(a.act, true),
						Tol:     tol,
						Run: func(b model.Backend, in *Inputs) []Output {
							// The layer's output: in (0,1) for sigmoid, of
							// either sign otherwise, with exact zeros
							// (ReLU's) where the derivative is decided.
							yv := in.Host(n+off+3, a.lo, a.hi)
							for i := range yv {
								if a.act.Kind == model.Sigmoid {
									yv[i] = 1 / (1 + yv[i]*yv[i])
								} else if i%5 == 0 {
									yv[i] = 0
								}
							}
							y := b.Slice(in.Tensor(yv), off, n)
							allDy, dy := ewWindow(b, in, n, off, -2, 2)
							allDx, dx := allDy, dy
							if !inPlace {
								allDx, dx = ewWindow(b, in, n, off, -9, 9)
							}
							b.ActivationBackward(a.act, dx, dy, y, y)
							return []Output{in.Get("dx", allDx), in.Get("dy", allDy)}
						},
					})
				}
			}
		}
	}
}
