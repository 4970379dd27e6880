package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

// rawWeightsFlag lets the commands that use a trained run take the weights
// of its last step instead of their moving average (train --ema).
var rawWeightsFlag = &cli.BoolFlag{Name: "raw-weights", Usage: "of a run trained with --ema: use the last step's weights, not their moving average"}

// openRun loads the model saved in a run directory: for a run trained with
// --ema, its averaged weights unless --raw-weights asks for the last step's.
func openRun(c *cli.Context, be model.Backend, dir string) (*model.Net, model.Position, error) {
	net, pos, err := openRunRaw(be, dir)
	if err == nil && !c.Bool("raw-weights") {
		net.UseAverage()
	}
	return net, pos, err
}

// openRunRaw loads the model saved in a run directory as its last step left it.
func openRunRaw(be model.Backend, dir string) (*model.Net, model.Position, error) {
	if dir == "" {
		return nil, model.Position{}, fmt.Errorf("--run is required: a directory written by csvae-gpu train")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, model.Position{}, fmt.Errorf("--run %s: no such run directory", dir)
	}
	ckpt := filepath.Join(dir, model.CheckpointFile)
	if _, err := os.Stat(ckpt); err != nil {
		return nil, model.Position{}, fmt.Errorf("--run %s: no %s there; is it a run directory of csvae-gpu train?", dir, model.CheckpointFile)
	}
	return model.LoadCheckpoint(ckpt, be, 0)
}

// movedDataFlag is the --data of the commands that read a run's data: a run
// names its data where it was at training time, and a run copied to another
// machine (trained on a GPU, edited on a laptop) finds it elsewhere.
var movedDataFlag = &cli.StringFlag{Name: "data", Usage: "where the run's data is now, when it has moved since training (a cache written by prepare, or a CelebA-layout directory)"}

// locateData points cfg, the configuration of the run in dir, at its data
// before the data is read: at --data when given, which must hold the same
// training labels the run saw, and otherwise where the run found it. Either
// way the path becomes absolute, so that two runs on one data set compare
// equal whatever directory each was started from.
func locateData(c *cli.Context, cfg *model.Config, dir string) error {
	if !isImageDataset(cfg.Dataset) {
		if c.IsSet("data") {
			return fmt.Errorf("--data: the run %s trained on %s, which has no data files", dir, cfg.Dataset)
		}
		return nil
	}
	if !c.IsSet("data") {
		if cfg.Data == "" {
			return nil // generated faces, found again from their seed
		}
		if _, err := os.Stat(cfg.Data); err != nil {
			return fmt.Errorf("--run %s trained on the data at %s, which is not there now (%v): pass --data with where that data is now",
				dir, cfg.Data, unwrapPath(err))
		}
		cfg.Data = absPath(cfg.Data)
		return nil
	}
	moved := *cfg
	moved.Data = absPath(c.String("data"))
	data, err := loadSplits(moved, true)
	if err != nil {
		return err
	}
	defer data.Close()
	// The training labels' rates are in every image run's configuration:
	// data with other rates is other data, and would train or score the run
	// on images it never saw.
	if got := dataset.LabelRates(data.train); len(cfg.LabelRates) == len(got) {
		for j, want := range cfg.LabelRates {
			if math.Abs(got[j]-want) > 1e-9 {
				return fmt.Errorf("--data %s is not the data the run %s trained on: %s is on %.4f of its %d training images, the run saw %.4f",
					c.String("data"), dir, cfg.Attrs[j], got[j], data.train.Len(), want)
			}
		}
	}
	cfg.Data = moved.Data
	return nil
}

// absPath is path made absolute, or path itself when the working directory
// cannot be read.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// shortPath is path relative to the working directory when it lies below it,
// for tables that name data without the machine's directory layout.
func shortPath(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(wd, path); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return path
}
