//go:build !amd64 || purego

package kernels

// gemmKernels lists the assembly kernels this CPU can run: none without
// amd64 or with the purego build tag, where Sgemm is sgemmPortable.
func gemmKernels() []*gemmKernel { return nil }

// packCopyAsm and packTransAsm stand in for the AVX packing loops of
// gemm_amd64.go, doing nothing.
func packCopyAsm(d []float32, w, panels int, src []float32, s, ld, kc int) bool { return false }

func packTransAsm(d []float32, w, rows int, src []float32, s, ld, kc int) int { return 0 }
