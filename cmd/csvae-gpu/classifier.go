package main

import (
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/classifier"
	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

// drawnAttrs are the attributes the synthetic faces draw visibly: the
// classifier's default.
const drawnAttrs = "Eyeglasses,Smiling,Male,Heavy_Makeup,Wearing_Lipstick,Mustache,Receding_Hairline,Wearing_Hat,Blond_Hair,Bangs"

func classifierCommand() *cli.Command {
	return &cli.Command{
		Name:  "classifier",
		Usage: "an attribute classifier, trained on real images only, that judges edited images",
		Subcommands: []*cli.Command{{
			Name:  "train",
			Usage: "train the classifier and report its test accuracy per attribute",
			Description: "A small convolutional network of its own (4x4 stride-2 convolutions 32-64-128, and 256 at\n" +
				"64x64, batch norm, a 128-unit dense layer), multi-label binary cross-entropy over --attrs,\n" +
				"trained on the training partition and scored on the test partition. Writes into --out:\n" +
				"classifier.safetensors, config.json and metrics.json (accuracy, balanced accuracy, true-positive\n" +
				"and true-negative rates per attribute).",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "data", Usage: "a cache written by prepare, or a CelebA-layout directory"},
				&cli.StringFlag{Name: "attrs", Value: drawnAttrs, Usage: "attributes to classify, by CelebA name"},
				&cli.StringFlag{Name: "out", Usage: "directory to write"},
				&cli.IntFlag{Name: "epochs", Value: 5},
				&cli.IntFlag{Name: "image-size", Usage: "image side (default: the cache's; 64 for a CelebA directory)"},
				&cli.IntFlag{Name: "batch", Value: 64},
				&cli.Float64Flag{Name: "lr", Value: 1e-3, Usage: "Adam learning rate"},
				&cli.Uint64Flag{Name: "seed", Value: 1},
				&cli.BoolFlag{Name: "balanced", Usage: "class-balanced cross-entropy (for rare attributes)"},
				&cli.BoolFlag{Name: "quiet", Usage: "no progress bar"},
			}, deviceFlags...),
			Action: trainClassifier,
		}, {
			Name:  "eval",
			Usage: "score a trained classifier on a split of any data, overall or within each value of another attribute",
			Description: "Prints accuracy, balanced accuracy, true-positive and true-negative rates per attribute on\n" +
				"--split of --data (default: the data it was trained on). With --by ATTR the same again within\n" +
				"the images with ATTR absent and present: a judge of edits should see, say, makeup on men as\n" +
				"well as on women, although the data holds few made-up men.",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "classifier", Usage: "a directory written by classifier train"},
				&cli.StringFlag{Name: "data", Usage: "a cache written by prepare, or a CelebA-layout directory (default: the classifier's training data)"},
				&cli.StringFlag{Name: "split", Value: "test", Usage: "train, valid or test"},
				&cli.StringFlag{Name: "by", Usage: "an attribute of the data to group the images by"},
				&cli.BoolFlag{Name: "quiet", Usage: "no progress bar while preparing a CelebA directory"},
			}, deviceFlags...),
			Action: evalClassifier,
		}},
	}
}

func splitList(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// openCacheAt opens the cache that --data names at the given image size (0:
// a cache file's own size, 64 for a directory).
func openCacheAt(data string, size int, quiet bool) (*dataset.Cache, error) {
	if data == "" {
		return nil, fmt.Errorf("--data is required: a cache written by prepare or a CelebA-layout directory")
	}
	if size == 0 {
		if st, err := os.Stat(data); err == nil && !st.IsDir() {
			return dataset.OpenCache(data)
		}
		size = 64
	}
	c, err := openImageCache(model.Config{Dataset: "celeba", Data: data, ImageSize: size}, quiet)
	if err != nil {
		return nil, err
	}
	if c.Size() != size {
		c.Close()
		return nil, fmt.Errorf("%s holds %dx%d images, --image-size asks for %dx%d", c.Path(), c.Size(), c.Size(), size, size)
	}
	return c, nil
}

func trainClassifier(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return fmt.Errorf("--out is required: the classifier directory to write")
	}
	attrs := splitList(c.String("attrs"))
	if len(attrs) == 0 {
		return fmt.Errorf("--attrs names no attribute")
	}
	if c.Int("image-size") < 0 {
		return fmt.Errorf("--image-size must be positive, got %d", c.Int("image-size"))
	}
	cache, err := openCacheAt(c.String("data"), c.Int("image-size"), c.Bool("quiet"))
	if err != nil {
		return err
	}
	defer cache.Close()
	train, err := cache.Split(0, attrs)
	if err != nil {
		return err
	}
	test, err := cache.Split(2, attrs)
	if err != nil {
		return err
	}
	if train.Len() == 0 || test.Len() == 0 {
		return fmt.Errorf("%s has %d training and %d test images; both partitions are needed", cache.Path(), train.Len(), test.Len())
	}
	cfg := classifier.DefaultConfig(attrs, cache.Size())
	cfg.Epochs, cfg.Batch, cfg.LR, cfg.Seed = c.Int("epochs"), c.Int("batch"), c.Float64("lr"), c.Uint64("seed")
	cfg.Balanced, cfg.Rates, cfg.Data = c.Bool("balanced"), dataset.LabelRates(train), c.String("data")
	if cfg.Epochs < 1 {
		return fmt.Errorf("--epochs must be positive, got %d", cfg.Epochs)
	}
	cl, err := classifier.New(be, cfg, cfg.Batch)
	if err != nil {
		return err
	}
	if err := writableDir(out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "classifier of %d attributes on %d training / %d test images at %dx%d, %d parameters, device %s\n",
		len(attrs), train.Len(), test.Len(), cfg.ImageSize, cfg.ImageSize, cl.Main.Size(), be.Name())
	per := (train.Len() + cfg.Batch - 1) / cfg.Batch
	bar := countBar(c.Bool("quiet"), cfg.Epochs*per, "classifier")
	var last []classifier.AttrScore
	err = cl.Train(train, test, func(e, b, batches int, _ float64) { bar.set(e*batches+b, cfg.Epochs*batches) },
		func(l classifier.EpochLog) {
			if bar.bar != nil {
				bar.bar.Clear()
			}
			mean := 0.0
			for _, s := range l.Scores {
				mean += s.Balanced
			}
			fmt.Fprintf(os.Stderr, "epoch %d/%d: train loss %.4f, test loss %.4f, mean balanced accuracy %.4f\n",
				l.Epoch, cfg.Epochs, l.TrainLoss, l.TestLoss, mean/float64(len(l.Scores)))
			last = l.Scores
		})
	bar.finish()
	if err != nil {
		return err
	}
	if err := cl.Save(out); err != nil {
		return err
	}
	if err := classifier.SaveMetrics(out, last); err != nil {
		return err
	}
	fmt.Printf("%-20s %8s %9s %7s %7s %9s %9s\n", "attribute", "accuracy", "balanced", "TPR", "TNR", "positives", "majority")
	for _, s := range last {
		fmt.Printf("%-20s %8.4f %9.4f %7.4f %7.4f %9d %9.4f\n", s.Attr, s.Accuracy, s.Balanced, s.TPR, s.TNR, s.Positives, s.Majority)
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", out)
	return nil
}

func evalClassifier(c *cli.Context) error {
	be, err := backendFor(c)
	if err != nil {
		return err
	}
	if c.String("classifier") == "" {
		return fmt.Errorf("--classifier is required: a directory written by classifier train")
	}
	cl, err := classifier.Load(c.String("classifier"), be, 256)
	if err != nil {
		return err
	}
	p, err := partitionOf(c.String("split"))
	if err != nil {
		return err
	}
	data := c.String("data")
	if data == "" {
		data = cl.Cfg.Data
	}
	cache, err := openCacheAt(data, cl.Cfg.ImageSize, c.Bool("quiet"))
	if err != nil {
		return err
	}
	defer cache.Close()
	s, err := cache.Split(p, cl.Cfg.Attrs)
	if err != nil {
		return err
	}
	if s.Len() == 0 {
		return fmt.Errorf("%s has no images in --split %s", cache.Path(), c.String("split"))
	}
	pred, y, err := cl.Decisions(s)
	if err != nil {
		return err
	}
	type group struct {
		name string
		idx  []int
	}
	all := make([]int, s.Len())
	for i := range all {
		all[i] = i
	}
	groups := []group{{"all", all}}
	if by := c.String("by"); by != "" {
		bs, err := cache.Split(p, []string{by})
		if err != nil {
			return fmt.Errorf("--by: %w", err)
		}
		byGroups := [2]group{{name: by + "=0"}, {name: by + "=1"}}
		for i, v := range dataset.Labels(bs, 0) {
			byGroups[v].idx = append(byGroups[v].idx, i)
		}
		groups = append(groups, byGroups[:]...)
	}
	fmt.Fprintf(os.Stderr, "classifier %s on the %s split of %s: %d images\n", c.String("classifier"), c.String("split"), cache.Path(), s.Len())
	fmt.Printf("%-12s %-20s %8s %9s %7s %7s %9s %9s\n", "images", "attribute", "accuracy", "balanced", "TPR", "TNR", "positives", "negatives")
	f := func(v float64, width int) string { // a rate of no images is "-"
		if math.IsNaN(v) {
			return fmt.Sprintf("%*s", width, "-")
		}
		return fmt.Sprintf("%*.4f", width, v)
	}
	k := cl.Cfg.K()
	for _, g := range groups {
		if len(g.idx) == 0 {
			fmt.Printf("%-12s (no images)\n", g.name)
			continue
		}
		gp, gy := make([]int, 0, len(g.idx)*k), make([]float32, 0, len(g.idx)*k)
		for _, i := range g.idx {
			gp, gy = append(gp, pred[i*k:(i+1)*k]...), append(gy, y[i*k:(i+1)*k]...)
		}
		for _, sc := range classifier.Score(cl.Cfg.Attrs, gp, gy, len(g.idx)) {
			fmt.Printf("%-12s %-20s %s %s %s %s %9d %9d\n", g.name, sc.Attr, f(sc.Accuracy, 8), f(sc.Balanced, 9), f(sc.TPR, 7), f(sc.TNR, 7), sc.Positives, sc.Negatives)
		}
	}
	return nil
}

// experimentCommands are the commands of the experiments (issue 5), added
// to the application in main.
func experimentCommands() []*cli.Command {
	cmds := []*cli.Command{classifierCommand(), manipulateCommand(), traverseCommand(), interpolateCommand(), leakCommand()}
	for _, c := range cmds {
		for _, s := range c.Subcommands {
			s.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return err }
		}
	}
	return cmds
}
