package model

// PriorMean returns the mean of p(w|y) [n, WDim] for n label vectors y
// [n, k] given on the host: the fixed prior's Mu1 or Mu0 for each
// coordinate, or the learned prior's output. Attribute manipulation sets an
// attribute's subspace to this point for the wanted label.
func (m *Net) PriorMean(y []float32, n int) []float32 {
	cfg := m.Cfg
	k, wd := cfg.K(), cfg.WDim()
	out := make([]float32, n*wd)
	if !cfg.HasW() {
		return out
	}
	if m.prior == nil {
		for i := range n {
			for j := range k {
				mu := cfg.Prior.Mu0
				if y[i*k+j] > 0.5 {
					mu = cfg.Prior.Mu1
				}
				out[i*wd+2*j], out[i*wd+2*j+1] = mu, mu
			}
		}
		return out
	}
	m.setTraining(false)
	if m.yDec.t == nil {
		m.yDec = newBuffer(m.be, m.maxBatch, k)
	}
	for lo := 0; lo < n; lo += m.maxBatch {
		b := min(m.maxBatch, n-lo)
		yt := m.yDec.rows(b)
		m.be.Upload(yt, y[lo*k:(lo+b)*k])
		hp := m.prior.Forward([]Tensor{yt}, b)
		m.be.Download(out[lo*wd:(lo+b)*wd], m.pMu.Forward([]Tensor{hp}, b))
	}
	return out
}
