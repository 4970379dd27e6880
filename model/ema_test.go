package model

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/safetensors"
)

// The moving average of a run with Config.EMA is the one written out by
// hand from each step's weights and batch-norm statistics, starting at the
// weights after the first step; the checkpoint carries it, and UseAverage
// turns the net into it.
func TestMovingAverage(t *testing.T) {
	cfg := ImageConfig("csvae", 8, []string{"a", "b"})
	cfg.ConvChannels, cfg.Dz, cfg.Batch, cfg.EMA = []int{4, 8}, 4, 16, 0.8
	net, err := NewNet(CPU{}, cfg, cfg.Batch)
	if err != nil {
		t.Fatal(err)
	}
	data := tinyImages(cfg.Batch, 3)
	x, y := CPU{}.Alloc(len(data.X)), CPU{}.Alloc(len(data.Y))
	CPU{}.Upload(x, data.X)
	CPU{}.Upload(y, data.Y)
	sets := net.averaged()
	if len(sets) != 2 {
		t.Fatalf("the average follows %d sets, want the main weights and the batch-norm statistics", len(sets))
	}
	want := make([][]float64, len(sets))
	for step := 1; step <= 6; step++ {
		net.Step(x, y, cfg.Batch, 1)
		for i, s := range sets {
			v, _, _ := s.State(CPU{})
			if step == 1 {
				want[i] = make([]float64, len(v))
				for j := range v {
					want[i][j] = float64(v[j])
				}
				continue
			}
			for j := range v {
				want[i][j] = cfg.EMA*want[i][j] + (1-cfg.EMA)*float64(v[j])
			}
		}
	}
	for i, s := range sets {
		got := s.Average(CPU{})
		last, _, _ := s.State(CPU{})
		moved := 0
		for j := range got {
			if d := math.Abs(float64(got[j]) - want[i][j]); d > 1e-5*math.Max(1, math.Abs(want[i][j])) {
				t.Fatalf("set %s value %d: average %g, by hand %g", s.Name, j, got[j], want[i][j])
			}
			if got[j] != last[j] {
				moved++
			}
		}
		if moved < len(got)/2 {
			t.Errorf("set %s: the average equals the last weights at %d of %d values", s.Name, len(got)-moved, len(got))
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, CheckpointFile)
	if err := SaveCheckpoint(path, net, Position{}); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := LoadCheckpoint(path, CPU{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.UseAverage() {
		t.Fatal("UseAverage on a run with EMA said it had no average")
	}
	for i, s := range loaded.averaged() {
		v, _, _ := s.State(CPU{})
		for j := range v {
			if v[j] != sets[i].Average(CPU{})[j] {
				t.Fatalf("set %s value %d: %g after UseAverage, the average is %g", s.Name, j, v[j], sets[i].Average(CPU{})[j])
			}
		}
	}

	// A checkpoint that lost its average is refused by name.
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var kept []safetensors.Tensor
	for _, ts := range f.Tensors {
		if ts.Name != "ema.main" {
			kept = append(kept, ts)
		}
	}
	f.Tensors = kept
	if err := safetensors.WriteFile(path, *f); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadCheckpoint(path, CPU{}, 0); err == nil || !strings.Contains(err.Error(), "ema.main is missing") {
		t.Errorf("error %v, want one naming the missing ema.main", err)
	}

	// Without EMA there is nothing to average, and nothing changes.
	cfg.EMA = 0
	plain, err := NewNet(CPU{}, cfg, cfg.Batch)
	if err != nil {
		t.Fatal(err)
	}
	plain.Step(x, y, cfg.Batch, 1)
	before, _, _ := plain.Main.State(CPU{})
	if plain.UseAverage() || plain.Main.Average(CPU{}) != nil {
		t.Error("a net without EMA has an average")
	}
	after, _, _ := plain.Main.State(CPU{})
	for j := range before {
		if before[j] != after[j] {
			t.Fatal("UseAverage changed a net without EMA")
		}
	}
}
