// Emulated build of the loss kernels (see emu.h).
#include "../loss.cu"
