package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// openRun loads the model saved in a run directory.
func openRun(be model.Backend, dir string) (*model.Net, model.Position, error) {
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
