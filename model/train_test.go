package model

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/safetensors"
)

func smallRun(t *testing.T, model string) (Config, *dataset.Memory, *dataset.Memory) {
	cfg := DefaultConfig(model)
	cfg.Hidden, cfg.Epochs, cfg.Batch, cfg.CkptEvery = 16, 3, 64, 1
	train, test := dataset.SwissRoll(500, 1), dataset.SwissRoll(200, 2)
	dataset.Standardize(train, test)
	return cfg, train, test
}

func trainFor(t *testing.T, dir string, cfg Config, train, test dataset.Split, stopAfter int) *Trainer {
	t.Helper()
	net, err := NewNet(CPU{}, cfg, cfg.Batch)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Trainer{Dir: dir, Net: net, Train: train, Test: test}
	return runTrainer(t, tr, stopAfter)
}

// runTrainer runs tr, interrupting it after stopAfter steps when positive.
func runTrainer(t *testing.T, tr *Trainer, stopAfter int) *Trainer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := 0
	tr.Hooks.Step = func(int, int, int, Losses) {
		if steps++; steps == stopAfter {
			cancel()
		}
	}
	err := tr.Run(ctx)
	if stopAfter > 0 {
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("expected an interruption, got %v", err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return tr
}

func checkpointBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, ts := range f.Tensors {
		out[ts.Name] = ts.Data
	}
	return out
}

// tinyImages is a random image dataset for the conv network at 8x8.
func tinyImages(n int, seed uint64) *dataset.Memory {
	r := rand.New(rand.NewPCG(seed, 1))
	m := &dataset.Memory{X: make([]float32, n*3*8*8), Y: make([]float32, n*2), D: 3 * 8 * 8, Names: []string{"a", "b"}}
	for i := range m.X {
		m.X[i] = float32(r.Float64())
	}
	for i := range m.Y {
		m.Y[i] = float32(r.IntN(2))
	}
	return m
}

// recordingSplit counts how often Fill hands out each example. It reads
// labels without Fill, as a cache does, so only training's loads count.
type recordingSplit struct {
	*dataset.Memory
	seen []int
}

func (r *recordingSplit) Fill(idx []int, x, y []float32) {
	for _, i := range idx {
		r.seen[i]++
	}
	r.Memory.Fill(idx, x, y)
}

func (r *recordingSplit) Label(i, a int) int { return int(r.Y[i*len(r.Names)+a] + 0.5) }

// With --balance 1 the trainer draws each label combination about equally
// often; without it, every example once an epoch.
func TestBalanceDrawsRareCombinations(t *testing.T) {
	cfg, train, test := smallRun(t, "csvae")
	cfg.Epochs = 4
	rare, n := 0, train.Len()
	for _, y := range train.Y {
		rare += int(y)
	}
	if rare < 20 || rare > n/4 {
		t.Fatalf("the swiss roll's label 1 is on %d of %d points, want a rare but present class", rare, n)
	}
	for _, power := range []float64{0, 1} {
		cfg.Balance = power
		rec := &recordingSplit{Memory: train, seen: make([]int, n)}
		trainFor(t, t.TempDir(), cfg, rec, test, 0)
		drawn, ofRare := 0, 0
		for i, c := range rec.seen {
			drawn += c
			if train.Y[i] == 1 {
				ofRare += c
			}
			if power == 0 && c != cfg.Epochs {
				t.Fatalf("power 0: example %d drawn %d times in %d epochs, want once an epoch", i, c, cfg.Epochs)
			}
		}
		if drawn != n*cfg.Epochs {
			t.Fatalf("power %g: %d draws in %d epochs of %d examples", power, drawn, cfg.Epochs, n)
		}
		got, want := float64(ofRare)/float64(drawn), float64(rare)/float64(n)
		if power == 1 {
			want = 0.5
		}
		// Five standard errors of a share over the draws.
		if se := math.Sqrt(want * (1 - want) / float64(drawn)); math.Abs(got-want) > 5*se {
			t.Errorf("power %g: label 1 is %.3f of the draws, want %.3f", power, got, want)
		}
	}
}

// A run interrupted mid-epoch and resumed from its checkpoint must end with
// exactly the weights, optimizer state, running statistics and loss history
// of one that ran straight through.
func TestResumeEqualsUninterrupted(t *testing.T) {
	for _, model := range []string{"csvae", "condvae-info", "vae", "csvae-conv", "csvae-conv-ema", "csvae-balance"} {
		t.Run(model, func(t *testing.T) {
			cfg, train, test := smallRun(t, strings.TrimSuffix(model, "-balance"))
			if model == "csvae-balance" {
				cfg.Balance = 1 // the weighted draws depend on the epoch alone
			}
			if strings.HasPrefix(model, "csvae-conv") {
				cfg = ImageConfig("csvae", 8, []string{"a", "b"})
				cfg.ConvChannels, cfg.Dz, cfg.Epochs, cfg.Batch, cfg.CkptEvery = []int{4, 8}, 4, 3, 64, 1
				train, test = tinyImages(500, 1), tinyImages(100, 2)
			}
			if model == "csvae-conv-ema" {
				cfg.EMA = 0.9 // the average is in the checkpoint, and resumes exactly too
			}
			straight := t.TempDir()
			trainFor(t, straight, cfg, train, test, 0)

			cut := t.TempDir()
			trainFor(t, cut, cfg, train, test, 13) // epoch 2, batch 5 of 8
			net, pos, err := LoadCheckpoint(filepath.Join(cut, CheckpointFile), CPU{}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if pos.Epoch != 1 || pos.Batch != 5 {
				t.Fatalf("checkpoint at epoch %d batch %d, want 1 and 5", pos.Epoch, pos.Batch)
			}
			hist, err := ReadLosses(filepath.Join(cut, LossesFile))
			if err != nil {
				t.Fatal(err)
			}
			runTrainer(t, &Trainer{Dir: cut, Net: net, Train: train, Test: test, Pos: pos, History: hist}, 0)

			a, b := checkpointBytes(t, straight), checkpointBytes(t, cut)
			if len(a) != len(b) {
				t.Fatalf("%d tensors against %d", len(a), len(b))
			}
			for name, v := range a {
				if !bytes.Equal(v, b[name]) {
					t.Errorf("tensor %s differs after resuming", name)
				}
			}
			la, _ := os.ReadFile(filepath.Join(straight, LossesFile))
			lb, _ := os.ReadFile(filepath.Join(cut, LossesFile))
			// Wall-clock seconds differ; every loss must not.
			strip := func(b []byte) string {
				var out []string
				for _, line := range strings.Split(string(b), "\n") {
					f := strings.Split(line, ",")
					if len(f) > 3 {
						f[2] = ""
					}
					out = append(out, strings.Join(f, ","))
				}
				return strings.Join(out, "\n")
			}
			if strip(la) != strip(lb) {
				t.Errorf("loss history differs after resuming:\n%s\nvs\n%s", la, lb)
			}
		})
	}
}

// A NaN in the data makes the loss NaN: training stops with an error that
// names the loss, and the last good checkpoint is kept as it was.
func TestNaNStopsAndKeepsCheckpoint(t *testing.T) {
	cfg, train, test := smallRun(t, "csvae")
	dir := t.TempDir()
	cfg.Epochs = 1
	trainFor(t, dir, cfg, train, test, 0)
	before, _ := os.ReadFile(filepath.Join(dir, CheckpointFile))

	net, pos, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile), CPU{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	net.Cfg.Epochs = 2
	for i := range train.X {
		train.X[i] = float32(math.NaN())
	}
	err = (&Trainer{Dir: dir, Net: net, Train: train, Test: test, Pos: pos}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "recon loss is NaN") || !strings.Contains(err.Error(), CheckpointFile) {
		t.Fatalf("error %v, want one naming the NaN recon loss and the kept checkpoint", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CheckpointFile))
	if !bytes.Equal(before, after) {
		t.Error("the checkpoint changed after a NaN")
	}
}

func TestLoadCheckpointRejectsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.safetensors")
	if err := safetensors.WriteFile(p, safetensors.File{Tensors: []safetensors.Tensor{safetensors.F32("a", []int{1}, []float32{1})}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCheckpoint(p, CPU{}, 0); err == nil || !strings.Contains(err.Error(), "not a csvae-gpu checkpoint") {
		t.Errorf("error %v, want 'not a csvae-gpu checkpoint'", err)
	}
	os.WriteFile(p, []byte("garbage"), 0o644)
	if _, _, err := LoadCheckpoint(p, CPU{}, 0); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v, want one naming %s", err, p)
	}
}

// Training lowers the loss of every model: the loop, the gradients and the
// optimizers work together.
func TestTrainingLowersLoss(t *testing.T) {
	for _, model := range Kinds {
		cfg, train, test := smallRun(t, model)
		cfg.Epochs, cfg.LR = 10, 3e-3
		tr := trainFor(t, t.TempDir(), cfg, train, test, 0)
		first, last := tr.History[0], tr.History[len(tr.History)-1]
		if !(last.Test.Recon < 0.7*first.Test.Recon) {
			t.Errorf("%s: test reconstruction went from %.4g to %.4g", model, first.Test.Recon, last.Test.Recon)
		}
	}
}

// With checkpoint_steps, a checkpoint of the exact step is on disk mid-epoch.
func TestCheckpointSteps(t *testing.T) {
	cfg, train, test := smallRun(t, "csvae")
	cfg.Epochs, cfg.CkptSteps = 1, 5
	dir := t.TempDir()
	net, err := NewNet(CPU{}, cfg, cfg.Batch)
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	tr := &Trainer{Dir: dir, Net: net, Train: train, Test: test}
	tr.Hooks.Step = func(epoch, batch, batches int, _ Losses) {
		if batch != 5 {
			return
		}
		_, pos, err := LoadCheckpoint(filepath.Join(dir, CheckpointFile), CPU{}, 0)
		if err != nil || pos.Epoch != 0 || pos.Batch != 5 {
			t.Errorf("after step 5 the checkpoint is at epoch %d batch %d (%v), want 0 and 5", pos.Epoch, pos.Batch, err)
		}
		seen = true
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Error("the step hook never saw step 5")
	}
}

// A losses.csv written before the mean_gap column still reads (resume and
// plots of older runs), with the gap as 0; anything else is refused.
func TestReadLegacyLosses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LossesFile)
	header := strings.Join(lossHeaderOf(LegacyLossNames), ",")
	os.WriteFile(path, []byte(header+"\n1,100,2.5,1,2,3,4,5,6,11,12,13,14,15,16\n"), 0o644)
	hist, err := ReadLosses(path)
	if err != nil {
		t.Fatal(err)
	}
	want := EpochRecord{Epoch: 1, Step: 100, Seconds: 2.5, Train: Losses{1, 2, 3, 4, 5, 0}, Test: Losses{11, 12, 13, 14, 15, 0}}
	if len(hist) != 1 || hist[0] != want {
		t.Fatalf("legacy losses.csv read as %+v, want %+v", hist, want)
	}
	os.WriteFile(path, []byte(strings.Replace(header, "kl_w", "kl_v", 1)+"\n"), 0o644)
	if _, err := ReadLosses(path); err == nil || !strings.Contains(err.Error(), "unexpected header") {
		t.Errorf("a foreign header: err %v", err)
	}
}
