package gpu

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Axpy and the activations (kernels/elementwise.cu): grid-stride maps over
// float4 groups, so a launch needs a thread per four values, and no more
// than ewMaxBlocks blocks (each thread then loops).

const (
	ewThreads   = 256
	ewMaxBlocks = 4096
)

func ewGrid(n int) (Dim3, Dim3) {
	return Dim3{min(max(blocks(blocks(n, 4), ewThreads), 1), ewMaxBlocks), 1, 1}, Dim3{ewThreads, 1, 1}
}

// Go fallback: kernels.Axpy; y += a*x over len(y) values.
func (b *Backend) Axpy(y model.Tensor, a float32, x model.Tensor) {
	n := y.Len()
	mustLen("Axpy", x, n)
	if n == 0 {
		return
	}
	grid, block := ewGrid(n)
	b.dev.Launch("ew_axpy", grid, block, ptr(y), ptr(x), I64(n), F32(a))
}

// Activation writes act(x) to y; y may be x (the model runs activations in
// place). Go fallback: model.CPU.Activation.
func (b *Backend) Activation(a model.Act, y, x model.Tensor) {
	n := x.Len()
	switch a.Kind {
	case model.Identity:
		b.copy(y, x)
	case model.ReLU:
		b.leakyReLU("ew_leaky_relu_forward", y, x, nil, n, 0)
	case model.LeakyReLU:
		b.leakyReLU("ew_leaky_relu_forward", y, x, nil, n, a.Slope)
	case model.Sigmoid:
		mustLen("Activation", y, n)
		if n > 0 {
			grid, block := ewGrid(n)
			b.dev.Launch("ew_sigmoid_forward", grid, block, ptr(y), ptr(x), I64(n))
		}
	default:
		panic(fmt.Sprintf("gpu: unknown activation %d", a.Kind))
	}
}

// ActivationBackward writes dx from dy and the layer's input x (ReLU,
// LeakyReLU: its output works as well) or output y (Sigmoid); dx may be dy.
// Go fallback: model.CPU.ActivationBackward.
func (b *Backend) ActivationBackward(a model.Act, dx, dy, x, y model.Tensor) {
	switch a.Kind {
	case model.Identity:
		b.copy(dx, dy)
	case model.ReLU:
		b.leakyReLU("ew_leaky_relu_backward", dx, dy, x, x.Len(), 0)
	case model.LeakyReLU:
		b.leakyReLU("ew_leaky_relu_backward", dx, dy, x, x.Len(), a.Slope)
	case model.Sigmoid:
		n := y.Len()
		mustLen("ActivationBackward", dx, n)
		mustLen("ActivationBackward", dy, n)
		if n > 0 {
			grid, block := ewGrid(n)
			b.dev.Launch("ew_sigmoid_backward", grid, block, ptr(dx), ptr(dy), ptr(y), I64(n))
		}
	default:
		panic(fmt.Sprintf("gpu: unknown activation %d", a.Kind))
	}
}

// copy copies min(len(dst), len(src)) values, as Go's copy; nothing to do
// in place.
func (b *Backend) copy(dst, src model.Tensor) {
	n := min(dst.Len(), src.Len())
	if n == 0 || ptr(dst) == ptr(src) {
		return
	}
	grid, block := ewGrid(n)
	b.dev.Launch("ew_copy", grid, block, ptr(dst), ptr(src), I64(n))
}

// leakyReLU launches the forward (x nil: out = f(in)) or backward (out =
// in·f'(x)) kernel over n values.
func (b *Backend) leakyReLU(kernel string, out, in, x model.Tensor, n int, slope float32) {
	mustLen(kernel, out, n)
	mustLen(kernel, in, n)
	if n == 0 {
		return
	}
	grid, block := ewGrid(n)
	if x == nil {
		b.dev.Launch(kernel, grid, block, ptr(out), ptr(in), I64(n), F32(slope))
	} else {
		b.dev.Launch(kernel, grid, block, ptr(out), ptr(in), ptr(x), I64(n), F32(slope))
	}
}
