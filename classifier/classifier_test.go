package classifier

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
)

// toyImages draws n 8x8 RGB images of noise with two attributes: "Square"
// (a bright 3x3 square at a random place in the top half) and "Red" (the
// bottom half tinted red), each present with probability rate.
func toyImages(n int, seed uint64, rate float64) *dataset.Memory {
	const size = 8
	r := rand.New(rand.NewPCG(seed, 3))
	d := 3 * size * size
	m := &dataset.Memory{X: make([]float32, n*d), Y: make([]float32, n*2), D: d, Names: []string{"Square", "Red"}}
	for i := range n {
		x := m.X[i*d : (i+1)*d]
		for p := range x {
			x[p] = float32(0.2 + 0.3*r.Float64())
		}
		if r.Float64() < rate {
			m.Y[2*i] = 1
			oy, ox := r.IntN(2), r.IntN(size-2)
			for c := range 3 {
				for y := oy; y < oy+3; y++ {
					for xx := ox; xx < ox+3; xx++ {
						x[c*size*size+y*size+xx] = 0.95
					}
				}
			}
		}
		if r.Float64() < rate {
			m.Y[2*i+1] = 1
			for y := size / 2; y < size; y++ {
				for xx := range size {
					x[y*size+xx] += 0.35
				}
			}
		}
	}
	return m
}

func toyConfig() Config {
	c := DefaultConfig([]string{"Square", "Red"}, 8)
	c.Channels, c.Hidden, c.Batch, c.Epochs, c.LR = []int{8, 16}, 16, 32, 12, 3e-3
	return c
}

// The classifier must learn two separable attributes, one of them rare,
// to high balanced accuracy on held-out images; and it must not do so on
// labels that carry no information (so the first check can fail).
func TestLearnsSeparableToy(t *testing.T) {
	cfg := toyConfig()
	if testing.Short() {
		cfg.Epochs = 6
	}
	train, test := toyImages(600, 1, 0.2), toyImages(300, 2, 0.2)
	c, err := New(model.CPU{}, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	var first, last float64
	err = c.Train(train, test, nil, func(l EpochLog) {
		if l.Epoch == 1 {
			first = l.TestLoss
		}
		last = l.TestLoss
	})
	if err != nil {
		t.Fatal(err)
	}
	if !(last < first) {
		t.Errorf("test loss did not fall: %g after the first epoch, %g after the last", first, last)
	}
	sc, err := c.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sc {
		t.Logf("%s: accuracy %.3f, balanced %.3f (%d positive, %d negative)", s.Attr, s.Accuracy, s.Balanced, s.Positives, s.Negatives)
		if s.Balanced < 0.95 {
			t.Errorf("%s: balanced accuracy %.3f, want >= 0.95", s.Attr, s.Balanced)
		}
	}

	// The same images with labels drawn apart from them: nothing to learn.
	noise := toyImages(600, 1, 0.2)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range noise.Y {
		noise.Y[i] = 0
		if r.Float64() < 0.5 {
			noise.Y[i] = 1
		}
	}
	cfg.Epochs = 3
	c2, _ := New(model.CPU{}, cfg, 0)
	if err := c2.Train(noise, test, nil, nil); err != nil {
		t.Fatal(err)
	}
	sc2, _ := c2.Evaluate(test)
	for _, s := range sc2 {
		if s.Balanced > 0.75 {
			t.Errorf("%s: trained on random labels, yet balanced accuracy %.3f", s.Attr, s.Balanced)
		}
	}
}

// Saved and loaded, a classifier predicts exactly what it did; the
// class-balanced loss trains too.
func TestSaveLoad(t *testing.T) {
	cfg := toyConfig()
	cfg.Epochs = 1
	train, test := toyImages(128, 3, 0.3), toyImages(40, 4, 0.3)
	cfg.Balanced, cfg.Rates = true, dataset.LabelRates(train)
	c, err := New(model.CPU{}, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Train(train, test, nil, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	d, err := Load(dir, model.CPU{}, 7) // another batch size: predictions must not depend on it
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := c.Predict(test.X, test.Len()), d.Predict(test.X, test.Len())
	for i := range p1 {
		if math.Abs(float64(p1[i]-p2[i])) > 1e-6 {
			t.Fatalf("prediction %d: %g before saving, %g after loading", i, p1[i], p2[i])
		}
	}
	if _, err := Load(filepath.Join(dir, "nowhere"), model.CPU{}, 0); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("missing directory: %v", err)
	}
	os.Remove(filepath.Join(dir, CheckpointFile))
	if _, err := Load(dir, model.CPU{}, 0); err == nil || !strings.Contains(err.Error(), "classifier train") {
		t.Errorf("missing checkpoint: %v", err)
	}
}

func TestScore(t *testing.T) {
	// Two attributes, four examples: the first always right, the second
	// right on both negatives and one of two positives.
	y := []float32{1, 1, 0, 1, 0, 0, 1, 0}
	p := []int{1, 1, 0, 0, 0, 0, 1, 0}
	sc := Score([]string{"A", "B"}, p, y, 4)
	if sc[0].Accuracy != 1 || sc[0].Balanced != 1 {
		t.Errorf("A: %+v", sc[0])
	}
	if sc[1].Accuracy != 0.75 || sc[1].TPR != 0.5 || sc[1].TNR != 1 || sc[1].Balanced != 0.75 || sc[1].Majority != 0.5 {
		t.Errorf("B: %+v", sc[1])
	}
	// A label no example has: its rate is undefined, null in JSON.
	sc = Score([]string{"C"}, []int{0, 0}, []float32{0, 0}, 2)
	b, err := json.Marshal(sc[0])
	if err != nil || !strings.Contains(string(b), `"tpr":null`) || !strings.Contains(string(b), `"tnr":1`) {
		t.Errorf("JSON of a score without positives: %s, %v", b, err)
	}
}
