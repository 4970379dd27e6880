package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/csvae-gpu/csvae-gpu/plot"
	"github.com/urfave/cli/v2"
)

func synthCommand() *cli.Command {
	return &cli.Command{
		Name:  "synth",
		Usage: "write procedural faces in CelebA's published layout",
		Description: "Writes DIR/img_align_celeba/NNNNNN.jpg, list_attr_celeba.txt (all 40 CelebA names) and\n" +
			"list_eval_partition.txt. Ten attributes are drawn (Eyeglasses, Smiling, Male, Heavy_Makeup,\n" +
			"Wearing_Lipstick, Mustache, Receding_Hairline, Wearing_Hat, Blond_Hair, Bangs), with\n" +
			"CelebA-like correlations. The same --n and --seed always give the same files.\n\n" +
			"With --flip Eyeglasses (or Smiling, Heavy_Makeup, or several) it writes the same faces\n" +
			"with that attribute reversed and nothing else changed: the edit an ideal editor would make,\n" +
			"which eval --ideal scores as the ceiling of the manipulation measures.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "directory to write"},
			&cli.IntFlag{Name: "n", Value: 20000, Usage: "number of faces"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
			&cli.IntFlag{Name: "size", Usage: "write size x size images (default: CelebA's 178x218)"},
			&cli.StringFlag{Name: "flip", Usage: "write the same faces with these attributes reversed (" + strings.Join(dataset.SynthFlippable, ", ") + ")"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress bar"},
		},
		Action: func(c *cli.Context) error {
			if c.String("out") == "" {
				return fmt.Errorf("--out is required: the directory to write")
			}
			if c.Int("n") < 1 || c.Int("size") < 0 {
				return fmt.Errorf("--n must be positive and --size not negative, got %d and %d", c.Int("n"), c.Int("size"))
			}
			return makeSynth(c.String("out"), c.Int("n"), c.Uint64("seed"), c.Int("size"), splitList(c.String("flip")), c.Bool("quiet"))
		},
	}
}

func makeSynth(dir string, n int, seed uint64, size int, flip []string, quiet bool) error {
	bar := countBar(quiet, n, "synth faces")
	var err error
	if len(flip) > 0 {
		err = dataset.WriteSynthCounterfactuals(dir, n, seed, size, flip, bar.set)
	} else {
		err = dataset.WriteSynthFaces(dir, n, seed, size, bar.set)
	}
	bar.finish()
	if err != nil {
		return err
	}
	what := "faces"
	if len(flip) > 0 {
		what = "faces with " + strings.Join(flip, ", ") + " flipped"
	}
	fmt.Fprintf(os.Stderr, "wrote %d %s in CelebA's layout to %s\n", n, what, dir)
	return nil
}

func prepareCommand() *cli.Command {
	return &cli.Command{
		Name:  "prepare",
		Usage: "decode a CelebA-layout directory once into a packed cache that training maps into memory",
		Description: "Centre-crops each aligned 178x218 image to 148x148 and resizes it to --size with an area\n" +
			"filter, in parallel. The cache holds uint8 images, all 40 attributes, the partitions, a\n" +
			"versioned header and a checksum; it is written to a temporary name and renamed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "celeba", Usage: "directory with img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt"},
			&cli.StringFlag{Name: "out", Usage: "cache file to write"},
			&cli.IntFlag{Name: "size", Value: 64, Usage: "image side after resizing"},
			&cli.BoolFlag{Name: "skip-bad", Usage: "skip unreadable images (and count them) instead of stopping"},
			&cli.IntFlag{Name: "limit", Usage: "only the first N images"},
			&cli.IntFlag{Name: "workers", Usage: "decoding goroutines (default: all cores)"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress bar"},
		},
		Action: func(c *cli.Context) error {
			if c.String("celeba") == "" || c.String("out") == "" {
				return fmt.Errorf("--celeba DIR and --out FILE are required")
			}
			rep, err := prepare(c.String("celeba"), c.String("out"), dataset.PrepareOptions{
				Size: c.Int("size"), SkipBad: c.Bool("skip-bad"), Limit: c.Int("limit"), Workers: c.Int("workers"),
			}, c.Bool("quiet"))
			if err != nil {
				return err
			}
			for _, why := range rep.SkipReasons {
				fmt.Fprintln(os.Stderr, "skipped:", why)
			}
			return nil
		},
	}
}

func prepare(dir, out string, opt dataset.PrepareOptions, quiet bool) (dataset.PrepareReport, error) {
	bar := countBar(quiet, 0, "prepare "+dir)
	opt.Progress = bar.set
	rep, err := dataset.PrepareCelebA(dir, out, opt)
	bar.finish()
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(os.Stderr, "prepared %d images (%d train, %d valid, %d test; %d skipped) at %dx%d into %s (%.1f MB)\n",
		rep.Images, rep.Partitions[0], rep.Partitions[1], rep.Partitions[2], rep.Skipped, rep.Size, rep.Size, out, float64(rep.Bytes)/1e6)
	return rep, nil
}

func sampleCommand() *cli.Command {
	return &cli.Command{
		Name:  "sample",
		Usage: "decode draws from the prior of an image run into a PNG grid",
		Description: "z ~ N(0, I); for csvae each attribute's w from its prior for a label drawn at its training\n" +
			"base rate, for condvae the labels themselves; one column per draw, rows labelled.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run directory written by train"},
			rawWeightsFlag,
			&cli.StringFlag{Name: "out", Usage: "PNG file to write"},
			&cli.IntFlag{Name: "n", Value: 32, Usage: "number of samples"},
			&cli.Uint64Flag{Name: "seed", Value: 1},
		}, deviceFlags...),
		Action: func(c *cli.Context) error {
			be, err := backendFor(c)
			if err != nil {
				return err
			}
			net, _, err := openRun(c, be, c.String("run"))
			if err != nil {
				return err
			}
			if err := needImages(net.Cfg, c.String("out")); err != nil {
				return err
			}
			n := c.Int("n")
			if n < 1 || n > 1024 {
				return fmt.Errorf("--n must be in 1..1024, got %d", n)
			}
			var imgs [][]float32
			var labels []string
			r := rand.New(rand.NewPCG(c.Uint64("seed"), 7))
			for lo := 0; lo < n; lo += net.MaxBatch() {
				m := min(net.MaxBatch(), n-lo)
				z, w, y := priorDraw(net.Cfg, r, m)
				imgs = append(imgs, splitImages(net.Decode(z, w, y, m), m)...)
				for i := range m {
					labels = append(labels, labelString(net.Cfg.Attrs, y[i*net.Cfg.K():(i+1)*net.Cfg.K()]))
				}
			}
			cols := min(8, n)
			return writeGrid(c.String("out"), net.Cfg, imgs, cols, net.Cfg.Model+": samples from the prior", nil, labels)
		},
	}
}

// priorDraw draws m latent codes from the model's prior: z ~ N(0,I), labels
// at the training base rates, w from p(w|y) (the fixed prior; a learned one
// is decoded at its mean for the drawn labels is not available here, so
// w falls back to the fixed prior).
func priorDraw(cfg model.Config, r *rand.Rand, m int) (z, w, y []float32) {
	k := cfg.K()
	z = make([]float32, m*cfg.ZDim())
	for i := range z {
		z[i] = float32(r.NormFloat64())
	}
	y = make([]float32, m*k)
	for i := range y {
		rate := 0.5
		if len(cfg.LabelRates) == k {
			rate = cfg.LabelRates[i%k]
		}
		if r.Float64() < rate {
			y[i] = 1
		}
	}
	if cfg.HasW() {
		w = make([]float32, m*cfg.WDim())
		for i := range w {
			mu, lv := cfg.Prior.Mu0, cfg.Prior.LogVar0
			if y[(i/cfg.WDim())*k+(i%cfg.WDim())/2] > 0.5 {
				mu, lv = cfg.Prior.Mu1, cfg.Prior.LogVar1
			}
			w[i] = mu + float32(r.NormFloat64())*expHalf(lv)
		}
	}
	return z, w, y
}

func reconstructCommand() *cli.Command {
	return &cli.Command{
		Name:  "reconstruct",
		Usage: "write test images beside their reconstructions (posterior means) as a PNG grid",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run directory written by train"},
			movedDataFlag, rawWeightsFlag,
			&cli.StringFlag{Name: "out", Usage: "PNG file to write"},
			&cli.StringFlag{Name: "split", Value: "test", Usage: "train, valid (image data) or test"},
			&cli.IntFlag{Name: "n", Value: 16, Usage: "number of images"},
		}, deviceFlags...),
		Action: func(c *cli.Context) error {
			be, err := backendFor(c)
			if err != nil {
				return err
			}
			net, _, err := openRun(c, be, c.String("run"))
			if err != nil {
				return err
			}
			if err := needImages(net.Cfg, c.String("out")); err != nil {
				return err
			}
			if err := locateData(c, &net.Cfg, c.String("run")); err != nil {
				return err
			}
			data, s, err := loadSplit(net.Cfg, c.String("split"))
			if err != nil {
				return err
			}
			defer data.Close()
			n := min(c.Int("n"), s.Len(), net.MaxBatch())
			if n < 1 {
				return fmt.Errorf("--n must be positive")
			}
			return reconstructionGrid(c.String("out"), net, s, n)
		},
	}
}

// reconstructionGrid writes n examples of s (evenly spaced) in one row and
// their reconstructions from the posterior means in the row below.
func reconstructionGrid(path string, net *model.Net, s dataset.Split, n int) error {
	cfg := net.Cfg
	sub := dataset.Subset(s, n)
	idx := make([]int, sub.Len())
	for i := range idx {
		idx[i] = i
	}
	x, y := make([]float32, len(idx)*cfg.XDim), make([]float32, len(idx)*cfg.K())
	sub.Fill(idx, x, y)
	lat := net.EncodeHost(x, y, len(idx))
	xhat := net.Decode(lat.ZMu, lat.WMu, y, len(idx))
	imgs := append(splitImages(x, len(idx)), splitImages(xhat, len(idx))...)
	return writeGrid(path, cfg, imgs, len(idx), cfg.Model+": test images (top) and reconstructions (bottom)", []string{"input", "recon"}, nil)
}

func needImages(cfg model.Config, out string) error {
	if cfg.Arch != "conv" {
		return fmt.Errorf("this run trained on %s, which has no images", cfg.Dataset)
	}
	if out == "" {
		return fmt.Errorf("--out is required: the PNG file to write")
	}
	return nil
}

func splitImages(v []float32, n int) [][]float32 {
	d := len(v) / n
	out := make([][]float32, n)
	for i := range out {
		out[i] = v[i*d : (i+1)*d]
	}
	return out
}

func writeGrid(path string, cfg model.Config, imgs [][]float32, cols int, title string, rowLabels, colLabels []string) error {
	scale := 2
	if cfg.ImageSize >= 64 {
		scale = 1
	}
	if err := plot.ImageGrid(path, imgs, 3, cfg.ImageSize, cfg.ImageSize, cols, scale, title, rowLabels, colLabels); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", path)
	return nil
}

// blank is a white picture of d values, to pad a grid row.
func blank(d int) []float32 {
	b := make([]float32, d)
	for i := range b {
		b[i] = 1
	}
	return b
}

func labelString(attrs []string, y []float32) string {
	var on, short []string
	for j, v := range y {
		if v > 0.5 {
			on = append(on, attrs[j])
			short = append(short, abbrev(attrs[j]))
		}
	}
	if len(on) == 0 {
		return "-"
	}
	// Whole names while they fit beside a picture, abbreviations past that.
	if full := strings.Join(on, " "); len(full) <= 18 {
		return full
	}
	return strings.Join(short, " ")
}

// abbrev shortens an attribute name for a grid label: Wearing_Lipstick -> WL.
func abbrev(name string) string {
	parts := strings.Split(name, "_")
	if len(parts) == 1 {
		if len(name) > 6 {
			return name[:6]
		}
		return name
	}
	var b strings.Builder
	for _, p := range parts {
		if p != "" {
			b.WriteByte(p[0])
		}
	}
	return b.String()
}

func expHalf(logvar float32) float32 { return float32(math.Exp(0.5 * float64(logvar))) }
