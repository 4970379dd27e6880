package main

// leak: what z still knows of an attribute, as pictures. eval's leakage
// column says how well a logistic regression reads y_j from the mean of z;
// this decodes faces moved along the direction that regression reads, so
// that one can see what the leaking code draws (for csvae's Smiling on the
// synthetic faces: teeth).

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/csvae-gpu/csvae-gpu/classifier"
	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/urfave/cli/v2"
)

func leakCommand() *cli.Command {
	return &cli.Command{
		Name:  "leak",
		Usage: "decode test images moved along the direction in z that eval's leakage regression reads an attribute from",
		Description: "Fits eval's leakage regression (a logistic regression on the posterior mean of z of --leak-n\n" +
			"training images; the vae: its whole latent) for --attr, and moves each input's code along the\n" +
			"regression's direction, in steps of the within-class standard deviation of the codes'\n" +
			"projection on it, w (or y) kept. Each row is an input, then its decodes from -SD to +SD (the\n" +
			"middle one is the reconstruction); the last row is the mean change, decode at +SD minus decode\n" +
			"at -SD over --mean-n images of the split (grey: none; then its size per pixel), which shows where in\n" +
			"the picture the direction acts. How much z knows is the accuracy in the title; the pictures\n" +
			"show what the direction it reads draws (for a z that knew nothing, whatever noise it fits).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run directory of an image run"},
			movedDataFlag, rawWeightsFlag,
			&cli.StringFlag{Name: "attr", Usage: "the attribute whose leakage to show"},
			&cli.StringFlag{Name: "split", Value: "test", Usage: "train, valid (image data) or test: where the inputs and the scored images come from"},
			&cli.IntFlag{Name: "leak-n", Value: 5000, Usage: "training images for the regression (as eval --leak-n)"},
			&cli.Float64Flag{Name: "sd", Value: 3, Usage: "the largest move, in within-class standard deviations of the projection"},
			&cli.IntFlag{Name: "steps", Value: 5, Usage: "decodes per input from -SD to +SD (odd: the middle one is the reconstruction)"},
			&cli.IntFlag{Name: "n", Value: 6, Usage: "input images (half with the attribute where possible)"},
			&cli.IntFlag{Name: "mean-n", Value: 256, Usage: "test images averaged in the mean-change row"},
			&cli.StringFlag{Name: "out", Usage: "PNG file to write (default: RUN/leak-ATTR.png)"},
		}, deviceFlags...),
		Action: leak,
	}
}

// probeDirection turns a logistic regression on standardised inputs into
// a direction u in the raw inputs (its logit is u·x plus a constant), the
// pooled within-class standard deviation s of u·x over the rows x with
// labels y, and the distance between the two classes' mean u·x in units
// of s. Moving a row by t·s·u/|u|² moves the logit by exactly t·s and the
// projection by t within-class standard deviations.
func probeDirection(l *classifier.Logistic, x [][]float64, y []int) (u []float64, s, gap float64) {
	u = make([]float64, len(l.Mean))
	for c := range u {
		u[c] = l.W[c] / l.SD[c]
	}
	var sum [2]float64
	var cnt [2]int
	proj := make([]float64, len(x))
	for i, r := range x {
		for c, v := range r {
			proj[i] += u[c] * v
		}
		sum[y[i]] += proj[i]
		cnt[y[i]]++
	}
	mean := func(k int) float64 { return sum[k] / float64(max(1, cnt[k])) }
	ss := 0.0
	for i, p := range proj {
		ss += (p - mean(y[i])) * (p - mean(y[i]))
	}
	s = math.Sqrt(ss / float64(max(1, len(x)-2)))
	return u, s, (mean(1) - mean(0)) / s
}

func leak(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	steps, n, meanN, sd := c.Int("steps"), c.Int("n"), c.Int("mean-n"), c.Float64("sd")
	if steps < 2 || steps > 15 || n < 1 || n > 16 || meanN < 1 || c.Int("leak-n") < 2 || !(sd > 0) || math.IsInf(sd, 0) {
		return fmt.Errorf("--steps must be in 2..15, --n in 1..16, --mean-n and --leak-n at least 1 and 2, --sd a positive number; got %d, %d, %d, %d, %g", steps, n, meanN, c.Int("leak-n"), sd)
	}
	if c.String("attr") == "" {
		return fmt.Errorf("--attr NAME is required")
	}
	r, err := openEditRun(c, be, c.String("run"))
	if err != nil {
		return err
	}
	defer r.data.Close()
	cfg := r.net.Cfg
	j, err := attrIndex(cfg, c.String("attr"))
	if err != nil {
		return err
	}
	s, err := r.data.pick(c.String("split"))
	if err != nil {
		return err
	}
	xtr, ytr := probeInputs(r.net, dataset.Subset(r.data.train, c.Int("leak-n")))
	xte, yte := probeInputs(r.net, s)
	ltr, lte := labelColumn(ytr, j), labelColumn(yte, j)
	if slices.Min(ltr) == slices.Max(ltr) {
		return fmt.Errorf("every one of the %d training images has %s = %d: there is nothing to read", len(ltr), cfg.Attrs[j], ltr[0])
	}
	probe, err := fitLeak(xtr, ltr, xte, lte)
	if err != nil {
		return err
	}
	u, within, gap := probeDirection(probe.plain, xtr, ltr)
	uu := 0.0
	for _, v := range u {
		uu += v * v
	}
	fmt.Printf("%s, %s: the regression reads it from z at %.3f on %d %s images (chance %.3f, balanced %.3f); the class means are %.2f within-class sd apart along its direction\n",
		cfg.Model, cfg.Attrs[j], probe.acc, len(lte), c.String("split"), probe.chance, probe.balanced, gap)

	zd := cfg.ZDim()
	moved := func(codes codes, t float64) []float32 {
		z, w, y := r.ed.latents(codes, nil)
		for i := range codes.n {
			for q := range zd {
				z[i*zd+q] += float32(t * within * u[q] / uu)
			}
		}
		return r.ed.decode(z, w, y, codes.n)
	}
	at := func(a int) float64 { return -sd + 2*sd*float64(a)/float64(steps-1) }

	idx := pickInputs(s, n, j)
	x, y := fillIdx(s, idx)
	inputs := r.ed.encode(x, y, len(idx))
	var imgs [][]float32
	var rowLabels []string
	colLabels := []string{"input"}
	for a := range steps {
		label := fmt.Sprintf("%+.3g sd", at(a))
		if at(a) == 0 {
			label = "recon"
		}
		colLabels = append(colLabels, label)
	}
	dec := make([][]float32, steps)
	for a := range steps {
		dec[a] = moved(inputs, at(a))
	}
	d := cfg.XDim
	for i := range idx {
		imgs = append(imgs, x[i*d:(i+1)*d])
		for a := range steps {
			imgs = append(imgs, dec[a][i*d:(i+1)*d])
		}
		rowLabels = append(rowLabels, fmt.Sprintf("#%d, %s=%d", i+1, cfg.Attrs[j], lte[idx[i]]))
	}

	signed, size, largest := meanChange(r, s, meanN, moved, sd)
	fmt.Printf("mean change from -%g to +%g sd over %d images: at most %.4f per pixel and channel\n", sd, sd, min(meanN, s.Len()), largest)
	row := [][]float32{signed, size}
	for len(row) < steps+1 {
		row = append(row, blank(d))
	}
	imgs = append(imgs, row...)
	rowLabels = append(rowLabels, "mean change")

	out := c.String("out")
	if out == "" {
		out = filepath.Join(r.dir, "leak-"+cfg.Attrs[j]+".png")
	}
	title := fmt.Sprintf("%s: z along its %s direction (read at %.3f, chance %.3f)", cfg.Model, cfg.Attrs[j], probe.acc, probe.chance)
	return writeGrid(out, cfg, imgs, steps+1, title, rowLabels, colLabels)
}

// meanChange decodes up to m images of s at +sd and -sd along the probe
// and returns their mean difference as a picture (grey 0.5 for none, the
// largest change at 0 or 1), its size per pixel summed over the channels
// (black for none, white for the largest), and the largest change.
func meanChange(r *editRun, s dataset.Split, m int, moved func(codes, float64) []float32, sd float64) (signed, size []float32, largest float64) {
	sub := dataset.Subset(s, m)
	x, y := fillAll(sub, r.net.Cfg)
	c := r.ed.encode(x, y, sub.Len())
	hi, lo := moved(c, sd), moved(c, -sd)
	d := r.net.Cfg.XDim
	diff := make([]float64, d)
	for i := range c.n {
		for p := range d {
			diff[p] += float64(hi[i*d+p]-lo[i*d+p]) / float64(c.n)
		}
	}
	for _, v := range diff {
		largest = max(largest, math.Abs(v))
	}
	scale := largest
	if scale == 0 {
		scale = 1
	}
	signed, size = make([]float32, d), make([]float32, d)
	plane := d / 3
	for p := range d {
		signed[p] = float32(0.5 + 0.5*diff[p]/scale)
	}
	for p := range plane {
		a := (math.Abs(diff[p]) + math.Abs(diff[plane+p]) + math.Abs(diff[2*plane+p])) / (3 * scale)
		size[p], size[plane+p], size[2*plane+p] = float32(a), float32(a), float32(a)
	}
	return signed, size, largest
}
