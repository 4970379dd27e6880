//go:build gpu

package main

import (
	"github.com/csvae-gpu/csvae-gpu/cuda"
	"github.com/csvae-gpu/csvae-gpu/gpu"
	"github.com/csvae-gpu/csvae-gpu/model"
)

// gpuBackend opens CUDA device 0 (choose another with CUDA_VISIBLE_DEVICES)
// and returns the GPU backend over it.
func gpuBackend() (model.Backend, error) {
	dev, err := cuda.Open(0)
	if err != nil {
		return nil, err
	}
	return gpu.New(dev), nil
}
