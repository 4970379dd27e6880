package main

import (
	"maps"
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
}
