// Emulated build of the convolution kernels (see emu.h).
#include "../conv.cu"
