package gpu

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// The conformance suite: each Check runs one backend op on inputs drawn from
// a seed, once on the pure-Go CPU backend and once on a device backend, and
// compares what comes out. The same checks run under emulation in go test
// (kernels/emu) and on a real GPU in `csvae-gpu selftest --device gpu`.

// Check is one op at one shape.
type Check struct {
	// Name is "Op/shape", e.g. "ConvForward/3x3 s1 p1 ragged".
	Name string
	// Kernels are the CUDA kernels the op launches.
	Kernels []string
	// Tol is the largest relative L2 error accepted for every output.
	Tol float64
	// Run performs the op on b with inputs from in and returns its outputs.
	// It must call in's methods in the same order on every backend.
	Run func(b model.Backend, in *Inputs) []Output
}

// Output is one named result of a check, downloaded to the host.
type Output struct {
	Name string
	Data []float32
}

var registry []Check

// register adds checks to the suite; each family's file calls it from init.
func register(cs ...Check) { registry = append(registry, cs...) }

// Checks returns the suite sorted by name.
func Checks() []Check {
	cs := slices.Clone(registry)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// Inputs hands a check its random inputs: the same numbers on every backend,
// since the generator is seeded from the suite's seed and the check's name.
type Inputs struct {
	b   model.Backend
	rng *rand.Rand
}

func newInputs(b model.Backend, seed uint64, name string) *Inputs {
	h := fnv.New64a()
	h.Write([]byte(name))
	return &Inputs{b: b, rng: rand.New(rand.NewPCG(seed, h.Sum64()))}
}

// Host returns n uniform values in [lo, hi) without uploading them.
func (in *Inputs) Host(n int, lo, hi float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = lo + (hi-lo)*in.rng.Float32()
	}
	return v
}

// Uniform returns a tensor of n uniform values in [lo, hi).
func (in *Inputs) Uniform(n int, lo, hi float32) model.Tensor {
	return in.Tensor(in.Host(n, lo, hi))
}

// Labels returns a tensor of n values, each 0 or 1.
func (in *Inputs) Labels(n int) model.Tensor {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(in.rng.IntN(2))
	}
	return in.Tensor(v)
}

// Tensor uploads v to a new tensor.
func (in *Inputs) Tensor(v []float32) model.Tensor {
	t := in.b.Alloc(len(v))
	in.b.Upload(t, v)
	return t
}

// Get downloads t as an output called name.
func (in *Inputs) Get(name string, t model.Tensor) Output {
	v := make([]float32, t.Len())
	in.b.Download(v, t)
	return Output{name, v}
}

// Result is one check's outcome on a device.
type Result struct {
	Name    string
	Kernels []string
	// RelErr is the worst relative L2 error over the check's outputs, and
	// Worst names that output.
	RelErr float64
	Worst  string
	Tol    float64
	Pass   bool
	// Err is set when the check could not run (a device error, a panic).
	Err error
}

// RunChecks runs every check whose name matches keep (nil keeps all) on dev
// and on the CPU backend, and returns one Result per check.
func RunChecks(dev model.Backend, seed uint64, keep func(name string) bool) []Result {
	var out []Result
	for _, c := range Checks() {
		if keep != nil && !keep(c.Name) {
			continue
		}
		out = append(out, runCheck(c, dev, seed))
	}
	return out
}

func runCheck(c Check, dev model.Backend, seed uint64) (r Result) {
	r = Result{Name: c.Name, Kernels: c.Kernels, Tol: c.Tol}
	defer func() {
		if p := recover(); p != nil {
			r.Err = fmt.Errorf("%v", p)
			r.Pass = false
		}
	}()
	want := c.Run(model.CPU{}, newInputs(model.CPU{}, seed, c.Name))
	got := c.Run(dev, newInputs(dev, seed, c.Name))
	if len(got) != len(want) {
		return r
	}
	r.Pass = true
	for i := range want {
		e := RelErr(got[i].Data, want[i].Data)
		if e > r.RelErr || math.IsNaN(e) {
			r.RelErr, r.Worst = e, want[i].Name
		}
		if !(e <= c.Tol) {
			r.Pass = false
		}
	}
	return r
}

// RelErr is ||got-want|| / max(||want||, 1e-30) in float64; NaN or a length
// mismatch gives +Inf.
func RelErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var d, w float64
	for i := range want {
		e := float64(got[i]) - float64(want[i])
		d += e * e
		w += float64(want[i]) * float64(want[i])
	}
	r := math.Sqrt(d) / math.Max(math.Sqrt(w), 1e-30)
	if math.IsNaN(r) {
		return math.Inf(1)
	}
	return r
}
