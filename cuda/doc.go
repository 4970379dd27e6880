// Package cuda is the GPU runtime of csvae-gpu over gorgonia.org/cu: a
// gpu.Device on a real NVIDIA GPU (Open), with the kernels of package
// kernels compiled by `make kernels` into ptx/ and embedded.
//
// Everything that touches the driver is built only with the build tag "gpu":
// gorgonia.org/cu exits the process in its init when no GPU is present, so
// the default build never links it. What needs no driver (reading the kernel
// names and parameter lists out of PTX) builds always, and its test checks
// the generated PTX against the kernels' conventions on every CI run.
//
// Set CSVAE_CUDA_SYNC=1 to synchronise after every launch, so that a fault
// inside a kernel is reported with that kernel's name.
package cuda
