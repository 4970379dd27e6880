// Emulated build of the batch-norm kernels (see emu.h).
#include "../batchnorm.cu"
