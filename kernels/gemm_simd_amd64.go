//go:build goexperiment.simd && amd64 && !purego

package kernels

import "simd/archsimd"

// sgemmKernelSIMD is the 4×32 micro-kernel written with simd/archsimd
// (GOEXPERIMENT=simd). It is not the default: with Go 1.26 the compiler
// allocates only Z0–Z15 and copies accumulators between registers, so this
// kernel runs at about a third of the speed of the assembly 8×32 one (and an
// 8×32 tile in archsimd spills, running slower still). It is kept, tested
// and benchmarked (BenchmarkSgemmShapes/.../new_simd) so that the
// comparison can be rerun as the compiler improves.
var sgemmKernelSIMD = &gemmKernel{name: "simd_4x32", mr: 4, nr: 32, kc: 256, strip: 256, asmPack: true, fn: sgemmMicroSIMD}

func init() {
	if archsimd.X86.AVX512() {
		gemmExtraKernels = append(gemmExtraKernels, sgemmKernelSIMD)
	}
}

func sgemmMicroSIMD(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	a, b = a[:4*kc], b[:32*kc]
	for p := range kc {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(b[32*p:]))
		b1 := archsimd.LoadFloat32x16((*[16]float32)(b[32*p+16:]))
		av := (*[4]float32)(a[4*p:])
		x := archsimd.BroadcastFloat32x16(av[0])
		c00 = b0.MulAdd(x, c00)
		c01 = b1.MulAdd(x, c01)
		x = archsimd.BroadcastFloat32x16(av[1])
		c10 = b0.MulAdd(x, c10)
		c11 = b1.MulAdd(x, c11)
		x = archsimd.BroadcastFloat32x16(av[2])
		c20 = b0.MulAdd(x, c20)
		c21 = b1.MulAdd(x, c21)
		x = archsimd.BroadcastFloat32x16(av[3])
		c30 = b0.MulAdd(x, c30)
		c31 = b1.MulAdd(x, c31)
	}
	al := archsimd.BroadcastFloat32x16(alpha)
	be := archsimd.BroadcastFloat32x16(beta)
	for i, row := range [4][2]archsimd.Float32x16{{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}} {
		r0 := (*[16]float32)(c[i*ldc:])
		r1 := (*[16]float32)(c[i*ldc+16:])
		x0, x1 := row[0].Mul(al), row[1].Mul(al)
		if beta != 0 {
			x0 = archsimd.LoadFloat32x16(r0).MulAdd(be, x0)
			x1 = archsimd.LoadFloat32x16(r1).MulAdd(be, x1)
		}
		x0.Store(r0)
		x1.Store(r1)
	}
	archsimd.ClearAVXUpperBits()
}
