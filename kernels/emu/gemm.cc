// Emulated build of the dense-layer kernels (see emu.h).
#include "../gemm.cu"
