//go:build gpu

package main

import (
	"fmt"
	"strings"

	"github.com/csvae-gpu/csvae-gpu/cuda"
	"github.com/csvae-gpu/csvae-gpu/model"
)

func gpuBackend() (model.Backend, error) {
	names, err := cuda.Devices()
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("found %s, but the GPU training backend is not written yet; use --device cpu", strings.Join(names, ", "))
}
