//go:build !gpu

package main

import (
	"errors"

	"github.com/csvae-gpu/csvae-gpu/model"
)

// gpuBackend answers --device gpu in the default build. gorgonia.org/cu
// exits the process in its init when no GPU is present, so the GPU runtime
// lives behind the build tag "gpu" and this binary never links it.
func gpuBackend() (model.Backend, error) {
	return nil, errors.New("this binary is CPU-only: build the GPU one with `make gpu` (needs nvcc: bash scripts/install-cuda.sh) and run bin/csvae-gpu on a host with an NVIDIA driver; or use --device cpu")
}
