// The emulator's own test kernels.
#include "testkernels.cu"
