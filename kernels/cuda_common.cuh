// Shared by every CUDA source of package kernels. nvcc compiles the .cu files
// to PTX for the GPU build; without nvcc (CI, tests) g++ compiles the very
// same files against the emulation header emu/emu.h, which runs the grid and
// block loops on the CPU (see kernels/emu).
//
// Conventions every kernel follows:
//   - declared with KERNEL (extern "C" __global__, so names are not mangled);
//   - parameters are 64-bit only: pointers, int64_t, uint64_t. gorgonia.org/cu
//     passes every argument as an 8-byte slot, so a float scalar travels as
//     the bits of a float32 in a uint64_t and is read back with f32();
//   - shared memory is static (__shared__ arrays of fixed size), never
//     extern __shared__, so the emulator can give each block its own copy;
//   - each file ends with one EMU_REGISTER(name) per kernel, which the
//     emulator uses to launch kernels by name (nvcc ignores it).
#pragma once

#ifdef __CUDACC__
#include <stdint.h>
#define KERNEL extern "C" __global__
#define EMU_REGISTER(name)
#else
#include "emu/emu.h"
#endif

// f32 reads a float32 scalar parameter passed as its bits in a 64-bit slot.
__device__ __forceinline__ float f32(uint64_t bits) { return __uint_as_float((unsigned int)bits); }
