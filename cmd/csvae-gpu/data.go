package main

import (
	"fmt"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
)

// Datasets the train command knows, with what they configure.
var datasets = map[string]func(*model.Config){
	"swissroll": func(c *model.Config) { c.XDim, c.Attrs = 3, []string{"x1>=10"} },
}

// loadSplits returns the training and test splits a configuration names.
func loadSplits(cfg model.Config) (train, test dataset.Split, err error) {
	switch cfg.Dataset {
	case "swissroll":
		tr, te := dataset.SwissRollSplits(cfg.DataSeed)
		if cfg.Standardize {
			dataset.Standardize(tr, te)
		}
		return tr, te, nil
	}
	return nil, nil, fmt.Errorf("unknown dataset %q (want swissroll)", cfg.Dataset)
}

// labelRates is the share of training examples with each attribute present.
func labelRates(s dataset.Split) []float64 {
	rates := make([]float64, len(s.Attrs()))
	for a := range rates {
		pos := 0
		for _, v := range dataset.Labels(s, a) {
			pos += v
		}
		rates[a] = float64(pos) / float64(s.Len())
	}
	return rates
}

// split picks "train" or "test".
func split(cfg model.Config, name string) (dataset.Split, error) {
	tr, te, err := loadSplits(cfg)
	if err != nil {
		return nil, err
	}
	switch name {
	case "train":
		return tr, nil
	case "test":
		return te, nil
	}
	return nil, fmt.Errorf("unknown --split %q (want train or test)", name)
}
