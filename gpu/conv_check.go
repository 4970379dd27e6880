package gpu

import (
	"fmt"
	"math"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Checks of the convolution ops (conv.go, kernels/conv.cu). Each shape runs
// every op: forward with and without bias, backward-data overwriting and
// accumulating, backward-filter with and without the bias gradient, and the
// two channel-bias ops. The shapes cover ragged sizes that fill no tile,
// 1x1, odd kernels and strides whose phases have different tap counts (or
// none: a 1x1 kernel at stride 2), rectangular kernels, and the CelebA-64
// first and last encoder layers at batch 1 (whose transposes are the
// decoder's). The plans the shapes get are small tiles and split-K; the
// "tile" checks then force every tile shape, with and without split-K, on
// two shapes, so that every kernel of conv.cu runs here.
//
// Tolerance: the products sum up to 2048 float32 terms (C·R·S of the deep
// layer), on the CPU by kernels.Sgemm and here in another order (tiles,
// splits); each has a relative error of order eps·sqrt(2048) ≈ 3e-6 for
// random signs. 1e-5 covers that; a wrong tap or a missed element would be
// far above (one wrong term in 2048 is ~2e-2). The bias ops are exact or
// summed in double on both sides.

type convShape struct {
	name string
	g    model.ConvGeom
}

var convShapes = []convShape{
	{"3x3 s1 p1 ragged", model.ConvGeom{N: 2, C: 5, H: 7, W: 9, K: 6, R: 3, S: 3, Stride: 1, Pad: 1}},
	{"4x4 s2 p1", model.ConvGeom{N: 2, C: 3, H: 16, W: 16, K: 8, R: 4, S: 4, Stride: 2, Pad: 1}},
	{"1x1 s1 p0", model.ConvGeom{N: 2, C: 7, H: 5, W: 6, K: 9, R: 1, S: 1, Stride: 1, Pad: 0}},
	{"1x1 s2 p0 empty phases", model.ConvGeom{N: 2, C: 3, H: 7, W: 6, K: 4, R: 1, S: 1, Stride: 2, Pad: 0}},
	{"5x5 s2 p2 odd", model.ConvGeom{N: 2, C: 3, H: 11, W: 13, K: 5, R: 5, S: 5, Stride: 2, Pad: 2}},
	{"3x3 s2 p0", model.ConvGeom{N: 1, C: 4, H: 9, W: 8, K: 5, R: 3, S: 3, Stride: 2, Pad: 0}},
	{"3x2 s2 p1 rect", model.ConvGeom{N: 3, C: 2, H: 6, W: 9, K: 3, R: 3, S: 2, Stride: 2, Pad: 1}},
	{"CelebA conv1 n1 3-32 64x64", model.ConvGeom{N: 1, C: 3, H: 64, W: 64, K: 32, R: 4, S: 4, Stride: 2, Pad: 1}},
	{"CelebA conv4 n1 128-256 8x8", model.ConvGeom{N: 1, C: 128, H: 8, W: 8, K: 256, R: 4, S: 4, Stride: 2, Pad: 1}},
}

// convTileShapes get every tile shape forced, with splits 1 and 3.
var convTileShapes = []convShape{convShapes[0], convShapes[4]}

const convTol = 1e-5

func init() {
	for _, s := range convShapes {
		register(
			convForwardCheck(s, true, nil), convForwardCheck(s, false, nil),
			convBackwardDataCheck(s, false, nil), convBackwardDataCheck(s, true, nil),
			convBackwardFilterCheck(s, true, nil), convBackwardFilterCheck(s, false, nil),
			convAddBiasCheck(s), convBiasBackwardCheck(s),
		)
	}
	for _, s := range convTileShapes {
		for _, t := range convTiles {
			for _, splits := range []int{1, 3} {
				f := &convForce{t.name, splits}
				register(convForwardCheck(s, true, f), convBackwardDataCheck(s, true, f),
					convBackwardFilterCheck(s, true, f))
			}
		}
	}
}

// convForced, when set, overrides ConvPlan's tile and split count; only the
// checks set it, around a device call, so that every kernel is exercised.
var convForced *convForce

type convForce struct {
	tile   string
	splits int
}

func (f *convForce) String() string {
	if f == nil {
		return ""
	}
	return fmt.Sprintf(" tile %s splits %d", f.tile, f.splits)
}

// withForce runs fn with the plan forced to f (nil: the normal plan).
func withForce(f *convForce, fn func()) {
	convForced = f
	defer func() { convForced = nil }()
	fn()
}

// convKernels lists what op launches at g under f, for Check.Kernels.
func convKernels(op ConvOp, g model.ConvGeom, f *convForce) []string {
	var ks []string
	withForce(f, func() { ks = ConvPlan(op, g).Kernels() })
	return ks
}

// convNaN is an output tensor the op must overwrite: NaN would leak.
func convNaN(in *Inputs, n int) model.Tensor {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return in.Tensor(v)
}

func convSizes(g model.ConvGeom) (nx, nw, ny int) {
	return g.N * g.C * g.H * g.W, g.K * g.C * g.R * g.S, g.N * g.K * g.OH() * g.OW()
}

func convForwardCheck(s convShape, bias bool, f *convForce) Check {
	name := "ConvForward/" + s.name
	if !bias {
		name += " nil-bias"
	}
	g := s.g
	return Check{
		Name:    name + f.String(),
		Kernels: convKernels(ConvFwd, g, f),
		Tol:     convTol,
		Run: func(b model.Backend, in *Inputs) []Output {
			nx, nw, ny := convSizes(g)
			x, w := in.Uniform(nx, -1, 1), in.Uniform(nw, -1, 1)
			var bt model.Tensor
			if bias {
				bt = in.Uniform(g.K, -1, 1)
			}
			y := convNaN(in, ny)
			withForce(f, func() { b.ConvForward(y, x, w, bt, g) })
			return []Output{in.Get("y", y)}
		},
	}
}

func convBackwardDataCheck(s convShape, acc bool, f *convForce) Check {
	name := "ConvBackwardData/" + s.name
	if acc {
		name += " accumulate"
	}
	g := s.g
	return Check{
		Name:    name + f.String(),
		Kernels: convKernels(ConvBwdData, g, f),
		Tol:     convTol,
		Run: func(b model.Backend, in *Inputs) []Output {
			nx, nw, ny := convSizes(g)
			dy, w := in.Uniform(ny, -1, 1), in.Uniform(nw, -1, 1)
			var dx model.Tensor
			if acc {
				dx = in.Uniform(nx, -1, 1)
			} else {
				dx = convNaN(in, nx)
			}
			withForce(f, func() { b.ConvBackwardData(dx, dy, w, g, acc) })
			return []Output{in.Get("dx", dx)}
		},
	}
}

func convBackwardFilterCheck(s convShape, db bool, f *convForce) Check {
	name := "ConvBackwardFilter/" + s.name
	if !db {
		name += " nil-db"
	}
	g := s.g
	ks := convKernels(ConvBwdFilter, g, f)
	if db {
		ks = append(ks, "conv_channel_bias_backward")
	}
	return Check{
		Name:    name + f.String(),
		Kernels: ks,
		Tol:     convTol,
		Run: func(b model.Backend, in *Inputs) []Output {
			nx, nw, ny := convSizes(g)
			dy, x := in.Uniform(ny, -1, 1), in.Uniform(nx, -1, 1)
			// Parameter gradients accumulate: start from random values.
			dw := in.Uniform(nw, -1, 1)
			var dbt model.Tensor
			if db {
				dbt = in.Uniform(g.K, -1, 1)
			}
			withForce(f, func() { b.ConvBackwardFilter(dw, dbt, dy, x, g) })
			out := []Output{in.Get("dw", dw)}
			if db {
				out = append(out, in.Get("db", dbt))
			}
			return out
		},
	}
}

func convAddBiasCheck(s convShape) Check {
	g := s.g
	return Check{
		Name:    "AddChannelBias/" + s.name,
		Kernels: []string{"conv_add_channel_bias"},
		Tol:     1e-6,
		Run: func(b model.Backend, in *Inputs) []Output {
			p := g.OH() * g.OW()
			y, bt := in.Uniform(g.N*g.K*p, -1, 1), in.Uniform(g.K, -1, 1)
			b.AddChannelBias(y, bt, g.N, g.K, p)
			return []Output{in.Get("y", y)}
		},
	}
}

func convBiasBackwardCheck(s convShape) Check {
	g := s.g
	return Check{
		Name:    "ChannelBiasBackward/" + s.name,
		Kernels: []string{"conv_channel_bias_backward"},
		Tol:     1e-6,
		Run: func(b model.Backend, in *Inputs) []Output {
			// The layer's input plane: P = H·W, as the decoder's bias uses.
			p := g.H * g.W
			dy, db := in.Uniform(g.N*g.C*p, -1, 1), in.Uniform(g.C, -1, 1)
			b.ChannelBiasBackward(db, dy, g.N, g.C, p)
			return []Output{in.Get("db", db)}
		},
	}
}
