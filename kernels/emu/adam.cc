// Emulated build of the Adam optimizer kernels (see emu.h).
#include "../adam.cu"
