//go:build !gpu

package main

import (
	"errors"

	"github.com/csvae-gpu/csvae-gpu/model"
)

func gpuBackend() (model.Backend, error) {
	return nil, errors.New("this binary is CPU-only: build the GPU one with `make gpu` (needs the CUDA toolkit, see scripts/install-cuda.sh) and run bin/csvae-gpu")
}
