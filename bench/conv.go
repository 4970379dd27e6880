package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// The convolution and batch-norm cases: every conv of the CelebA-64 network
// at batch 64, called exactly as the layers call them (model/layers_conv.go).
// The encoder's convolution runs ConvForward with a bias forward and
// ConvBackwardData, ConvBackwardFilter with the bias gradient backward; the
// decoder's transposed convolution is the same three kernels with the roles
// turned round (ConvBackwardData forward, ConvForward without bias and
// ConvBackwardFilter without bias backward, and the bias apart).

const convBatch = 64

// convLayer is one convolution of the network: the geometry of the
// convolution it runs (for the decoder, the one it transposes).
type convLayer struct {
	name       string // enc1..enc4 are trunk.0..3, dec1..dec4 dec.up.0..3
	transposed bool
	g          model.ConvGeom
}

func celeba64Convs() []convLayer {
	var ls []convLayer
	chans := []int{3, 32, 64, 128, 256}
	for i := range 4 {
		g := model.ConvGeom{N: convBatch, C: chans[i], H: 64 >> i, W: 64 >> i, K: chans[i+1], R: 4, S: 4, Stride: 2, Pad: 1}
		ls = append(ls, convLayer{name: fmt.Sprintf("enc%d", i+1), g: g})
	}
	for j := range 4 {
		g := ls[3-j].g // dec.up.j transposes the convolution of trunk.(3-j)
		ls = append(ls, convLayer{name: fmt.Sprintf("dec%d", j+1), transposed: true, g: g})
	}
	return ls
}

// shape is the layer's own direction, input -> output, at batch 64.
func (l convLayer) shape() string {
	g := l.g
	in, out := fmt.Sprintf("%dx%dx%d", g.C, g.H, g.W), fmt.Sprintf("%dx%dx%d", g.K, g.OH(), g.OW())
	if l.transposed {
		in, out = out, in
	}
	return fmt.Sprintf("b%d %s->%s", g.N, in, out)
}

func convCases() []Case {
	var cs []Case
	for _, l := range celeba64Convs() {
		g := l.g
		flops := 2 * float64(g.N*g.K*g.C*g.R*g.S*g.OH()*g.OW())
		setup := func(fn func(be model.Backend, x, w, b, y, dy, dx, dw, db model.Tensor)) func(be model.Backend) func() {
			return func(be model.Backend) func() {
				r := rand.New(rand.NewPCG(7, uint64(g.C)))
				nx, ny := g.N*g.C*g.H*g.W, g.N*g.K*g.OH()*g.OW()
				x, w, b := random(be, r, nx, 1), random(be, r, g.K*g.C*g.R*g.S, 0.05), random(be, r, g.K, 0.1)
				y, dy, dx := be.Alloc(ny), random(be, r, ny, 1), be.Alloc(nx)
				dw, db := be.Alloc(g.K*g.C*g.R*g.S), be.Alloc(g.K)
				return func() { fn(be, x, w, b, y, dy, dx, dw, db) }
			}
		}
		fwd := Case{Name: "ConvForward " + l.name, Shape: l.shape(), Flops: flops,
			Setup: setup(func(be model.Backend, x, w, b, y, _, _, _, _ model.Tensor) { be.ConvForward(y, x, w, b, g) })}
		bwdData := Case{Name: "ConvBackwardData " + l.name, Shape: l.shape(), Flops: flops,
			Setup: setup(func(be model.Backend, _, w, _, _, dy, dx, _, _ model.Tensor) {
				be.ConvBackwardData(dx, dy, w, g, false)
			})}
		bwdFilter := Case{Name: "ConvBackwardFilter " + l.name, Shape: l.shape(), Flops: flops,
			Setup: setup(func(be model.Backend, x, _, _, _, dy, _, dw, db model.Tensor) {
				be.ConvBackwardFilter(dw, db, dy, x, g)
			})}
		if !l.transposed {
			cs = append(cs, fwd, bwdData, bwdFilter)
			continue
		}
		// The transposed layer: forward is ConvBackwardData (g's dy is its
		// input), backward-data is ConvForward without bias, backward-filter
		// swaps x and dy and leaves the bias to ChannelBiasBackward.
		bwdData.Shape += " fwd"
		fwd.Shape += " bwd-data"
		fwd.Setup = setup(func(be model.Backend, x, w, _, y, _, _, _, _ model.Tensor) { be.ConvForward(y, x, w, nil, g) })
		bwdFilter.Shape += " bwd-filter"
		bwdFilter.Setup = setup(func(be model.Backend, x, _, _, _, dy, _, dw, _ model.Tensor) {
			be.ConvBackwardFilter(dw, nil, dy, x, g)
		})
		cs = append(cs, bwdData, fwd, bwdFilter)
	}
	// The transposed convolutions' bias, at each decoder output.
	for _, l := range celeba64Convs() {
		if !l.transposed {
			continue
		}
		n, c, p := l.g.N, l.g.C, l.g.H*l.g.W
		shape := fmt.Sprintf("b%d %dx%dx%d", n, c, l.g.H, l.g.W)
		setup := func(fn func(be model.Backend, y, b model.Tensor)) func(be model.Backend) func() {
			return func(be model.Backend) func() {
				r := rand.New(rand.NewPCG(8, uint64(c)))
				y, b := random(be, r, n*c*p, 1), random(be, r, c, 0.1)
				return func() { fn(be, y, b) }
			}
		}
		cs = append(cs,
			Case{Name: "AddChannelBias " + l.name, Shape: shape, Bytes: 8 * float64(n*c*p),
				Setup: setup(func(be model.Backend, y, b model.Tensor) { be.AddChannelBias(y, b, n, c, p) })},
			Case{Name: "ChannelBiasBackward " + l.name, Shape: shape, Bytes: 4 * float64(n*c*p),
				Setup: setup(func(be model.Backend, y, b model.Tensor) { be.ChannelBiasBackward(b, y, n, c, p) })},
		)
	}
	return cs
}

// batchNormCases are batch norm (training) at each of its shapes in the
// network, named by the layers that have it.
func batchNormCases() []Case {
	var cs []Case
	for _, s := range []struct {
		layers string
		c, hw  int
	}{{"enc2,dec2", 64, 16}, {"enc3,dec1", 128, 8}, {"enc4", 256, 4}, {"dec3", 32, 32}} {
		n, c, p := convBatch, s.c, s.hw*s.hw
		shape := fmt.Sprintf("b%d %dx%dx%d", n, c, s.hw, s.hw)
		setup := func(fn func(be model.Backend, t [12]model.Tensor)) func(be model.Backend) func() {
			return func(be model.Backend) func() {
				r := rand.New(rand.NewPCG(9, uint64(c)))
				// x, dy, y, dx, then per channel gamma, beta, mean, invstd,
				// running mean and variance, dgamma, dbeta.
				var t [12]model.Tensor
				t[0], t[1], t[2], t[3] = random(be, r, n*c*p, 1), random(be, r, n*c*p, 1), be.Alloc(n*c*p), be.Alloc(n*c*p)
				ones := make([]float32, c)
				for i := range ones {
					ones[i] = 1
				}
				for i := 4; i < len(t); i++ {
					t[i] = be.Alloc(c)
				}
				be.Upload(t[4], ones)
				be.Upload(t[9], ones)
				// The backward pass reads the statistics of a forward pass.
				be.BatchNormForward(t[2], t[0], t[4], t[5], t[6], t[7], t[8], t[9], n, c, p, 0.1, 1e-5, true)
				return func() { fn(be, t) }
			}
		}
		cs = append(cs,
			Case{Name: "BatchNormForward " + s.layers, Shape: shape + " training", Bytes: 12 * float64(n*c*p),
				Setup: setup(func(be model.Backend, t [12]model.Tensor) {
					be.BatchNormForward(t[2], t[0], t[4], t[5], t[6], t[7], t[8], t[9], n, c, p, 0.1, 1e-5, true)
				})},
			Case{Name: "BatchNormBackward " + s.layers, Shape: shape, Bytes: 16 * float64(n*c*p),
				Setup: setup(func(be model.Backend, t [12]model.Tensor) {
					be.BatchNormBackward(t[3], t[10], t[11], t[1], t[0], t[4], t[6], t[7], n, c, p)
				})},
		)
	}
	return cs
}
