// Package classifier is a small convolutional multi-label attribute
// classifier, trained on real images only, that judges the images the
// editing commands make: did the edited attribute take its target value, and
// did the others stay as they were?
//
// It has its own network, apart from the models it judges, built from the
// model package's layers on any model.Backend:
//
//	conv 3->c1 4x4 stride 2, LeakyReLU 0.2
//	conv c_i->c_{i+1} 4x4 stride 2, batch norm, LeakyReLU 0.2   (each further stage)
//	flatten, dense -> Hidden, LeakyReLU 0.2, dense -> k logits
//
// trained with Adam on the binary cross-entropy of every attribute (a sum
// over attributes averaged over the batch; optionally class-balanced).
package classifier

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/csvae-gpu/csvae-gpu/safetensors"
)

// Files of a classifier directory.
const (
	ConfigFile     = "config.json"
	CheckpointFile = "classifier.safetensors"
	MetricsFile    = "metrics.json"
)

const checkpointFormat = "csvae-gpu-classifier/1"

// Config defines a classifier; it is saved as config.json and in the
// checkpoint's metadata.
type Config struct {
	Attrs     []string `json:"attrs"`
	ImageSize int      `json:"image_size"`
	Channels  []int    `json:"channels"`
	Hidden    int      `json:"hidden"`
	Slope     float32  `json:"leaky_slope"`
	Epochs    int      `json:"epochs"`
	Batch     int      `json:"batch"`
	LR        float64  `json:"lr"`
	Seed      uint64   `json:"seed"`
	// Balanced weights each attribute's cross-entropy by 1/(2π) where it is
	// present and 1/(2(1-π)) where it is absent (π: its training base rate,
	// kept in Rates), so that the threshold 1/2 balances the two errors.
	Balanced bool      `json:"balanced"`
	Rates    []float64 `json:"label_rates,omitempty"`
	Data     string    `json:"data,omitempty"` // where it was trained, for the record
}

// DefaultConfig is a classifier of attrs on size x size RGB images: stages
// of 32, 64, 128 (and 256 at 64 and above) channels.
func DefaultConfig(attrs []string, size int) Config {
	ch := []int{32, 64, 128}
	if size >= 64 {
		ch = append(ch, 256)
	}
	return Config{Attrs: attrs, ImageSize: size, Channels: ch, Hidden: 128, Slope: 0.2,
		Epochs: 5, Batch: 64, LR: 1e-3, Seed: 1}
}

// K is the number of attributes.
func (c Config) K() int { return len(c.Attrs) }

// XDim is the number of values per image.
func (c Config) XDim() int { return 3 * c.ImageSize * c.ImageSize }

// Validate rejects settings that cannot train, naming the field.
func (c Config) Validate() error {
	switch {
	case c.K() < 1:
		return fmt.Errorf("classifier: at least one attribute is needed")
	case len(c.Channels) == 0 || c.ImageSize < 2<<len(c.Channels) || c.ImageSize%(1<<len(c.Channels)) != 0:
		return fmt.Errorf("classifier: image size %d does not halve %d times to a whole feature map", c.ImageSize, len(c.Channels))
	case c.Hidden < 1:
		return fmt.Errorf("classifier: hidden must be positive, got %d", c.Hidden)
	case c.Epochs < 0:
		return fmt.Errorf("classifier: epochs must not be negative, got %d", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("classifier: batch must be positive, got %d", c.Batch)
	case !(c.LR > 0):
		return fmt.Errorf("classifier: learning rate must be positive, got %g", c.LR)
	}
	seen := map[string]bool{}
	for _, a := range c.Attrs {
		if seen[a] {
			return fmt.Errorf("classifier: attribute %s listed twice", a)
		}
		seen[a] = true
	}
	if c.Balanced {
		if len(c.Rates) != c.K() {
			return fmt.Errorf("classifier: balanced training needs the base rate of each of the %d attributes, got %d", c.K(), len(c.Rates))
		}
		for i, r := range c.Rates {
			if !(r > 0 && r < 1) {
				return fmt.Errorf("classifier: attribute %s has base rate %g in the training data: balanced training needs both labels", c.Attrs[i], r)
			}
		}
	}
	return nil
}

// Index returns the position of attribute name, or -1.
func (c Config) Index(name string) int { return slices.Index(c.Attrs, name) }

// Classifier is a trained (or training) network on a backend.
type Classifier struct {
	Cfg   Config
	be    model.Backend
	Main  *model.ParamSet
	State *model.ParamSet

	maxBatch    int
	net         *model.Seq
	bns         []*model.BatchNorm2D
	loss, dl    model.Tensor
	posW, negW  model.Tensor
	xt, yt      model.Tensor
	hostLoss    [1]float32
	lastLogitsT model.Tensor
}

// New builds a classifier of cfg on be for batches of up to maxBatch images,
// with weights drawn from cfg.Seed.
func New(be model.Backend, cfg Config, maxBatch int) (*Classifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if maxBatch < 1 {
		maxBatch = cfg.Batch
	}
	c := &Classifier{Cfg: cfg, be: be, maxBatch: maxBatch,
		Main: model.NewParamSet("classifier"), State: model.NewStateSet("classifier_state")}
	act := model.Act{Kind: model.LeakyReLU, Slope: cfg.Slope}
	s := model.NewSeq(cfg.XDim())
	ch, size := 3, cfg.ImageSize
	for i, k := range cfg.Channels {
		g := model.ConvGeom{C: ch, H: size, W: size, K: k, R: 4, S: 4, Stride: 2, Pad: 1}
		s.Add(model.NewConv2D(be, c.Main, fmt.Sprintf("conv.%d.conv", i), maxBatch, g))
		ch, size = k, size/2
		if i > 0 {
			bn := model.NewBatchNorm2D(be, c.Main, c.State, fmt.Sprintf("conv.%d.bn", i), maxBatch, ch, size, size)
			c.bns = append(c.bns, bn)
			s.Add(bn)
		}
		s.Add(model.NewActivation(be, act, maxBatch, ch*size*size))
	}
	s.Add(model.NewDense(be, c.Main, "fc.0", maxBatch, []int{ch * size * size}, cfg.Hidden))
	s.Add(model.NewActivation(be, act, maxBatch, cfg.Hidden))
	s.Add(model.NewDense(be, c.Main, "fc.1", maxBatch, []int{cfg.Hidden}, cfg.K()))
	c.net = s
	c.Main.Allocate(be, cfg.Seed)
	c.State.Allocate(be, 0)
	k := cfg.K()
	c.loss, c.dl = be.Alloc(1), be.Alloc(maxBatch*k)
	c.xt, c.yt = be.Alloc(maxBatch*cfg.XDim()), be.Alloc(maxBatch*k)
	if cfg.Balanced {
		c.posW, c.negW = model.BalancedWeights(be, cfg.Rates)
	}
	return c, nil
}

func (c *Classifier) setTraining(on bool) {
	for _, bn := range c.bns {
		bn.Training = on
	}
}

// MaxBatch is the largest batch the buffers hold.
func (c *Classifier) MaxBatch() int { return c.maxBatch }

// forward uploads n images (and labels, when y is not nil) and returns the
// logits on the backend.
func (c *Classifier) forward(x, y []float32, n int) model.Tensor {
	if n < 1 || n > c.maxBatch {
		panic(fmt.Sprintf("classifier: batch of %d, buffers hold 1..%d", n, c.maxBatch))
	}
	d, k := c.Cfg.XDim(), c.Cfg.K()
	xt := c.be.Slice(c.xt, 0, n*d)
	c.be.Upload(xt, x[:n*d])
	if y != nil {
		c.be.Upload(c.be.Slice(c.yt, 0, n*k), y[:n*k])
	}
	c.lastLogitsT = c.net.Forward([]model.Tensor{xt}, n)
	return c.lastLogitsT
}

// bce writes the batch's cross-entropy (and its gradient when dl is set).
func (c *Classifier) bce(logits model.Tensor, n int, dl model.Tensor) float64 {
	k := c.Cfg.K()
	yt := c.be.Slice(c.yt, 0, n*k)
	if c.posW != nil {
		c.be.WeightedBCEWithLogits(c.loss, dl, logits, yt, c.posW, c.negW, n, k, 1)
	} else {
		c.be.BCEWithLogits(c.loss, dl, logits, yt, n, k, 1)
	}
	c.be.Download(c.hostLoss[:], c.loss)
	return float64(c.hostLoss[0])
}

// Step takes one Adam step on a batch of n images x with labels y (0 or 1)
// at learning rate lr and returns the batch's loss before the step.
func (c *Classifier) Step(x, y []float32, n int, lr float64) float64 {
	c.setTraining(true)
	logits := c.forward(x, y, n)
	dl := c.be.Slice(c.dl, 0, n*c.Cfg.K())
	l := c.bce(logits, n, dl)
	c.Main.ZeroGrad(c.be)
	c.net.Backward(dl, n, false, true)
	c.Main.Update(c.be, model.AdamParams{LR: float32(lr), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	return l
}

// Loss is the mean cross-entropy of a batch in evaluation mode.
func (c *Classifier) Loss(x, y []float32, n int) float64 {
	c.setTraining(false)
	return c.bce(c.forward(x, y, n), n, nil)
}

// Logits returns the logits [n, k] of n images in evaluation mode, in
// batches of at most MaxBatch.
func (c *Classifier) Logits(x []float32, n int) []float32 {
	c.setTraining(false)
	d, k := c.Cfg.XDim(), c.Cfg.K()
	out := make([]float32, n*k)
	for lo := 0; lo < n; lo += c.maxBatch {
		m := min(c.maxBatch, n-lo)
		c.be.Download(out[lo*k:(lo+m)*k], c.forward(x[lo*d:(lo+m)*d], nil, m))
	}
	return out
}

// Predict returns the probability of every attribute [n, k] for n images
// (CHW, values in [0,1], the classifier's image size).
func (c *Classifier) Predict(x []float32, n int) []float32 {
	p := c.Logits(x, n)
	for i, v := range p {
		p[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return p
}

// Decide turns probabilities into 0/1 decisions at the threshold 1/2.
func Decide(p []float32) []int {
	out := make([]int, len(p))
	for i, v := range p {
		if v >= 0.5 {
			out[i] = 1
		}
	}
	return out
}

// AttrScore is the test performance on one attribute.
type AttrScore struct {
	Attr        string  `json:"attr"`
	Accuracy    float64 `json:"accuracy"`
	Balanced    float64 `json:"balanced_accuracy"` // mean of the true-positive and true-negative rates
	TPR         float64 `json:"tpr"`
	TNR         float64 `json:"tnr"`
	Positives   int     `json:"positives"`
	Negatives   int     `json:"negatives"`
	Majority    float64 `json:"majority_rate"` // accuracy of always answering the commoner label
	BaseRateTrn float64 `json:"train_base_rate"`
}

// Score compares decisions pred [n, k] with labels y [n, k].
func Score(attrs []string, pred []int, y []float32, n int) []AttrScore {
	k := len(attrs)
	out := make([]AttrScore, k)
	for j, a := range attrs {
		var tp, tn, pos, neg int
		for i := range n {
			if y[i*k+j] > 0.5 {
				pos++
				if pred[i*k+j] == 1 {
					tp++
				}
			} else {
				neg++
				if pred[i*k+j] == 0 {
					tn++
				}
			}
		}
		s := AttrScore{Attr: a, Positives: pos, Negatives: neg}
		s.Accuracy = float64(tp+tn) / float64(max(1, n))
		s.TPR, s.TNR = rate(tp, pos), rate(tn, neg)
		s.Balanced = (s.TPR + s.TNR) / 2
		if pos == 0 || neg == 0 {
			s.Balanced = s.Accuracy
		}
		s.Majority = float64(max(pos, neg)) / float64(max(1, n))
		out[j] = s
	}
	return out
}

func rate(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Evaluate scores the classifier on every example of s, whose attributes
// must be the classifier's.
func (c *Classifier) Evaluate(s dataset.Split) ([]AttrScore, error) {
	pred, y, err := c.Decisions(s)
	if err != nil {
		return nil, err
	}
	sc := Score(c.Cfg.Attrs, pred, y, s.Len())
	for j := range sc {
		if j < len(c.Cfg.Rates) {
			sc[j].BaseRateTrn = c.Cfg.Rates[j]
		}
	}
	return sc, nil
}

// Decisions are the classifier's decisions on every example of s (whose
// attributes must be the classifier's) and the examples' labels, both
// example-major with one column per attribute.
func (c *Classifier) Decisions(s dataset.Split) (pred []int, y []float32, err error) {
	if err := c.checkSplit(s); err != nil {
		return nil, nil, err
	}
	n, d, k := s.Len(), c.Cfg.XDim(), c.Cfg.K()
	x := make([]float32, c.maxBatch*d)
	y, pred = make([]float32, n*k), make([]int, n*k)
	for _, idx := range dataset.Batches(n, c.maxBatch, false, 0, 0) {
		lo := idx[0]
		s.Fill(idx, x, y[lo*k:])
		copy(pred[lo*k:], Decide(c.Predict(x, len(idx))))
	}
	return pred, y, nil
}

func (c *Classifier) checkSplit(s dataset.Split) error {
	if s.Dim() != c.Cfg.XDim() {
		return fmt.Errorf("classifier: the data has %d values per image, the classifier expects %d (3x%dx%d)", s.Dim(), c.Cfg.XDim(), c.Cfg.ImageSize, c.Cfg.ImageSize)
	}
	if !slices.Equal(s.Attrs(), c.Cfg.Attrs) {
		return fmt.Errorf("classifier: the data's attributes %v are not the classifier's %v", s.Attrs(), c.Cfg.Attrs)
	}
	return nil
}

// EpochLog is one epoch of training, for the caller's progress report.
type EpochLog struct {
	Epoch     int
	TrainLoss float64
	TestLoss  float64
	Scores    []AttrScore
}

// Train trains c on train for c.Cfg.Epochs epochs (batches shuffled from
// the seed), evaluating on test after each epoch; step, when not nil, is
// called after every batch, and epoch after every epoch.
func (c *Classifier) Train(train, test dataset.Split, step func(epoch, batch, batches int, loss float64), epoch func(EpochLog)) error {
	for _, s := range []dataset.Split{train, test} {
		if err := c.checkSplit(s); err != nil {
			return err
		}
	}
	cfg := c.Cfg
	d, k := cfg.XDim(), cfg.K()
	x, y := make([]float32, cfg.Batch*d), make([]float32, cfg.Batch*k)
	for e := range cfg.Epochs {
		batches := dataset.Batches(train.Len(), cfg.Batch, true, cfg.Seed, e)
		sum, cnt := 0.0, 0
		for b, idx := range batches {
			if len(idx) > c.maxBatch {
				return fmt.Errorf("classifier: batch %d exceeds the buffers' %d", len(idx), c.maxBatch)
			}
			train.Fill(idx, x, y)
			l := c.Step(x, y, len(idx), cfg.LR)
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return fmt.Errorf("classifier: epoch %d, batch %d: the loss is %v", e+1, b+1, l)
			}
			sum += l * float64(len(idx))
			cnt += len(idx)
			if step != nil {
				step(e, b+1, len(batches), l)
			}
		}
		if epoch != nil {
			log := EpochLog{Epoch: e + 1, TrainLoss: sum / float64(max(1, cnt))}
			log.TestLoss = c.splitLoss(test)
			sc, err := c.Evaluate(test)
			if err != nil {
				return err
			}
			log.Scores = sc
			epoch(log)
		}
	}
	return nil
}

func (c *Classifier) splitLoss(s dataset.Split) float64 {
	d, k := c.Cfg.XDim(), c.Cfg.K()
	x, y := make([]float32, c.maxBatch*d), make([]float32, c.maxBatch*k)
	sum := 0.0
	for _, idx := range dataset.Batches(s.Len(), c.maxBatch, false, 0, 0) {
		s.Fill(idx, x, y)
		sum += c.Loss(x, y, len(idx)) * float64(len(idx))
	}
	return sum / float64(max(1, s.Len()))
}

// Save writes the classifier into dir: the checkpoint (every parameter and
// running statistic under its own name, the configuration in the metadata)
// and config.json, each atomically.
func (c *Classifier) Save(dir string) error {
	cfgJSON, err := json.Marshal(c.Cfg)
	if err != nil {
		return err
	}
	var ts []safetensors.Tensor
	for _, ps := range []*model.ParamSet{c.Main, c.State} {
		for _, p := range ps.Params() {
			v := make([]float32, p.Size())
			c.be.Download(v, p.Value)
			ts = append(ts, safetensors.F32(p.Name, p.Shape, v))
		}
	}
	meta := map[string]string{"format": checkpointFormat, "config": string(cfgJSON)}
	if err := safetensors.WriteFile(filepath.Join(dir, CheckpointFile), safetensors.File{Tensors: ts, Metadata: meta}); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c.Cfg, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ConfigFile), append(b, '\n'))
}

// Load reads a classifier saved by Save in dir onto be, for batches of up
// to maxBatch images (the configured batch when maxBatch < 1).
func Load(dir string, be model.Backend, maxBatch int) (*Classifier, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("classifier %s: no such directory; train one with csvae-gpu classifier train", dir)
	}
	path := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("classifier %s: no %s there; train one with csvae-gpu classifier train", dir, CheckpointFile)
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if f.Metadata["format"] != checkpointFormat {
		return nil, fmt.Errorf("%s: not a csvae-gpu classifier (format %q)", path, f.Metadata["format"])
	}
	var cfg Config
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		return nil, fmt.Errorf("%s: configuration: %v", path, err)
	}
	c, err := New(be, cfg, maxBatch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, ps := range []*model.ParamSet{c.Main, c.State} {
		for _, p := range ps.Params() {
			t, ok := f.Get(p.Name)
			if !ok {
				return nil, fmt.Errorf("%s: parameter %s is missing", path, p.Name)
			}
			v, err := t.Float32s()
			if err != nil || len(v) != p.Size() {
				return nil, fmt.Errorf("%s: parameter %s: shape %v, want %v", path, p.Name, t.Shape, p.Shape)
			}
			be.Upload(p.Value, v)
		}
	}
	return c, nil
}

// SaveMetrics writes the test scores as metrics.json in dir.
func SaveMetrics(dir string, scores []AttrScore) error {
	b, err := json.MarshalIndent(scores, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, MetricsFile), append(b, '\n'))
}

// MarshalJSON writes a rate that is undefined (no example of that label) as
// null.
func (s AttrScore) MarshalJSON() ([]byte, error) {
	type plain AttrScore
	nullable := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		TPR *float64 `json:"tpr"`
		TNR *float64 `json:"tnr"`
	}{plain(s), nullable(s.TPR), nullable(s.TNR)})
}
