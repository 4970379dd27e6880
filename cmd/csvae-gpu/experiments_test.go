package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
)

// The experiment commands at tiny sizes, through the built binary:
// classifier train, manipulate (with --images), traverse, interpolate and
// eval --classifier, and their bad input.
func TestExperimentCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("generates faces and trains three image models and a classifier")
	}
	dir := t.TempDir()
	faces, cache := filepath.Join(dir, "faces"), filepath.Join(dir, "faces32.cache")
	mustRun := func(args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := run(t, args...)
		if code != 0 {
			t.Fatalf("csvae-gpu %s: %s", strings.Join(args, " "), stderr)
		}
		return stdout, stderr
	}
	mustRun("synth", "--out", faces, "--n", "160", "--seed", "5", "--quiet")
	mustRun("prepare", "--celeba", faces, "--out", cache, "--size", "32", "--quiet")

	cls := filepath.Join(dir, "cls")
	out, _ := mustRun("classifier", "train", "--data", cache, "--attrs", "Eyeglasses,Smiling,Male", "--out", cls, "--epochs", "1", "--batch", "32", "--quiet")
	for _, a := range []string{"Eyeglasses", "Smiling", "Male", "balanced"} {
		if !strings.Contains(out, a) {
			t.Errorf("classifier train printed no %s:\n%s", a, out)
		}
	}
	for _, f := range []string{"classifier.safetensors", "config.json", "metrics.json"} {
		if _, err := os.Stat(filepath.Join(cls, f)); err != nil {
			t.Errorf("classifier directory lacks %s", f)
		}
	}

	checkClassifierEval(t, cls, mustRun)

	runs := map[string]string{}
	common := []string{"--dataset", "celeba", "--data", cache, "--image-size", "32", "--attrs", "Eyeglasses,Smiling", "--epochs", "1", "--batch", "32", "--quiet"}
	for _, m := range []string{"vae", "csvae", "condvae"} {
		runs[m] = filepath.Join(dir, m)
		args := append([]string{"train", "--model", m, "--out", runs[m]}, common...)
		if m != "vae" {
			args = append(args, "--init-from", runs["vae"])
		}
		mustRun(args...)
	}

	// manipulate, for each kind of model, and the edited images for an
	// independent classifier.
	for m, r := range runs {
		png := filepath.Join(dir, "manip-"+m+".png")
		mustRun("manipulate", "--run", r, "--attr", "Smiling=1", "--attr", "Smiling=0", "--attr", "Eyeglasses=1+Smiling=1", "--n", "4", "--out", png)
		checkPNG(t, png)
	}
	imgs := filepath.Join(dir, "edited")
	mustRun("manipulate", "--run", runs["csvae"], "--attr", "Eyeglasses=1", "--attr", "Smiling=0", "--n", "2", "--out", filepath.Join(dir, "m.png"), "--images", imgs, "--images-n", "5")
	rows := readCSV(t, filepath.Join(imgs, "edits.csv"))
	if len(rows) != 1+5*3 || strings.Join(rows[0], ",") != "file,source,edit,Eyeglasses,Smiling" {
		t.Fatalf("edits.csv: %d rows, header %v; want 16 rows (5 images x none + 2 edits)", len(rows), rows[0])
	}
	for _, row := range rows[1:] {
		checkPNGMin(t, filepath.Join(imgs, row[0]), 32)
		switch row[2] {
		case "Eyeglasses=1":
			if row[3] != "1" {
				t.Errorf("%s meant to have Eyeglasses, listed %s", row[0], row[3])
			}
		case "Smiling=0":
			if row[4] != "0" {
				t.Errorf("%s meant to lack Smiling, listed %s", row[0], row[4])
			}
		}
	}

	tr := filepath.Join(dir, "traverse.png")
	mustRun("traverse", "--run", runs["csvae"], "--attr", "Eyeglasses", "--steps", "3", "--n", "2", "--out", tr)
	checkPNG(t, tr)
	ip := filepath.Join(dir, "interp.png")
	mustRun("interpolate", "--run", runs["csvae"], "--run2", runs["condvae"], "--attr", "Smiling", "--steps", "4", "--n", "2", "--out", ip)
	checkPNG(t, ip)

	js := filepath.Join(dir, "eval.json")
	out, _ = mustRun("eval", "--run", runs["csvae"], "--run", runs["vae"], "--classifier", cls, "--n", "12", "--leak-n", "60", "--json", js, "--format", "markdown")
	if !strings.Contains(out, "| csvae | Smiling |") || !strings.Contains(out, "| vae | Eyeglasses |") {
		t.Errorf("eval table lacks rows:\n%s", out)
	}
	var res []editResult
	b, err := os.ReadFile(js)
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil || len(res) != 6 {
		t.Fatalf("eval.json: %v, %d rows; want 2 runs x 2 attributes and 2 labels rows", err, len(res))
	}
	for _, r := range res {
		for name, v := range map[string]float64{"manipulation": r.Manipulation, "preservation": r.Preservation, "leakage": r.LeakAcc, "chance": r.LeakChance} {
			if !(v >= 0 && v <= 1) {
				t.Errorf("%s %s: %s = %g", r.Model, r.Attr, name, v)
			}
		}
		if r.Model == "labels" {
			// The other 38 labels of the data, none of the run's.
			if len(r.LabelsUsed) != 38 || slices.Contains(r.LabelsUsed, "Smiling") || slices.Contains(r.LabelsUsed, "Eyeglasses") || r.Images != 0 {
				t.Errorf("labels row %s: %d images, regressors %v", r.Attr, r.Images, r.LabelsUsed)
			}
			continue
		}
		if !(r.ReconMSE > 0 && r.ReconMSE < 1) || r.LeakChance < 0.5 {
			t.Errorf("%s %s: recon MSE %g, chance %g", r.Model, r.Attr, r.ReconMSE, r.LeakChance)
		}
		if want := 2; len(r.Kept) != want { // the classifier's three attributes but the edited one
			t.Errorf("%s %s: kept %v", r.Model, r.Attr, r.Kept)
		}
	}
	if !strings.Contains(out, "| labels | Smiling | - | - | - | - | - | - | - |") {
		t.Errorf("eval table lacks the labels row without edit scores:\n%s", out)
	}
	labelsRowMatchesRule(t, mustRun, cache, runs["csvae"], cls)
	checkLeak(t, cls, runs, mustRun)

	// Without --classifier, eval still estimates the KL.
	if out, _ := mustRun("eval", "--run", runs["csvae"], "--draws", "1"); !strings.Contains(out, "KL in z") {
		t.Errorf("plain eval changed:\n%s", out)
	}

	// The validation partition, for choosing settings without the test set.
	if out, _ := mustRun("eval", "--run", runs["csvae"], "--classifier", cls, "--n", "8", "--leak-n", "60", "--split", "valid", "--format", "markdown"); !strings.Contains(out, "| csvae |") {
		t.Errorf("eval --split valid:\n%s", out)
	}

	// The ideal editor: the same faces drawn with Eyeglasses reversed.
	flipped := filepath.Join(dir, "flip32.cache")
	mustRun("synth", "--out", faces+"-flip", "--n", "160", "--seed", "5", "--flip", "Eyeglasses", "--quiet")
	mustRun("prepare", "--celeba", faces+"-flip", "--out", flipped, "--size", "32", "--quiet")
	out, _ = mustRun("eval", "--run", runs["csvae"], "--classifier", cls, "--n", "12", "--leak-n", "60", "--edit", "Eyeglasses",
		"--ideal", "Eyeglasses="+flipped, "--format", "markdown")
	if !strings.Contains(out, "| csvae | Eyeglasses |") || !strings.Contains(out, "| ideal | Eyeglasses |") || !strings.Contains(out, "| 0.0000 | - | - | - |") {
		t.Errorf("eval --ideal: want a csvae row and an ideal row without leakage:\n%s", out)
	}

	// Bad input: one line each, exit 1.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"manipulate", "--run", runs["csvae"], "--attr", "Bald=1"}, `unknown attribute "Bald"`},
		{[]string{"manipulate", "--run", runs["csvae"], "--attr", "Smiling=2"}, "want NAME=0 or NAME=1"},
		{[]string{"manipulate", "--run", runs["csvae"]}, "--attr NAME=0|1 is required"},
		{[]string{"traverse", "--run", runs["vae"], "--attr", "Smiling"}, "needs a w subspace"},
		{[]string{"traverse", "--run", runs["condvae"], "--attr", "Smiling"}, "needs a w subspace"},
		{[]string{"traverse", "--run", runs["csvae"], "--attr", "Bald"}, `unknown attribute "Bald"`},
		{[]string{"interpolate", "--run", runs["csvae"], "--attr", "Bald"}, `unknown attribute "Bald"`},
		{[]string{"interpolate", "--run", filepath.Join(dir, "nothing"), "--attr", "Smiling"}, "no such run directory"},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", filepath.Join(dir, "nocls")}, "no such directory"},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", dir}, "no classifier.safetensors there"},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", cls, "--edit", "Bald"}, `unknown attribute "Bald"`},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", cls, "--split", "dev"}, `unknown --split "dev"`},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", cls, "--keep", "Bald"}, `does not know attribute "Bald"`},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", cls, "--ideal", "Eyeglasses"}, "want ATTR=DATA"},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", cls, "--labels-skip", "Sunglasses"}, `has no label "Sunglasses"`},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", cls, "--ideal", "Eyeglasses=" + cache}, "want only Eyeglasses flipped"},
		{[]string{"eval", "--run", runs["csvae"], "--classifier", cls, "--ideal", "Smiling=" + flipped}, "want only Smiling flipped"},
		{[]string{"synth", "--out", filepath.Join(dir, "f2"), "--n", "2", "--flip", "Male"}, `cannot flip "Male" alone`},
		{[]string{"classifier", "train", "--data", cache, "--attrs", "Sunglasses", "--out", filepath.Join(dir, "c2")}, `unknown attribute "Sunglasses"`},
		{[]string{"classifier", "train", "--attrs", "Smiling", "--out", filepath.Join(dir, "c3")}, "--data is required"},
		{[]string{"classifier", "train", "--data", cache, "--out", filepath.Join(dir, "c4"), "--epochs", "x"}, "invalid value"},
		{[]string{"classifier", "eval", "--data", cache}, "--classifier is required"},
		{[]string{"classifier", "eval", "--classifier", cls, "--split", "dev"}, `unknown --split "dev"`},
		{[]string{"classifier", "eval", "--classifier", cls, "--by", "Sunglasses"}, `unknown attribute "Sunglasses"`},
	} {
		_, stderr, code := run(t, c.args...)
		if code != 1 || len(strings.Split(strings.TrimSpace(stderr), "\n")) != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("csvae-gpu %s: exit %d, stderr %q; want exit 1 and one line containing %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}

// checkLeak: leak reads an attribute from z with eval's own regression
// (the same accuracy on the same images as eval's leakage column), for a
// model with w and for the vae, and refuses bad flags in one line.
func checkLeak(t *testing.T, cls string, runs map[string]string, mustRun func(...string) (string, string)) {
	t.Helper()
	// eval scores leakage on its --n images: all 16 of the test split here.
	js := filepath.Join(t.TempDir(), "eval.json")
	mustRun("eval", "--run", runs["csvae"], "--run", runs["vae"], "--classifier", cls, "--edit", "Smiling", "--n", "1000", "--leak-n", "60", "--json", js)
	var res []editResult
	b, err := os.ReadFile(js)
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"csvae", "vae"} {
		var want *editResult
		for i := range res {
			if res[i].Model == m && res[i].Attr == "Smiling" {
				want = &res[i]
			}
		}
		if want == nil {
			t.Fatalf("eval.json has no %s Smiling row", m)
		}
		png := filepath.Join(t.TempDir(), "leak.png")
		out, _ := mustRun("leak", "--run", runs[m], "--attr", "Smiling", "--leak-n", "60", "--n", "2", "--steps", "3", "--mean-n", "10", "--out", png)
		prefix := fmt.Sprintf("%s, Smiling: the regression reads it from z at %.3f on 16 test images (chance %.3f, balanced %.3f)", m, want.LeakAcc, want.LeakChance, want.LeakBalanced)
		if !strings.HasPrefix(out, prefix) || !strings.Contains(out, "mean change from -3 to +3 sd over 10 images") {
			t.Errorf("leak on %s printed\n%s\nwant it to start %q (eval's leakage) and give the mean change over 10 images", m, out, prefix)
		}
		checkPNG(t, png)
	}
	for _, bad := range [][]string{
		{"--attr", "Male"},
		{"--attr", "Smiling", "--steps", "1"},
		{"--attr", "Smiling", "--sd", "0"},
		{"--attr", "Smiling", "--split", "holdout"},
		{},
	} {
		_, stderr, code := run(t, append([]string{"leak", "--run", runs["csvae"]}, bad...)...)
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("leak %v: exit %d, stderr %q; want one line and a failure", bad, code, stderr)
		}
	}
}

// checkClassifierEval: classifier eval on the classifier's own data and
// test split reprints the scores classifier train wrote (metrics.json), and
// --by splits the images into two groups whose counts and accuracies add up
// to those of all of them.
func checkClassifierEval(t *testing.T, cls string, mustRun func(...string) (string, string)) {
	t.Helper()
	out, _ := mustRun("classifier", "eval", "--classifier", cls, "--by", "Male")
	type row struct {
		acc      float64
		pos, neg int
	}
	rows := map[string]map[string]row{} // images group -> attribute -> row
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 8 {
			t.Fatalf("classifier eval line %q: want 8 fields", line)
		}
		acc, _ := strconv.ParseFloat(f[2], 64)
		pos, _ := strconv.Atoi(f[6])
		neg, _ := strconv.Atoi(f[7])
		if rows[f[0]] == nil {
			rows[f[0]] = map[string]row{}
		}
		rows[f[0]][f[1]] = row{acc, pos, neg}
	}
	b, err := os.ReadFile(filepath.Join(cls, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var metrics []struct {
		Attr      string  `json:"attr"`
		Accuracy  float64 `json:"accuracy"`
		Positives int     `json:"positives"`
		Negatives int     `json:"negatives"`
	}
	if err := json.Unmarshal(b, &metrics); err != nil {
		t.Fatal(err)
	}
	for _, m := range metrics {
		all, g0, g1 := rows["all"][m.Attr], rows["Male=0"][m.Attr], rows["Male=1"][m.Attr]
		if math.Abs(all.acc-m.Accuracy) > 5e-5 || all.pos != m.Positives || all.neg != m.Negatives {
			t.Errorf("%s: classifier eval reads %+v, classifier train wrote accuracy %.4f on %d/%d", m.Attr, all, m.Accuracy, m.Positives, m.Negatives)
		}
		n0, n1 := g0.pos+g0.neg, g1.pos+g1.neg
		if g0.pos+g1.pos != all.pos || g0.neg+g1.neg != all.neg || n0 == 0 || n1 == 0 {
			t.Errorf("%s: groups Male=0 %+v and Male=1 %+v do not add up to all %+v", m.Attr, g0, g1, all)
		}
		if mix := (g0.acc*float64(n0) + g1.acc*float64(n1)) / float64(n0+n1); math.Abs(mix-all.acc) > 1e-4 {
			t.Errorf("%s: the groups' accuracies average to %.5f, all of them %.4f", m.Attr, mix, all.acc)
		}
	}
	if rows["Male=0"]["Male"].pos != 0 || rows["Male=1"]["Male"].neg != 0 {
		t.Errorf("grouped by Male, the Male=0 group has Male positives or Male=1 negatives: %+v", rows)
	}
}

// The recipes give eval the synthetic faces' undrawn labels, and draw the
// ideal editor's faces for the flippable attributes, from lists of their
// own; they must be the dataset's.
func TestRecipeSynthLists(t *testing.T) {
	b, err := os.ReadFile("../../experiments/lib.sh")
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string][]string{"SYNTH_UNDRAWN": dataset.SynthUndrawn, "SYNTH_FLIPPABLE": dataset.SynthFlippable}
	for name, want := range lists {
		got, found := "", false
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, name+"="); ok {
				got, found = v, true
			}
		}
		if !found || got != strings.Join(want, ",") {
			t.Errorf("experiments/lib.sh %s=%s (found %v), the dataset's list is %s", name, got, found, strings.Join(want, ","))
		}
	}
}

// labelsRowMatchesRule: with every label skipped but Mouth_Slightly_Open
// (drawn for every smile and for 15% of the other faces), the labels row's
// regression for Smiling is the rule "smiling if the mouth is open", so its
// accuracy is the share of the scored test faces whose two labels agree,
// counted here from the cache.
func labelsRowMatchesRule(t *testing.T, mustRun func(...string) (string, string), cache, run, cls string) {
	t.Helper()
	c, err := dataset.OpenCache(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var skip []string
	for _, a := range c.Names() {
		if a != "Mouth_Slightly_Open" && a != "Smiling" && a != "Eyeglasses" {
			skip = append(skip, a)
		}
	}
	test, err := c.Split(2, []string{"Mouth_Slightly_Open", "Smiling"})
	if err != nil {
		t.Fatal(err)
	}
	s := dataset.Subset(test, 12)
	open, smile := dataset.Labels(s, 0), dataset.Labels(s, 1)
	agree := 0
	for i := range open {
		if open[i] == smile[i] {
			agree++
		}
	}
	out, _ := mustRun("eval", "--run", run, "--classifier", cls, "--n", "12", "--leak-n", "60", "--edit", "Smiling",
		"--labels-skip", strings.Join(skip, ","), "--format", "csv")
	var got string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Split(line, ","); len(f) > 13 && f[1] == "labels" {
			got = f[13]
		}
	}
	if want := strconv.FormatFloat(float64(agree)/float64(len(open)), 'f', 5, 64); got != want {
		t.Errorf("labels row from Mouth_Slightly_Open alone: leakage %q, want %s (%d of %d faces with the two labels equal)\n%s", got, want, agree, len(open), out)
	}
}

func checkPNGMin(t *testing.T, path string, side int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != side || b.Dy() != side {
		t.Errorf("%s is %v, want %dx%d", path, b, side, side)
	}
}

// A recipe end to end at a tiny size (experiments/eyeglasses.sh: faces,
// classifier, four models, grids, eval, report), then the same recipe with
// other betas, then another size of z, over its runs: it must refuse,
// naming the mismatch, before touching a checkpoint.
func TestRecipeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole experiment recipe")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "runs")
	// csvae with a moving average of its weights and balanced draws, as
	// male-keep-makeup.sh's, and the prior turned round, as
	// makeup-keep.sh's at medium; a vae with its own number of epochs (2
	// here against the others' 1; that recipe's vae trains fewer).
	recipe := func(extra ...string) (string, error) {
		return tinyScript(dir, out, []string{"eyeglasses.sh"}, append([]string{"EMA=0.9", "BALANCE=0.5", "PRIOR=3,1,0,0.1", "VAE_EPOCHS=2"}, extra...)...)
	}
	// The compared models with a z of their own size, as makeup-keep.sh's.
	if log, err := recipe("DZ=8", "VAE_DZ=64"); err != nil {
		t.Fatalf("experiments/eyeglasses.sh: %v\n%s", err, log)
	}
	exp := filepath.Join(out, "eyeglasses-small")
	report, err := os.ReadFile(filepath.Join(exp, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Every picture the report shows was written.
	pictures := 0
	for _, line := range strings.Split(string(report), "\n") {
		_, rest, ok := strings.Cut(line, "](")
		if !ok || !strings.HasPrefix(line, "![") {
			continue
		}
		pictures++
		if _, err := os.Stat(filepath.Join(exp, strings.TrimSuffix(rest, ")"))); err != nil {
			t.Errorf("report.md shows %s: %v", line, err)
		}
	}
	if pictures < 8 { // four manipulate grids, a traversal, an interpolation, csvae's leak, the losses
		t.Errorf("report.md shows %d pictures, want at least 8:\n%s", pictures, report)
	}
	if !strings.Contains(string(report), "![leak](grids/leak-csvae-Eyeglasses.png)") {
		t.Errorf("report.md does not show csvae's leak grid:\n%s", report)
	}
	rows := readCSV(t, filepath.Join(exp, "results.csv"))
	var models []string
	for _, r := range rows[1:] {
		if r[3] != "Eyeglasses" {
			t.Errorf("results.csv row for attribute %q, want Eyeglasses only", r[3])
		}
		models = append(models, r[1])
	}
	if want := []string{"vae", "csvae", "condvae", "condvae-info", "ideal", "labels"}; !slices.Equal(models, want) {
		t.Errorf("results.csv rows %v, want %v", models, want)
	}

	ckpt := filepath.Join(exp, "vae", "checkpoint.safetensors")
	before, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	log, err := recipe("DZ=8", "VAE_DZ=64", "BETAS=100,10,2,100,1")
	if err == nil || !strings.Contains(log, "was trained with") || !strings.Contains(log, "[100,10,2,100,1]") {
		t.Errorf("recipe over runs of other betas: err %v, output\n%s\nwant a failure naming both betas", err, log)
	}
	if after, err := os.ReadFile(ckpt); err != nil || !slices.Equal(before, after) {
		t.Errorf("the refused recipe changed %s (err %v)", ckpt, err)
	}

	// The size of z is part of the recipe too: each model was trained at
	// its own, the report names both, and a compared model of another size
	// is refused (its vae, of the size the recipe asks for, is not).
	for m, want := range map[string]int{"vae": 64, "csvae": 8, "condvae-info": 8} {
		cfg, err := model.LoadConfig(filepath.Join(exp, m, model.ConfigFile))
		if err != nil || cfg.Dz != want {
			t.Errorf("%s trained with Dz %d (err %v), want %d", m, cfg.Dz, err, want)
		}
	}
	if !strings.Contains(string(report), "`--dz 8 ") || !strings.Contains(string(report), "VAE_DZ=64") {
		t.Errorf("report.md does not name the sizes of z (--dz 8, VAE_DZ=64):\n%s", report)
	}
	// The vae trains its own number of epochs.
	for m, want := range map[string]int{"vae": 2, "csvae": 1, "condvae": 1} {
		if hist, err := model.ReadLosses(filepath.Join(exp, m, model.LossesFile)); err != nil || len(hist) != want {
			t.Errorf("%s trained %d epochs (err %v), want %d", m, len(hist), err, want)
		}
	}
	if !strings.Contains(string(report), "1 epochs per model, the vae 2,") || !strings.Contains(string(report), "VAE_EPOCHS=2 ") {
		t.Errorf("report.md does not name the vae's epochs (VAE_EPOCHS=2):\n%s", report)
	}
	// So are csvae's moving average of its weights, its balanced draws
	// and its prior.
	for _, m := range []string{"vae", "csvae", "condvae", "condvae-info"} {
		ema, balance, mu1, mu0 := 0.0, 0.0, float32(0), float32(3) // only csvae's are knobs
		if m == "csvae" {
			ema, balance, mu1, mu0 = 0.9, 0.5, 3, 0
		}
		cfg, err := model.LoadConfig(filepath.Join(exp, m, model.ConfigFile))
		if err != nil || cfg.EMA != ema || cfg.Balance != balance {
			t.Errorf("%s trained with EMA %g and balance %g (err %v), want %g and %g", m, cfg.EMA, cfg.Balance, err, ema, balance)
		}
		if cfg.Prior.Mu1 != mu1 || cfg.Prior.Mu0 != mu0 {
			t.Errorf("%s trained with prior means %g (y=1) and %g (y=0), want %g and %g", m, cfg.Prior.Mu1, cfg.Prior.Mu0, mu1, mu0)
		}
	}
	for _, want := range []string{"`--ema 0.9`", "EMA=0.9 ", "`--balance 0.5`", "BALANCE=0.5 ", "`--prior 3,1,0,0.1`", "PRIOR=3,1,0,0.1 "} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report.md does not name csvae's %s:\n%s", want, report)
		}
	}
	ckpt = filepath.Join(exp, "csvae", "checkpoint.safetensors")
	if before, err = os.ReadFile(ckpt); err != nil {
		t.Fatal(err)
	}
	log, err = recipe("DZ=8", "VAE_DZ=64", "EMA=0.99")
	if err == nil || !strings.Contains(log, "csvae was trained with") || !strings.Contains(log, "EMA 0.9,") || !strings.Contains(log, ", 8, 0.99, 0.5 and 3,1,0,0.1:") {
		t.Errorf("recipe over runs of another moving average: err %v, output\n%s\nwant csvae refused, naming both", err, log)
	}
	log, err = recipe("DZ=8", "VAE_DZ=64", "BALANCE=1")
	if err == nil || !strings.Contains(log, "csvae was trained with") || !strings.Contains(log, "balance 0.5 and") || !strings.Contains(log, ", 8, 0.9, 1 and 3,1,0,0.1:") {
		t.Errorf("recipe over runs of other balanced draws: err %v, output\n%s\nwant csvae refused, naming both", err, log)
	}
	log, err = recipe("DZ=8", "VAE_DZ=64", "PRIOR=0,0.1,3,1")
	if err == nil || !strings.Contains(log, "csvae was trained with") || !strings.Contains(log, "prior 3,1,0,0.1,") || !strings.Contains(log, ", 8, 0.9, 0.5 and 0,0.1,3,1:") {
		t.Errorf("recipe over runs of another prior: err %v, output\n%s\nwant csvae refused, naming both", err, log)
	}
	log, err = recipe("DZ=32", "VAE_DZ=64")
	if err == nil || !strings.Contains(log, "csvae was trained with") || !strings.Contains(log, "Dz 8") || !strings.Contains(log, ", 32, 0.9, 0.5 and 3,1,0,0.1:") {
		t.Errorf("recipe over runs of another size of z: err %v, output\n%s\nwant csvae refused, naming both sizes", err, log)
	}
	if after, err := os.ReadFile(ckpt); err != nil || !slices.Equal(before, after) {
		t.Errorf("the refused recipe changed %s (err %v)", ckpt, err)
	}
}

// experiments/seeds.sh at a tiny size on two seeds: each seed a recipe of
// its own (its own faces), and the summary's means those of the two seeds'
// results. A bad recipe name, seed list or size is refused before anything runs.
func TestSeedsScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole experiment recipe twice")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "runs")
	seeds := func(recipe string, extra ...string) (string, error) {
		return tinyScript(dir, out, []string{"seeds.sh", recipe}, extra...)
	}
	for _, c := range [][]string{{"eyeglasses-typo"}, {"eyeglasses", "SEEDS=1 two"}, {"eyeglasses", "SIZE=huge"}} {
		if log, err := seeds(c[0], c[1:]...); err == nil || !strings.Contains(log, "usage:") && !strings.Contains(log, "whole numbers") && !strings.Contains(log, "SIZE must be small, medium or full, got huge") {
			t.Errorf("seeds.sh %v: err %v, output\n%s\nwant a refusal", c, err, log)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused seeds.sh wrote %s (%v)", out, err)
	}

	if log, err := seeds("eyeglasses", "SEEDS=3 4"); err != nil {
		t.Fatalf("experiments/seeds.sh: %v\n%s", err, log)
	}
	var perSeed [2][]editResult
	for i, s := range []string{"3", "4"} {
		b, err := os.ReadFile(filepath.Join(out, "seed"+s, "eyeglasses-small", "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &perSeed[i]); err != nil {
			t.Fatal(err)
		}
		report, err := os.ReadFile(filepath.Join(out, "seed"+s, "eyeglasses-small", "report.md"))
		if err != nil || !strings.Contains(string(report), "seed "+s+",") {
			t.Errorf("seed %s's report does not say it is seed %s (err %v)", s, s, err)
		}
	}
	if a, b := perSeed[0][0], perSeed[1][0]; a.ReconMSE == b.ReconMSE {
		t.Errorf("the vae of both seeds reconstructs with MSE %g: were they the same faces and run?", a.ReconMSE)
	}
	md, err := os.ReadFile(filepath.Join(out, "eyeglasses-small-seeds.md"))
	if err != nil || !strings.Contains(string(md), "Over 2 seeds") || !strings.Contains(string(md), "| csvae | Eyeglasses |") {
		t.Errorf("eyeglasses-small-seeds.md (err %v):\n%s", err, md)
	}
	rows := readCSV(t, filepath.Join(out, "eyeglasses-small-seeds.csv"))
	if len(rows) != len(perSeed[0])+1 {
		t.Fatalf("summary CSV has %d rows, want a header and %d", len(rows), len(perSeed[0]))
	}
	for i, r := range perSeed[0] {
		if rows[i+1][0] != r.Model || r.Images == 0 {
			continue
		}
		want := (r.Manipulation + perSeed[1][i].Manipulation) / 2
		if got, err := strconv.ParseFloat(rows[i+1][3], 64); err != nil || got-want > 6e-6 || want-got > 6e-6 {
			t.Errorf("%s: summary manipulation mean %s, want %.5f, the mean of the two seeds", r.Model, rows[i+1][3], want)
		}
	}
}

// tinyScript runs experiments/ARGS[0] with the rest of args at a tiny size
// (400 faces, one epoch per model), its runs under out and its binary in
// dir; extra are more environment settings.
func tinyScript(dir, out string, args []string, extra ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{"../../experiments/" + args[0]}, args[1:]...)...)
	cmd.Env = append(os.Environ(), "NFACES=400", "EPOCHS=1", "OUT="+out, "BIN="+filepath.Join(dir, "csvae-gpu"))
	cmd.Env = append(cmd.Env, extra...)
	b, err := cmd.CombinedOutput()
	return string(b), err
}
