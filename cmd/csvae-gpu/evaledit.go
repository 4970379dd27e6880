package main

// eval --classifier: attribute manipulation measured by a separately
// trained classifier.

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
}

const editEvalDescription = "\n\nWith --classifier DIR it measures attribute manipulation instead, on --n images of --split, for\n" +
	"each attribute in --edit (default: all of the run's): every image is edited to the opposite of\n" +
	"its label (csvae: w_j to the other label's prior mean; condvae: y_j flipped; vae: z moved along\n" +
	"the mean difference). manipulation = mean over the two directions of the share of edits in\n" +
	"which the classifier sees the target value (to1, to0 are the directions); preservation = share\n" +
	"of edits in which the classifier's decision on every --keep attribute equals its decision on\n" +
	"the unedited reconstruction (same-label: for the edit to the image's own label, which for csvae\n" +
	"resets w_j to its label's prior mean and so shows what that point discards); recon_mse = mean squared error per pixel of the reconstructions;\n" +
	"leakage = test accuracy of a logistic regression fitted to predict y_j from the posterior mean\n" +
	"of z on training images (the vae: its whole latent), against chance = the test majority rate,\n" +
	"and the balanced accuracy of a class-weighted one (chance 0.5)."

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
	var results []editResult
	for _, dir := range runs {
		rs, err := evaluateRunEdits(c, be, cl, dir)
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
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
		fmt.Println("| model | attribute | manipulation | to 1 | to 0 | preservation | same-label preservation | recon attr acc | recon MSE | leakage acc | chance | leakage balanced |")
		fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range results {
			fmt.Printf("| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.4f | %.3f | %.3f | %.3f |\n", r.Model, r.Attr, r.Manipulation,
				r.To1, r.To0, r.Preservation, r.PreservationSame, r.ReconAttrAcc, r.ReconMSE, r.LeakAcc, r.LeakChance, r.LeakBalanced)
		}
	default:
		fmt.Printf("%-13s %-18s %6s %6s %6s %6s %6s %6s %8s %6s %6s %6s\n", "model", "attribute", "manip", "to1", "to0", "keep", "keepSm", "recAcc", "reconMSE", "leak", "chance", "leakBA")
		for _, r := range results {
			fmt.Printf("%-13s %-18s %6.3f %6.3f %6.3f %6.3f %6.3f %6.3f %8.5f %6.3f %6.3f %6.3f\n", r.Model, r.Attr, r.Manipulation,
				r.To1, r.To0, r.Preservation, r.PreservationSame, r.ReconAttrAcc, r.ReconMSE, r.LeakAcc, r.LeakChance, r.LeakBalanced)
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
	edit := cfg.Attrs
	if c.String("edit") != "" {
		edit = splitList(c.String("edit"))
	}
	for _, a := range edit {
		if _, err := attrIndex(cfg, a); err != nil {
			return nil, fmt.Errorf("--edit: %w", err)
		}
		if cl.Cfg.Index(a) < 0 {
			return nil, fmt.Errorf("--classifier %s does not know attribute %q (it classifies %s)", c.String("classifier"), a, strings.Join(cl.Cfg.Attrs, ", "))
		}
	}
	keepAll := cl.Cfg.Attrs
	if c.String("keep") != "" {
		keepAll = splitList(c.String("keep"))
		for _, a := range keepAll {
			if cl.Cfg.Index(a) < 0 {
				return nil, fmt.Errorf("--keep: the classifier does not know attribute %q (it classifies %s)", a, strings.Join(cl.Cfg.Attrs, ", "))
			}
		}
	}
	split, err := r.data.pick(c.String("split"))
	if err != nil {
		return nil, err
	}
	s := dataset.Subset(split, c.Int("n"))
	x, y := fillAll(s, cfg)
	n, k, d, kc := s.Len(), cfg.K(), cfg.XDim, cl.Cfg.K()
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
		cj := cl.Cfg.Index(name)
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
		var kept []int
		var keptNames []string
		for _, a := range keepAll {
			if a != name {
				kept = append(kept, cl.Cfg.Index(a))
				keptNames = append(keptNames, a)
			}
		}
		res := editResult{Run: dir, Model: cfg.Model, Epochs: r.pos.Epoch, Attr: name, Images: n, Kept: keptNames,
			ReconMSE: mse, PreservedBy: map[string]float64{}}
		var hit [2]int
		var cnt [2]int
		allKept, allKeptSame, reconHit := 0, 0, 0
		keptHits := make([]int, len(kept))
		for i := range n {
			label := int(y[i*k+j] + 0.5)
			t := 1 - label
			cnt[t]++
			if dec[i*kc+cj] == t {
				hit[t]++
			}
			if ref[i*kc+cj] == label {
				reconHit++
			}
			all := true
			for q, a := range kept {
				if dec[i*kc+a] == ref[i*kc+a] {
					keptHits[q]++
				} else {
					all = false
				}
			}
			if all {
				allKept++
			}
			all = true
			for _, a := range kept {
				all = all && decSame[i*kc+a] == ref[i*kc+a]
			}
			if all {
				allKeptSame++
			}
		}
		res.N0, res.N1 = cnt[0], cnt[1]
		res.To1, res.To0 = share(hit[1], cnt[1]), share(hit[0], cnt[0])
		res.Manipulation = (res.To1 + res.To0) / 2
		res.Preservation = share(allKept, n)
		res.PreservationSame = share(allKeptSame, n)
		for q, a := range keptNames {
			res.PreservedBy[a] = share(keptHits[q], n)
		}
		res.ReconAttrAcc = share(reconHit, n)
		res.LeakAcc, res.LeakChance, res.LeakBalanced, res.LeakLatentDims = leak[j].acc, leak[j].chance, leak[j].balanced, leak[j].dims
		out = append(out, res)
	}
	return out, nil
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
}

// leakage fits, for every attribute of the run, a logistic regression from
// the posterior mean of z (the vae: its whole latent) of up to m training
// images to the label, and scores it on the test images test.
func leakage(r *editRun, m int, test dataset.Split) ([]leakScore, error) {
	cfg := r.net.Cfg
	latent := func(s dataset.Split) ([][]float64, [][]int) {
		e := model.EncodeSplit(r.net, s, false, 0)
		rows := make([][]float64, len(e.Z))
		for i := range rows {
			rows[i] = slices.Clone(e.Z[i])
			if cfg.Model == "vae" {
				rows[i] = append(rows[i], e.W[i]...)
			}
		}
		return rows, e.Y
	}
	xtr, ytr := latent(dataset.Subset(r.data.train, m))
	xte, yte := latent(test)
	out := make([]leakScore, cfg.K())
	for j := range cfg.K() {
		col := func(y [][]int) []int {
			v := make([]int, len(y))
			for i := range y {
				v[i] = y[i][j]
			}
			return v
		}
		a, b := col(ytr), col(yte)
		l, err := classifier.FitLogistic(xtr, a, false, 1)
		if err != nil {
			return nil, err
		}
		lb, err := classifier.FitLogistic(xtr, a, true, 1)
		if err != nil {
			return nil, err
		}
		acc, _ := l.Accuracy(xte, b)
		_, bal := lb.Accuracy(xte, b)
		pos := 0
		for _, v := range b {
			pos += v
		}
		out[j] = leakScore{acc: acc, balanced: bal, chance: float64(max(pos, len(b)-pos)) / float64(max(1, len(b))), dims: len(xtr[0])}
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

func writeEditCSV(w io.Writer, results []editResult) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"run", "model", "epochs", "attr", "images", "manipulation", "manip_to1", "manip_to0", "preservation", "preservation_same_label", "kept",
		"recon_attr_accuracy", "recon_mse", "leakage_accuracy", "leakage_chance", "leakage_balanced_accuracy"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 5, 64) }
	for _, r := range results {
		cw.Write([]string{r.Run, r.Model, strconv.Itoa(r.Epochs), r.Attr, strconv.Itoa(r.Images), f(r.Manipulation), f(r.To1), f(r.To0),
			f(r.Preservation), f(r.PreservationSame), strings.Join(r.Kept, " "), f(r.ReconAttrAcc), f(r.ReconMSE), f(r.LeakAcc), f(r.LeakChance), f(r.LeakBalanced)})
	}
	cw.Flush()
	return cw.Error()
}
