package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/csvae-gpu/csvae-gpu/plot"
)

// Files the reporter adds to a run directory.
const (
	klFile     = "kl.csv"
	lossesPlot = "losses.png"
	reconPlot  = "recon.png"
	// klDraws is how many posterior draws each KL estimate during training
	// averages; eval's --draws defaults higher.
	klDraws = 5
	// klImages caps the test images an image run's KL estimates use.
	klImages = 2000
)

// reporter draws a run's pictures and keeps its latent KL estimates.
type reporter struct {
	dir  string
	net  *model.Net
	test dataset.Split
	kl   []klRow
}

// klRow is one line of kl.csv: the estimated KL between the two label
// groups of one attribute, on sampled test latents, after an epoch.
type klRow struct {
	epoch int
	model.LatentKL
}

// newReporter picks up the KL history of a resumed run, without the rows
// of epochs that will be trained again.
func newReporter(dir string, net *model.Net, test dataset.Split, upTo int) (*reporter, error) {
	r := &reporter{dir: dir, net: net, test: test}
	rows, err := readKL(filepath.Join(dir, klFile))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, row := range rows {
		if row.epoch <= upTo {
			r.kl = append(r.kl, row)
		}
	}
	return r, nil
}

// plots encodes the test split with sampled latents, estimates the KL
// between label groups, records it in kl.csv and redraws every picture.
func (r *reporter) plots(hist []model.EpochRecord) error {
	cfg := r.net.Cfg
	if len(hist) == 0 {
		return nil
	}
	epoch := hist[len(hist)-1].Epoch
	test := r.test
	if cfg.Arch == "conv" {
		// 1-NN search in 64 dimensions is quadratic: a fixed subset keeps
		// the estimate to seconds.
		test = dataset.Subset(test, klImages)
		if err := reconstructionGrid(filepath.Join(r.dir, reconPlot), r.net, r.test, 8); err != nil {
			return err
		}
	}
	kls, enc, err := model.EstimateKLDraws(r.net, test, model.SampleSeed(cfg), klDraws)
	if err != nil {
		return err
	}
	for _, k := range kls {
		r.kl = append(r.kl, klRow{epoch, k})
	}
	if err := writeKL(filepath.Join(r.dir, klFile), r.kl); err != nil {
		return err
	}
	for a, kl := range kls {
		lab := enc.Labels(a)
		zName, wName := "z", "w"
		if cfg.Model == "vae" {
			zName, wName = fmt.Sprintf("z[0:%d]", cfg.Dz), fmt.Sprintf("z[%d:%d]", cfg.Dz, cfg.ZDim())
		}
		title := func(space string, v float64) string {
			return fmt.Sprintf("%s  %s  epoch %d  KL(y=1||y=0)=%.3f", cfg.Model, space, epoch, v)
		}
		suffix := ""
		if cfg.K() > 1 {
			suffix = "_" + sanitize(kl.Attr)
		}
		xs, ys := column(enc.Z, 0), column(enc.Z, min(1, len(enc.Z[0])-1))
		if cfg.Arch != "conv" { // a 64-D z has no telling 2-D view
			if err := plot.Scatter(filepath.Join(r.dir, "latent_z"+suffix+".png"), title(zName, kl.Z), "z1", "z2", xs, ys, lab); err != nil {
				return err
			}
		}
		if kl.HasW {
			w := enc.Subspace(a)
			if err := plot.Scatter(filepath.Join(r.dir, "latent_w"+suffix+".png"), title(wName, kl.W),
				"w1", "w2", column(w, 0), column(w, 1), lab); err != nil {
				return err
			}
		}
	}
	return r.lossPlot(filepath.Join(r.dir, lossesPlot), hist)
}

// summary is the line printed after each plotted epoch.
func (r *reporter) summary(rec model.EpochRecord) string {
	b := &r.net.Cfg
	gap := ""
	if b.MeanGap > 0 {
		gap = fmt.Sprintf("  gap %.4g", rec.Test.MeanGap)
	}
	s := fmt.Sprintf("epoch %4d  train %.4g  test %.4g  (recon %.4g  kl_w %.4g  kl_z %.4g  adv %.4g%s)",
		rec.Epoch, rec.Train.Main(b), rec.Test.Main(b), rec.Test.Recon, rec.Test.KLW, rec.Test.KLZ, rec.Test.AdvTerm, gap)
	for _, k := range r.kl {
		if k.epoch != rec.Epoch {
			continue
		}
		s += "  " + k.Attr + ":"
		if r.net.Cfg.Arch != "conv" {
			s += fmt.Sprintf(" KL z %.3f", k.Z)
		}
		if k.HasW {
			s += fmt.Sprintf(" KL w %.3f", k.W)
		}
	}
	return s
}

// lossPlot draws one panel per loss component, train against test, and one
// per latent space with the KL estimates over epochs.
func (r *reporter) lossPlot(path string, hist []model.EpochRecord) error {
	cfg := r.net.Cfg
	names := append(append([]string{}, model.LossNames...), "main")
	get := func(l model.Losses, i int) float64 {
		if i == len(model.LossNames) {
			return l.Main(&cfg)
		}
		return l.Values()[i]
	}
	var panels []plot.Panel
	for i, n := range names {
		if !usedComponent(cfg, n) {
			continue
		}
		tr, te := plot.Series{Name: "train"}, plot.Series{Name: "test"}
		for _, h := range hist {
			tr.X, tr.Y = append(tr.X, float64(h.Epoch)), append(tr.Y, get(h.Train, i))
			te.X, te.Y = append(te.X, float64(h.Epoch)), append(te.Y, get(h.Test, i))
		}
		panels = append(panels, plot.Panel{Title: n, Series: []plot.Series{tr, te}})
	}
	for _, space := range []string{"z", "w"} {
		if space == "w" && !cfg.HasW() && cfg.Model != "vae" {
			continue
		}
		if space == "z" && cfg.Arch == "conv" {
			// In 64 dimensions with a few hundred test images per label
			// the 1-NN estimate is noise; kl.csv still records it.
			continue
		}
		var series []plot.Series
		for _, attr := range cfg.Attrs {
			s := plot.Series{Name: attr}
			for _, k := range r.kl {
				if k.Attr == attr {
					v := k.Z
					if space == "w" {
						v = k.W
					}
					s.X, s.Y = append(s.X, float64(k.epoch)), append(s.Y, v)
				}
			}
			series = append(series, s)
		}
		panels = append(panels, plot.Panel{Title: "KL(y=1||y=0) in " + space + " (1-NN, test)", Series: series})
	}
	return plot.Panels(path, cfg.Model+" on "+cfg.Dataset+": loss components and latent KL", "epoch", panels, 3)
}

// usedComponent hides the loss components a model does not have.
func usedComponent(cfg model.Config, name string) bool {
	switch name {
	case "kl_w":
		return cfg.HasW()
	case "adv_term", "adv_bce":
		return cfg.Adversary() != ""
	case "mean_gap":
		return cfg.MeanGap > 0
	}
	return true
}

func column(rows [][]float64, j int) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = r[j]
	}
	return out
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

const klHeader = "epoch,attr,kl_z,kl_w,kl_z_sd,kl_w_sd,draws,n1,n0"

func writeKL(path string, rows []klRow) error {
	var b strings.Builder
	b.WriteString(klHeader + "\n")
	for _, k := range rows {
		w, wsd := "", ""
		if k.HasW {
			w, wsd = strconv.FormatFloat(k.W, 'f', 4, 64), strconv.FormatFloat(k.WSD, 'f', 4, 64)
		}
		fmt.Fprintf(&b, "%d,%s,%.4f,%s,%.4f,%s,%d,%d,%d\n", k.epoch, k.Attr, k.Z, w, k.ZSD, wsd, k.Draws, k.N1, k.N0)
	}
	return atomicfile.WriteFile(path, []byte(b.String()))
}

func readKL(path string) ([]klRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != klHeader {
		return nil, fmt.Errorf("%s: unexpected header", path)
	}
	var rows []klRow
	for i, rec := range recs[1:] {
		var k klRow
		var err error
		k.Attr = rec[1]
		k.HasW = rec[3] != ""
		for i, dst := range []any{&k.epoch, nil, &k.Z, &k.W, &k.ZSD, &k.WSD, &k.Draws, &k.N1, &k.N0} {
			if err != nil || dst == nil || rec[i] == "" {
				continue
			}
			switch d := dst.(type) {
			case *int:
				*d, err = strconv.Atoi(rec[i])
			case *float64:
				*d, err = strconv.ParseFloat(rec[i], 64)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+2, err)
		}
		rows = append(rows, k)
	}
	return rows, nil
}
