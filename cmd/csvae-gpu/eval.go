package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "estimate how much each latent space knows of each attribute",
		Description: "Encodes the test split with sampled latents and estimates KL(y=1 || y=0) between the\n" +
			"latents of the two label groups with the 1-nearest-neighbour estimator of Wang,\n" +
			"Kulkarni and Verdu (2009), in z and in each attribute's subspace w_i. For csvae the\n" +
			"ideal is a KL near 0 in z (z knows nothing of y) and a large KL in w.\n" +
			"Several --run flags give one table." + editEvalDescription,
		Flags: append(append([]cli.Flag{
			&cli.StringSliceFlag{Name: "run", Usage: "run directory written by train (repeatable)"},
			movedDataFlag, rawWeightsFlag,
			&cli.StringFlag{Name: "split", Value: "test", Usage: "train, valid (image data) or test"},
			&cli.Uint64Flag{Name: "seed", Usage: "seed of the first draw of latent samples (default: derived from the run's seed)"},
			&cli.IntFlag{Name: "draws", Value: 10, Usage: "independent posterior draws to average the estimate over"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, markdown or json"},
		}, deviceFlags...), editFlags...),
		Action: evaluate,
	}
}

// evalResult is one run's row; its JSON is the machine-readable output.
type evalResult struct {
	Run      string             `json:"run"`
	Model    string             `json:"model"`
	Epochs   int                `json:"epochs"`
	Seconds  float64            `json:"train_seconds"`
	Split    string             `json:"split"`
	TestLoss map[string]float64 `json:"losses"`
	KL       []model.LatentKL   `json:"kl"`
}

func evaluate(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	if c.IsSet("classifier") {
		return evaluateEdits(c, be) // evaledit.go
	}
	runs := c.StringSlice("run")
	if len(runs) == 0 {
		return fmt.Errorf("--run is required: a directory written by csvae-gpu train")
	}
	format := c.String("format")
	if format != "text" && format != "markdown" && format != "json" {
		return fmt.Errorf("unknown --format %q (want text, markdown or json)", format)
	}
	var results []evalResult
	for _, dir := range runs {
		net, pos, err := openRun(c, be, dir)
		if err != nil {
			return err
		}
		if err := locateData(c, &net.Cfg, dir); err != nil {
			return err
		}
		data, s, err := loadSplit(net.Cfg, c.String("split"))
		if err != nil {
			return err
		}
		defer data.Close()
		seed := model.SampleSeed(net.Cfg)
		if c.IsSet("seed") {
			seed = c.Uint64("seed")
		}
		if c.Int("draws") < 1 {
			return fmt.Errorf("--draws must be at least 1, got %d", c.Int("draws"))
		}
		if net.Cfg.Arch == "conv" {
			s = dataset.Subset(s, klImages)
		}
		kls, _, err := model.EstimateKLDraws(net, s, seed, c.Int("draws"))
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		r := evalResult{Run: dir, Model: net.Cfg.Model, Epochs: pos.Epoch, Split: c.String("split"), KL: kls, TestLoss: map[string]float64{}}
		l := model.EvaluateSplit(net, s)
		for i, v := range l.Values() {
			r.TestLoss[model.LossNames[i]] = v
		}
		if hist, err := model.ReadLosses(filepath.Join(dir, model.LossesFile)); err == nil {
			for _, h := range hist {
				if h.Epoch == pos.Epoch {
					r.Seconds = h.Seconds
				}
			}
		}
		results = append(results, r)
	}
	switch format {
	case "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	case "markdown":
		fmt.Println("| model | attribute | epochs | train time | test recon | KL in z (mean ± sd) | KL in w (mean ± sd) |")
		fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range results {
			for _, k := range r.KL {
				fmt.Printf("| %s | %s | %d | %s | %.4f | %.3f ± %.3f | %s |\n", r.Model, k.Attr, r.Epochs,
					time.Duration(r.Seconds*float64(time.Second)).Round(time.Second), r.TestLoss["recon"], k.Z, k.ZSD, wCell(k))
			}
		}
	default:
		for _, r := range results {
			fmt.Printf("%s: %s, %d epochs, %s split, test recon %.4f\n", r.Run, r.Model, r.Epochs, r.Split, r.TestLoss["recon"])
			for _, k := range r.KL {
				fmt.Printf("  %-12s KL in z %6.3f ± %.3f   KL in w %s   (y=1: %d, y=0: %d; mean ± sd over %d draws)\n",
					k.Attr, k.Z, k.ZSD, wCell(k), k.N1, k.N0, k.Draws)
			}
		}
	}
	return nil
}

func wCell(k model.LatentKL) string {
	if !k.HasW {
		return "n/a"
	}
	return fmt.Sprintf("%.3f ± %.3f", k.W, k.WSD)
}
