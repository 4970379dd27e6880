// Emulated build of the elementwise kernels (see emu.h).
#include "../elementwise.cu"
