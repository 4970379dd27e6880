package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/dataset"
	"github.com/csvae-gpu/csvae-gpu/model"
)

// Datasets the train command knows.
var datasetNames = []string{"swissroll", "celeba", "synth"}

func isImageDataset(name string) bool { return name == "celeba" || name == "synth" }

// splits is a run's data: the training and test splits, the validation
// split of image data (CelebA's partition 1, for choosing settings without
// looking at the test images), and the cache that backs image splits (kept
// mapped until the run ends).
type splits struct {
	train, valid, test dataset.Split
	cache              *dataset.Cache
}

func (s *splits) Close() {
	if s.cache != nil {
		s.cache.Close()
	}
}

// loadSplits returns the training and test splits a configuration names.
func loadSplits(cfg model.Config, quiet bool) (*splits, error) {
	switch cfg.Dataset {
	case "swissroll":
		tr, te := dataset.SwissRollSplits(cfg.DataSeed)
		if cfg.Standardize {
			dataset.Standardize(tr, te)
		}
		return &splits{train: tr, test: te}, nil
	case "celeba", "synth":
		cache, err := openImageCache(cfg, quiet)
		if err != nil {
			return nil, err
		}
		s := &splits{cache: cache}
		if cache.Size() != cfg.ImageSize {
			s.Close()
			return nil, fmt.Errorf("%s holds %dx%d images, the run wants %dx%d", cache.Path(), cache.Size(), cache.Size(), cfg.ImageSize, cfg.ImageSize)
		}
		if s.train, err = cache.Split(0, cfg.Attrs); err == nil {
			if s.valid, err = cache.Split(1, cfg.Attrs); err == nil {
				s.test, err = cache.Split(2, cfg.Attrs)
			}
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		if s.train.Len() == 0 || s.test.Len() == 0 {
			s.Close()
			return nil, fmt.Errorf("%s has %d training and %d test images; both partitions are needed", cache.Path(), s.train.Len(), s.test.Len())
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown dataset %q (want %s)", cfg.Dataset, strings.Join(datasetNames, ", "))
}

// openImageCache finds or makes the packed cache of an image run: --data
// names a cache file or a CelebA-layout directory (prepared once into
// DIR/csvae-SIZE.cache); synth without --data generates its faces under the
// user's cache directory first.
func openImageCache(cfg model.Config, quiet bool) (*dataset.Cache, error) {
	src := cfg.Data
	if cfg.Dataset == "synth" && src == "" {
		root, err := os.UserCacheDir()
		if err != nil {
			root = os.TempDir()
		}
		src = filepath.Join(root, "csvae-gpu", fmt.Sprintf("synth-n%d-seed%d", cfg.SynthN, cfg.DataSeed))
		if _, err := os.Stat(filepath.Join(src, "list_eval_partition.txt")); err != nil {
			if err := makeSynth(src, cfg.SynthN, cfg.DataSeed, 0, nil, quiet); err != nil {
				return nil, err
			}
		}
	}
	if src == "" {
		return nil, errors.New("--data is required for --dataset celeba: a CelebA directory or a cache written by prepare")
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("--data %s: %v", src, unwrapPath(err))
	}
	if !st.IsDir() {
		return dataset.OpenCache(src)
	}
	path := filepath.Join(src, fmt.Sprintf("csvae-%d.cache", cfg.ImageSize))
	if _, err := os.Stat(path); err != nil {
		if _, err := prepare(src, path, dataset.PrepareOptions{Size: cfg.ImageSize}, quiet); err != nil {
			return nil, err
		}
	}
	return dataset.OpenCache(path)
}

// loadSplit loads a configuration's data and picks the split called name;
// the caller closes the returned splits.
func loadSplit(cfg model.Config, name string) (*splits, dataset.Split, error) {
	data, err := loadSplits(cfg, true)
	if err != nil {
		return nil, nil, err
	}
	s, err := data.pick(name)
	if err != nil {
		data.Close()
		return nil, nil, err
	}
	return data, s, nil
}

// partitionOf is CelebA's partition (0 train, 1 valid, 2 test) that the
// --split name picks.
func partitionOf(name string) (int, error) {
	if p := slices.Index([]string{"train", "valid", "test"}, name); p >= 0 {
		return p, nil
	}
	return 0, fmt.Errorf("unknown --split %q (want train, valid or test)", name)
}

// pick returns the split called "train", "valid" or "test".
func (s *splits) pick(name string) (dataset.Split, error) {
	p, err := partitionOf(name)
	if err != nil {
		return nil, err
	}
	if p == 1 && (s.valid == nil || s.valid.Len() == 0) {
		return nil, errors.New("--split valid: this run's data has no validation images (swiss roll, or an empty partition 1)")
	}
	return [...]dataset.Split{s.train, s.valid, s.test}[p], nil
}
