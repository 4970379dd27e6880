// Emulated build of the KL kernels (see emu.h).
#include "../kl.cu"
