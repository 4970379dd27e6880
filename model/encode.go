package model

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/metrics"
)

// SampleSeed keys the noise of `encode --sample` and of eval's latent
// draws, so the two see the same samples unless asked otherwise.
func SampleSeed(cfg Config) uint64 { return cfg.Seed ^ 0x5A3B_1E00_0000_0002 }

// Encoded is a split's latent codes, one row per example.
type Encoded struct {
	Y    [][]int     // attributes, 0 or 1
	Z, W [][]float64 // z, and w (nil rows for models without w)
}

// EncodeSplit encodes every example of s: posterior means, or with sample
// set one draw from the posterior keyed by seed. For the vae, whose single
// latent has Dz+2k dimensions, Z holds the first Dz and W the last 2k, the
// split of the reference study.
func EncodeSplit(net *Net, s dataset.Split, sample bool, seed uint64) Encoded {
	cfg, be := net.Cfg, net.be
	k := cfg.K()
	xh := make([]float32, net.maxBatch*cfg.XDim)
	yh := make([]float32, net.maxBatch*k)
	xt, yt := be.Alloc(len(xh)), be.Alloc(len(yh))
	var e Encoded
	offset := uint64(0)
	rows := func(v []float32, n, d, lo, hi int) [][]float64 {
		out := make([][]float64, n)
		for i := range out {
			out[i] = make([]float64, hi-lo)
			for j := lo; j < hi; j++ {
				out[i][j-lo] = float64(v[i*d+j])
			}
		}
		return out
	}
	for _, idx := range dataset.Batches(s.Len(), net.maxBatch, false, 0, 0) {
		n := len(idx)
		s.Fill(idx, xh, yh)
		be.Upload(be.Slice(xt, 0, n*cfg.XDim), xh[:n*cfg.XDim])
		be.Upload(be.Slice(yt, 0, n*k), yh[:n*k])
		var l Latents
		l, offset = net.Encode(be.Slice(xt, 0, n*cfg.XDim), be.Slice(yt, 0, n*k), n, seed, offset)
		z, w := l.ZMu, l.WMu
		if sample {
			z, w = l.Z, l.W
		}
		zd := cfg.ZDim()
		if cfg.Model == "vae" {
			e.Z = append(e.Z, rows(z, n, zd, 0, cfg.Dz)...)
			e.W = append(e.W, rows(z, n, zd, cfg.Dz, zd)...)
		} else {
			e.Z = append(e.Z, rows(z, n, zd, 0, zd)...)
			if cfg.HasW() {
				e.W = append(e.W, rows(w, n, cfg.WDim(), 0, cfg.WDim())...)
			}
		}
		for i := range n {
			y := make([]int, k)
			for j := range y {
				if yh[i*k+j] > 0.5 {
					y[j] = 1
				}
			}
			e.Y = append(e.Y, y)
		}
	}
	return e
}

// HasW reports whether the encoding has a w (or, for the vae, a w half).
func (e Encoded) HasW() bool { return len(e.W) > 0 }

// Subspace returns the two coordinates of w that belong to attribute a.
func (e Encoded) Subspace(a int) [][]float64 {
	out := make([][]float64, len(e.W))
	for i, w := range e.W {
		out[i] = w[2*a : 2*a+2]
	}
	return out
}

// Labels returns attribute a of every row.
func (e Encoded) Labels(a int) []int {
	out := make([]int, len(e.Y))
	for i, y := range e.Y {
		out[i] = y[a]
	}
	return out
}

// LatentKL is the estimated KL divergence between the latents of the
// examples with attribute a present and those without, in z and in w_a.
type LatentKL struct {
	Attr   string
	Z, W   float64
	HasW   bool
	N1, N0 int
}

// EstimateKL applies the 1-nearest-neighbour estimator to every attribute.
func EstimateKL(cfg Config, e Encoded) ([]LatentKL, error) {
	var out []LatentKL
	for a, name := range cfg.Attrs {
		lab := e.Labels(a)
		r := LatentKL{Attr: name, HasW: e.HasW()}
		for _, v := range lab {
			if v == 1 {
				r.N1++
			} else {
				r.N0++
			}
		}
		var err error
		if r.Z, err = metrics.KLFromLabels(e.Z, lab); err != nil {
			return nil, fmt.Errorf("KL in z for %s: %w", name, err)
		}
		if r.HasW {
			if r.W, err = metrics.KLFromLabels(e.Subspace(a), lab); err != nil {
				return nil, fmt.Errorf("KL in w for %s: %w", name, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}
