package main

// Attribute manipulation with any of the five models, and the commands
// built on it: manipulate, traverse, interpolate (and eval --classifier).

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/atomicfile"
	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/csvae-gpu/csvae-gpu/plot"
	"github.com/urfave/cli/v2"
)

// editor edits the attributes of encoded images with one model:
//
//   - csvae, csvae-noadv: w_j is set to the prior mean of the wanted label
//     (a point on the line between the two labels' prior means for
//     positions between 0 and 1), z and the other subspaces kept;
//   - condvae, condvae-info: the image is encoded with its true labels and
//     decoded with y_j set to the wanted value;
//   - vae: z moves by (wanted - true label) times the difference between
//     the mean z of the training images with and without the attribute.
type editor struct {
	net *model.Net
	cfg model.Config
	// delta[j] is the vae's mean-difference direction of attribute j.
	delta [][]float32
}

// vaeDirectionImages is how many training images the vae's mean
// differences are computed on.
const vaeDirectionImages = 4000

func newEditor(net *model.Net, train dataset.Split) *editor {
	e := &editor{net: net, cfg: net.Cfg}
	if e.cfg.Model != "vae" {
		return e
	}
	s := dataset.Subset(train, vaeDirectionImages)
	x, y := fillAll(s, e.cfg)
	c := e.encode(x, y, s.Len())
	k, zd := e.cfg.K(), e.cfg.ZDim()
	for j := range k {
		sum := [2][]float64{make([]float64, zd), make([]float64, zd)}
		var cnt [2]int
		for i := range c.n {
			g := 0
			if y[i*k+j] > 0.5 {
				g = 1
			}
			cnt[g]++
			for d := range zd {
				sum[g][d] += float64(c.z[i*zd+d])
			}
		}
		dir := make([]float32, zd)
		if cnt[0] > 0 && cnt[1] > 0 {
			for d := range zd {
				dir[d] = float32(sum[1][d]/float64(cnt[1]) - sum[0][d]/float64(cnt[0]))
			}
		}
		e.delta = append(e.delta, dir)
	}
	return e
}

// codes are the posterior means of n images with their true labels.
type codes struct {
	n       int
	z, w, y []float32
}

func (e *editor) encode(x, y []float32, n int) codes {
	c := codes{n: n, y: append([]float32(nil), y[:n*e.cfg.K()]...)}
	d, k := e.cfg.XDim, e.cfg.K()
	for lo := 0; lo < n; lo += e.net.MaxBatch() {
		m := min(e.net.MaxBatch(), n-lo)
		l := e.net.EncodeHost(x[lo*d:(lo+m)*d], y[lo*k:(lo+m)*k], m)
		c.z = append(c.z, l.ZMu...)
		c.w = append(c.w, l.WMu...)
	}
	return c
}

// latents returns the decoder's inputs for the edits pos (attribute index
// -> position, 0 absent, 1 present; in between for interpolations).
func (e *editor) latents(c codes, pos map[int]float32) (z, w, y []float32) {
	z, w, y = slices.Clone(c.z), slices.Clone(c.w), slices.Clone(c.y)
	k, zd, wd := e.cfg.K(), e.cfg.ZDim(), e.cfg.WDim()
	var m0, m1 []float32 // learned prior: its means with y_j = 0 and 1
	for j, s := range pos {
		switch {
		case e.cfg.HasW():
			if e.cfg.LearnedPrior {
				y0, y1 := slices.Clone(c.y), slices.Clone(c.y)
				for i := range c.n {
					y0[i*k+j], y1[i*k+j] = 0, 1
				}
				m0, m1 = e.net.PriorMean(y0, c.n), e.net.PriorMean(y1, c.n)
			}
			for i := range c.n {
				for d := 2 * j; d < 2*j+2; d++ {
					a, b := e.cfg.Prior.Mu0, e.cfg.Prior.Mu1
					if m0 != nil {
						a, b = m0[i*wd+d], m1[i*wd+d]
					}
					w[i*wd+d] = (1-s)*a + s*b
				}
			}
		case e.cfg.Model == "vae":
			for i := range c.n {
				t := s - c.y[i*k+j]
				for d := range zd {
					z[i*zd+d] += t * e.delta[j][d]
				}
			}
		default:
			for i := range c.n {
				y[i*k+j] = s
			}
		}
	}
	return z, w, y
}

// decode decodes latents in batches.
func (e *editor) decode(z, w, y []float32, n int) []float32 {
	zd, wd, k := e.cfg.ZDim(), e.cfg.WDim(), e.cfg.K()
	var out []float32
	for lo := 0; lo < n; lo += e.net.MaxBatch() {
		m := min(e.net.MaxBatch(), n-lo)
		var ws []float32
		if wd > 0 {
			ws = w[lo*wd : (lo+m)*wd]
		}
		out = append(out, e.net.Decode(z[lo*zd:(lo+m)*zd], ws, y[lo*k:(lo+m)*k], m)...)
	}
	return out
}

// edit decodes c with the edits pos applied (none: the reconstruction).
func (e *editor) edit(c codes, pos map[int]float32) []float32 {
	z, w, y := e.latents(c, pos)
	return e.decode(z, w, y, c.n)
}

// fillAll reads every example of s.
func fillAll(s dataset.Split, cfg model.Config) (x, y []float32) {
	n := s.Len()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	x, y = make([]float32, n*s.Dim()), make([]float32, n*len(s.Attrs()))
	s.Fill(idx, x, y)
	return x, y
}

// pickInputs chooses n examples of s for a picture: half of them with
// attribute a present and half without where the split has enough, evenly
// spaced within each group, in split order.
func pickInputs(s dataset.Split, n, a int) []int {
	lab := dataset.Labels(s, a)
	var groups [2][]int
	for i, v := range lab {
		groups[v] = append(groups[v], i)
	}
	want1 := min(n/2, len(groups[1]))
	want0 := min(n-want1, len(groups[0]))
	want1 = min(n-want0, len(groups[1]))
	spaced := func(g []int, m int) []int {
		out := make([]int, m)
		for i := range out {
			out[i] = g[i*len(g)/m]
		}
		return out
	}
	idx := append(spaced(groups[1], want1), spaced(groups[0], want0)...)
	sort.Ints(idx)
	return idx
}

func fillIdx(s dataset.Split, idx []int) (x, y []float32) {
	x, y = make([]float32, len(idx)*s.Dim()), make([]float32, len(idx)*len(s.Attrs()))
	s.Fill(idx, x, y)
	return x, y
}

// editRun is a run opened for editing: the model, its data and an editor.
type editRun struct {
	dir  string
	net  *model.Net
	pos  model.Position
	data *splits
	ed   *editor
}

func openEditRun(c *cli.Context, be model.Backend, dir string) (*editRun, error) {
	net, pos, err := openRun(c, be, dir)
	if err != nil {
		return nil, err
	}
	if net.Cfg.Arch != "conv" {
		return nil, fmt.Errorf("--run %s trained on %s, which has no images to edit", dir, net.Cfg.Dataset)
	}
	if err := locateData(c, &net.Cfg, dir); err != nil {
		return nil, err
	}
	data, err := loadSplits(net.Cfg, true)
	if err != nil {
		return nil, err
	}
	return &editRun{dir: dir, net: net, pos: pos, data: data, ed: newEditor(net, data.train)}, nil
}

// attrIndex finds an attribute of the run, or says which it has.
func attrIndex(cfg model.Config, name string) (int, error) {
	j := slices.Index(cfg.Attrs, name)
	if j < 0 {
		return -1, fmt.Errorf("unknown attribute %q: the %s run models %s", name, cfg.Model, strings.Join(cfg.Attrs, ", "))
	}
	return j, nil
}

// editSpec is one column of manipulate: one or more attributes set to 0 or
// 1 at once ("Eyeglasses=1" or "Eyeglasses=1+Smiling=0").
type editSpec struct {
	label string
	pos   map[int]float32
	first int // the first attribute named
}

func parseEdit(cfg model.Config, s string) (editSpec, error) {
	e := editSpec{label: s, pos: map[int]float32{}}
	for i, part := range strings.Split(s, "+") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || (val != "0" && val != "1") {
			return e, fmt.Errorf("--attr %q: want NAME=0 or NAME=1 (several joined by +)", s)
		}
		j, err := attrIndex(cfg, name)
		if err != nil {
			return e, err
		}
		if i == 0 {
			e.first = j
		}
		if val == "1" {
			e.pos[j] = 1
		} else {
			e.pos[j] = 0
		}
	}
	return e, nil
}

func manipulateCommand() *cli.Command {
	return &cli.Command{
		Name:  "manipulate",
		Usage: "edit attributes of test images with any of the five models and write a PNG grid",
		Description: "Each --attr NAME=0|1 is one edited column (NAME=1+OTHER=0 edits several at once) beside the\n" +
			"input and its reconstruction. csvae and csvae-noadv set the attribute's subspace w_j to the\n" +
			"prior mean of the wanted label and keep z; condvae and condvae-info decode with the edited y;\n" +
			"the vae moves z along the difference of the mean z of the training images with and without\n" +
			"the attribute. With --images DIR every edit of --images-n test images is also written as\n" +
			"its own PNG, listed in DIR/edits.csv with the values of every attribute of the run it was\n" +
			"meant to have (the reconstructions too, as edit \"none\").",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run directory written by train (an image run)"},
			movedDataFlag, rawWeightsFlag,
			&cli.StringSliceFlag{Name: "attr", Usage: "NAME=0 or NAME=1 (repeatable; NAME=1+OTHER=0 for a joint edit)"},
			&cli.IntFlag{Name: "n", Value: 8, Usage: "input images in the grid (half with the first edited attribute where possible)"},
			&cli.StringFlag{Name: "out", Usage: "PNG file to write (default: RUN/manipulate.png)"},
			&cli.StringFlag{Name: "split", Value: "test", Usage: "train, valid (image data) or test"},
			&cli.StringFlag{Name: "images", Usage: "also write each edited image as its own PNG into this directory, with edits.csv"},
			&cli.IntFlag{Name: "images-n", Value: 500, Usage: "with --images: how many images to edit (evenly spaced through the split)"},
		}, deviceFlags...),
		Action: manipulate,
	}
}

func manipulate(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	if len(c.StringSlice("attr")) == 0 {
		return fmt.Errorf("--attr NAME=0|1 is required")
	}
	n := c.Int("n")
	if n < 1 || n > 256 {
		return fmt.Errorf("--n must be in 1..256, got %d", n)
	}
	r, err := openEditRun(c, be, c.String("run"))
	if err != nil {
		return err
	}
	defer r.data.Close()
	cfg := r.net.Cfg
	var edits []editSpec
	for _, a := range c.StringSlice("attr") {
		e, err := parseEdit(cfg, a)
		if err != nil {
			return err
		}
		edits = append(edits, e)
	}
	s, err := r.data.pick(c.String("split"))
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		out = filepath.Join(r.dir, "manipulate.png")
	}
	idx := pickInputs(s, n, edits[0].first)
	x, y := fillIdx(s, idx)
	codes := r.ed.encode(x, y, len(idx))
	cols := [][]float32{x, r.ed.edit(codes, nil)}
	colLabels := []string{"input", "recon"}
	for _, e := range edits {
		cols = append(cols, r.ed.edit(codes, e.pos))
		colLabels = append(colLabels, e.label)
	}
	var imgs [][]float32
	var rowLabels []string
	k := cfg.K()
	for i := range idx {
		for _, col := range cols {
			imgs = append(imgs, col[i*cfg.XDim:(i+1)*cfg.XDim])
		}
		rowLabels = append(rowLabels, labelString(cfg.Attrs, y[i*k:(i+1)*k]))
	}
	if err := writeGrid(out, cfg, imgs, len(cols), cfg.Model+": edits of "+c.String("split")+" images", rowLabels, colLabels); err != nil {
		return err
	}
	if dir := c.String("images"); dir != "" {
		return writeEditImages(dir, r, s, c.Int("images-n"), edits)
	}
	return nil
}

// writeEditImages writes the reconstruction and every edit of m images of s
// (evenly spaced) as PNGs into dir, and edits.csv: file, source image,
// edit, then the value of every attribute of the run the image was meant
// to have (the edited ones their targets, the others the input's labels).
func writeEditImages(dir string, r *editRun, s dataset.Split, m int, edits []editSpec) error {
	if m < 1 {
		return fmt.Errorf("--images-n must be positive, got %d", m)
	}
	if err := writableDir(dir); err != nil {
		return fmt.Errorf("--images: %v", strings.TrimPrefix(err.Error(), "--out: "))
	}
	cfg := r.net.Cfg
	m = min(m, s.Len())
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i * s.Len() / m
	}
	namer, _ := s.(interface{ Name(int) string })
	k := cfg.K()
	var rows [][]string
	rows = append(rows, append([]string{"file", "source", "edit"}, cfg.Attrs...))
	all := append([]editSpec{{label: "none", pos: map[int]float32{}}}, edits...)
	for lo := 0; lo < m; lo += 256 {
		part := idx[lo:min(lo+256, m)]
		x, y := fillIdx(s, part)
		codes := r.ed.encode(x, y, len(part))
		for ei, e := range all {
			imgs := r.ed.edit(codes, e.pos)
			for i, si := range part {
				file := fmt.Sprintf("%05d_%d.png", lo+i, ei)
				if err := plot.ImagePNG(filepath.Join(dir, file), imgs[i*cfg.XDim:(i+1)*cfg.XDim], cfg.ImageSize); err != nil {
					return err
				}
				src := strconv.Itoa(si)
				if namer != nil {
					src = namer.Name(si)
				}
				row := []string{file, src, e.label}
				for j := range k {
					v := y[i*k+j]
					if t, ok := e.pos[j]; ok {
						v = t
					}
					row = append(row, strconv.Itoa(int(v+0.5)))
				}
				rows = append(rows, row)
			}
		}
	}
	err := atomicfile.Write(filepath.Join(dir, "edits.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.WriteAll(rows)
		return cw.Error()
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d images and edits.csv to %s\n", len(rows)-1, dir)
	return nil
}

func traverseCommand() *cli.Command {
	return &cli.Command{
		Name:  "traverse",
		Usage: "decode a grid over an attribute's 2-D subspace W_j for a few test images (csvae, csvae-noadv)",
		Description: "For each input, a --steps x --steps block of decodes with w_j set to the grid's points and\n" +
			"z and the other subspaces kept; the input and its reconstruction in the first column. The grid\n" +
			"spans both labels' priors (two standard deviations around each mean); with a learned prior,\n" +
			"the range of the test images' w_j.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run directory of a csvae or csvae-noadv image run"},
			movedDataFlag, rawWeightsFlag,
			&cli.StringFlag{Name: "attr", Usage: "the attribute whose subspace to traverse"},
			&cli.IntFlag{Name: "steps", Value: 7, Usage: "grid points per coordinate"},
			&cli.IntFlag{Name: "n", Value: 3, Usage: "input images"},
			&cli.StringFlag{Name: "out", Usage: "PNG file to write (default: RUN/traverse-ATTR.png)"},
		}, deviceFlags...),
		Action: traverse,
	}
}

func traverse(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	steps, n := c.Int("steps"), c.Int("n")
	if steps < 2 || steps > 25 || n < 1 || n > 16 {
		return fmt.Errorf("--steps must be in 2..25 and --n in 1..16, got %d and %d", steps, n)
	}
	if c.String("attr") == "" {
		return fmt.Errorf("--attr NAME is required")
	}
	net, _, err := openRun(c, be, c.String("run"))
	if err != nil {
		return err
	}
	if !net.Cfg.HasW() {
		return fmt.Errorf("traverse needs a w subspace, and the %s model has none (only csvae and csvae-noadv do); use manipulate or interpolate", net.Cfg.Model)
	}
	j, err := attrIndex(net.Cfg, c.String("attr"))
	if err != nil {
		return err
	}
	r, err := openEditRun(c, be, c.String("run"))
	if err != nil {
		return err
	}
	defer r.data.Close()
	cfg := r.net.Cfg
	idx := pickInputs(r.data.test, n, j)
	x, y := fillIdx(r.data.test, idx)
	codes := r.ed.encode(x, y, len(idx))
	recon := r.ed.edit(codes, nil)
	lo, hi := subspaceRange(r, j)
	at := func(t int) float32 { return lo + (hi-lo)*float32(t)/float32(steps-1) }
	white := blank(cfg.XDim)
	var imgs [][]float32
	var rowLabels []string
	colLabels := []string{""}
	for a := range steps {
		colLabels = append(colLabels, fmt.Sprintf("w1=%.2g", at(a)))
	}
	wd := cfg.WDim()
	for i := range idx {
		// Every grid point of this input in one decode: steps*steps codes.
		m := steps * steps
		zi, wi0 := codes.z[i*cfg.ZDim():(i+1)*cfg.ZDim()], codes.w[i*wd:(i+1)*wd]
		z, w := make([]float32, 0, m*cfg.ZDim()), make([]float32, 0, m*wd)
		for row := range steps {
			for col := range steps {
				wi := slices.Clone(wi0)
				wi[2*j], wi[2*j+1] = at(col), at(steps-1-row)
				z, w = append(z, zi...), append(w, wi...)
			}
		}
		dec := r.ed.decode(z, w, make([]float32, m*cfg.K()), m)
		for row := range steps {
			first := white
			switch row {
			case 0:
				first = x[i*cfg.XDim : (i+1)*cfg.XDim]
			case 1:
				first = recon[i*cfg.XDim : (i+1)*cfg.XDim]
			}
			imgs = append(imgs, first)
			for col := range steps {
				p := row*steps + col
				imgs = append(imgs, dec[p*cfg.XDim:(p+1)*cfg.XDim])
			}
			label := fmt.Sprintf("w2=%.2g", at(steps-1-row))
			switch row {
			case 0:
				label = fmt.Sprintf("#%d input, %s", i+1, label)
			case 1:
				label = "recon, " + label
			}
			rowLabels = append(rowLabels, label)
		}
	}
	out := c.String("out")
	if out == "" {
		out = filepath.Join(r.dir, "traverse-"+cfg.Attrs[j]+".png")
	}
	title := fmt.Sprintf("%s: w of %s over a grid (prior means: present %.2g, absent %.2g)", cfg.Model, cfg.Attrs[j], cfg.Prior.Mu1, cfg.Prior.Mu0)
	return writeGrid(out, cfg, imgs, steps+1, title, rowLabels, colLabels)
}

// subspaceRange is the span of a traversal of w_j: both fixed priors to two
// standard deviations, or with a learned prior the range of the test
// images' w_j.
func subspaceRange(r *editRun, j int) (lo, hi float32) {
	cfg := r.net.Cfg
	if !cfg.LearnedPrior {
		p := cfg.Prior
		s1, s0 := 2*expHalf(p.LogVar1), 2*expHalf(p.LogVar0)
		return min(p.Mu1-s1, p.Mu0-s0), max(p.Mu1+s1, p.Mu0+s0)
	}
	s := dataset.Subset(r.data.test, 256)
	x, y := fillAll(s, cfg)
	c := r.ed.encode(x, y, s.Len())
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	wd := cfg.WDim()
	for i := range c.n {
		for d := 2 * j; d < 2*j+2; d++ {
			lo, hi = min(lo, c.w[i*wd+d]), max(hi, c.w[i*wd+d])
		}
	}
	return lo, hi
}

func interpolateCommand() *cli.Command {
	return &cli.Command{
		Name:  "interpolate",
		Usage: "decode test images along a line from an attribute absent to present, for one or two runs side by side",
		Description: "csvae, csvae-noadv: w_j from the prior mean of the absent label to that of the present one;\n" +
			"condvae, condvae-info: y_j from 0 to 1; vae: z along the mean difference of the two label\n" +
			"groups, from where an image without the attribute would sit to where one with it would.\n" +
			"With --run2 each input gets a row per run (e.g. csvae and condvae), from the same inputs.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "run", Usage: "run directory of an image run"},
			&cli.StringFlag{Name: "run2", Usage: "a second run on the same data, shown beside the first"},
			movedDataFlag, rawWeightsFlag,
			&cli.StringFlag{Name: "attr", Usage: "the attribute to interpolate"},
			&cli.IntFlag{Name: "steps", Value: 7, Usage: "points along the line, ends included"},
			&cli.IntFlag{Name: "n", Value: 4, Usage: "input images"},
			&cli.StringFlag{Name: "out", Usage: "PNG file to write (default: RUN/interpolate-ATTR.png)"},
		}, deviceFlags...),
		Action: interpolate,
	}
}

func interpolate(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	steps, n := c.Int("steps"), c.Int("n")
	if steps < 2 || steps > 25 || n < 1 || n > 32 {
		return fmt.Errorf("--steps must be in 2..25 and --n in 1..32, got %d and %d", steps, n)
	}
	name := c.String("attr")
	if name == "" {
		return fmt.Errorf("--attr NAME is required")
	}
	dirs := []string{c.String("run")}
	if d := c.String("run2"); d != "" {
		dirs = append(dirs, d)
	}
	var runs []*editRun
	var js []int
	for _, d := range dirs {
		r, err := openEditRun(c, be, d)
		if err != nil {
			return err
		}
		defer r.data.Close()
		j, err := attrIndex(r.net.Cfg, name)
		if err != nil {
			return err
		}
		if len(runs) > 0 {
			a, b := runs[0].net.Cfg, r.net.Cfg
			generated := a.Dataset == "synth" && a.Data == "" && (a.SynthN != b.SynthN || a.DataSeed != b.DataSeed)
			if a.Dataset != b.Dataset || a.Data != b.Data || a.ImageSize != b.ImageSize || generated {
				return fmt.Errorf("--run2 %s trained on other data (%s %s at %dx%d) than --run (%s %s at %dx%d); both must show the same images",
					d, b.Dataset, b.Data, b.ImageSize, b.ImageSize, a.Dataset, a.Data, a.ImageSize, a.ImageSize)
			}
		}
		runs, js = append(runs, r), append(js, j)
	}
	// The inputs come from the first run's test split; each run encodes
	// them with its own attributes' labels.
	idx := pickInputs(runs[0].data.test, n, js[0])
	x, _ := fillIdx(runs[0].data.test, idx)
	var outs [][]([]float32) // per run, per step: decoded images
	var ys [][]float32
	for ri, r := range runs {
		_, y := fillIdx(r.data.test, idx)
		codes := r.ed.encode(x, y, len(idx))
		var per [][]float32
		for t := range steps {
			s := float32(t) / float32(steps-1)
			per = append(per, r.ed.edit(codes, map[int]float32{js[ri]: s}))
		}
		outs, ys = append(outs, per), append(ys, y)
	}
	cfg := runs[0].net.Cfg
	var imgs [][]float32
	var rowLabels []string
	colLabels := []string{"input"}
	for t := range steps {
		colLabels = append(colLabels, fmt.Sprintf("%.2g", float64(t)/float64(steps-1)))
	}
	colLabels[1], colLabels[steps] = "absent", "present"
	k0 := cfg.K()
	for i := range idx {
		for ri, r := range runs {
			imgs = append(imgs, x[i*cfg.XDim:(i+1)*cfg.XDim])
			for t := range steps {
				imgs = append(imgs, outs[ri][t][i*cfg.XDim:(i+1)*cfg.XDim])
			}
			label := r.net.Cfg.Model
			if ri == 0 {
				label = fmt.Sprintf("#%d %s (%s)", i+1, label, labelString(cfg.Attrs, ys[0][i*k0:(i+1)*k0]))
			}
			rowLabels = append(rowLabels, label)
		}
	}
	out := c.String("out")
	if out == "" {
		out = filepath.Join(runs[0].dir, "interpolate-"+name+".png")
	}
	var models []string
	for _, r := range runs {
		models = append(models, r.net.Cfg.Model)
	}
	return writeGrid(out, cfg, imgs, steps+1, strings.Join(models, " vs ")+": "+name+" from absent to present", rowLabels, colLabels)
}
