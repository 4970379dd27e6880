// Reparameterised sampling on the GPU: Philox4x32-10 noise that is the very
// stream the Go side draws (kernels/philox.go), so that a GPU run and a CPU
// run from the same seed see the same eps, number for number.
#include "cuda_common.cuh"

#define RANDOM_PHILOX_M0 0xD2511F53u
#define RANDOM_PHILOX_M1 0xCD9E8D57u
#define RANDOM_PHILOX_W0 0x9E3779B9u
#define RANDOM_PHILOX_W1 0xBB67AE85u

// random_normal4 is kernels.NormalBlock: the four standard normals of counter
// block `block` under key `seed`, Box-Muller in double, rounded to float32.
static __device__ __forceinline__ void random_normal4(uint64_t seed, uint64_t block, float out[4]) {
	unsigned int c0 = (unsigned int)block, c1 = (unsigned int)(block >> 32), c2 = 0, c3 = 0;
	unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
#pragma unroll
	for (int r = 0; r < 10; r++) {
		unsigned int hi0 = __umulhi(RANDOM_PHILOX_M0, c0), lo0 = RANDOM_PHILOX_M0 * c0;
		unsigned int hi1 = __umulhi(RANDOM_PHILOX_M1, c2), lo1 = RANDOM_PHILOX_M1 * c2;
		c0 = hi1 ^ c1 ^ k0;
		c1 = lo1;
		c2 = hi0 ^ c3 ^ k1;
		c3 = lo0;
		k0 += RANDOM_PHILOX_W0;
		k1 += RANDOM_PHILOX_W1;
	}
	unsigned int r[4] = {c0, c1, c2, c3};
#pragma unroll
	for (int j = 0; j < 4; j += 2) {
		// (r+0.5)/2^32 lies strictly inside (0,1); dividing by 2^32 is exact.
		double u1 = ((double)r[j] + 0.5) / 4294967296.0;
		double u2 = ((double)r[j + 1] + 0.5) / 4294967296.0;
		double rad = sqrt(-2.0 * log(u1));
		double s, c;
		sincos(6.283185307179586 * u2, &s, &c); // the double nearest 2*pi, as Go's 2*math.Pi
		out[j] = (float)(rad * c);
		out[j + 1] = (float)(rad * s);
	}
}

// random_reparam draws eps and z = mu + eps*exp(logvar/2) over n values, one
// thread per Philox block of four (block offset+t makes eps[4t..4t+3]).
// The float32 product and sum round one at a time as Go's do: the _rn
// intrinsics keep nvcc from contracting them into an fma.
// Go fallback: kernels.Reparameterize.
KERNEL void random_reparam(float* z, float* eps, const float* mu, const float* logvar, int64_t n, uint64_t seed,
                           uint64_t offset) {
	int64_t nb = (n + 3) / 4;
	for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < nb; t += (int64_t)gridDim.x * blockDim.x) {
		float v[4];
		random_normal4(seed, offset + (uint64_t)t, v);
#pragma unroll
		for (int j = 0; j < 4; j++) {
			int64_t i = 4 * t + j;
			if (i < n) {
				float sd = (float)exp(0.5 * (double)logvar[i]);
				eps[i] = v[j];
				z[i] = __fadd_rn(mu[i], __fmul_rn(v[j], sd));
			}
		}
	}
}

// random_reparam_backward accumulates dmu += dz and dlogvar +=
// dz*eps*0.5*exp(logvar/2), rounding in Go's order.
// Go fallback: kernels.ReparameterizeBackward.
KERNEL void random_reparam_backward(float* dmu, float* dlogvar, const float* dz, const float* eps,
                                    const float* logvar, int64_t n) {
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
		float g = dz[i];
		float sd = (float)exp(0.5 * (double)logvar[i]);
		dmu[i] = __fadd_rn(dmu[i], g);
		dlogvar[i] = __fadd_rn(dlogvar[i], __fmul_rn(__fmul_rn(__fmul_rn(g, eps[i]), 0.5f), sd));
	}
}

EMU_REGISTER(random_reparam)
EMU_REGISTER(random_reparam_backward)
