package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

func trainCommand() *cli.Command {
	d := model.DefaultConfig("csvae")
	return &cli.Command{
		Name:  "train",
		Usage: "train a model and write its run directory",
		Description: "Writes into --out: config.json, losses.csv (every loss component per epoch, train and test),\n" +
			"checkpoint.safetensors, kl.csv and PNG plots (latent scatters, loss curves).\n" +
			"Ctrl-C saves a checkpoint; --resume DIR continues a run exactly where it stopped.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "vae, condvae, condvae-info, csvae-noadv or csvae"},
			&cli.StringFlag{Name: "dataset", Value: "swissroll", Usage: "swissroll (vectors), synth (built-in faces) or celeba (with --data)"},
			&cli.StringFlag{Name: "data", Usage: "celeba: a cache file written by prepare, or a CelebA-layout directory (prepared on first use); synth: a directory written by synth"},
			&cli.StringFlag{Name: "attrs", Value: "Eyeglasses,Smiling", Usage: "image datasets: the attributes to model, by CelebA name"},
			&cli.IntFlag{Name: "image-size", Value: 64, Usage: "image datasets: 64 (the CelebA-64 network) or 32 (a smaller one)"},
			&cli.IntFlag{Name: "synth-n", Value: 20000, Usage: "synth without --data: how many faces to generate (cached under the user cache directory)"},
			&cli.StringFlag{Name: "init-from", Usage: "start the convolutional layers from a trained vae run (pretraining)"},
			&cli.StringFlag{Name: "out", Usage: "run directory to create"},
			&cli.StringFlag{Name: "resume", Usage: "continue the run in this directory (--epochs may extend it)"},
			&cli.IntFlag{Name: "epochs", Value: d.Epochs, Usage: "epochs to train (image datasets: 20 unless set)"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "seeds the weights, the noise and the batch order"},
			&cli.Uint64Flag{Name: "data-seed", Usage: "seeds the generated data (default: --seed)"},
			&cli.IntFlag{Name: "batch", Value: d.Batch, Usage: "batch size (image datasets: 64 unless set)"},
			&cli.Float64Flag{Name: "lr", Value: d.LR, Usage: "Adam learning rate of encoders and decoder"},
			&cli.Float64Flag{Name: "adv-lr", Value: d.AdvLR, Usage: "Adam learning rate of the adversary"},
			&cli.Float64Flag{Name: "lr-decay", Value: d.LRDecay, Usage: "multiply both learning rates by this after every epoch"},
			&cli.StringFlag{Name: "betas", Value: joinFloats(d.Betas[:]), Usage: "beta1..beta5: recon, KL(w), KL(z), adversary term, adversary BCE"},
			&cli.StringFlag{Name: "prior", Value: "0,0.1,3,1", Usage: "fixed p(w|y): mean and sd for y=1, then for y=0"},
			&cli.BoolFlag{Name: "learned-prior", Usage: "learn p(w|y) with an MLP instead of the fixed prior"},
			&cli.BoolFlag{Name: "adv-balance", Usage: "train the adversary with a class-balanced cross-entropy (see README)"},
			&cli.BoolFlag{Name: "adv-on-mean", Usage: "feed the adversary the posterior mean of z rather than a draw"},
			&cli.IntFlag{Name: "adv-steps", Value: 1, Usage: "adversary updates per batch (the extra ones on the same codes)"},
			&cli.Float64Flag{Name: "mean-gap", Usage: "weight of a penalty on the gap between the class means of z per label (not in the paper; 0: off)"},
			&cli.StringFlag{Name: "mean-gap-attrs", Usage: "comma-separated attributes the --mean-gap penalty applies to (default: all of --attrs)"},
			&cli.Float64Flag{Name: "ema", Usage: "keep a moving average of the weights, decay per step (e.g. 0.995: about the last 200 steps), which the other commands then use (not in the paper; 0: off; losses.csv and the training plots follow the raw weights)"},
			&cli.Float64Flag{Name: "balance", Usage: "draw each epoch's examples with probability proportional to (count of their label combination)^-P, so that rare combinations (a man with makeup) are seen more often (not in the paper; 0: off, the usual shuffle; 1: every combination equally often)"},
			&cli.IntFlag{Name: "dz", Value: d.Dz, Usage: "dimension of z (image datasets: 64 unless set)"},
			&cli.IntFlag{Name: "hidden", Value: d.Hidden, Usage: "width of every MLP hidden layer"},
			&cli.IntFlag{Name: "layers", Value: d.Layers, Usage: "hidden layers per MLP"},
			&cli.IntFlag{Name: "checkpoint-every", Value: d.CkptEvery, Usage: "epochs between checkpoints (and always at the end)"},
			&cli.IntFlag{Name: "checkpoint-steps", Usage: "also write a checkpoint every N training steps (long image epochs)"},
			&cli.IntFlag{Name: "plot-every", Value: d.PlotEvery, Usage: "epochs between latent plots and KL estimates (and always at the end)"},
			&cli.BoolFlag{Name: "standardize", Value: d.Standardize, Usage: "rescale vector data to zero mean and unit variance (training statistics)"},
			&cli.IntFlag{Name: "max-steps", Usage: "stop once the model has taken N training steps in all, with a checkpoint (--resume goes on)"},
			&cli.BoolFlag{Name: "log-steps", Usage: "write steps.csv: every training step's losses, to compare two runs step by step"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress bar"},
		}, deviceFlags...),
		Action: train,
	}
}

func train(c *cli.Context) error {
	if c.Int("max-steps") < 0 {
		return fmt.Errorf("--max-steps must not be negative, got %d", c.Int("max-steps"))
	}
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	var t *model.Trainer
	var data *splits
	if dir := c.String("resume"); dir != "" {
		t, data, err = resumeRun(c, be, dir)
	} else {
		t, data, err = newRun(c, be)
	}
	if err != nil {
		return err
	}
	defer data.Close()
	cfg := t.Net.Cfg
	fmt.Fprintf(os.Stderr, "%s on %s: %d train / %d test examples, %d parameters (+%d adversary), device %s, run %s\n",
		cfg.Model, cfg.Dataset, t.Train.Len(), t.Test.Len(), t.Net.Main.Size(), advSize(t.Net), be.Name(), t.Dir)
	if cfg.Balance > 0 {
		if err := describeBalance(t.Train, cfg.Balance); err != nil {
			return err
		}
	}
	rep, err := newReporter(t.Dir, t.Net, t.Test, t.Pos.Epoch)
	if err != nil {
		return err
	}
	bar := newProgress(c.Bool("quiet"), t)
	t.MaxSteps = c.Int("max-steps")
	onStep := bar.step
	if c.Bool("log-steps") {
		log, err := openStepLog(t.Dir, cfg, t.Net.Main.Step)
		if err != nil {
			return err
		}
		defer log.Close()
		onStep = func(epoch, batch, batches int, l model.Losses) {
			log.add(t.Net.Main.Step, epoch+1, batch, l)
			bar.step(epoch, batch, batches, l)
		}
	}
	began := time.Now()
	t.Hooks = model.Hooks{
		Step: onStep,
		Epoch: func(r model.EpochRecord, last bool) error {
			if last || r.Epoch%cfg.PlotEvery == 0 {
				if err := rep.plots(t.History); err != nil {
					return err
				}
				bar.println(rep.summary(r))
			}
			return nil
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = t.Run(ctx)
	bar.finish()
	if errors.Is(err, model.ErrStepLimit) {
		fmt.Fprintf(os.Stderr, "stopped at step %d (--max-steps) after %.1f s of training; checkpoint saved, continue with: csvae-gpu train --resume %s\n",
			t.Net.Main.Step, time.Since(began).Seconds(), t.Dir)
		return nil
	}
	if errors.Is(err, model.ErrInterrupted) {
		return fmt.Errorf("interrupted at epoch %d, batch %d; checkpoint saved, continue with: csvae-gpu train --resume %s",
			t.Pos.Epoch+1, t.Pos.Batch, t.Dir)
	}
	if err != nil {
		return err
	}
	if len(t.History) > 0 {
		fmt.Fprintf(os.Stderr, "done: %d epochs in %s; results in %s\n", cfg.Epochs,
			time.Duration(t.History[len(t.History)-1].Seconds*float64(time.Second)).Round(time.Second), t.Dir)
	}
	return nil
}

func advSize(n *model.Net) int {
	if n.Adv == nil {
		return 0
	}
	return n.Adv.Size()
}

// newRun validates the flags, creates the run directory and the model.
func newRun(c *cli.Context, be model.Backend) (*model.Trainer, *splits, error) {
	cfg, err := configFromFlags(c)
	if err != nil {
		return nil, nil, err
	}
	dir := c.String("out")
	if dir == "" {
		return nil, nil, errors.New("--out is required: the run directory to create")
	}
	if err := prepareOut(dir); err != nil {
		return nil, nil, err
	}
	data, err := loadSplits(cfg, c.Bool("quiet"))
	if err != nil {
		return nil, nil, err
	}
	if cfg.AdvBalance {
		cfg.LabelRates = dataset.LabelRates(data.train)
	} else if isImageDataset(cfg.Dataset) {
		cfg.LabelRates = dataset.LabelRates(data.train) // for sampling labels at their base rates
	}
	net, err := model.NewNet(be, cfg, cfg.Batch)
	if err == nil && c.String("init-from") != "" {
		err = initFrom(net, be, c.String("init-from"))
	}
	if err == nil {
		err = cfg.Save(filepath.Join(dir, model.ConfigFile))
	}
	if err != nil {
		data.Close()
		return nil, nil, err
	}
	return &model.Trainer{Dir: dir, Net: net, Train: data.train, Test: data.test}, data, nil
}

// configFromFlags starts from the preset of the dataset and applies every
// flag the user set.
func configFromFlags(c *cli.Context) (model.Config, error) {
	name := c.String("model")
	if name == "" {
		return model.Config{}, errors.New("--model is required (vae, condvae, condvae-info, csvae-noadv or csvae)")
	}
	var cfg model.Config
	switch ds := c.String("dataset"); ds {
	case "swissroll":
		cfg = model.DefaultConfig(name)
	case "celeba", "synth":
		var attrs []string
		for _, a := range strings.Split(c.String("attrs"), ",") {
			if a = strings.TrimSpace(a); a != "" {
				attrs = append(attrs, a)
			}
		}
		cfg = model.ImageConfig(name, c.Int("image-size"), attrs)
		cfg.Dataset, cfg.Data, cfg.SynthN = ds, c.String("data"), c.Int("synth-n")
		if cfg.Data != "" {
			// Absolute, so that the run finds its data from any working
			// directory; a moved copy is pointed at it with --data.
			cfg.Data = absPath(cfg.Data)
		}
		if cfg.SynthN < 10 {
			return cfg, fmt.Errorf("--synth-n must be at least 10, got %d", cfg.SynthN)
		}
	default:
		return cfg, fmt.Errorf("unknown dataset %q (want %s)", ds, strings.Join(datasetNames, ", "))
	}
	cfg.Seed, cfg.DataSeed = c.Uint64("seed"), c.Uint64("seed")
	if c.IsSet("data-seed") {
		cfg.DataSeed = c.Uint64("data-seed")
	}
	set := func(flag string, apply func()) {
		if c.IsSet(flag) || cfg.Dataset == "swissroll" {
			apply()
		}
	}
	set("epochs", func() { cfg.Epochs = c.Int("epochs") })
	set("batch", func() { cfg.Batch = c.Int("batch") })
	set("dz", func() { cfg.Dz = c.Int("dz") })
	set("checkpoint-every", func() { cfg.CkptEvery = c.Int("checkpoint-every") })
	cfg.CkptSteps = c.Int("checkpoint-steps")
	set("plot-every", func() { cfg.PlotEvery = c.Int("plot-every") })
	if cfg.Arch == "mlp" {
		cfg.Hidden, cfg.Layers = c.Int("hidden"), c.Int("layers")
		cfg.Standardize = c.Bool("standardize")
	}
	cfg.LR, cfg.AdvLR, cfg.LRDecay = c.Float64("lr"), c.Float64("adv-lr"), c.Float64("lr-decay")
	cfg.LearnedPrior = c.Bool("learned-prior")
	cfg.AdvBalance = c.Bool("adv-balance")
	cfg.AdvOnMean = c.Bool("adv-on-mean")
	cfg.MeanGap = c.Float64("mean-gap")
	cfg.EMA = c.Float64("ema")
	cfg.Balance = c.Float64("balance")
	if s := c.String("mean-gap-attrs"); s != "" {
		cfg.MeanGapAttrs = strings.Split(s, ",")
	}
	if cfg.AdvSteps = c.Int("adv-steps"); cfg.AdvSteps < 1 {
		return cfg, fmt.Errorf("--adv-steps must be at least 1, got %d", cfg.AdvSteps)
	} else if cfg.AdvSteps == 1 {
		cfg.AdvSteps = 0 // the default, left out of config.json
	}
	betas, err := parseFloats("betas", c.String("betas"), 5)
	if err != nil {
		return cfg, err
	}
	copy(cfg.Betas[:], betas)
	p, err := parseFloats("prior", c.String("prior"), 4)
	if err != nil {
		return cfg, err
	}
	if p[1] <= 0 || p[3] <= 0 {
		return cfg, fmt.Errorf("--prior: standard deviations must be positive, got %g and %g", p[1], p[3])
	}
	cfg.Prior = model.Prior{Mu1: float32(p[0]), LogVar1: float32(2 * math.Log(p[1])), Mu0: float32(p[2]), LogVar0: float32(2 * math.Log(p[3]))}
	if cfg.AdvBalance {
		// Validate wants the rates, which come from the data; check the
		// rest now so bad flags fail before any data is read.
		check := cfg
		check.AdvBalance = false
		return cfg, check.Validate()
	}
	return cfg, cfg.Validate()
}

// describeBalance says how --balance changes what an epoch shows: the
// commonest and the rarest label combination, their share of the data and
// of the draws.
func describeBalance(s dataset.Split, power float64) error {
	_, combos, err := dataset.BalanceWeights(s, power)
	if err != nil {
		return err
	}
	n := float64(s.Len())
	line := func(c dataset.Combo) string {
		return fmt.Sprintf("%s: %d examples, %.2f%% of the data, %.2f%% of the draws", c.String(s.Attrs()), c.Count, 100*float64(c.Count)/n, 100*c.Share)
	}
	fmt.Fprintf(os.Stderr, "balance %g over %d label combinations; commonest %s; rarest %s\n",
		power, len(combos), line(combos[0]), line(combos[len(combos)-1]))
	return nil
}

// initFrom copies the convolutional layers of a trained run into net.
func initFrom(net *model.Net, be model.Backend, dir string) error {
	src, _, err := openRunRaw(be, dir)
	if err != nil {
		return fmt.Errorf("--init-from: %w", err)
	}
	src.UseAverage() // a run trained with --ema is its averaged weights
	copied, err := net.CopyLayers(src, "trunk.", "dec.up.")
	if err != nil {
		return fmt.Errorf("--init-from %s: %w", dir, err)
	}
	fmt.Fprintf(os.Stderr, "initialised %d tensors of the trunk and decoder from %s (%s)\n", len(copied), dir, src.Cfg.Model)
	return nil
}

// prepareOut creates dir, refuses one that already holds a run, and proves
// it is writable before any time is spent training.
func prepareOut(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, model.CheckpointFile)); err == nil {
		return fmt.Errorf("--out %s already holds a run: continue it with --resume %s, or choose another directory", dir, dir)
	}
	return writableDir(dir)
}

// writableDir creates dir if needed and proves that files can be written
// there, so that a bad --out fails before any work is done.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: cannot create %s: %v", dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return fmt.Errorf("--out: cannot write in %s: %v", dir, unwrapPath(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resumeRun reloads a run directory at its last checkpoint.
func resumeRun(c *cli.Context, be model.Backend, dir string) (*model.Trainer, *splits, error) {
	ckpt := filepath.Join(dir, model.CheckpointFile)
	if _, err := os.Stat(ckpt); err != nil {
		return nil, nil, fmt.Errorf("--resume %s: no checkpoint there (%v)", dir, unwrapPath(err))
	}
	for _, f := range []string{"model", "dataset", "attrs", "image-size", "synth-n", "init-from", "seed", "batch", "dz", "hidden", "layers", "betas", "prior", "learned-prior", "adv-balance", "adv-on-mean", "adv-steps", "mean-gap", "mean-gap-attrs", "ema", "balance", "standardize", "data-seed", "lr", "adv-lr", "lr-decay"} {
		if c.IsSet(f) {
			return nil, nil, fmt.Errorf("--%s cannot change when resuming; only --epochs, --checkpoint-every, --checkpoint-steps, --plot-every and --data (where the same data is now) can", f)
		}
	}
	net, pos, err := model.LoadCheckpoint(ckpt, be, 0)
	if err != nil {
		return nil, nil, err
	}
	if c.IsSet("epochs") {
		if c.Int("epochs") < pos.Epoch {
			return nil, nil, fmt.Errorf("--epochs %d: the run has already trained %d epochs", c.Int("epochs"), pos.Epoch)
		}
		net.Cfg.Epochs = c.Int("epochs")
	}
	if c.IsSet("checkpoint-every") {
		net.Cfg.CkptEvery = c.Int("checkpoint-every")
	}
	if c.IsSet("checkpoint-steps") {
		net.Cfg.CkptSteps = c.Int("checkpoint-steps")
	}
	if c.IsSet("plot-every") {
		net.Cfg.PlotEvery = c.Int("plot-every")
	}
	if err := net.Cfg.Validate(); err != nil {
		return nil, nil, err
	}
	hist, err := model.ReadLosses(filepath.Join(dir, model.LossesFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	// Rows written after the checkpoint will be trained again.
	for len(hist) > 0 && hist[len(hist)-1].Epoch > pos.Epoch {
		hist = hist[:len(hist)-1]
	}
	if err := locateData(c, &net.Cfg, dir); err != nil {
		return nil, nil, err
	}
	data, err := loadSplits(net.Cfg, c.Bool("quiet"))
	if err != nil {
		return nil, nil, err
	}
	if err := net.Cfg.Save(filepath.Join(dir, model.ConfigFile)); err != nil {
		data.Close()
		return nil, nil, err
	}
	if c.IsSet("data") {
		// The other commands read the configuration from the checkpoint:
		// record the new place there now, not at the next checkpoint,
		// which a finished run never writes.
		if err := model.SaveCheckpoint(ckpt, net, pos); err != nil {
			data.Close()
			return nil, nil, err
		}
	}
	fmt.Fprintf(os.Stderr, "resuming %s at epoch %d, batch %d\n", dir, pos.Epoch+1, pos.Batch)
	return &model.Trainer{Dir: dir, Net: net, Train: data.train, Test: data.test, History: hist, Pos: pos}, data, nil
}

func parseFloats(flag, s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("--%s wants %d comma-separated numbers, got %q", flag, n, s)
	}
	out := make([]float64, n)
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("--%s: %q is not a finite number", flag, p)
		}
		out[i] = v
	}
	return out, nil
}

func joinFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}
