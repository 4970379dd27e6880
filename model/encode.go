package model

import (
	"fmt"
	"math"

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
	cfg := net.Cfg
	k := cfg.K()
	b := newBatcher(net, s)
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
		x, y := b.load(idx)
		var l Latents
		l, offset = net.Encode(x, y, n, seed, offset)
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
				if b.yh[i*k+j] > 0.5 {
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
// examples with attribute a present and those without, in z and in w_a:
// the mean over Draws independent posterior draws, with its standard
// deviation across draws (the 1-NN estimator is noisy: one draw of a model
// whose z holds no label information reads anywhere in about ±0.1).
type LatentKL struct {
	Attr  string  `json:"attr"`
	Z     float64 `json:"kl_z"`
	W     float64 `json:"kl_w"`
	ZSD   float64 `json:"kl_z_sd"`
	WSD   float64 `json:"kl_w_sd"`
	Draws int     `json:"draws"`
	HasW  bool    `json:"has_w"`
	N1    int     `json:"n1"`
	N0    int     `json:"n0"`
}

// EstimateKLDraws encodes s draws times with posterior samples keyed by
// seed, seed+1, ..., estimates the KL of every attribute on each draw and
// returns their means and standard deviations, with the first draw's
// encoding (for pictures).
func EstimateKLDraws(net *Net, s dataset.Split, seed uint64, draws int) ([]LatentKL, Encoded, error) {
	var first Encoded
	var runs [][]LatentKL
	for i := range max(1, draws) {
		enc := EncodeSplit(net, s, true, seed+uint64(i))
		if i == 0 {
			first = enc
		}
		kls, err := EstimateKL(net.Cfg, enc)
		if err != nil {
			return nil, first, err
		}
		runs = append(runs, kls)
	}
	out := runs[0]
	for a := range out {
		var z, w []float64
		for _, r := range runs {
			z, w = append(z, r[a].Z), append(w, r[a].W)
		}
		out[a].Z, out[a].ZSD = meanSD(z)
		out[a].W, out[a].WSD = meanSD(w)
		out[a].Draws = len(runs)
	}
	return out, first, nil
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

// EstimateKL applies the 1-nearest-neighbour estimator to every attribute
// of one encoding.
func EstimateKL(cfg Config, e Encoded) ([]LatentKL, error) {
	var out []LatentKL
	for a, name := range cfg.Attrs {
		lab := e.Labels(a)
		r := LatentKL{Attr: name, HasW: e.HasW(), Draws: 1}
		for _, v := range lab {
			if v == 1 {
				r.N1++
			} else {
				r.N0++
			}
		}
		if r.N1 < 2 || r.N0 < 2 {
			// Too few examples of one label to estimate anything: a NaN,
			// which plots and tables show as missing, not an error that
			// would stop a training run over a diagnostic.
			r.Z, r.W = math.NaN(), math.NaN()
			out = append(out, r)
			continue
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
