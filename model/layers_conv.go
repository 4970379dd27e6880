package model

// Conv2D is torch.nn.Conv2d with bias over NCHW batches: the per-example
// geometry is fixed, the batch size comes with each call.
type Conv2D struct {
	be   Backend
	g    ConvGeom // N is set per call
	w, b *Param
	x    Tensor
	y    buffer
	dx   buffer
}

// NewConv2D registers name.weight [K,C,R,S] and name.bias [K].
func NewConv2D(be Backend, ps *ParamSet, name string, maxBatch int, g ConvGeom) *Conv2D {
	l := &Conv2D{be: be, g: g}
	fanIn := g.C * g.R * g.S
	l.w = ps.Add(name+".weight", fanIn, g.K, g.C, g.R, g.S)
	l.b = ps.Add(name+".bias", fanIn, g.K)
	l.y = newBuffer(be, maxBatch, l.OutDim())
	l.dx = newBuffer(be, maxBatch, g.C*g.H*g.W)
	return l
}

func (l *Conv2D) OutDim() int { return l.g.K * l.g.OH() * l.g.OW() }

func (l *Conv2D) geom(n int) ConvGeom { g := l.g; g.N = n; return g }

func (l *Conv2D) Forward(xs []Tensor, n int) Tensor {
	l.x = xs[0]
	y := l.y.rows(n)
	l.be.ConvForward(y, l.x, l.w.Value, l.b.Value, l.geom(n))
	return y
}

func (l *Conv2D) Backward(dy Tensor, n int, wantDx, paramGrads bool) []Tensor {
	if paramGrads {
		l.be.ConvBackwardFilter(l.w.Grad, l.b.Grad, dy, l.x, l.geom(n))
	}
	if !wantDx {
		return nil
	}
	dx := l.dx.rows(n)
	l.be.ConvBackwardData(dx, dy, l.w.Value, l.geom(n), false)
	return []Tensor{dx}
}

// ConvTranspose2D is torch.nn.ConvTranspose2d with bias: the backward-data
// pass of the convolution g (whose input is this layer's output), so the
// decoder reuses the encoder's three convolution kernels. Its weight
// [in, out, R, S] is g's [K, C, R, S].
type ConvTranspose2D struct {
	be   Backend
	g    ConvGeom // the transposed convolution; N is set per call
	w, b *Param
	x    Tensor
	y    buffer
	dx   buffer
}

// NewConvTranspose2D registers name.weight [in,out,R,S] and name.bias [out]
// for a layer mapping [in,H,W] to [out,(H-1)·stride-2·pad+R, ...].
func NewConvTranspose2D(be Backend, ps *ParamSet, name string, maxBatch, in, out, h, w, r, stride, pad int) *ConvTranspose2D {
	oh, ow := (h-1)*stride-2*pad+r, (w-1)*stride-2*pad+r
	g := ConvGeom{C: out, H: oh, W: ow, K: in, R: r, S: r, Stride: stride, Pad: pad}
	l := &ConvTranspose2D{be: be, g: g}
	// PyTorch takes the fan-in of a transposed convolution from weight
	// dimension 1 (out channels) times the kernel area.
	fanIn := out * r * r
	l.w = ps.Add(name+".weight", fanIn, in, out, r, r)
	l.b = ps.Add(name+".bias", fanIn, out)
	l.y = newBuffer(be, maxBatch, l.OutDim())
	l.dx = newBuffer(be, maxBatch, in*h*w)
	return l
}

func (l *ConvTranspose2D) OutDim() int { return l.g.C * l.g.H * l.g.W }

func (l *ConvTranspose2D) geom(n int) ConvGeom { g := l.g; g.N = n; return g }

func (l *ConvTranspose2D) Forward(xs []Tensor, n int) Tensor {
	l.x = xs[0]
	y := l.y.rows(n)
	l.be.ConvBackwardData(y, l.x, l.w.Value, l.geom(n), false)
	l.be.AddChannelBias(y, l.b.Value, n, l.g.C, l.g.H*l.g.W)
	return y
}

func (l *ConvTranspose2D) Backward(dy Tensor, n int, wantDx, paramGrads bool) []Tensor {
	if paramGrads {
		// The roles of input and output swap: this layer's input is the
		// convolution's output gradient side.
		l.be.ConvBackwardFilter(l.w.Grad, nil, l.x, dy, l.geom(n))
		l.be.ChannelBiasBackward(l.b.Grad, dy, n, l.g.C, l.g.H*l.g.W)
	}
	if !wantDx {
		return nil
	}
	dx := l.dx.rows(n)
	l.be.ConvForward(dx, dy, l.w.Value, nil, l.geom(n))
	return []Tensor{dx}
}

// BatchNorm2D is torch.nn.BatchNorm2d (momentum 0.1, eps 1e-5): batch
// statistics while training, running statistics otherwise.
type BatchNorm2D struct {
	be            Backend
	c, p          int
	gamma, beta   *Param
	runMean, runV *Param // in the state set
	mean, invstd  Tensor
	scratch       Tensor // where parameter gradients go when they are not wanted
	Training      bool
	x             Tensor
	y, dx         buffer
}

// NewBatchNorm2D registers name.weight and name.bias (trained) and
// name.running_mean and name.running_var (state), PyTorch's names.
func NewBatchNorm2D(be Backend, ps, state *ParamSet, name string, maxBatch, c, h, w int) *BatchNorm2D {
	l := &BatchNorm2D{be: be, c: c, p: h * w, Training: true}
	l.gamma = ps.AddConst(name+".weight", 1, c)
	l.beta = ps.AddConst(name+".bias", 0, c)
	l.runMean = state.AddConst(name+".running_mean", 0, c)
	l.runV = state.AddConst(name+".running_var", 1, c)
	l.mean, l.invstd, l.scratch = be.Alloc(c), be.Alloc(c), be.Alloc(2*c)
	l.y, l.dx = newBuffer(be, maxBatch, c*h*w), newBuffer(be, maxBatch, c*h*w)
	return l
}

func (l *BatchNorm2D) OutDim() int { return l.c * l.p }

func (l *BatchNorm2D) Forward(xs []Tensor, n int) Tensor {
	l.x = xs[0]
	y := l.y.rows(n)
	l.be.BatchNormForward(y, l.x, l.gamma.Value, l.beta.Value, l.mean, l.invstd, l.runMean.Value, l.runV.Value,
		n, l.c, l.p, 0.1, 1e-5, l.Training)
	return y
}

func (l *BatchNorm2D) Backward(dy Tensor, n int, wantDx, paramGrads bool) []Tensor {
	// The input gradient and the parameter gradients come out of one pass.
	dg, db := l.gamma.Grad, l.beta.Grad
	if !paramGrads {
		dg, db = l.be.Slice(l.scratch, 0, l.c), l.be.Slice(l.scratch, l.c, l.c)
	}
	dx := l.dx.rows(n)
	l.be.BatchNormBackward(dx, dg, db, dy, l.x, l.gamma.Value, l.mean, l.invstd, n, l.c, l.p)
	if !wantDx {
		return nil
	}
	return []Tensor{dx}
}
