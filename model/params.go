package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Param is one named weight tensor: a view into its ParamSet's flat buffers.
type Param struct {
	Name  string
	Shape []int
	Value Tensor // view into ParamSet.values
	Grad  Tensor // view into ParamSet.grads; nil in a state set
	fanIn int
	// constant, when set, initialises every value to value instead of the
	// uniform draw (batch-norm scales and shifts, running statistics).
	constant bool
	value    float32
	off      int
}

// Size is the number of values in p.
func (p *Param) Size() int {
	n := 1
	for _, s := range p.Shape {
		n *= s
	}
	return n
}

// ParamSet is the parameters one optimizer updates, stored in four flat
// buffers (values, gradients, Adam's two moments) so that zeroing gradients
// and the Adam update are each one kernel call over everything, and a
// checkpoint is four copies.
type ParamSet struct {
	Name string
	// Trainable sets have gradients and Adam moments; a state set (batch
	// norm's running statistics) only has values, saved with checkpoints.
	Trainable bool
	params    []*Param
	byName    map[string]*Param
	size      int
	Step      int // Adam steps taken

	values, grads, m, v Tensor
	// avg is the moving average of values (Config.EMA); nil without one.
	avg Tensor
}

// NewParamSet starts an empty trainable set; layers add to it, then Allocate.
func NewParamSet(name string) *ParamSet {
	return &ParamSet{Name: name, Trainable: true, byName: map[string]*Param{}}
}

// NewStateSet starts an empty set of values that are saved but not trained.
func NewStateSet(name string) *ParamSet {
	return &ParamSet{Name: name, byName: map[string]*Param{}}
}

// Add registers a parameter of the given shape whose default initialisation
// draws from U(-1/sqrt(fanIn), 1/sqrt(fanIn)), PyTorch's default for linear
// and convolution layers.
func (s *ParamSet) Add(name string, fanIn int, shape ...int) *Param {
	if s.values != nil {
		panic("model: parameter " + name + " added after Allocate")
	}
	if _, dup := s.byName[name]; dup {
		panic("model: duplicate parameter " + name)
	}
	p := &Param{Name: name, Shape: shape, fanIn: fanIn, off: s.size}
	s.params = append(s.params, p)
	s.byName[name] = p
	s.size += p.Size()
	return p
}

// AddConst registers a parameter initialised to value everywhere.
func (s *ParamSet) AddConst(name string, value float32, shape ...int) *Param {
	p := s.Add(name, 1, shape...)
	p.constant, p.value = true, value
	return p
}

// Params lists the parameters in registration order.
func (s *ParamSet) Params() []*Param { return s.params }

// Get finds a parameter by name.
func (s *ParamSet) Get(name string) (*Param, bool) { p, ok := s.byName[name]; return p, ok }

// Size is the total number of parameter values.
func (s *ParamSet) Size() int { return s.size }

// Allocate creates the flat buffers on be and initialises every parameter
// from a generator seeded with seed, in registration order, so the same
// configuration and seed always start from the same weights.
func (s *ParamSet) Allocate(be Backend, seed uint64) {
	s.values = be.Alloc(s.size)
	if s.Trainable {
		s.grads, s.m, s.v = be.Alloc(s.size), be.Alloc(s.size), be.Alloc(s.size)
	}
	host := make([]float32, s.size)
	r := rand.New(rand.NewPCG(seed, 0x9E3779B97F4A7C15))
	for _, p := range s.params {
		p.Value = be.Slice(s.values, p.off, p.Size())
		if s.Trainable {
			p.Grad = be.Slice(s.grads, p.off, p.Size())
		}
		bound := 1 / math.Sqrt(float64(max(1, p.fanIn)))
		for i := p.off; i < p.off+p.Size(); i++ {
			if p.constant {
				host[i] = p.value
			} else {
				host[i] = float32((2*r.Float64() - 1) * bound)
			}
		}
	}
	be.Upload(s.values, host)
}

// ZeroGrad clears the gradients before a step.
func (s *ParamSet) ZeroGrad(be Backend) { be.Zero(s.grads) }

// Update applies one Adam step with the accumulated gradients.
func (s *ParamSet) Update(be Backend, h AdamParams) {
	s.Step++
	be.Adam(s.values, s.grads, s.m, s.v, h, s.Step)
}

// State returns host copies of the values and, for a trainable set, of
// Adam's moments.
func (s *ParamSet) State(be Backend) (values, m, v []float32) {
	values = make([]float32, s.size)
	be.Download(values, s.values)
	if s.Trainable {
		m, v = make([]float32, s.size), make([]float32, s.size)
		be.Download(m, s.m)
		be.Download(v, s.v)
	}
	return values, m, v
}

// SetState replaces the values and, when m and v are not nil, Adam's moments.
func (s *ParamSet) SetState(be Backend, values, m, v []float32) error {
	if len(values) != s.size || (m != nil && len(m) != s.size) || (v != nil && len(v) != s.size) {
		return fmt.Errorf("parameter set %q holds %d values, got %d/%d/%d", s.Name, s.size, len(values), len(m), len(v))
	}
	be.Upload(s.values, values)
	if m != nil {
		be.Upload(s.m, m)
		be.Upload(s.v, v)
	}
	return nil
}

// Grads returns a host copy of the flat gradient buffer.
func (s *ParamSet) Grads(be Backend) []float32 {
	g := make([]float32, s.size)
	be.Download(g, s.grads)
	return g
}

// TrackAverage gives the set a moving average of its values, starting at
// their current ones.
func (s *ParamSet) TrackAverage(be Backend) {
	s.avg = be.Alloc(s.size)
	s.ResetAverage(be)
}

// ResetAverage restarts the average at the current values.
func (s *ParamSet) ResetAverage(be Backend) {
	be.Zero(s.avg)
	be.Axpy(s.avg, 1, s.values)
}

// UpdateAverage moves the average towards the values: avg = d·avg + (1−d)·values,
// as two Axpy calls (the first scales avg in place), so the GPU needs no
// kernel of its own for it.
func (s *ParamSet) UpdateAverage(be Backend, d float32) {
	be.Axpy(s.avg, d-1, s.avg)
	be.Axpy(s.avg, 1-d, s.values)
}

// Average returns a host copy of the moving average, nil without one.
func (s *ParamSet) Average(be Backend) []float32 {
	if s.avg == nil {
		return nil
	}
	a := make([]float32, s.size)
	be.Download(a, s.avg)
	return a
}

// SetAverage replaces the moving average (from a checkpoint).
func (s *ParamSet) SetAverage(be Backend, a []float32) error {
	if s.avg == nil || len(a) != s.size {
		return fmt.Errorf("parameter set %q holds %d values, got an average of %d", s.Name, s.size, len(a))
	}
	be.Upload(s.avg, a)
	return nil
}

// UseAverage replaces the values by their moving average: the set becomes
// the averaged model, for using, not for training on.
func (s *ParamSet) UseAverage(be Backend) {
	be.Zero(s.values)
	be.Axpy(s.values, 1, s.avg)
}
