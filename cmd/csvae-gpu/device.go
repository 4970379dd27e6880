package main

import (
	"fmt"
	"runtime"

	"github.com/csvae-gpu/csvae-gpu/kernels"
	"github.com/csvae-gpu/csvae-gpu/model"
	"github.com/urfave/cli/v2"
)

var deviceFlags = []cli.Flag{
	&cli.StringFlag{Name: "device", Value: "cpu", Usage: "cpu or gpu"},
	&cli.IntFlag{Name: "threads", Usage: "CPU threads for the kernels (default: all cores)"},
}

// backendFor returns the backend the --device and --threads flags ask for.
func backendFor(c *cli.Context) (model.Backend, error) {
	if t := c.Int("threads"); t > 0 {
		kernels.Threads = t
		runtime.GOMAXPROCS(t)
	} else if t < 0 {
		return nil, fmt.Errorf("--threads must be positive, got %d", t)
	}
	switch d := c.String("device"); d {
	case "cpu":
		return model.CPU{}, nil
	case "gpu":
		return gpuBackend()
	default:
		return nil, fmt.Errorf("unknown --device %q (want cpu or gpu)", d)
	}
}
