package model

import (
	"fmt"
	"slices"
)

// Loss slots: every loss kernel writes its batch mean into one element of a
// small tensor, so one download per step brings all of them back.
const (
	slotRecon = iota
	slotKLW
	slotKLZ
	slotAdvTerm // the adversary term of the main loss, before beta4
	slotAdvBCE  // the adversary's own cross-entropy, before beta5
	slotMeanGap // the class-mean gap of z, before Config.MeanGap
	numSlots
)

// Losses are the batch means of every loss component.
type Losses struct {
	Recon, KLW, KLZ, AdvTerm, AdvBCE, MeanGap float64
}

// Names of the components in CSV headers and plots, in Losses order.
var LossNames = []string{"recon", "kl_w", "kl_z", "adv_term", "adv_bce", "mean_gap"}

// Values lists the components in LossNames order.
func (l Losses) Values() []float64 {
	return []float64{l.Recon, l.KLW, l.KLZ, l.AdvTerm, l.AdvBCE, l.MeanGap}
}

// Main is the objective the encoders and decoder minimise under cfg's
// weights.
func (l Losses) Main(cfg *Config) float64 {
	b := cfg.Betas
	return b[0]*l.Recon + b[1]*l.KLW + b[2]*l.KLZ + b[3]*l.AdvTerm + cfg.MeanGap*l.MeanGap
}

// Net is one of the five models: the same pieces, wired per model.
//
//	trunk  x -> h                         (empty for vector data: h = x)
//	encZ   h (condvae: h, y) -> q(z)      mean and log-variance heads
//	encW   h, y -> q(w)                   csvae, csvae-noadv
//	prior  y -> p(w)                      learned prior only
//	dec    z, w | z | z, y -> x̂
//	adv    z -> logits of y               csvae, condvae-info
type Net struct {
	Cfg  Config
	be   Backend
	Main *ParamSet // encoders, decoder, learned prior
	Adv  *ParamSet // the adversary; nil when the model has none
	// State holds batch norm's running statistics; nil without batch norm.
	State *ParamSet
	// Offset is the position in the training noise stream (in Philox
	// blocks); it is saved with the checkpoint so a resumed run draws the
	// noise an uninterrupted one would have.
	Offset uint64

	maxBatch int
	// The pieces, wired by pass and backward.
	trunk, encZ, encW, prior, dec, adv *Seq
	zMu, zLv, wMu, wLv, pMu, pLv       *Dense
	// Draws of z and w with their standard-normal noise.
	z, zEps, w, wEps buffer
	// Gradients the loss kernels write: of the posteriors' parameters, of
	// the learned prior, of x̂ and of the adversary's logits (through the
	// main objective, and through its own).
	dzMu, dzLv, dwMu, dwLv, dpm, dplv buffer
	dxhat, dlogit, dlogitAdv          buffer
	// With Config.MeanGap: the penalty's gradient for the mean of z, the
	// k*Dz class-mean differences it leaves behind, and each attribute's
	// weight in it (1, or 0 for those MeanGapAttrs leaves out).
	dzGap      buffer
	gap, gapAW Tensor
	// The fixed prior expanded from the labels.
	pm, plv buffer
	// Labels given to Decode, allocated on first use.
	yDec       buffer
	batchNorms []*BatchNorm2D
	// Class weights of the adversary's cross-entropy, nil when unbalanced.
	posW, negW Tensor
	// Loss slots on the backend and their host copy.
	scalars Tensor
	host    [numSlots]float32
	// Outputs of the last forward pass that backward and Encode read.
	zmuT, zlvT, wmuT, wlvT, logitsT Tensor
}

// NewNet builds the model of cfg on be for batches of up to maxBatch
// examples, with weights initialised from cfg.Seed.
func NewNet(be Backend, cfg Config, maxBatch int) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Net{Cfg: cfg, be: be, maxBatch: maxBatch, Main: NewParamSet("main")}
	k, zd, wd := cfg.K(), cfg.ZDim(), cfg.WDim()
	act := Act{Kind: LeakyReLU, Slope: cfg.Slope}
	mlp := func(ps *ParamSet, name string, hidden, layers int, ins ...int) *Seq {
		s := NewSeq(ins...)
		for i := range layers {
			if i > 0 {
				ins = []int{hidden}
			}
			s.Add(NewDense(be, ps, fmt.Sprintf("%s.%d", name, i), maxBatch, ins, hidden))
			s.Add(NewActivation(be, act, maxBatch, hidden))
		}
		return s
	}
	// Widths of the heads, the adversary and the learned prior: the MLP
	// settings for vector data, the design's CelebA network for images.
	head, headLayers, small, smallLayers := cfg.Hidden, cfg.Layers, cfg.Hidden, cfg.Layers
	if cfg.Arch == "conv" {
		head, headLayers, small, smallLayers = 256, 1, 64, 2
	}

	if cfg.Arch == "conv" {
		m.State = NewStateSet("state")
		m.trunk = m.convTrunk(act)
	} else {
		m.trunk = NewSeq(cfg.XDim)
	}
	h := m.trunk.OutDim()
	if cfg.Model == "condvae" {
		m.encZ = mlp(m.Main, "enc_z", head, headLayers, h, k)
	} else {
		m.encZ = mlp(m.Main, "enc_z", head, headLayers, h)
	}
	m.zMu = NewDense(be, m.Main, "enc_z.mu", maxBatch, []int{head}, zd)
	m.zLv = NewDense(be, m.Main, "enc_z.logvar", maxBatch, []int{head}, zd)
	if cfg.HasW() {
		m.encW = mlp(m.Main, "enc_w", head, headLayers, h, k)
		m.wMu = NewDense(be, m.Main, "enc_w.mu", maxBatch, []int{head}, wd)
		m.wLv = NewDense(be, m.Main, "enc_w.logvar", maxBatch, []int{head}, wd)
		if cfg.LearnedPrior {
			m.prior = mlp(m.Main, "prior", small, smallLayers, k)
			m.pMu = NewDense(be, m.Main, "prior.mu", maxBatch, []int{small}, wd)
			m.pLv = NewDense(be, m.Main, "prior.logvar", maxBatch, []int{small}, wd)
			m.dpm, m.dplv = newBuffer(be, maxBatch, wd), newBuffer(be, maxBatch, wd)
		} else {
			m.pm, m.plv = newBuffer(be, maxBatch, wd), newBuffer(be, maxBatch, wd)
		}
		m.w, m.wEps = newBuffer(be, maxBatch, wd), newBuffer(be, maxBatch, wd)
		m.dwMu, m.dwLv = newBuffer(be, maxBatch, wd), newBuffer(be, maxBatch, wd)
	}
	decIn := []int{zd, k}
	switch {
	case cfg.HasW():
		decIn = []int{zd, wd}
	case cfg.Model == "vae":
		decIn = []int{zd}
	}
	if cfg.Arch == "conv" {
		m.dec = m.convDecoder(act, decIn)
	} else {
		m.dec = mlp(m.Main, "dec", cfg.Hidden, cfg.Layers, decIn...)
		m.dec.Add(NewDense(be, m.Main, fmt.Sprintf("dec.%d", cfg.Layers), maxBatch, []int{cfg.Hidden}, cfg.XDim))
	}

	if cfg.Adversary() != "" {
		m.Adv = NewParamSet("adversary")
		m.adv = mlp(m.Adv, "adv", small, smallLayers, zd)
		m.adv.Add(NewDense(be, m.Adv, fmt.Sprintf("adv.%d", smallLayers), maxBatch, []int{small}, k))
		m.dlogit, m.dlogitAdv = newBuffer(be, maxBatch, k), newBuffer(be, maxBatch, k)
		if cfg.AdvBalance {
			m.posW, m.negW = BalancedWeights(be, cfg.LabelRates)
		}
	}
	m.z, m.zEps = newBuffer(be, maxBatch, zd), newBuffer(be, maxBatch, zd)
	m.dzMu, m.dzLv = newBuffer(be, maxBatch, zd), newBuffer(be, maxBatch, zd)
	m.dxhat = newBuffer(be, maxBatch, cfg.XDim)
	if cfg.MeanGap > 0 {
		m.dzGap, m.gap, m.gapAW = newBuffer(be, maxBatch, zd), be.Alloc(k*zd), be.Alloc(k)
		aw := make([]float32, k)
		for j, a := range cfg.Attrs {
			if len(cfg.MeanGapAttrs) == 0 || slices.Contains(cfg.MeanGapAttrs, a) {
				aw[j] = 1
			}
		}
		be.Upload(m.gapAW, aw)
	}
	m.scalars = be.Alloc(numSlots)

	m.Main.Allocate(be, cfg.Seed)
	if m.Adv != nil {
		m.Adv.Allocate(be, cfg.Seed+1)
	}
	if m.State != nil {
		m.State.Allocate(be, 0)
	}
	if cfg.EMA > 0 {
		for _, s := range m.averaged() {
			s.TrackAverage(be)
		}
	}
	return m, nil
}

// averaged lists the sets a moving average follows (Config.EMA): the main
// weights and batch norm's statistics, which go together at use; the
// adversary is only needed in training.
func (m *Net) averaged() []*ParamSet {
	sets := []*ParamSet{m.Main}
	if m.State != nil {
		sets = append(sets, m.State)
	}
	return sets
}

// updateAverage follows a step with the moving average, which starts at the
// weights after the first step (so that weights copied in by --init-from
// after NewNet are where it starts).
func (m *Net) updateAverage() {
	if m.Cfg.EMA <= 0 {
		return
	}
	for _, s := range m.averaged() {
		if m.Main.Step == 1 {
			s.ResetAverage(m.be)
		} else {
			s.UpdateAverage(m.be, float32(m.Cfg.EMA))
		}
	}
}

// UseAverage makes the net the averaged model of a run trained with
// Config.EMA, and says whether it had one.
func (m *Net) UseAverage() bool {
	if m.Cfg.EMA <= 0 {
		return false
	}
	for _, s := range m.averaged() {
		s.UseAverage(m.be)
	}
	return true
}

// convTrunk is the design's image encoder: 4x4 stride-2 convolutions
// halving the image at each step, batch norm on all but the first,
// LeakyReLU; its flattened output feeds the heads.
func (m *Net) convTrunk(act Act) *Seq {
	cfg, be := m.Cfg, m.be
	s := NewSeq(cfg.XDim)
	c, size := 3, cfg.ImageSize
	for i, k := range cfg.ConvChannels {
		g := ConvGeom{C: c, H: size, W: size, K: k, R: 4, S: 4, Stride: 2, Pad: 1}
		s.Add(NewConv2D(be, m.Main, fmt.Sprintf("trunk.%d.conv", i), m.maxBatch, g))
		c, size = k, size/2
		if i > 0 {
			m.addBatchNorm(s, fmt.Sprintf("trunk.%d.bn", i), c, size)
		}
		s.Add(NewActivation(be, act, m.maxBatch, c*size*size))
	}
	return s
}

// convDecoder mirrors the trunk: a dense layer to the trunk's last feature
// map, then 4x4 stride-2 transposed convolutions with batch norm and
// LeakyReLU back to the image, and a sigmoid.
func (m *Net) convDecoder(act Act, ins []int) *Seq {
	cfg, be := m.Cfg, m.be
	ch := cfg.ConvChannels
	size := cfg.ImageSize >> len(ch)
	c := ch[len(ch)-1]
	s := NewSeq(ins...)
	s.Add(NewDense(be, m.Main, "dec.fc", m.maxBatch, ins, c*size*size))
	s.Add(NewActivation(be, act, m.maxBatch, c*size*size))
	for i := len(ch) - 1; i >= 0; i-- {
		out := 3
		if i > 0 {
			out = ch[i-1]
		}
		s.Add(NewConvTranspose2D(be, m.Main, fmt.Sprintf("dec.up.%d.conv", len(ch)-1-i), m.maxBatch, c, out, size, size, 4, 2, 1))
		c, size = out, size*2
		if i > 0 {
			m.addBatchNorm(s, fmt.Sprintf("dec.up.%d.bn", len(ch)-1-i), c, size)
			s.Add(NewActivation(be, act, m.maxBatch, c*size*size))
		}
	}
	s.Add(NewActivation(be, Act{Kind: Sigmoid}, m.maxBatch, cfg.XDim))
	return s
}

func (m *Net) addBatchNorm(s *Seq, name string, c, size int) {
	bn := NewBatchNorm2D(m.be, m.Main, m.State, name, m.maxBatch, c, size, size)
	m.batchNorms = append(m.batchNorms, bn)
	s.Add(bn)
}

// setTraining switches batch norm between batch and running statistics.
func (m *Net) setTraining(on bool) {
	for _, bn := range m.batchNorms {
		bn.Training = on
	}
}

// MaxBatch is the largest batch the buffers hold.
func (m *Net) MaxBatch() int { return m.maxBatch }

// Backend is the backend the net lives on.
func (m *Net) Backend() Backend { return m.be }

func (m *Net) slot(i int) Tensor { return m.be.Slice(m.scalars, i, 1) }

// encode runs the encoders and draws z (and w) from stream seed at offset,
// returning the offset after the draws.
func (m *Net) encode(x, y Tensor, n int, seed, offset uint64) uint64 {
	h := m.trunk.Forward([]Tensor{x}, n)
	var hz Tensor
	if m.Cfg.Model == "condvae" {
		hz = m.encZ.Forward([]Tensor{h, y}, n)
	} else {
		hz = m.encZ.Forward([]Tensor{h}, n)
	}
	m.zmuT = m.zMu.Forward([]Tensor{hz}, n)
	m.zlvT = m.zLv.Forward([]Tensor{hz}, n)
	m.be.Reparameterize(m.z.rows(n), m.zEps.rows(n), m.zmuT, m.zlvT, seed, offset)
	offset += blocks(n * m.Cfg.ZDim())
	if m.Cfg.HasW() {
		hw := m.encW.Forward([]Tensor{h, y}, n)
		m.wmuT = m.wMu.Forward([]Tensor{hw}, n)
		m.wlvT = m.wLv.Forward([]Tensor{hw}, n)
		m.be.Reparameterize(m.w.rows(n), m.wEps.rows(n), m.wmuT, m.wlvT, seed, offset)
		offset += blocks(n * m.Cfg.WDim())
	}
	return offset
}

func blocks(n int) uint64 { return uint64((n + 3) / 4) }

func (m *Net) decoderInputs(y Tensor, n int) []Tensor {
	switch {
	case m.Cfg.HasW():
		return []Tensor{m.z.rows(n), m.w.rows(n)}
	case m.Cfg.Model == "vae":
		return []Tensor{m.z.rows(n)}
	}
	return []Tensor{m.z.rows(n), y}
}

// pass runs the whole model on a batch and computes every loss; with train
// set it also writes the gradients of both objectives into the loss
// gradient buffers.
func (m *Net) pass(x, y Tensor, n int, seed, offset uint64, train bool) uint64 {
	be, cfg, b := m.be, m.Cfg, m.Cfg.Betas
	k := cfg.K()
	g := func(buf buffer) Tensor {
		if !train {
			return nil
		}
		return buf.rows(n)
	}
	offset = m.encode(x, y, n, seed, offset)
	xhat := m.dec.Forward(m.decoderInputs(y, n), n)
	be.MSE(m.slot(slotRecon), g(m.dxhat), xhat, x, n, cfg.XDim, float32(b[0]))
	be.KLStdNormal(m.slot(slotKLZ), g(m.dzMu), g(m.dzLv), m.zmuT, m.zlvT, n, cfg.ZDim(), float32(b[2]))
	if cfg.HasW() {
		var pm, plv Tensor
		if m.prior != nil {
			hp := m.prior.Forward([]Tensor{y}, n)
			pm, plv = m.pMu.Forward([]Tensor{hp}, n), m.pLv.Forward([]Tensor{hp}, n)
		} else {
			pm, plv = m.pm.rows(n), m.plv.rows(n)
			be.LabelPrior(pm, plv, y, n, k, cfg.Prior)
		}
		var dpm, dplv Tensor
		if m.prior != nil {
			dpm, dplv = g(m.dpm), g(m.dplv)
		}
		be.KLDiagonal(m.slot(slotKLW), g(m.dwMu), g(m.dwLv), dpm, dplv, m.wmuT, m.wlvT, pm, plv, n, cfg.WDim(), float32(b[1]))
	}
	if m.adv != nil {
		m.logitsT = m.adv.Forward([]Tensor{m.advInput(n)}, n)
		if cfg.Adversary() == "negentropy" {
			be.NegEntropyWithLogits(m.slot(slotAdvTerm), g(m.dlogit), m.logitsT, n, k, float32(b[3]))
		} else {
			// The encoder maximises the adversary's cross-entropy: the
			// slot holds +CE, the main loss takes -CE (see Losses).
			m.advBCE(m.slot(slotAdvTerm), g(m.dlogit), y, n, -float32(b[3]))
		}
		m.advBCE(m.slot(slotAdvBCE), g(m.dlogitAdv), y, n, float32(b[4]))
	}
	if cfg.MeanGap > 0 {
		be.MeanGap(m.slot(slotMeanGap), g(m.dzGap), m.gap, m.zmuT, y, m.gapAW, n, cfg.ZDim(), k, float32(cfg.MeanGap))
	}
	return offset
}

// advInput is what the adversary sees of the batch's z: a draw, or the
// posterior mean with AdvOnMean.
func (m *Net) advInput(n int) Tensor {
	if m.Cfg.AdvOnMean {
		return m.zmuT
	}
	return m.z.rows(n)
}

// advBCE is the adversary's cross-entropy, class-balanced when configured.
func (m *Net) advBCE(loss, dlogit, y Tensor, n int, scale float32) {
	if m.posW != nil {
		m.be.WeightedBCEWithLogits(loss, dlogit, m.logitsT, y, m.posW, m.negW, n, m.Cfg.K(), scale)
		return
	}
	m.be.BCEWithLogits(loss, dlogit, m.logitsT, y, n, m.Cfg.K(), scale)
}

// backward turns the loss gradients written by pass into parameter
// gradients of both objectives.
func (m *Net) backward(n int) {
	be := m.be
	m.Main.ZeroGrad(be)
	dd := m.dec.Backward(m.dxhat.rows(n), n, true, true)
	dz := dd[0]
	dzMu, dzLv := m.dzMu.rows(n), m.dzLv.rows(n)
	if m.adv != nil {
		// The main objective reaches z (or its mean) through the adversary
		// without touching its weights; then the adversary learns from its
		// own loss with its input held constant.
		dzAdv := m.adv.Backward(m.dlogit.rows(n), n, true, false)
		if m.Cfg.AdvOnMean {
			be.Axpy(dzMu, 1, dzAdv[0])
		} else {
			be.Axpy(dz, 1, dzAdv[0])
		}
		m.Adv.ZeroGrad(be)
		m.adv.Backward(m.dlogitAdv.rows(n), n, false, true)
	}
	wantDh := !m.trunk.Empty()
	be.ReparameterizeBackward(dzMu, dzLv, dz, m.zEps.rows(n), m.zlvT)
	if m.Cfg.MeanGap > 0 {
		be.Axpy(dzMu, 1, m.dzGap.rows(n))
	}
	dhz := m.zMu.Backward(dzMu, n, true, true)[0]
	be.Axpy(dhz, 1, m.zLv.Backward(dzLv, n, true, true)[0])
	dh := m.encZ.Backward(dhz, n, wantDh, true)
	if m.Cfg.HasW() {
		dwMu, dwLv := m.dwMu.rows(n), m.dwLv.rows(n)
		be.ReparameterizeBackward(dwMu, dwLv, dd[1], m.wEps.rows(n), m.wlvT)
		dhw := m.wMu.Backward(dwMu, n, true, true)[0]
		be.Axpy(dhw, 1, m.wLv.Backward(dwLv, n, true, true)[0])
		dhW := m.encW.Backward(dhw, n, wantDh, true)
		if wantDh {
			be.Axpy(dh[0], 1, dhW[0])
		}
		if m.prior != nil {
			dhp := m.pMu.Backward(m.dpm.rows(n), n, true, true)[0]
			be.Axpy(dhp, 1, m.pLv.Backward(m.dplv.rows(n), n, true, true)[0])
			m.prior.Backward(dhp, n, false, true)
		}
	}
	if wantDh {
		m.trunk.Backward(dh[0], n, false, true)
	}
}

func (m *Net) readLosses() Losses {
	m.be.Download(m.host[:], m.scalars)
	l := Losses{Recon: float64(m.host[slotRecon])}
	if m.Cfg.HasW() {
		l.KLW = float64(m.host[slotKLW])
	}
	l.KLZ = float64(m.host[slotKLZ])
	if m.adv != nil {
		l.AdvTerm = float64(m.host[slotAdvTerm])
		if m.Cfg.Adversary() == "maxce" {
			l.AdvTerm = -l.AdvTerm
		}
		l.AdvBCE = float64(m.host[slotAdvBCE])
	}
	if m.Cfg.MeanGap > 0 {
		l.MeanGap = float64(m.host[slotMeanGap])
	}
	return l
}

// Step trains on one batch: one update of each optimizer, with both
// learning rates scaled by lrScale (the schedule's factor). It returns the
// losses measured before the update.
func (m *Net) Step(x, y Tensor, n int, lrScale float64) Losses {
	m.checkBatch(n)
	m.setTraining(true)
	m.Offset = m.pass(x, y, n, m.Cfg.Seed, m.Offset, true)
	m.backward(n)
	m.Main.Update(m.be, AdamParams{LR: float32(m.Cfg.LR * lrScale), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	m.updateAverage()
	if m.Adv == nil {
		return m.readLosses()
	}
	advAdam := AdamParams{LR: float32(m.Cfg.AdvLR * lrScale), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	m.Adv.Update(m.be, advAdam)
	l := m.readLosses()
	// Extra adversary updates on the same codes, held constant.
	for range m.Cfg.AdvSteps - 1 {
		m.logitsT = m.adv.Forward([]Tensor{m.advInput(n)}, n)
		m.advBCE(m.slot(slotAdvBCE), m.dlogitAdv.rows(n), y, n, float32(m.Cfg.Betas[4]))
		m.Adv.ZeroGrad(m.be)
		m.adv.Backward(m.dlogitAdv.rows(n), n, false, true)
		m.Adv.Update(m.be, advAdam)
	}
	return l
}

// Evaluate computes the losses of a batch without training, drawing noise
// from stream seed at offset; it returns the losses and the next offset.
func (m *Net) Evaluate(x, y Tensor, n int, seed, offset uint64) (Losses, uint64) {
	m.checkBatch(n)
	m.setTraining(false)
	offset = m.pass(x, y, n, seed, offset, false)
	return m.readLosses(), offset
}

// Latents are host copies of a batch's posterior parameters and draws.
type Latents struct {
	ZMu, ZLogVar, Z []float32
	WMu, WLogVar, W []float32 // empty without w
}

// Encode runs the encoders on a batch and returns the posterior means,
// log-variances and one draw from stream seed at offset.
func (m *Net) Encode(x, y Tensor, n int, seed, offset uint64) (Latents, uint64) {
	m.checkBatch(n)
	m.setTraining(false)
	offset = m.encode(x, y, n, seed, offset)
	var l Latents
	down := func(t Tensor) []float32 { h := make([]float32, t.Len()); m.be.Download(h, t); return h }
	l.ZMu, l.ZLogVar, l.Z = down(m.zmuT), down(m.zlvT), down(m.z.rows(n))
	if m.Cfg.HasW() {
		l.WMu, l.WLogVar, l.W = down(m.wmuT), down(m.wlvT), down(m.w.rows(n))
	}
	return l, offset
}

func (m *Net) checkBatch(n int) {
	if n < 1 || n > m.maxBatch {
		panic(fmt.Sprintf("model: batch of %d, buffers hold 1..%d", n, m.maxBatch))
	}
}

// Decode runs the decoder in evaluation mode on n latent codes given on the
// host: z [n, ZDim], and w [n, WDim] for models with w, or the attributes y
// [n, k] for the conditional ones (the other may be nil). It returns x̂.
func (m *Net) Decode(z, w, y []float32, n int) []float32 {
	m.checkBatch(n)
	m.setTraining(false)
	be, cfg := m.be, m.Cfg
	zt := m.z.rows(n)
	be.Upload(zt, z[:n*cfg.ZDim()])
	ins := []Tensor{zt}
	switch {
	case cfg.HasW():
		wt := m.w.rows(n)
		be.Upload(wt, w[:n*cfg.WDim()])
		ins = append(ins, wt)
	case cfg.Model != "vae":
		if m.yDec.t == nil {
			m.yDec = newBuffer(be, m.maxBatch, cfg.K())
		}
		yt := m.yDec.rows(n)
		be.Upload(yt, y[:n*cfg.K()])
		ins = append(ins, yt)
	}
	out := make([]float32, n*cfg.XDim)
	be.Download(out, m.dec.Forward(ins, n))
	return out
}

// EncodeHost encodes n examples given on the host and returns their
// posterior parameters (and one draw from the evaluation noise stream).
func (m *Net) EncodeHost(x, y []float32, n int) Latents {
	cfg := m.Cfg
	xt, yt := m.be.Alloc(n*cfg.XDim), m.be.Alloc(n*cfg.K())
	m.be.Upload(xt, x[:n*cfg.XDim])
	m.be.Upload(yt, y[:n*cfg.K()])
	l, _ := m.Encode(xt, yt, n, evalSeed(cfg), 0)
	return l
}

// CopyLayers copies into m every parameter and running statistic of src
// whose name starts with one of prefixes and whose shape matches: the
// pretrain-then-reuse flow, where a vae's trunk and decoder start every
// other model. It returns the names copied; a tensor with a prefix whose
// shape differs is an error, a missing one is skipped.
func (m *Net) CopyLayers(src *Net, prefixes ...string) ([]string, error) {
	var copied []string
	for _, pair := range [][2]*ParamSet{{m.Main, src.Main}, {m.State, src.State}} {
		dst, from := pair[0], pair[1]
		if dst == nil || from == nil {
			continue
		}
		values, _, _ := from.State(src.be)
		for _, p := range dst.Params() {
			if !hasPrefix(p.Name, prefixes) {
				continue
			}
			q, ok := from.Get(p.Name)
			if !ok {
				continue
			}
			if q.Size() != p.Size() || fmt.Sprint(q.Shape) != fmt.Sprint(p.Shape) {
				return copied, fmt.Errorf("%s has shape %v there and %v here", p.Name, q.Shape, p.Shape)
			}
			m.be.Upload(p.Value, values[q.off:q.off+q.Size()])
			copied = append(copied, p.Name)
		}
	}
	if len(copied) == 0 {
		return nil, fmt.Errorf("no layer named %v to copy", prefixes)
	}
	return copied, nil
}

func hasPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if len(name) >= len(p) && name[:len(p)] == p {
			return true
		}
	}
	return false
}

// BalancedWeights are the class weights of a balanced cross-entropy for
// labels of base rates rates: 1/(2π) for a present label and 1/(2(1-π)) for
// an absent one, so that the uninformative answer is 1/2 whatever π is.
func BalancedWeights(be Backend, rates []float64) (pos, neg Tensor) {
	pw, nw := make([]float32, len(rates)), make([]float32, len(rates))
	for j, r := range rates {
		pw[j], nw[j] = float32(0.5/r), float32(0.5/(1-r))
	}
	pos, neg = be.Alloc(len(rates)), be.Alloc(len(rates))
	be.Upload(pos, pw)
	be.Upload(neg, nw)
	return pos, neg
}
