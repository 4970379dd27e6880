package main

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/classifier"
)

// TestScoreEdits counts a hand-worked case: attribute A edited, B and C
// kept, four images.
func TestScoreEdits(t *testing.T) {
	cl := &classifier.Classifier{Cfg: classifier.Config{Attrs: []string{"A", "B", "C"}}}
	label := []int{1, 0, 0, 1}
	ref := []int{ // decisions on the reconstructions
		1, 1, 0,
		0, 0, 0,
		1, 0, 1, // the reconstruction already reads A wrongly
		1, 1, 1,
	}
	dec := []int{ // on the edits to the opposite label
		0, 1, 0, // A removed, B and C kept
		1, 1, 0, // A added, B changed
		0, 0, 1, // A not added
		1, 1, 0, // A not removed, C changed
	}
	decSame := []int{
		1, 1, 0,
		0, 0, 0,
		0, 0, 0, // C changed
		1, 1, 1,
	}
	res := editResult{Attr: "A"}
	scoreEdits(&res, label, ref, dec, decSame, cl, cl.Cfg.Attrs)
	want := editResult{Attr: "A", To1: 0.5, To0: 0.5, N1: 2, N0: 2, Manipulation: 0.5, Preservation: 0.5,
		PreservationSame: 0.75, ReconAttrAcc: 0.75, Kept: []string{"B", "C"}}
	if res.To1 != want.To1 || res.To0 != want.To0 || res.N1 != want.N1 || res.N0 != want.N0 || res.Manipulation != want.Manipulation ||
		res.Preservation != want.Preservation || res.PreservationSame != want.PreservationSame || res.ReconAttrAcc != want.ReconAttrAcc ||
		len(res.Kept) != 2 || res.Kept[0] != "B" || res.Kept[1] != "C" {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
	if by := map[string]float64{"B": 0.75, "C": 0.75}; !maps.Equal(res.PreservedBy, by) {
		t.Errorf("preservation by attribute %v, want %v", res.PreservedBy, by)
	}
	// B changed on an edit to 1 (image 2), C on an edit to 0 (image 4).
	if by := map[string]float64{"B": 0.5, "C": 1}; !maps.Equal(res.PreservedTo1, by) {
		t.Errorf("preservation by attribute, edits to 1: %v, want %v", res.PreservedTo1, by)
	}
	if by := map[string]float64{"B": 1, "C": 0.5}; !maps.Equal(res.PreservedTo0, by) {
		t.Errorf("preservation by attribute, edits to 0: %v, want %v", res.PreservedTo0, by)
	}
	// B, read on images 1 and 4, is painted in on image 2; C, read on
	// images 3 and 4, is erased on image 4.
	if by := map[string]float64{"B": 1, "C": 0.5}; !maps.Equal(res.PreservedPresent, by) {
		t.Errorf("preservation by attribute, where the reconstruction shows it: %v, want %v", res.PreservedPresent, by)
	}
	if by := map[string]float64{"B": 0.5, "C": 1}; !maps.Equal(res.PreservedAbsent, by) {
		t.Errorf("preservation by attribute, where the reconstruction lacks it: %v, want %v", res.PreservedAbsent, by)
	}

	// A kept attribute no reconstruction shows has no share where present.
	two := &classifier.Classifier{Cfg: classifier.Config{Attrs: []string{"A", "B"}}}
	res = editResult{Attr: "A"}
	scoreEdits(&res, []int{0, 1}, []int{0, 0, 1, 0}, []int{1, 1, 0, 0}, []int{0, 0, 1, 0}, two, two.Cfg.Attrs)
	if p, ok := res.PreservedPresent["B"]; ok || res.PreservedAbsent["B"] != 0.5 {
		t.Errorf("B never read: present share %v (set: %v), absent %v; want none and 0.5", p, ok, res.PreservedAbsent["B"])
	}
}

// TestActiveUnits: a label written into a unit whose posterior mean barely
// varies (an inactive unit) is read by the regression on all of z, since it
// standardises its inputs, and not by the one on the active units alone.
func TestActiveUnits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rows := func(n int) ([][]float64, []int) {
		x, y := make([][]float64, n), make([]int, n)
		for i := range x {
			y[i] = r.IntN(2)
			// unit 0: active noise; unit 1: inactive (sd 0.02) and carries y;
			// unit 2: constant
			x[i] = []float64{r.NormFloat64(), 0.02 * (float64(y[i]) - 0.5 + 0.3*r.NormFloat64()), 0.5}
		}
		return x, y
	}
	xtr, ytr := rows(400)
	xte, yte := rows(400)
	active := activeUnits(xtr)
	if !slices.Equal(active, []int{0}) {
		t.Fatalf("active units %v, want [0]", active)
	}
	all, err := fitLeak(xtr, ytr, xte, yte)
	if err != nil {
		t.Fatal(err)
	}
	act, err := fitLeak(columns(xtr, active), ytr, columns(xte, active), yte)
	if err != nil {
		t.Fatal(err)
	}
	if all.acc < 0.9 || act.acc > all.chance+0.1 {
		t.Errorf("leakage on all units %.3f (want >= 0.9), on the active unit %.3f (want near chance %.3f)", all.acc, act.acc, all.chance)
	}
	if got := activeUnits(nil); got != nil {
		t.Errorf("activeUnits(nil) = %v", got)
	}

	model := editResult{Model: "csvae", LeakLatentDims: 3, LeakActiveUnits: 1, LeakAcc: all.acc, LeakActiveAcc: act.acc}
	if c := model.leakCells("-", 2); c[3] != "1/3" || c[4] == "-" {
		t.Errorf("a model's leakage cells %q: want the active units as 1/3 and their accuracy", c)
	}
	labels := editResult{Model: "labels", LeakLatentDims: 5, LeakAcc: 0.9}
	if c := labels.leakCells("-", 2); c[0] == "-" || c[3] != "-" || c[4] != "-" {
		t.Errorf("the labels row's leakage cells %q: want its accuracy and no active units", c)
	}
}
