package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// summary over three seeds' results written by hand: the means, standard
// deviations, ranges and target counts against values worked out here,
// and every kind of bad input refused without touching an existing --out.
func TestSummary(t *testing.T) {
	dir := t.TempDir()
	kept := []string{"Male"}
	seed := func(manip, pres, acc float64) []editResult {
		return []editResult{
			{Model: "csvae", Attr: "Smiling", Kept: kept, Images: 800, Manipulation: manip, Preservation: pres,
				LeakAcc: acc, LeakChance: 0.5, LeakLatentDims: 16},
			{Model: "ideal", Attr: "Smiling", Kept: kept, Images: 800, Manipulation: 1, Preservation: 0.98},
			{Model: "labels", Attr: "Smiling", LeakAcc: 0.9, LeakChance: 0.5, LeakLatentDims: 9},
		}
	}
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Seed a meets all three targets; b misses preservation (0.899 < 0.9);
	// c misses leakage (0.56 − 0.5 = 0.06 > 0.05).
	files := []string{
		write("a.json", seed(0.95, 0.92, 0.52)),
		write("b.json", seed(0.97, 0.899, 0.53)),
		write("c.json", seed(0.93, 0.95, 0.56)),
	}
	out := filepath.Join(dir, "summary.csv")
	stdout, stderr, code := run(t, append([]string{"summary", "--format", "csv", "--out", out}, files...)...)
	if code != 0 {
		t.Fatalf("summary: %s", stderr)
	}
	saved, err := os.ReadFile(out)
	if err != nil || string(saved) != stdout {
		t.Errorf("--out holds %q (%v), stdout %q", saved, err, stdout)
	}
	recs, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Fatalf("want a header and 3 rows, got %d (%v):\n%s", len(recs), err, stdout)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	get := func(row int, name string) string {
		i, ok := col[name]
		if !ok {
			t.Fatalf("no column %s in %v", name, recs[0])
		}
		return recs[row][i]
	}
	near := func(row int, name string, want float64) {
		t.Helper()
		got, err := strconv.ParseFloat(get(row, name), 64)
		if err != nil || math.Abs(got-want) > 6e-6 {
			t.Errorf("row %d %s = %q, want %.5f", row, name, get(row, name), want)
		}
	}
	// csvae: manipulation 0.95, 0.97, 0.93: mean 0.95, sd 0.02.
	near(1, "manipulation_mean", 0.95)
	near(1, "manipulation_sd", 0.02)
	near(1, "manipulation_min", 0.93)
	near(1, "manipulation_max", 0.97)
	near(1, "preservation_mean", (0.92+0.899+0.95)/3)
	near(1, "leakage_above_chance_mean", (0.02+0.03+0.06)/3)
	near(1, "leakage_above_chance_max", 0.06)
	if got := get(1, "seeds_meeting_targets"); got != "1" {
		t.Errorf("csvae met the targets on %s seeds, want 1 (a)", got)
	}
	// Looser targets count the other two seeds in.
	stdout, _, _ = run(t, append([]string{"summary", "--format", "csv", "--min-preservation", "0.89", "--max-leakage", "0.07"}, files...)...)
	if recs, _ := csv.NewReader(strings.NewReader(stdout)).ReadAll(); len(recs) < 2 || recs[1][len(recs[1])-1] != "3" {
		t.Errorf("with preservation >= 0.89 and leakage <= 0.07 all three seeds meet the targets:\n%s", stdout)
	}
	// The ideal editor has no z and the labels reference no edits: their
	// missing scores stay empty, and neither counts seeds.
	if get(2, "leakage_above_chance_mean") != "" || get(2, "seeds_meeting_targets") != "" || get(3, "manipulation_mean") != "" {
		t.Errorf("ideal or labels row has scores it cannot have: %v, %v", recs[2], recs[3])
	}
	near(2, "preservation_mean", 0.98)
	near(3, "leakage_above_chance_mean", 0.4)

	md, stderr, code := run(t, append([]string{"summary"}, files...)...)
	if code != 0 {
		t.Fatalf("summary: %s", stderr)
	}
	for _, want := range []string{"Over 3 seeds", "| csvae | Smiling | 0.950 ± 0.020 (0.930 to 0.970) |", "| 1 of 3 |", "+0.400 ± 0.000"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	other := seed(0.9, 0.9, 0.5)
	other[0].Attr = "Eyeglasses"
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"no files", nil, "no results given"},
		{"missing file", []string{filepath.Join(dir, "none.json")}, "none.json"},
		{"not json", []string{write("bad.json", "csv,not,json")}, "not the --json output of eval"},
		{"empty", []string{write("empty.json", []editResult{})}, "holds no results"},
		{"rows without names", []string{write("anon.json", []map[string]float64{{"manipulation": 1}})}, "without a model"},
		{"another experiment", []string{files[0], write("other.json", other)}, "row 1 is csvae on Smiling keeping Male in the first, csvae on Eyeglasses"},
		{"fewer rows", []string{files[0], write("short.json", seed(0.9, 0.9, 0.5)[:2])}, "3 rows against 2"},
		{"bad format", append([]string{"--format", "json"}, files...), "unknown --format"},
	}
	for _, c := range bad {
		_, stderr, code := run(t, append([]string{"summary", "--out", out}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want an error naming %q", c.name, code, stderr, c.want)
		}
		if now, _ := os.ReadFile(out); string(now) != string(saved) {
			t.Errorf("%s: --out was changed by a failed summary", c.name)
		}
	}
}
