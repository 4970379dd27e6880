package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
)

// Kinds lists the models every experiment compares, baselines first.
var Kinds = []string{"vae", "condvae", "condvae-info", "csvae-noadv", "csvae"}

// Config is everything that defines a run: it is written next to the
// checkpoint as config.json, and a run can be rebuilt from it alone.
type Config struct {
	Model   string   `json:"model"`
	Dataset string   `json:"dataset"`
	Data    string   `json:"data,omitempty"`    // image datasets: a cache file or a CelebA-layout directory
	SynthN  int      `json:"synth_n,omitempty"` // synth without Data: how many faces to generate
	Attrs   []string `json:"attrs"`             // attribute names, k = len(Attrs)
	XDim    int      `json:"input_dim"`         // values per example
	// Standardize rescales vector inputs to zero mean and unit variance
	// (training-split statistics) before the network sees them.
	Standardize bool `json:"standardize"`
	Dz          int  `json:"dz"` // free latent z

	// Arch is "mlp" for vector data: every network is an MLP of Layers
	// hidden layers of Hidden units. "conv" is the design's image network
	// for ImageSize x ImageSize RGB images: a trunk of 4x4 stride-2
	// convolutions with ConvChannels channels, dense heads, a mirrored
	// decoder of transposed convolutions.
	Arch         string  `json:"arch"`
	Hidden       int     `json:"hidden,omitempty"`
	Layers       int     `json:"layers,omitempty"`
	ImageSize    int     `json:"image_size,omitempty"`
	ConvChannels []int   `json:"conv_channels,omitempty"`
	Slope        float32 `json:"leaky_slope"`

	Betas [5]float64 `json:"betas"` // recon, KL(w), KL(z), adversary term, adversary BCE
	Prior Prior      `json:"prior"`
	// AdvBalance trains the adversary with a class-balanced cross-entropy
	// (weights 1/(2π) and 1/(2(1-π)) from the training base rates
	// LabelRates), so that for a rare attribute its uninformative answer is
	// 1/2: then the entropy the encoder maximises peaks exactly where z
	// carries no information about y.
	AdvBalance bool `json:"adv_balance"`
	// AdvOnMean feeds the adversary the posterior mean of z instead of a
	// draw, in both objectives: the draw's noise can hide from the
	// adversary what a probe of the mean still reads (leakage).
	AdvOnMean bool `json:"adv_on_mean,omitempty"`
	// AdvSteps is how many updates the adversary makes per batch (0 or 1:
	// one); the extra ones reuse the batch's codes, so that the encoder
	// faces an adversary that has caught up with it.
	AdvSteps int `json:"adv_steps,omitempty"`
	// MeanGap weights a penalty on the squared difference between the
	// batch means of z's posterior mean over the images with and without
	// each label (kernels.MeanGap), added to the main objective: a linear
	// probe of z reads the label through that gap. Not in the paper; 0 is
	// off. MeanGapAttrs names the attributes it applies to (all when
	// empty).
	MeanGap      float64   `json:"mean_gap,omitempty"`
	MeanGapAttrs []string  `json:"mean_gap_attrs,omitempty"`
	LabelRates   []float64 `json:"label_rates,omitempty"`
	LearnedPrior bool      `json:"learned_prior"`
	// EMA, when above 0, keeps an exponential moving average of the main
	// weights and batch norm's running statistics, avg = EMA·avg + (1−EMA)·w
	// after every step, and the commands that use a trained run use it:
	// the adversarial game leaves the last step's weights with traces of
	// its recent moves, which the average smooths out. Not in the paper; 0
	// is off. Training itself is unchanged.
	EMA float64 `json:"ema,omitempty"`
	// Balance, when above 0, draws the training examples of every epoch
	// with replacement, each with probability proportional to (count of
	// its label combination)^−Balance (dataset.BalanceWeights), instead
	// of a permutation: an edit asks the decoder for combinations the data
	// holds few of (a man with makeup), and this shows it more of them.
	// Not in the paper; 0 is off, 1 draws every combination equally often.
	Balance float64 `json:"balance,omitempty"`

	Batch     int     `json:"batch"`
	Epochs    int     `json:"epochs"`
	LR        float64 `json:"lr"`
	AdvLR     float64 `json:"adv_lr"`
	LRDecay   float64 `json:"lr_decay"` // both learning rates are multiplied by this after every epoch
	Seed      uint64  `json:"seed"`
	DataSeed  uint64  `json:"data_seed"`
	CkptEvery int     `json:"checkpoint_every"`           // epochs between checkpoints
	CkptSteps int     `json:"checkpoint_steps,omitempty"` // also every this many steps; 0: only per epoch
	PlotEvery int     `json:"plot_every"`                 // epochs between plots
}

// DefaultConfig returns the settings documented in the README for model on
// the swiss roll.
func DefaultConfig(model string) Config {
	return Config{
		Model: model, Dataset: "swissroll", Attrs: []string{"x1>=10"}, XDim: 3, Standardize: true, Dz: 2,
		Arch: "mlp", Hidden: 64, Layers: 2, Slope: 0.2,
		Betas: [5]float64{20, 1, 0.2, 10, 1},
		// y=1: N(0, 0.1^2); y=0: N(3, 1).
		Prior: Prior{Mu1: 0, LogVar1: float32(math.Log(0.01)), Mu0: 3, LogVar0: 0},
		Batch: 128, Epochs: 100, LR: 1e-3, AdvLR: 1e-3, LRDecay: 1,
		Seed: 1, DataSeed: 1, CkptEvery: 10, PlotEvery: 10,
	}
}

// ImageConfig returns the settings for model on size x size RGB images with
// the given attributes: the CelebA-64 network of the design at 64 (trunk
// 32-64-128-256, Dz 64), a three-layer version at 32 (32-64-128).
func ImageConfig(model string, size int, attrs []string) Config {
	c := DefaultConfig(model)
	c.Dataset, c.Attrs, c.Standardize = "celeba", attrs, false
	c.Arch, c.Hidden, c.Layers = "conv", 0, 0
	c.ImageSize, c.XDim, c.Dz = size, 3*size*size, 64
	c.ConvChannels = []int{32, 64, 128, 256}
	if size <= 32 {
		c.ConvChannels = []int{32, 64, 128}
	}
	c.Batch, c.Epochs, c.PlotEvery, c.CkptEvery = 64, 20, 1, 1
	return c
}

// K is the number of attributes.
func (c Config) K() int { return len(c.Attrs) }

// HasW reports models with the subspaces w.
func (c Config) HasW() bool { return c.Model == "csvae" || c.Model == "csvae-noadv" }

// ZDim is the width of z. The vae has no w, so it gets Dz+2k dimensions to
// hold the same total latent size; its reports split them into a "z" half
// and a "w" half, as the reference study did.
func (c Config) ZDim() int {
	if c.Model == "vae" {
		return c.Dz + 2*c.K()
	}
	return c.Dz
}

// WDim is the width of w: two coordinates per attribute.
func (c Config) WDim() int {
	if c.HasW() {
		return 2 * c.K()
	}
	return 0
}

// Adversary names what the adversary on z does: "negentropy" (csvae: the
// encoder makes its predictions uninformative), "maxce" (condvae-info: the
// encoder maximises its cross-entropy), or "" for none.
func (c Config) Adversary() string {
	switch c.Model {
	case "csvae":
		return "negentropy"
	case "condvae-info":
		return "maxce"
	}
	return ""
}

// LRScale is the factor on both learning rates during epoch (0-based): an
// exponential decay that depends on the epoch alone, so resuming cannot
// shift it.
func (c Config) LRScale(epoch int) float64 { return math.Pow(c.LRDecay, float64(epoch)) }

// Validate rejects settings that cannot train, naming the field.
func (c Config) Validate() error {
	switch {
	case !slices.Contains(Kinds, c.Model):
		return fmt.Errorf("unknown model %q (want one of %s)", c.Model, strings.Join(Kinds, ", "))
	case c.XDim < 1:
		return fmt.Errorf("input_dim must be positive, got %d", c.XDim)
	case c.K() < 1:
		return fmt.Errorf("at least one attribute is needed")
	case c.Dz < 1:
		return fmt.Errorf("dz must be positive, got %d", c.Dz)
	case c.Arch == "mlp" && (c.Hidden < 1 || c.Layers < 1):
		return fmt.Errorf("hidden and layers must be positive, got %d and %d", c.Hidden, c.Layers)
	case c.Arch == "conv" && (len(c.ConvChannels) == 0 || c.ImageSize < 2<<len(c.ConvChannels) || c.ImageSize%(1<<len(c.ConvChannels)) != 0):
		return fmt.Errorf("image_size %d does not halve %d times to a whole feature map", c.ImageSize, len(c.ConvChannels))
	case c.Arch == "conv" && c.XDim != 3*c.ImageSize*c.ImageSize:
		return fmt.Errorf("input_dim %d is not 3x%dx%d", c.XDim, c.ImageSize, c.ImageSize)
	case c.Arch != "mlp" && c.Arch != "conv":
		return fmt.Errorf("unknown arch %q (want mlp or conv)", c.Arch)
	case c.Batch < 1:
		return fmt.Errorf("batch must be positive, got %d", c.Batch)
	case c.Epochs < 0:
		return fmt.Errorf("epochs must not be negative, got %d", c.Epochs)
	case !(c.LR > 0) || !(c.AdvLR > 0):
		return fmt.Errorf("learning rates must be positive, got %g and %g", c.LR, c.AdvLR)
	case !(c.LRDecay > 0 && c.LRDecay <= 1):
		return fmt.Errorf("lr_decay must be in (0, 1], got %g", c.LRDecay)
	case c.CkptSteps < 0:
		return fmt.Errorf("checkpoint_steps must not be negative, got %d", c.CkptSteps)
	case c.CkptEvery < 1 || c.PlotEvery < 1:
		return fmt.Errorf("checkpoint_every and plot_every must be positive")
	}
	if c.AdvOnMean && c.Adversary() == "" {
		return fmt.Errorf("adv_on_mean needs a model with an adversary (csvae, condvae-info), not %s", c.Model)
	}
	if c.AdvSteps < 0 {
		return fmt.Errorf("adv_steps must not be negative, got %d", c.AdvSteps)
	}
	if !(c.MeanGap >= 0) || math.IsInf(c.MeanGap, 0) {
		return fmt.Errorf("mean_gap must be a finite weight of at least 0, got %g", c.MeanGap)
	}
	if len(c.MeanGapAttrs) > 0 && c.MeanGap == 0 {
		return fmt.Errorf("mean_gap_attrs %v needs a mean_gap weight above 0", c.MeanGapAttrs)
	}
	for _, a := range c.MeanGapAttrs {
		if !slices.Contains(c.Attrs, a) {
			return fmt.Errorf("mean_gap_attrs: %s is not one of the run's attributes %v", a, c.Attrs)
		}
	}
	if !(c.EMA >= 0 && c.EMA < 1) {
		return fmt.Errorf("ema must be a decay in [0, 1), got %g", c.EMA)
	}
	if !(c.Balance >= 0 && c.Balance <= 1) {
		return fmt.Errorf("balance must be a power in [0, 1], got %g", c.Balance)
	}
	if c.AdvSteps > 1 && c.Adversary() == "" {
		return fmt.Errorf("adv_steps needs a model with an adversary (csvae, condvae-info), not %s", c.Model)
	}
	if c.AdvBalance {
		if len(c.LabelRates) != c.K() {
			return fmt.Errorf("adv_balance needs the base rate of each of the %d attributes, got %d", c.K(), len(c.LabelRates))
		}
		for i, r := range c.LabelRates {
			if !(r > 0 && r < 1) {
				return fmt.Errorf("attribute %s has base rate %g in the training data: a balanced adversary needs both labels present", c.Attrs[i], r)
			}
		}
	}
	for i, b := range c.Betas {
		if b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
			return fmt.Errorf("beta%d must be a finite non-negative number, got %g", i+1, b)
		}
	}
	return nil
}

// Save writes the configuration as indented JSON.
func (c Config) Save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// LoadConfig reads a configuration written by Save.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
