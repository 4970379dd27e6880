// Package cuda is the GPU runtime of csvae-gpu over gorgonia.org/cu.
//
// Everything that touches the driver is built only with the build tag "gpu":
// gorgonia.org/cu exits the process in its init when no GPU is present, so
// the default build never links it.
package cuda
