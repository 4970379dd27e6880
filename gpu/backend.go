package gpu

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// Backend implements model.Backend on a Device. Every tensor lives in device
// memory for the whole run; the ops launch kernels and return at once.
// The ops are in one file per kernel family (dense.go, conv.go, ...), each
// naming the .cu source it launches and the Go fallback it must match.
type Backend struct {
	dev     Device
	allocs  []Ptr
	scratch map[string]tensor
}

// New returns the backend over dev. Close frees everything it allocated.
func New(dev Device) *Backend { return &Backend{dev: dev} }

// Device is the device the backend runs on.
func (b *Backend) Device() Device { return b.dev }

// Close frees every tensor and closes the device.
func (b *Backend) Close() error {
	for _, p := range b.allocs {
		b.dev.Free(p)
	}
	b.allocs, b.scratch = nil, nil
	return b.dev.Close()
}

// workspace returns the scratch buffer called name, of at least floats
// values, zeroed when first allocated (the loss kernels' ticket counter
// relies on that). Launches run in order on one stream, so consecutive ops
// share a buffer; one that is outgrown is replaced but kept until Close,
// since queued work may still read it.
func (b *Backend) workspace(name string, floats int) uint64 {
	if t, ok := b.scratch[name]; ok && t.n >= floats {
		return uint64(t.p)
	}
	if b.scratch == nil {
		b.scratch = map[string]tensor{}
	}
	t := b.Alloc(floats).(tensor)
	b.scratch[name] = t
	return uint64(t.p)
}

// tensor is a range of device memory: a whole allocation or a Slice of one.
type tensor struct {
	p Ptr
	n int
}

func (t tensor) Len() int { return t.n }

// ptr is a tensor's device address as a kernel argument; a nil tensor (a
// gradient that is not wanted) is the null pointer, which kernels test.
func ptr(t model.Tensor) uint64 {
	if t == nil {
		return 0
	}
	return uint64(t.(tensor).p)
}

func (b *Backend) Name() string { return "gpu" }

func (b *Backend) Alloc(n int) model.Tensor {
	p, err := b.dev.Alloc(4 * max(n, 1))
	check(err)
	b.allocs = append(b.allocs, p)
	return tensor{p, n}
}

func (b *Backend) Slice(t model.Tensor, off, n int) model.Tensor {
	if off < 0 || n < 0 || off+n > t.Len() {
		panic(fmt.Sprintf("gpu: slice [%d:%d] of a tensor of %d", off, off+n, t.Len()))
	}
	return tensor{t.(tensor).p + Ptr(4*off), n}
}

func (b *Backend) Upload(dst model.Tensor, src []float32) {
	mustLen("Upload", dst, len(src))
	b.dev.Upload(dst.(tensor).p, src)
}

func (b *Backend) Download(dst []float32, src model.Tensor) {
	n := min(len(dst), src.Len())
	b.dev.Download(dst[:n], src.(tensor).p)
	check(b.dev.Sync())
}

func (b *Backend) Zero(t model.Tensor) { b.dev.Memset0(t.(tensor).p, 4*t.Len()) }

func (b *Backend) Sync() { check(b.dev.Sync()) }
