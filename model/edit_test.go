package model

import "testing"

func TestPriorMean(t *testing.T) {
	cfg := DefaultConfig("csvae")
	cfg.Attrs = []string{"a", "b"}
	net, err := NewNet(CPU{}, cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	y := []float32{1, 0, 0, 1, 0, 0}
	got := net.PriorMean(y, 3)
	want := []float32{0, 0, 3, 3, 3, 3, 0, 0, 3, 3, 3, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fixed prior means %v, want %v", got, want)
		}
	}
	// The learned prior: its output for each label vector, in batches
	// smaller than the request, and different for different labels.
	cfg.LearnedPrior = true
	net, err = NewNet(CPU{}, cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	y = []float32{1, 0, 0, 1, 1, 0}
	got = net.PriorMean(y, 3)
	if len(got) != 12 {
		t.Fatalf("%d values, want 12", len(got))
	}
	for d := range 4 {
		if got[d] != got[8+d] {
			t.Errorf("same labels, different means: %v", got)
		}
	}
	if got[0] == got[4] && got[1] == got[5] {
		t.Errorf("different labels, same means: %v", got)
	}
}
