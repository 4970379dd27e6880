package main

// eval --classifier: attribute manipulation measured by a separately
// trained classifier.

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
	"github.com/csvae-gpu/csvae-gpu/classifier"
	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

// editFlags are eval's flags for the classifier-based measurements.
var editFlags = []cli.Flag{
	&cli.StringFlag{Name: "classifier", Usage: "a directory written by classifier train: measure attribute manipulation instead of the KL"},
	&cli.IntFlag{Name: "n", Value: 1000, Usage: "with --classifier: test images to edit (evenly spaced)"},
	&cli.StringFlag{Name: "edit", Usage: "with --classifier: attributes to edit (default: every attribute of the run)"},
	&cli.StringFlag{Name: "keep", Usage: "with --classifier: attributes that must stay (default: every other attribute the classifier knows)"},
	&cli.StringFlag{Name: "json", Usage: "with --classifier: also write the results as JSON to this file"},
	&cli.StringFlag{Name: "csv", Usage: "with --classifier: also write the table as CSV to this file"},
	&cli.IntFlag{Name: "leak-n", Value: 5000, Usage: "with --classifier: training images for the leakage regression"},
	&cli.StringSliceFlag{Name: "ideal", Usage: "with --classifier: ATTR=DATA, the first run's faces with ATTR flipped (synth --flip, then prepare); adds the ideal editor's row (repeatable)"},
	&cli.StringFlag{Name: "labels-skip", Usage: "with --classifier: labels the labels row leaves out of its regression (e.g. those the synthetic faces do not draw)"},
}

const editEvalDescription = "\n\nWith --classifier DIR it measures attribute manipulation instead, on --n images of --split, for\n" +
	"each attribute in --edit (default: all of the run's): every image is edited to the opposite of\n" +
	"its label (csvae: w_j to the other label's prior mean; condvae: y_j flipped; vae: z moved along\n" +
	"the mean difference). manipulation = mean over the two directions of the share of edits in\n" +
	"which the classifier sees the target value (to1, to0 are the directions); preservation = share\n" +
	"of edits in which the classifier's decision on every --keep attribute equals its decision on\n" +
	"the unedited reconstruction (same-label: for the edit to the image's own label, which for csvae\n" +
	"resets w_j to its label's prior mean and so shows what that point discards; --json also gives it\n" +
	"per kept attribute, over all edits, over each direction, and over the edits whose reconstruction shows\n" +
	"the kept attribute present or absent: whether the edit erases it or paints it in); recon_mse = mean squared error per pixel of the reconstructions;\n" +
	"leakage = test accuracy of a logistic regression fitted to predict y_j from the posterior mean\n" +
	"of z on training images (the vae: its whole latent), against chance = the test majority rate,\n" +
	"and the balanced accuracy of a class-weighted one (chance 0.5); the active units of z (those whose\n" +
	"posterior mean varies over the data with variance above 0.01, Burda et al. 2016) and the same\n" +
	"regression's accuracy on them alone, since it standardises its inputs and so also reads a label\n" +
	"from a unit too quiet for the decoder to use. --ideal ATTR=DATA adds the row of a\n" +
	"perfect editor: DATA holds the run's synthetic faces drawn again with only ATTR reversed (synth --flip\n" +
	"ATTR, then prepare), scored as the edits of the originals: the ceiling of these measures. The labels\n" +
	"row is a reference for leakage: the same regressions fitted on the image's other labels (every label of\n" +
	"the first run's data but its own attributes and --labels-skip) instead of z, which is what a z that kept\n" +
	"every other labelled attribute exactly would leak through their correlations with y_j."

// editResult is one (run, attribute) row.
type editResult struct {
	Run          string             `json:"run"`
	Model        string             `json:"model"`
	Epochs       int                `json:"epochs"`
	Attr         string             `json:"attr"`
	Images       int                `json:"images"`
	To1          float64            `json:"manip_to1"` // edits 0 -> 1 the classifier sees as 1
	To0          float64            `json:"manip_to0"`
	N1, N0       int                `json:"-"`
	Manipulation float64            `json:"manipulation"` // mean of the two directions
	Preservation float64            `json:"preservation"` // share of edits with every kept attribute unchanged
	PreservedBy  map[string]float64 `json:"preservation_by_attr"`
	// PreservedTo1 and PreservedTo0 are PreservedBy over the edits of one
	// direction (to 1: of the images labelled 0): an editor can keep an
	// attribute one way and lose it the other (makeup, when a made-up
	// woman is made a man).
	PreservedTo1 map[string]float64 `json:"preservation_by_attr_to1,omitempty"`
	PreservedTo0 map[string]float64 `json:"preservation_by_attr_to0,omitempty"`
	// PreservedPresent and PreservedAbsent are PreservedBy over the edits
	// whose reconstruction the classifier reads the kept attribute as
	// present (absent) on: whether an editor erases an attribute or paints
	// it in, which the two directions of the edited one do not separate
	// (Smiling's edits lose lipstick both ways).
	PreservedPresent map[string]float64 `json:"preservation_by_attr_present,omitempty"`
	PreservedAbsent  map[string]float64 `json:"preservation_by_attr_absent,omitempty"`
	// PreservationSame is preservation for the edit to the image's own
	// label (csvae: w_j reset to its label's prior mean; an identity for
	// condvae and vae): what the edit point itself discards.
	PreservationSame float64  `json:"preservation_same_label"`
	Kept             []string `json:"kept"`
	ReconAttrAcc     float64  `json:"recon_attr_accuracy"` // classifier on reconstructions against the true label
	ReconMSE         float64  `json:"recon_mse"`
	LeakAcc          float64  `json:"leakage_accuracy"`
	LeakChance       float64  `json:"leakage_chance"`
	LeakBalanced     float64  `json:"leakage_balanced_accuracy"`
	LeakLatentDims   int      `json:"leakage_latent_dims"`
	// LeakActiveUnits of the LeakLatentDims units of z vary over the data
	// (activeUnits), and LeakActiveAcc is the regression's accuracy on them
	// alone: what leakage remains in the units the decoder can read.
	LeakActiveUnits int     `json:"leakage_active_units,omitempty"`
	LeakActiveAcc   float64 `json:"leakage_active_accuracy,omitempty"`
	// LabelsUsed are the regressors of the labels reference row.
	LabelsUsed []string `json:"labels_used,omitempty"`
}

func evaluateEdits(c *cli.Context, be model.Backend) error {
	runs := c.StringSlice("run")
	if len(runs) == 0 {
		return fmt.Errorf("--run is required: a directory written by csvae-gpu train")
	}
	format := c.String("format")
	if format != "text" && format != "markdown" && format != "json" && format != "csv" {
		return fmt.Errorf("unknown --format %q (want text, markdown, json or csv)", format)
	}
	if c.Int("n") < 2 || c.Int("leak-n") < 2 {
		return fmt.Errorf("--n and --leak-n must be at least 2, got %d and %d", c.Int("n"), c.Int("leak-n"))
	}
	cl, err := classifier.Load(c.String("classifier"), be, 0)
	if err != nil {
		return err
	}
	// Cheap, and checks --labels-skip before the slow part.
	labelRows, err := labelsLeakage(c, runs[0])
	if err != nil {
		return err
	}
	var results []editResult
	for _, dir := range runs {
		rs, err := evaluateRunEdits(c, be, cl, dir)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	for _, spec := range c.StringSlice("ideal") {
		r, err := idealEdits(c, cl, runs[0], spec)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	results = append(results, labelRows...)
	if p := c.String("json"); p != "" {
		if err := writeEditJSON(p, results); err != nil {
			return err
		}
	}
	if p := c.String("csv"); p != "" {
		if err := atomicfile.Write(p, func(w io.Writer) error { return writeEditCSV(w, results) }); err != nil {
			return err
		}
	}
	switch format {
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	case "csv":
		return writeEditCSV(os.Stdout, results)
	case "markdown":
		fmt.Println("| model | attribute | manipulation | to 1 | to 0 | preservation | same-label preservation | recon attr acc | recon MSE | leakage acc | chance | leakage balanced | active units of z | leakage acc, active units |")
		fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range results {
			e, l := r.editCells("-", 3, 4), r.leakCells("-", 3)
			fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Model, r.Attr, e[0], e[1], e[2], e[3], e[4], e[5], e[6], l[0], l[1], l[2], l[3], l[4])
		}
	default:
		fmt.Printf("%-13s %-18s %6s %6s %6s %6s %6s %6s %8s %6s %6s %6s %6s %6s\n", "model", "attribute", "manip", "to1", "to0", "keep", "keepSm", "recAcc", "reconMSE", "leak", "chance", "leakBA", "active", "leakAc")
		for _, r := range results {
			e, l := r.editCells("-", 3, 5), r.leakCells("-", 3)
			fmt.Printf("%-13s %-18s %6s %6s %6s %6s %6s %6s %8s %6s %6s %6s %6s %6s\n", r.Model, r.Attr, e[0], e[1], e[2], e[3], e[4], e[5], e[6], l[0], l[1], l[2], l[3], l[4])
		}
	}
	return nil
}

func evaluateRunEdits(c *cli.Context, be model.Backend, cl *classifier.Classifier, dir string) ([]editResult, error) {
	r, err := openEditRun(c, be, dir)
	if err != nil {
		return nil, err
	}
	defer r.data.Close()
	cfg := r.net.Cfg
	if cfg.ImageSize != cl.Cfg.ImageSize {
		return nil, fmt.Errorf("--classifier %s judges %dx%d images, the run %s makes %dx%d", c.String("classifier"),
			cl.Cfg.ImageSize, cl.Cfg.ImageSize, dir, cfg.ImageSize, cfg.ImageSize)
	}
	edit, err := editList(c, cfg)
	if err != nil {
		return nil, err
	}
	for _, a := range edit {
		if cl.Cfg.Index(a) < 0 {
			return nil, fmt.Errorf("--classifier %s does not know attribute %q (it classifies %s)", c.String("classifier"), a, strings.Join(cl.Cfg.Attrs, ", "))
		}
	}
	keepAll, err := keepList(c, cl)
	if err != nil {
		return nil, err
	}
	split, err := r.data.pick(c.String("split"))
	if err != nil {
		return nil, err
	}
	s := dataset.Subset(split, c.Int("n"))
	x, y := fillAll(s, cfg)
	n, k, d := s.Len(), cfg.K(), cfg.XDim
	codes := r.ed.encode(x, y, n)
	recon := r.ed.edit(codes, nil)
	mse := 0.0
	for i, v := range recon {
		e := float64(v - x[i])
		mse += e * e
	}
	mse /= float64(len(recon))
	ref := classifier.Decide(cl.Predict(recon, n))
	leak, err := leakage(r, c.Int("leak-n"), s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}

	var out []editResult
	for _, name := range edit {
		j, _ := attrIndex(cfg, name)
		// Every image edited to the opposite of its label: one decode per
		// direction over all images, then each image takes its own.
		to := [2][]float32{r.ed.edit(codes, map[int]float32{j: 0}), r.ed.edit(codes, map[int]float32{j: 1})}
		edited, same := make([]float32, n*d), make([]float32, n*d)
		for i := range n {
			t := 1 - int(y[i*k+j]+0.5)
			copy(edited[i*d:(i+1)*d], to[t][i*d:(i+1)*d])
			copy(same[i*d:(i+1)*d], to[1-t][i*d:(i+1)*d])
		}
		dec := classifier.Decide(cl.Predict(edited, n))
		decSame := classifier.Decide(cl.Predict(same, n))
		res := editResult{Run: dir, Model: cfg.Model, Epochs: r.pos.Epoch, Attr: name, Images: n, ReconMSE: mse}
		scoreEdits(&res, labelsOf(y, k, j), ref, dec, decSame, cl, keepAll)
		res.LeakAcc, res.LeakChance, res.LeakBalanced, res.LeakLatentDims = leak[j].acc, leak[j].chance, leak[j].balanced, leak[j].dims
		res.LeakActiveUnits, res.LeakActiveAcc = leak[j].active, leak[j].activeAcc
		out = append(out, res)
	}
	return out, nil
}

// idealEdits scores the ideal editor of one attribute: spec is ATTR=DATA,
// DATA the faces of the run's data with ATTR flipped and nothing else
// changed (synth --flip). Its "edits" are those faces and its
// "reconstructions" the inputs themselves, so it is the ceiling of
// manipulation and preservation for this classifier: whatever the
// classifier reads differently on a perfect edit is charged to it too.
func idealEdits(c *cli.Context, cl *classifier.Classifier, runDir, spec string) (editResult, error) {
	name, data, ok := strings.Cut(spec, "=")
	if !ok || name == "" || data == "" {
		return editResult{}, fmt.Errorf("--ideal %q: want ATTR=DATA, e.g. Eyeglasses=faces-flip-Eyeglasses-32.cache", spec)
	}
	j := cl.Cfg.Index(name)
	if j < 0 {
		return editResult{}, fmt.Errorf("--ideal: the classifier does not know attribute %q (it classifies %s)", name, strings.Join(cl.Cfg.Attrs, ", "))
	}
	keepAll, err := keepList(c, cl)
	if err != nil {
		return editResult{}, err
	}
	// Only the run's data is needed, not its weights.
	cfg, err := model.LoadConfig(filepath.Join(runDir, model.ConfigFile))
	if err != nil {
		return editResult{}, fmt.Errorf("--run %s: %w", runDir, err)
	}
	if err := locateData(c, &cfg, runDir); err != nil {
		return editResult{}, err
	}
	// Both data sets read with the classifier's attributes, for the labels.
	cfg.Attrs = cl.Cfg.Attrs
	origData, orig, err := loadSplit(cfg, c.String("split"))
	if err != nil {
		return editResult{}, err
	}
	defer origData.Close()
	flipCfg := cfg
	flipCfg.Data = data
	flipData, flipped, err := loadSplit(flipCfg, c.String("split"))
	if err != nil {
		return editResult{}, fmt.Errorf("--ideal %s: %w", name, err)
	}
	defer flipData.Close()
	if orig.Len() != flipped.Len() {
		return editResult{}, fmt.Errorf("--ideal %s: %s has %d %s images, the run's data %d: write it with synth --flip %s and the same --n and --seed",
			name, data, flipped.Len(), c.String("split"), orig.Len(), name)
	}
	so, sf := dataset.Subset(orig, c.Int("n")), dataset.Subset(flipped, c.Int("n"))
	x, y := fillAll(so, cfg)
	xf, yf := fillAll(sf, cfg)
	n, k := so.Len(), cfg.K()
	for i := range n {
		for a := range k {
			if differs := y[i*k+a] != yf[i*k+a]; differs != (a == j) {
				return editResult{}, fmt.Errorf("--ideal %s: image %d of the %s split: %s is %v in the run's data and %v in %s; want only %s flipped (synth --flip %s, same --n and --seed)",
					name, i, c.String("split"), cl.Cfg.Attrs[a], y[i*k+a], yf[i*k+a], data, name, name)
			}
		}
	}
	ref := classifier.Decide(cl.Predict(x, n))
	dec := classifier.Decide(cl.Predict(xf, n))
	res := editResult{Run: data, Model: "ideal", Attr: name, Images: n}
	scoreEdits(&res, labelsOf(y, k, j), ref, dec, ref, cl, keepAll)
	return res, nil
}

// editList is --edit, or every attribute of the run, checked against the run.
func editList(c *cli.Context, cfg model.Config) ([]string, error) {
	if c.String("edit") == "" {
		return cfg.Attrs, nil
	}
	edit := splitList(c.String("edit"))
	for _, a := range edit {
		if _, err := attrIndex(cfg, a); err != nil {
			return nil, fmt.Errorf("--edit: %w", err)
		}
	}
	return edit, nil
}

// keepList is --keep, or every attribute the classifier knows.
func keepList(c *cli.Context, cl *classifier.Classifier) ([]string, error) {
	if c.String("keep") == "" {
		return cl.Cfg.Attrs, nil
	}
	keep := splitList(c.String("keep"))
	for _, a := range keep {
		if cl.Cfg.Index(a) < 0 {
			return nil, fmt.Errorf("--keep: the classifier does not know attribute %q (it classifies %s)", a, strings.Join(cl.Cfg.Attrs, ", "))
		}
	}
	return keep, nil
}

// labelsOf is column j of the k-column label matrix y, as 0 or 1.
func labelsOf(y []float32, k, j int) []int {
	out := make([]int, len(y)/k)
	for i := range out {
		out[i] = int(y[i*k+j] + 0.5)
	}
	return out
}

// scoreEdits fills res's classifier columns for attribute res.Attr from
// the classifier's decisions (image-major, one column per classifier
// attribute) on the unedited reconstructions (ref), on the edits to the
// opposite label (dec) and on the edits to the image's own label
// (decSame); label holds the true labels.
func scoreEdits(res *editResult, label []int, ref, dec, decSame []int, cl *classifier.Classifier, keepAll []string) {
	n, kc, cj := len(label), cl.Cfg.K(), cl.Cfg.Index(res.Attr)
	var kept []int
	for _, a := range keepAll {
		if a != res.Attr {
			kept = append(kept, cl.Cfg.Index(a))
			res.Kept = append(res.Kept, a)
		}
	}
	keptAll := func(d []int, i int) bool {
		for _, a := range kept {
			if d[i*kc+a] != ref[i*kc+a] {
				return false
			}
		}
		return true
	}
	var hit, cnt [2]int
	allKept, allKeptSame, reconHit := 0, 0, 0
	var keptDir [2][]int // per direction t: edits that kept each kept attribute
	keptDir[0], keptDir[1] = make([]int, len(kept)), make([]int, len(kept))
	var keptRef, cntRef [2][]int // the same and the edits, per decision v on the reconstruction
	for v := range 2 {
		keptRef[v], cntRef[v] = make([]int, len(kept)), make([]int, len(kept))
	}
	for i, l := range label {
		t := 1 - l
		cnt[t]++
		if dec[i*kc+cj] == t {
			hit[t]++
		}
		if ref[i*kc+cj] == l {
			reconHit++
		}
		for q, a := range kept {
			v := ref[i*kc+a]
			cntRef[v][q]++
			if dec[i*kc+a] == v {
				keptDir[t][q]++
				keptRef[v][q]++
			}
		}
		if keptAll(dec, i) {
			allKept++
		}
		if keptAll(decSame, i) {
			allKeptSame++
		}
	}
	res.N0, res.N1 = cnt[0], cnt[1]
	res.To1, res.To0 = share(hit[1], cnt[1]), share(hit[0], cnt[0])
	res.Manipulation = (res.To1 + res.To0) / 2
	res.Preservation = share(allKept, n)
	res.PreservationSame = share(allKeptSame, n)
	res.PreservedBy, res.PreservedTo1, res.PreservedTo0 = map[string]float64{}, map[string]float64{}, map[string]float64{}
	res.PreservedPresent, res.PreservedAbsent = map[string]float64{}, map[string]float64{}
	for q, a := range res.Kept {
		res.PreservedBy[a] = share(keptRef[0][q]+keptRef[1][q], n)
		res.PreservedTo1[a] = share(keptDir[1][q], cnt[1])
		res.PreservedTo0[a] = share(keptDir[0][q], cnt[0])
		// An attribute no reconstruction shows (or every one does) has no
		// share on that side, rather than a 0 that reads as all erased.
		if cntRef[1][q] > 0 {
			res.PreservedPresent[a] = share(keptRef[1][q], cntRef[1][q])
		}
		if cntRef[0][q] > 0 {
			res.PreservedAbsent[a] = share(keptRef[0][q], cntRef[0][q])
		}
	}
	res.ReconAttrAcc = share(reconHit, n)
}

func share(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

type leakScore struct {
	acc, chance, balanced float64
	dims                  int
	// active counts the units of z whose posterior mean varies over the
	// training images (activeUnits); activeAcc is the same regression's
	// accuracy on those units alone.
	active    int
	activeAcc float64
	// plain is the fitted regression behind acc (leak moves along it).
	plain *classifier.Logistic
}

// activeVariance is the threshold of Burda, Grosse and Salakhutdinov
// (2016) on the variance, over the data, of a unit's posterior mean: below
// it the unit is inactive, its mean a residue the decoder cannot read
// through the unit's posterior noise (whose variance is near the prior's 1).
const activeVariance = 0.01

// activeUnits lists the columns of rows whose variance exceeds
// activeVariance. A logistic regression standardises its inputs, so it
// reads an inactive unit's label signal as easily as an active one's:
// the leakage of the active units alone tells the two apart.
func activeUnits(rows [][]float64) []int {
	if len(rows) == 0 {
		return nil
	}
	n, d := float64(len(rows)), len(rows[0])
	var active []int
	for c := range d {
		mean, ss := 0.0, 0.0
		for _, r := range rows {
			mean += r[c]
		}
		mean /= n
		for _, r := range rows {
			ss += (r[c] - mean) * (r[c] - mean)
		}
		if ss/n > activeVariance {
			active = append(active, c)
		}
	}
	return active
}

// columns is rows restricted to the columns cols.
func columns(rows [][]float64, cols []int) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = make([]float64, len(cols))
		for q, c := range cols {
			out[i][q] = r[c]
		}
	}
	return out
}

// leakage fits, for every attribute of the run, a logistic regression from
// the posterior mean of z (the vae: its whole latent) of up to m training
// images to the label, and scores it on the test images test; the same on
// the active units of z alone.
func leakage(r *editRun, m int, test dataset.Split) ([]leakScore, error) {
	cfg := r.net.Cfg
	xtr, ytr := probeInputs(r.net, dataset.Subset(r.data.train, m))
	xte, yte := probeInputs(r.net, test)
	active := activeUnits(xtr)
	atr, ate := columns(xtr, active), columns(xte, active)
	out := make([]leakScore, cfg.K())
	for j := range cfg.K() {
		var err error
		if out[j], err = fitLeak(xtr, labelColumn(ytr, j), xte, labelColumn(yte, j)); err != nil {
			return nil, err
		}
		out[j].active, out[j].activeAcc = len(active), out[j].chance
		if len(active) > 0 {
			a, err := fitLeak(atr, labelColumn(ytr, j), ate, labelColumn(yte, j))
			if err != nil {
				return nil, err
			}
			out[j].activeAcc = a.acc
		}
	}
	return out, nil
}

// labelColumn is attribute j of every row of y.
func labelColumn(y [][]int, j int) []int {
	v := make([]int, len(y))
	for i := range y {
		v[i] = y[i][j]
	}
	return v
}

// probeInputs are what the leakage regression reads of each example of s,
// with its labels: the posterior mean of z (the vae: its whole latent).
func probeInputs(net *model.Net, s dataset.Split) ([][]float64, [][]int) {
	e := model.EncodeSplit(net, s, false, 0)
	rows := make([][]float64, len(e.Z))
	for i := range rows {
		rows[i] = slices.Clone(e.Z[i])
		if net.Cfg.Model == "vae" {
			rows[i] = append(rows[i], e.W[i]...)
		}
	}
	return rows, e.Y
}

// fitLeak fits a plain and a class-weighted logistic regression of y on x
// and scores them on the test rows.
func fitLeak(xtr [][]float64, ytr []int, xte [][]float64, yte []int) (leakScore, error) {
	l, err := classifier.FitLogistic(xtr, ytr, false, 1)
	if err != nil {
		return leakScore{}, err
	}
	lb, err := classifier.FitLogistic(xtr, ytr, true, 1)
	if err != nil {
		return leakScore{}, err
	}
	acc, _ := l.Accuracy(xte, yte)
	_, bal := lb.Accuracy(xte, yte)
	pos := 0
	for _, v := range yte {
		pos += v
	}
	return leakScore{acc: acc, balanced: bal, chance: float64(max(pos, len(yte)-pos)) / float64(max(1, len(yte))), dims: len(xtr[0]), plain: l}, nil
}

// labelsLeakage is the leakage reference of each edited attribute of the
// first run: fitLeak on the image's other labels instead of z (every label
// of the run's data but the run's own attributes and --labels-skip), on the
// same images as the runs' leakage. A z that kept every other labelled
// attribute exactly would leak about this much through their correlations
// with y_j; a z below it has moved such attributes into w or lost them.
// Without other labels (swiss roll, or all skipped) there is no row.
func labelsLeakage(c *cli.Context, runDir string) ([]editResult, error) {
	cfg, err := model.LoadConfig(filepath.Join(runDir, model.ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("--run %s: %w", runDir, err)
	}
	if err := locateData(c, &cfg, runDir); err != nil {
		return nil, err
	}
	if cfg.Arch != "conv" {
		return nil, nil
	}
	edit, err := editList(c, cfg)
	if err != nil {
		return nil, err
	}
	data, err := loadSplits(cfg, true)
	if err != nil {
		return nil, err
	}
	all := data.cache.Names()
	data.Close()
	excluded := map[string]bool{}
	for _, a := range cfg.Attrs {
		excluded[a] = true
	}
	for _, a := range splitList(c.String("labels-skip")) {
		if !slices.Contains(all, a) {
			return nil, fmt.Errorf("--labels-skip: the data of %s has no label %q", runDir, a)
		}
		excluded[a] = true
	}
	var others []string
	for _, a := range all {
		if !excluded[a] {
			others = append(others, a)
		}
	}
	if len(others) == 0 {
		return nil, nil
	}
	// One read of every label needed: the others, then the edited ones.
	cfg.Attrs = append(slices.Clone(others), edit...)
	data, err = loadSplits(cfg, true)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	test, err := data.pick(c.String("split"))
	if err != nil {
		return nil, err
	}
	labels := func(s dataset.Split) (x [][]float64, y [][]int) {
		k := len(others)
		cols := make([][]int, len(cfg.Attrs))
		for a := range cols {
			cols[a] = dataset.Labels(s, a)
		}
		x = make([][]float64, s.Len())
		for i := range x {
			x[i] = make([]float64, k)
			for a := range k {
				x[i][a] = float64(cols[a][i])
			}
		}
		return x, cols[k:]
	}
	xtr, ytr := labels(dataset.Subset(data.train, c.Int("leak-n")))
	xte, yte := labels(dataset.Subset(test, c.Int("n")))
	var out []editResult
	for j, name := range edit {
		l, err := fitLeak(xtr, ytr[j], xte, yte[j])
		if err != nil {
			return nil, fmt.Errorf("labels row, %s: %w", name, err)
		}
		out = append(out, editResult{Run: shortPath(cfg.Data), Model: "labels", Attr: name, LabelsUsed: others,
			LeakAcc: l.acc, LeakChance: l.chance, LeakBalanced: l.balanced, LeakLatentDims: l.dims})
	}
	return out, nil
}

func writeEditJSON(path string, results []editResult) error {
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'))
}

// leakCells are the leakage accuracy, chance and balanced accuracy with
// prec decimals, or none each for a row without a latent (the ideal
// editor), then the active units ("18/64") and the accuracy on them, none
// for a row that is not a model's z (the labels reference too).
func (r editResult) leakCells(none string, prec int) [5]string {
	if r.LeakLatentDims == 0 {
		return [5]string{none, none, none, none, none}
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	c := [5]string{f(r.LeakAcc), f(r.LeakChance), f(r.LeakBalanced), none, none}
	if r.Model != "labels" {
		c[3], c[4] = fmt.Sprintf("%d/%d", r.LeakActiveUnits, r.LeakLatentDims), f(r.LeakActiveAcc)
	}
	return c
}

// editCells are manipulation, to 1, to 0, preservation, same-label
// preservation, recon attr acc with prec decimals and recon MSE with
// msePrec, or none each for a row without edits (the labels reference).
func (r editResult) editCells(none string, prec, msePrec int) [7]string {
	if r.Images == 0 {
		return [7]string{none, none, none, none, none, none, none}
	}
	f := func(v float64, p int) string { return strconv.FormatFloat(v, 'f', p, 64) }
	return [7]string{f(r.Manipulation, prec), f(r.To1, prec), f(r.To0, prec), f(r.Preservation, prec), f(r.PreservationSame, prec),
		f(r.ReconAttrAcc, prec), f(r.ReconMSE, msePrec)}
}

func writeEditCSV(w io.Writer, results []editResult) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"run", "model", "epochs", "attr", "images", "manipulation", "manip_to1", "manip_to0", "preservation", "preservation_same_label", "kept",
		"recon_attr_accuracy", "recon_mse", "leakage_accuracy", "leakage_chance", "leakage_balanced_accuracy", "leakage_active_units", "leakage_active_accuracy"})
	for _, r := range results {
		e, l := r.editCells("", 5, 5), r.leakCells("", 5)
		if l[3] != "" {
			l[3] = strconv.Itoa(r.LeakActiveUnits) // a count, not "a/d", in a machine-readable file
		}
		cw.Write([]string{r.Run, r.Model, strconv.Itoa(r.Epochs), r.Attr, strconv.Itoa(r.Images), e[0], e[1], e[2],
			e[3], e[4], strings.Join(r.Kept, " "), e[5], e[6], l[0], l[1], l[2], l[3], l[4]})
	}
	cw.Flush()
	return cw.Error()
}
