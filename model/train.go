package model

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
	"github.com/csvae-gpu/csvae-gpu/dataset"
)

// Files of a run directory.
const (
	ConfigFile     = "config.json"
	CheckpointFile = "checkpoint.safetensors"
	LossesFile     = "losses.csv"
)

// evalSeed keys the noise of test-set evaluations: a stream apart from
// training's, restarted for every evaluation so that epochs are compared on
// the same draws.
func evalSeed(cfg Config) uint64 { return cfg.Seed ^ 0xE7A1_5EED_0000_0001 }

// EpochRecord is one row of losses.csv.
type EpochRecord struct {
	Epoch       int
	Step        int
	Seconds     float64 // wall time since the run began, across resumes
	Train, Test Losses
}

// Hooks let the caller show progress and draw pictures; model knows
// nothing of terminals or plots.
type Hooks struct {
	// Step is called after every training step.
	Step func(epoch, batch, batches int, l Losses)
	// Epoch is called after each epoch's row is written (and its
	// checkpoint, if one was due).
	Epoch func(r EpochRecord, last bool) error
}

// Trainer runs the training loop of any of the five models.
type Trainer struct {
	Dir         string
	Net         *Net
	Train, Test dataset.Split
	Hooks       Hooks
	History     []EpochRecord
	Pos         Position
	// MaxSteps, when positive, stops training once the model has taken
	// that many steps in all (Net.Main.Step, across resumes): Run writes a
	// checkpoint and returns ErrStepLimit, and --resume can go on.
	MaxSteps int
}

// ErrInterrupted is returned when the context ends training early; a
// checkpoint of the last completed step has been written.
var ErrInterrupted = errors.New("training interrupted")

// ErrStepLimit is returned when training stopped at Trainer.MaxSteps before
// its last epoch; a checkpoint of that step has been written.
var ErrStepLimit = errors.New("step limit reached")

// Run trains until Net.Cfg.Epochs epochs are done, starting at t.Pos.
func (t *Trainer) Run(ctx context.Context) error {
	net, cfg := t.Net, t.Net.Cfg
	if t.Train.Dim() != cfg.XDim || len(t.Train.Attrs()) != cfg.K() {
		return fmt.Errorf("training data has %d values and %d attributes per example, the model expects %d and %d",
			t.Train.Dim(), len(t.Train.Attrs()), cfg.XDim, cfg.K())
	}
	ckpt := filepath.Join(t.Dir, CheckpointFile)
	b := newBatcher(net, t.Train)
	var weights []float64
	if cfg.Balance > 0 {
		var err error
		if weights, _, err = dataset.BalanceWeights(t.Train, cfg.Balance); err != nil {
			return err
		}
	}
	elapsed := 0.0
	if len(t.History) > 0 {
		elapsed = t.History[len(t.History)-1].Seconds
	}
	began := time.Now()
	for t.Pos.Epoch < cfg.Epochs {
		batches := dataset.Batches(t.Train.Len(), cfg.Batch, true, cfg.Seed, t.Pos.Epoch)
		if weights != nil {
			batches = dataset.WeightedBatches(weights, cfg.Batch, cfg.Seed, t.Pos.Epoch)
		}
		for t.Pos.Batch < len(batches) {
			if ctx.Err() != nil {
				if err := SaveCheckpoint(ckpt, net, t.Pos); err != nil {
					return fmt.Errorf("%w; saving its checkpoint failed: %v", ErrInterrupted, err)
				}
				return ErrInterrupted
			}
			if t.MaxSteps > 0 && net.Main.Step >= t.MaxSteps {
				if err := SaveCheckpoint(ckpt, net, t.Pos); err != nil {
					return err
				}
				return ErrStepLimit
			}
			idx := batches[t.Pos.Batch]
			n := len(idx)
			x, y := b.load(idx)
			l := net.Step(x, y, n, cfg.LRScale(t.Pos.Epoch))
			if name, bad := nonFinite(l); bad {
				kept := "the last good checkpoint is " + ckpt
				if _, err := os.Stat(ckpt); err != nil {
					kept = "no checkpoint had been written yet"
				}
				return fmt.Errorf("epoch %d, batch %d: the %s loss is %v; stopped without saving, %s",
					t.Pos.Epoch+1, t.Pos.Batch+1, name, l.Values()[indexOf(name)], kept)
			}
			t.Pos.Sum = addScaled(t.Pos.Sum, l, float64(n))
			t.Pos.Count += n
			t.Pos.Batch++
			if cfg.CkptSteps > 0 && net.Main.Step%cfg.CkptSteps == 0 && t.Pos.Batch < len(batches) {
				if err := SaveCheckpoint(ckpt, net, t.Pos); err != nil {
					return err
				}
			}
			if t.Hooks.Step != nil {
				t.Hooks.Step(t.Pos.Epoch, t.Pos.Batch, len(batches), l)
			}
		}
		rec := EpochRecord{
			Epoch: t.Pos.Epoch + 1,
			Step:  net.Main.Step,
			Train: addScaled(Losses{}, t.Pos.Sum, 1/float64(t.Pos.Count)),
			Test:  EvaluateSplit(net, t.Test),
		}
		t.Pos = Position{Epoch: t.Pos.Epoch + 1}
		rec.Seconds = elapsed + time.Since(began).Seconds()
		t.History = append(t.History, rec)
		if err := WriteLosses(filepath.Join(t.Dir, LossesFile), cfg, t.History); err != nil {
			return err
		}
		last := t.Pos.Epoch == cfg.Epochs
		if last || t.Pos.Epoch%cfg.CkptEvery == 0 {
			if err := SaveCheckpoint(ckpt, net, t.Pos); err != nil {
				return err
			}
		}
		if t.Hooks.Epoch != nil {
			if err := t.Hooks.Epoch(rec, last); err != nil {
				return err
			}
		}
	}
	return nil
}

// EvaluateSplit averages the losses over a whole split, with noise from the
// evaluation stream.
func EvaluateSplit(net *Net, s dataset.Split) Losses {
	b := newBatcher(net, s)
	var sum Losses
	offset := uint64(0)
	for _, idx := range dataset.Batches(s.Len(), net.maxBatch, false, 0, 0) {
		n := len(idx)
		x, y := b.load(idx)
		var l Losses
		l, offset = net.Evaluate(x, y, n, evalSeed(net.Cfg), offset)
		sum = addScaled(sum, l, float64(n))
	}
	return addScaled(Losses{}, sum, 1/float64(s.Len()))
}

func addScaled(a, b Losses, s float64) Losses {
	return Losses{a.Recon + s*b.Recon, a.KLW + s*b.KLW, a.KLZ + s*b.KLZ, a.AdvTerm + s*b.AdvTerm, a.AdvBCE + s*b.AdvBCE,
		a.MeanGap + s*b.MeanGap}
}

func nonFinite(l Losses) (string, bool) {
	for i, v := range l.Values() {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return LossNames[i], true
		}
	}
	return "", false
}

func indexOf(name string) int {
	for i, n := range LossNames {
		if n == name {
			return i
		}
	}
	return -1
}

func lossHeader() []string { return lossHeaderOf(LossNames) }

// LegacyLossNames are the components before mean_gap: runs written then
// still resume and plot, with the gap read as 0.
var LegacyLossNames = LossNames[:5]

func lossHeaderOf(names []string) []string {
	h := []string{"epoch", "step", "seconds"}
	for _, split := range []string{"train", "test"} {
		for _, n := range append(append([]string{}, names...), "main") {
			h = append(h, split+"_"+n)
		}
	}
	return h
}

// WriteLosses rewrites losses.csv from the history, atomically.
func WriteLosses(path string, cfg Config, hist []EpochRecord) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(lossHeader())
	for _, r := range hist {
		row := []string{strconv.Itoa(r.Epoch), strconv.Itoa(r.Step), strconv.FormatFloat(r.Seconds, 'f', 2, 64)}
		for _, l := range []Losses{r.Train, r.Test} {
			for _, v := range append(l.Values(), l.Main(&cfg)) {
				row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
			}
		}
		w.Write(row)
	}
	w.Flush()
	return atomicfile.WriteFile(path, []byte(b.String()))
}

// ReadLosses reads the rows of losses.csv, for resuming and for plots.
func ReadLosses(path string) ([]EpochRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := LossNames
	if len(rows) > 0 && strings.Join(rows[0], ",") == strings.Join(lossHeaderOf(LegacyLossNames), ",") {
		names = LegacyLossNames
	} else if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(lossHeader(), ",") {
		return nil, fmt.Errorf("%s: unexpected header", path)
	}
	var hist []EpochRecord
	for i, row := range rows[1:] {
		v := make([]float64, len(row))
		for j, s := range row {
			if v[j], err = strconv.ParseFloat(s, 64); err != nil {
				return nil, fmt.Errorf("%s:%d: column %s: %w", path, i+2, rows[0][j], err)
			}
		}
		ln := len(names) + 1
		pick := func(o int) Losses {
			l := Losses{v[o], v[o+1], v[o+2], v[o+3], v[o+4], 0}
			if len(names) > 5 {
				l.MeanGap = v[o+5]
			}
			return l
		}
		hist = append(hist, EpochRecord{Epoch: int(v[0]), Step: int(v[1]), Seconds: v[2], Train: pick(3), Test: pick(3 + ln)})
	}
	return hist, nil
}
