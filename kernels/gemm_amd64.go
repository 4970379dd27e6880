//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run gemm_asmgen.go

// The assembly micro-kernels of gemm_amd64.s; see gemmKernel.fn for what
// they compute.
//
//go:noescape
func sgemmKernel8x32AVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmKernel6x16AVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32)

// The blocking: a k block of 256 keeps an 8×256 panel of A (8 KiB) and a
// 256×32 panel of B (32 KiB) in a 48 KiB L1, and a strip of 256 packs to a
// 256×256 block (256 KiB) that stays in L2. On the Zen 5 core this was
// measured on, k blocks of 128 to 1024 and strips of 256 to 1024 all ran
// within a few percent of each other.
var (
	sgemmKernelAVX512 = &gemmKernel{name: "avx512_8x32", mr: 8, nr: 32, kc: 256, strip: 256, asmPack: true, fn: func(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
		_, _, _ = a[8*kc-1], b[32*kc-1], c[7*ldc+31]
		sgemmKernel8x32AVX512(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
	}}
	sgemmKernelAVX2 = &gemmKernel{name: "avx2_6x16", mr: 6, nr: 16, kc: 256, strip: 256, asmPack: true, fn: func(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
		_, _, _ = a[6*kc-1], b[16*kc-1], c[5*ldc+15]
		sgemmKernel6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, alpha, beta)
	}}
)

// gemmExtraKernels holds kernels that are tested and benchmarked but never
// the default (gemm_simd_amd64.go adds the archsimd one).
var gemmExtraKernels []*gemmKernel

// gemmKernels lists the kernels this CPU can run, fastest first.
func gemmKernels() []*gemmKernel {
	var ks []*gemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, sgemmKernelAVX512)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, sgemmKernelAVX2)
	}
	return append(ks, gemmExtraKernels...)
}

//go:noescape
func sgemmPackCopyAVX(dst, src *float32, ld, kc, w, panels int)

//go:noescape
func sgemmPackTrans8AVX(dst *float32, dstride int, src *float32, ld, kc int)

// packCopyAsm sets d[q*kc*w+p*w+x] = src[s+p*ld+q*w+x] for q < panels,
// p < kc, x < w, and reports whether it could (AVX, w a multiple of 8).
func packCopyAsm(d []float32, w, panels int, src []float32, s, ld, kc int) bool {
	if !cpu.X86.HasAVX || w%8 != 0 || kc <= 0 || panels <= 0 {
		return false
	}
	_, _ = d[panels*kc*w-1], src[s+(kc-1)*ld+panels*w-1]
	sgemmPackCopyAVX(&d[0], &src[s], ld, kc, w, panels)
	return true
}

// packTransAsm sets d[p*w+r] = src[s+r*ld+p] for r < rows and p < done,
// where done is kc rounded down to a multiple of 8, or 0 without AVX. rows
// is a multiple of 8, at most w.
func packTransAsm(d []float32, w, rows int, src []float32, s, ld, kc int) (done int) {
	kc8 := kc &^ 7
	if !cpu.X86.HasAVX || kc8 <= 0 || rows <= 0 {
		return 0
	}
	_, _ = d[(kc8-1)*w+rows-1], src[s+(rows-1)*ld+kc8-1]
	for g := 0; g < rows; g += 8 {
		sgemmPackTrans8AVX(&d[g], w, &src[s+g*ld], ld, kc8)
	}
	return kc8
}
