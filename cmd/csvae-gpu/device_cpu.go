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
	return nil, errors.New("this binary is CPU-only (built without the tag gpu), and this version has no GPU training backend yet; use --device cpu")
}
