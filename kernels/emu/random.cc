// Emulated build of the sampling kernels (see emu.h).
#include "../random.cu"
