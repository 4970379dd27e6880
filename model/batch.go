package model

import "github.com/csvae-gpu/csvae-gpu/dataset"

// batcher moves batches of a split to the backend through host buffers
// sized for the net's largest batch, allocated once.
type batcher struct {
	be     Backend
	s      dataset.Split
	d, k   int
	xh, yh []float32
	xt, yt Tensor
}

func newBatcher(net *Net, s dataset.Split) *batcher {
	d, k := net.Cfg.XDim, net.Cfg.K()
	return &batcher{
		be: net.be, s: s, d: d, k: k,
		xh: make([]float32, net.maxBatch*d), yh: make([]float32, net.maxBatch*k),
		xt: net.be.Alloc(net.maxBatch * d), yt: net.be.Alloc(net.maxBatch * k),
	}
}

// load fills the device batch with examples idx and returns its inputs and
// labels; the host copy of the labels stays readable in b.yh.
func (b *batcher) load(idx []int) (x, y Tensor) {
	n := len(idx)
	b.s.Fill(idx, b.xh, b.yh)
	x, y = b.be.Slice(b.xt, 0, n*b.d), b.be.Slice(b.yt, 0, n*b.k)
	b.be.Upload(x, b.xh[:n*b.d])
	b.be.Upload(y, b.yh[:n*b.k])
	return x, y
}
