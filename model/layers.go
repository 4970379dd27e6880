package model

import "strconv"

// A Layer maps a batch of inputs (one or more tensors of n rows each) to one
// output tensor it owns. Forward remembers its inputs; Backward turns the
// gradient of its output into gradients of its inputs (tensors it owns) and,
// when paramGrads is set, adds its parameters' gradients.
type Layer interface {
	OutDim() int
	Forward(xs []Tensor, n int) Tensor
	Backward(dy Tensor, n int, wantDx, paramGrads bool) []Tensor
}

// Buffers sized for the largest batch; a smaller batch uses a prefix.
type buffer struct {
	be  Backend
	t   Tensor
	dim int
}

func newBuffer(be Backend, maxBatch, dim int) buffer {
	return buffer{be: be, t: be.Alloc(maxBatch * dim), dim: dim}
}

func (b buffer) rows(n int) Tensor { return b.be.Slice(b.t, 0, n*b.dim) }

// Dense is a fully connected layer over the concatenation of its inputs,
// stored as one weight matrix [out, in_i] per input: y = b + sum_i x_i·W_iᵀ.
// Keeping the blocks apart means no concatenation is ever copied, and a
// single-input Dense is exactly torch.nn.Linear.
type Dense struct {
	be   Backend
	ins  []int
	out  int
	w    []*Param
	b    *Param
	xs   []Tensor
	y    buffer
	dxs  []buffer
	dxsT []Tensor
}

// NewDense registers the layer's parameters under name in ps: name.weight
// (name.weight.i for the i-th input when there are several) and name.bias.
func NewDense(be Backend, ps *ParamSet, name string, maxBatch int, ins []int, out int) *Dense {
	d := &Dense{be: be, ins: ins, out: out}
	fanIn := 0
	for _, in := range ins {
		fanIn += in
	}
	for i, in := range ins {
		pname := name + ".weight"
		if len(ins) > 1 {
			pname = name + ".weight." + strconv.Itoa(i)
		}
		d.w = append(d.w, ps.Add(pname, fanIn, out, in))
		d.dxs = append(d.dxs, newBuffer(be, maxBatch, in))
	}
	d.b = ps.Add(name+".bias", fanIn, out)
	d.y = newBuffer(be, maxBatch, out)
	d.dxsT = make([]Tensor, len(ins))
	return d
}

func (d *Dense) OutDim() int { return d.out }

func (d *Dense) Forward(xs []Tensor, n int) Tensor {
	if len(xs) != len(d.ins) {
		panic("model: dense layer given the wrong number of inputs")
	}
	d.xs = append(d.xs[:0], xs...)
	y := d.y.rows(n)
	for i, x := range xs {
		var b Tensor
		if i == 0 {
			b = d.b.Value
		}
		d.be.DenseForward(y, x, d.w[i].Value, b, n, d.ins[i], d.out, i > 0)
	}
	return y
}

func (d *Dense) Backward(dy Tensor, n int, wantDx, paramGrads bool) []Tensor {
	for i, x := range d.xs {
		if paramGrads {
			var db Tensor
			if i == 0 {
				db = d.b.Grad
			}
			d.be.DenseBackwardParams(d.w[i].Grad, db, dy, x, n, d.ins[i], d.out)
		}
		d.dxsT[i] = nil
		if wantDx {
			d.dxsT[i] = d.dxs[i].rows(n)
			d.be.DenseBackwardData(d.dxsT[i], dy, d.w[i].Value, n, d.ins[i], d.out, false)
		}
	}
	if !wantDx {
		return nil
	}
	return d.dxsT
}

// Activation applies an elementwise nonlinearity in place: it overwrites
// its input with its output, and its output gradient with its input
// gradient. That halves the activation memory of the image network, and is
// safe because every activation follows a layer whose output nothing else
// reads (dense, convolution and batch-norm backward passes need their
// inputs, not their outputs) and the gradient it receives is the next
// layer's, used by no one after. LeakyReLU and ReLU take their derivative
// from the sign of the output, sigmoid from the output.
type Activation struct {
	be  Backend
	act Act
	dim int
	y   Tensor
}

func NewActivation(be Backend, a Act, maxBatch, dim int) *Activation {
	return &Activation{be: be, act: a, dim: dim}
}

func (a *Activation) OutDim() int { return a.dim }

func (a *Activation) Forward(xs []Tensor, n int) Tensor {
	a.y = xs[0]
	a.be.Activation(a.act, a.y, a.y)
	return a.y
}

func (a *Activation) Backward(dy Tensor, n int, wantDx, _ bool) []Tensor {
	if !wantDx {
		return nil
	}
	a.be.ActivationBackward(a.act, dy, dy, a.y, a.y)
	return []Tensor{dy}
}

// Seq chains layers; only its first layer may take several inputs.
type Seq struct {
	layers []Layer
	in     []int
}

// NewSeq starts a chain whose inputs have the given widths.
func NewSeq(in ...int) *Seq { return &Seq{in: in} }

// Add appends a layer.
func (s *Seq) Add(l Layer) *Seq { s.layers = append(s.layers, l); return s }

// OutDim is the width of the last layer's output, or of the single input of
// an empty chain.
func (s *Seq) OutDim() int {
	if len(s.layers) == 0 {
		return s.in[0]
	}
	return s.layers[len(s.layers)-1].OutDim()
}

// Empty reports a chain with no layers, which passes its input through.
func (s *Seq) Empty() bool { return len(s.layers) == 0 }

func (s *Seq) Forward(xs []Tensor, n int) Tensor {
	if s.Empty() {
		return xs[0]
	}
	for _, l := range s.layers {
		xs = []Tensor{l.Forward(xs, n)}
	}
	return xs[0]
}

// Backward returns the gradients of the chain's inputs when wantDx is set;
// inner layers always pass theirs on.
func (s *Seq) Backward(dy Tensor, n int, wantDx, paramGrads bool) []Tensor {
	if s.Empty() {
		return []Tensor{dy}
	}
	dys := []Tensor{dy}
	for i := len(s.layers) - 1; i >= 0; i-- {
		dys = s.layers[i].Backward(dys[0], n, i > 0 || wantDx, paramGrads)
	}
	return dys
}
