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
			&cli.StringFlag{Name: "dataset", Value: "swissroll", Usage: "built-in data: swissroll"},
			&cli.StringFlag{Name: "out", Usage: "run directory to create"},
			&cli.StringFlag{Name: "resume", Usage: "continue the run in this directory (--epochs may extend it)"},
			&cli.IntFlag{Name: "epochs", Value: d.Epochs},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "seeds the weights, the noise and the batch order"},
			&cli.Uint64Flag{Name: "data-seed", Usage: "seeds the generated data (default: --seed)"},
			&cli.IntFlag{Name: "batch", Value: d.Batch},
			&cli.Float64Flag{Name: "lr", Value: d.LR, Usage: "Adam learning rate of encoders and decoder"},
			&cli.Float64Flag{Name: "adv-lr", Value: d.AdvLR, Usage: "Adam learning rate of the adversary"},
			&cli.Float64Flag{Name: "lr-decay", Value: d.LRDecay, Usage: "multiply both learning rates by this after every epoch"},
			&cli.StringFlag{Name: "betas", Value: joinFloats(d.Betas[:]), Usage: "beta1..beta5: recon, KL(w), KL(z), adversary term, adversary BCE"},
			&cli.StringFlag{Name: "prior", Value: "0,0.1,3,1", Usage: "fixed p(w|y): mean and sd for y=1, then for y=0"},
			&cli.BoolFlag{Name: "learned-prior", Usage: "learn p(w|y) with an MLP instead of the fixed prior"},
			&cli.BoolFlag{Name: "adv-balance", Usage: "train the adversary with a class-balanced cross-entropy (see README)"},
			&cli.IntFlag{Name: "dz", Value: d.Dz, Usage: "dimension of z"},
			&cli.IntFlag{Name: "hidden", Value: d.Hidden, Usage: "width of every MLP hidden layer"},
			&cli.IntFlag{Name: "layers", Value: d.Layers, Usage: "hidden layers per MLP"},
			&cli.IntFlag{Name: "checkpoint-every", Value: d.CkptEvery, Usage: "epochs between checkpoints (and always at the end)"},
			&cli.IntFlag{Name: "plot-every", Value: d.PlotEvery, Usage: "epochs between latent plots and KL estimates (and always at the end)"},
			&cli.BoolFlag{Name: "standardize", Value: d.Standardize, Usage: "rescale vector data to zero mean and unit variance (training statistics)"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress bar"},
		}, deviceFlags...),
		Action: train,
	}
}

func train(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	var t *model.Trainer
	if dir := c.String("resume"); dir != "" {
		t, err = resumeRun(c, be, dir)
	} else {
		t, err = newRun(c, be)
	}
	if err != nil {
		return err
	}
	cfg := t.Net.Cfg
	fmt.Fprintf(os.Stderr, "%s on %s: %d train / %d test examples, %d parameters (+%d adversary), device %s, run %s\n",
		cfg.Model, cfg.Dataset, t.Train.Len(), t.Test.Len(), t.Net.Main.Size(), advSize(t.Net), be.Name(), t.Dir)
	rep, err := newReporter(t.Dir, t.Net, t.Test, t.Pos.Epoch)
	if err != nil {
		return err
	}
	bar := newProgress(c.Bool("quiet"), t)
	t.Hooks = model.Hooks{
		Step: bar.step,
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
func newRun(c *cli.Context, be model.Backend) (*model.Trainer, error) {
	name := c.String("model")
	if name == "" {
		return nil, errors.New("--model is required (vae, condvae, condvae-info, csvae-noadv or csvae)")
	}
	cfg := model.DefaultConfig(name)
	cfg.Dataset = c.String("dataset")
	setData, ok := datasets[cfg.Dataset]
	if !ok {
		return nil, fmt.Errorf("unknown dataset %q (want swissroll)", cfg.Dataset)
	}
	setData(&cfg)
	cfg.Epochs, cfg.Batch = c.Int("epochs"), c.Int("batch")
	cfg.Seed, cfg.DataSeed = c.Uint64("seed"), c.Uint64("seed")
	if c.IsSet("data-seed") {
		cfg.DataSeed = c.Uint64("data-seed")
	}
	cfg.LR, cfg.AdvLR, cfg.LRDecay = c.Float64("lr"), c.Float64("adv-lr"), c.Float64("lr-decay")
	cfg.Dz, cfg.Hidden, cfg.Layers = c.Int("dz"), c.Int("hidden"), c.Int("layers")
	cfg.CkptEvery, cfg.PlotEvery = c.Int("checkpoint-every"), c.Int("plot-every")
	cfg.LearnedPrior = c.Bool("learned-prior")
	cfg.Standardize = c.Bool("standardize")
	betas, err := parseFloats("betas", c.String("betas"), 5)
	if err != nil {
		return nil, err
	}
	copy(cfg.Betas[:], betas)
	p, err := parseFloats("prior", c.String("prior"), 4)
	if err != nil {
		return nil, err
	}
	if p[1] <= 0 || p[3] <= 0 {
		return nil, fmt.Errorf("--prior: standard deviations must be positive, got %g and %g", p[1], p[3])
	}
	cfg.Prior = model.Prior{Mu1: float32(p[0]), LogVar1: float32(2 * math.Log(p[1])), Mu0: float32(p[2]), LogVar0: float32(2 * math.Log(p[3]))}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := c.String("out")
	if dir == "" {
		return nil, errors.New("--out is required: the run directory to create")
	}
	if err := prepareOut(dir); err != nil {
		return nil, err
	}
	train, test, err := loadSplits(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.AdvBalance = c.Bool("adv-balance"); cfg.AdvBalance {
		cfg.LabelRates = labelRates(train)
	}
	net, err := model.NewNet(be, cfg, cfg.Batch)
	if err != nil {
		return nil, err
	}
	if err := cfg.Save(filepath.Join(dir, model.ConfigFile)); err != nil {
		return nil, err
	}
	return &model.Trainer{Dir: dir, Net: net, Train: train, Test: test}, nil
}

// prepareOut creates dir, refuses one that already holds a run, and proves
// it is writable before any time is spent training.
func prepareOut(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, model.CheckpointFile)); err == nil {
		return fmt.Errorf("--out %s already holds a run: continue it with --resume %s, or choose another directory", dir, dir)
	}
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
func resumeRun(c *cli.Context, be model.Backend, dir string) (*model.Trainer, error) {
	ckpt := filepath.Join(dir, model.CheckpointFile)
	if _, err := os.Stat(ckpt); err != nil {
		return nil, fmt.Errorf("--resume %s: no checkpoint there (%v)", dir, unwrapPath(err))
	}
	for _, f := range []string{"model", "dataset", "seed", "batch", "dz", "hidden", "layers", "betas", "prior", "learned-prior", "adv-balance", "standardize", "data-seed", "lr", "adv-lr", "lr-decay"} {
		if c.IsSet(f) {
			return nil, fmt.Errorf("--%s cannot change when resuming; only --epochs, --checkpoint-every and --plot-every can", f)
		}
	}
	net, pos, err := model.LoadCheckpoint(ckpt, be, 0)
	if err != nil {
		return nil, err
	}
	if c.IsSet("epochs") {
		if c.Int("epochs") < pos.Epoch {
			return nil, fmt.Errorf("--epochs %d: the run has already trained %d epochs", c.Int("epochs"), pos.Epoch)
		}
		net.Cfg.Epochs = c.Int("epochs")
	}
	if c.IsSet("checkpoint-every") {
		net.Cfg.CkptEvery = c.Int("checkpoint-every")
	}
	if c.IsSet("plot-every") {
		net.Cfg.PlotEvery = c.Int("plot-every")
	}
	if err := net.Cfg.Validate(); err != nil {
		return nil, err
	}
	hist, err := model.ReadLosses(filepath.Join(dir, model.LossesFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// Rows written after the checkpoint will be trained again.
	for len(hist) > 0 && hist[len(hist)-1].Epoch > pos.Epoch {
		hist = hist[:len(hist)-1]
	}
	train, test, err := loadSplits(net.Cfg)
	if err != nil {
		return nil, err
	}
	if err := net.Cfg.Save(filepath.Join(dir, model.ConfigFile)); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "resuming %s at epoch %d, batch %d\n", dir, pos.Epoch+1, pos.Batch)
	return &model.Trainer{Dir: dir, Net: net, Train: train, Test: test, History: hist, Pos: pos}, nil
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
