package gpu

import (
	"fmt"
	"math"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Checks of the dense ops (dense.go, kernels/gemm.cu). The shapes cover a
// single element, ragged sizes that fill no tile, several tiles in every
// direction, split-K with a short last slice, operands at odd offsets and
// with odd leading dimensions (no float4 path), and the CelebA-64 layers at
// batch 2: 4096->256 (z head), 4099->256 (the label block of the w head,
// k = 3), 68->4096 (decoder) and their transposes.
//
// Tolerance: the products sum up to 4099 float32 terms, on the CPU by
// kernels.Sgemm and here in a different order (64×64 tiles, split-K); both
// round in float32, so each has a relative error of order eps*sqrt(K) ≈ 4e-6
// for random signs. 1e-5 covers that; a wrong element would be far above.

type denseShape struct {
	name        string
	n, in, out  int
	off         int // view offset in floats of x, w and dy (1-3: unaligned)
	acc, noBias bool
}

var denseShapes = []denseShape{
	{name: "tiny n1 in1 out1", n: 1, in: 1, out: 1},
	{name: "ragged n37 in45 out29", n: 37, in: 45, out: 29},
	{name: "ragged n37 in45 out29 accumulate", n: 37, in: 45, out: 29, acc: true},
	{name: "ragged n37 in45 out29 unaligned nil-bias", n: 37, in: 45, out: 29, off: 1, noBias: true},
	{name: "tiles n130 in70 out90 unaligned accumulate", n: 130, in: 70, out: 90, off: 3, acc: true},
	{name: "long-in n5 in1000 out70", n: 5, in: 1000, out: 70},
	{name: "tall n300 in29 out37 unaligned", n: 300, in: 29, out: 37, off: 2},
	{name: "CelebA z head n2 4096-256", n: 2, in: 4096, out: 256},
	{name: "CelebA w head labels n2 4099-256 accumulate nil-bias", n: 2, in: 4099, out: 256, acc: true, noBias: true},
	{name: "CelebA decoder n2 68-4096", n: 2, in: 68, out: 4096},
}

func init() {
	for _, s := range denseShapes {
		register(denseForwardCheck(s), denseBackwardDataCheck(s), denseBackwardParamsCheck(s))
	}
}

const denseTol = 1e-5

// view returns n uniform values in [-1, 1) at offset off of a fresh tensor.
func denseView(b model.Backend, in *Inputs, n, off int) model.Tensor {
	t := in.Uniform(n+off, -1, 1)
	return b.Slice(t, off, n)
}

// denseOut is the tensor an op writes: random values it adds to when it
// accumulates, NaN when it overwrites (which must not leak through).
func denseOut(in *Inputs, n int, acc bool) model.Tensor {
	if acc {
		return in.Uniform(n, -1, 1)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return in.Tensor(v)
}

func denseName(op string, s denseShape) string {
	return fmt.Sprintf("%s/%s", op, s.name)
}

func denseForwardCheck(s denseShape) Check {
	return Check{
		Name:    denseName("DenseForward", s),
		Kernels: gemmKernels("gemm_nt", s.n, s.out, s.in),
		Tol:     denseTol,
		Run: func(b model.Backend, in *Inputs) []Output {
			x := denseView(b, in, s.n*s.in, s.off)
			w := denseView(b, in, s.out*s.in, s.off)
			var bias model.Tensor
			if !s.noBias {
				bias = in.Uniform(s.out, -1, 1)
			}
			y := denseOut(in, s.n*s.out, s.acc)
			b.DenseForward(y, x, w, bias, s.n, s.in, s.out, s.acc)
			return []Output{in.Get("y", y)}
		},
	}
}

func denseBackwardDataCheck(s denseShape) Check {
	return Check{
		Name:    denseName("DenseBackwardData", s),
		Kernels: gemmKernels("gemm_nn", s.n, s.in, s.out),
		Tol:     denseTol,
		Run: func(b model.Backend, in *Inputs) []Output {
			dy := denseView(b, in, s.n*s.out, s.off)
			w := denseView(b, in, s.out*s.in, s.off)
			dx := denseOut(in, s.n*s.in, s.acc)
			b.DenseBackwardData(dx, dy, w, s.n, s.in, s.out, s.acc)
			return []Output{in.Get("dx", dx)}
		},
	}
}

// Parameter gradients always accumulate, so dw and db start random.
func denseBackwardParamsCheck(s denseShape) Check {
	cols := s.in // the bias gradient is one more column of the product
	if !s.noBias {
		cols++
	}
	return Check{
		Name:    denseName("DenseBackwardParams", s),
		Kernels: gemmKernels("gemm_tn", s.out, cols, s.n),
		Tol:     denseTol,
		Run: func(b model.Backend, in *Inputs) []Output {
			dy := denseView(b, in, s.n*s.out, s.off)
			x := denseView(b, in, s.n*s.in, s.off)
			dw := in.Uniform(s.out*s.in, -1, 1)
			var db model.Tensor
			if !s.noBias {
				db = in.Uniform(s.out, -1, 1)
			}
			b.DenseBackwardParams(dw, db, dy, x, s.n, s.in, s.out)
			outs := []Output{in.Get("dw", dw)}
			if db != nil {
				outs = append(outs, in.Get("db", db))
			}
			return outs
		},
	}
}
