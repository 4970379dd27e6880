// Package kernels holds every numeric kernel of csvae-gpu as a plain Go
// function over float32 slices: the CPU backend calls them directly, and each
// is the reference its CUDA twin (same name, same argument order, in a .cu
// file beside it) is tested against.
//
// Conventions, shared with the CUDA sources:
//   - Matrices are row-major. A dense layer's weight is [out, in], as in
//     PyTorch, so checkpoints and the reference implementation line up.
//   - Kernels that produce a gradient overwrite it unless their comment says
//     they accumulate; parameter gradients always accumulate.
//   - A loss kernel writes its batch-mean value to loss[0] and, when its
//     gradient slice is not nil, the gradient of scale*loss[0].
//   - Parallel work is split at fixed boundaries that do not depend on the
//     number of threads, and reductions are summed in float64 in a fixed
//     order, so results are the same on any machine.
package kernels
