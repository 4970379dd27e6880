//go:build gpu

package cuda

import (
	"fmt"

	"gorgonia.org/cu"
)

// Devices names the CUDA devices the driver reports.
func Devices() ([]string, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuDeviceGetCount: %w", err)
	}
	names := make([]string, 0, n)
	for i := 0; i < n; i++ {
		name, err := cu.Device(i).Name()
		if err != nil {
			return nil, fmt.Errorf("cuDeviceGetName(%d): %w", i, err)
		}
		names = append(names, name)
	}
	return names, nil
}
