// Kernels that test the emulator itself (kernels/emu/emu_test.go); they are
// not part of the model. Names start with emutest_ so the coverage test in
// gpu/emu_test.go leaves them out.
#include "../cuda_common.cuh"

// Each thread publishes a value, waits, and reads both neighbours' values:
// correct only if every write happened before any read. 2-D blocks check
// that threads are numbered x fastest.
KERNEL void emutest_barrier(float* out, int64_t n) {
	__shared__ float s[1024];
	int nt = blockDim.x * blockDim.y * blockDim.z;
	int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
	s[t] = (float)(t + 1000 * blockIdx.x);
	__syncthreads();
	float v = s[(t + 1) % nt] + s[(t + nt - 1) % nt];
	__syncthreads();
	s[t] = v;  // overwriting after the second barrier must not disturb reads
	__syncthreads();
	int64_t i = (int64_t)blockIdx.x * nt + t;
	if (i < n) out[i] = s[t];
}

// Every thread of a block writes its block's index into shared memory in
// several rounds; any other block's value seen means shared memory leaks
// between blocks.
KERNEL void emutest_shared(int64_t* bad, int64_t rounds) {
	__shared__ int64_t s[256];
	for (int64_t r = 0; r < rounds; r++) {
		s[threadIdx.x] = blockIdx.x * 1000 + r;
		__syncthreads();
		for (int k = 0; k < (int)blockDim.x; k++)
			if (s[k] != blockIdx.x * 1000 + r) atomicAdd((unsigned long long*)bad, 1ull);
		__syncthreads();
	}
}

// Block sums with warp shuffles: down-reduction, an xor butterfly (every
// lane gets the sum), an inclusive scan with shfl_up, a broadcast with
// shfl_sync, and a ballot. Outputs per block: sum[b], and per thread:
// xorsum[i], scan[i], bcast[i], ballot[i].
KERNEL void emutest_warp(double* sum, float* xorsum, float* scan, int64_t* bcast, uint64_t* ballot, const float* x,
                         int64_t n) {
	__shared__ double warps[32];
	int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
	float v = i < n ? x[i] : 0.0f;
	int lane = threadIdx.x & 31;
	double d = v;
	for (int o = 16; o > 0; o >>= 1) d += __shfl_down_sync(0xffffffffu, d, o);
	float b = v;
	for (int o = 1; o < 32; o <<= 1) b += __shfl_xor_sync(0xffffffffu, b, o);
	float s = v;
	for (int o = 1; o < 32; o <<= 1) {
		float u = __shfl_up_sync(0xffffffffu, s, o);
		if (lane >= o) s += u;
	}
	long long first = __shfl_sync(0xffffffffu, (long long)i, 0);
	unsigned int ones = __ballot_sync(0xffffffffu, i < n && v > 0.5f);
	if (lane == 0) warps[threadIdx.x >> 5] = d;
	__syncthreads();
	if (threadIdx.x == 0) {
		double t = 0;
		for (int w = 0; w < (int)blockDim.x / 32; w++) t += warps[w];
		sum[blockIdx.x] = t;
	}
	if (i < n) {
		xorsum[i] = b;
		scan[i] = s;
		bcast[i] = first;
		ballot[i] = ones;
	}
}

// atomicAdd from every thread of every block onto one address per type.
KERNEL void emutest_atomic(float* f, double* d, unsigned long long* u, int* imax, const float* x, int64_t n) {
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
		atomicAdd(f, x[i]);
		atomicAdd(d, (double)x[i]);
		atomicAdd(u, 1ull);
		atomicMax(imax, (int)i);
	}
}

// y = a*x + i over a ragged n with a grid-stride loop; a arrives as f32 bits.
KERNEL void emutest_axpy(float* y, const float* x, int64_t n, uint64_t a) {
	float av = f32(a);
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
		y[i] = av * x[i] + (float)i;
}

// Parameter passing: every slot type in its position.
KERNEL void emutest_params(double* out, int64_t a, uint64_t b, uint64_t fbits, const double* p, double d) {
	if (threadIdx.x == 0 && blockIdx.x == 0) {
		out[0] = (double)a;
		out[1] = (double)b;
		out[2] = f32(fbits);
		out[3] = p ? p[0] : -1;
		out[4] = d;
	}
}

// Threads 0..15 wait at a barrier the others never reach: a launch error.
KERNEL void emutest_divergent(float* out) {
	if (threadIdx.x < 16) __syncthreads();
	out[threadIdx.x] = 1;
}

// A shuffle in a block that is not a whole number of warps: a launch error.
KERNEL void emutest_shfl_ragged(float* out) {
	out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1.0f, 1);
}

// __syncthreads_count/and/or over x[i] > 0.
KERNEL void emutest_syncreduce(int64_t* out, const float* x) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	int p = x[i] > 0;
	int c = __syncthreads_count(p);
	int a = __syncthreads_and(p);
	int o = __syncthreads_or(p);
	if (threadIdx.x == 0) {
		out[3 * blockIdx.x] = c;
		out[3 * blockIdx.x + 1] = a;
		out[3 * blockIdx.x + 2] = o;
	}
}

// Reads a neighbour's shared value without a barrier: the result depends on
// the order threads run in, which New and NewReversed differ in.
KERNEL void emutest_race(float* out) {
	__shared__ float s[1024];
	int t = threadIdx.x;
	s[t] = (float)(t + 1);
	out[t] = s[(t + 1) % blockDim.x];
}

static __device__ __noinline__ int emutest_recurse(int depth) {
	volatile char buf[1024];
	buf[0] = (char)depth;
	return depth == 0 ? buf[0] : emutest_recurse(depth - 1) + buf[0];
}

// Faults on purpose, for the crash report tests: mode 0 writes far out of
// bounds, mode 1 overflows the fiber's stack, mode 2 writes just past the
// end of out (n floats), which only AddressSanitizer sees.
KERNEL void emutest_crash(float* out, int64_t mode, int64_t n) {
	if (threadIdx.x != 3) return;
	if (mode == 0) out[(int64_t)1 << 44] = 1;
	if (mode == 1) out[0] = (float)emutest_recurse(100000);
	if (mode == 2) out[n] = 1;
}

// Device math through emu.h: out[k] for each expression below at x, y
// (emu_test.go recomputes them with package math).
KERNEL void emutest_math(double* out, uint64_t xbits, int64_t i, int64_t j) {
	if (threadIdx.x != 0) return;
	float x = f32(xbits);
	double xd = x;
	float s, c;
	double sd, cd;
	sincosf(x, &s, &c);
	sincos(xd, &sd, &cd);
	int k = 0;
	out[k++] = expf(x);
	out[k++] = logf(x);
	out[k++] = log1pf(x);
	out[k++] = expm1f(x);
	out[k++] = tanhf(x);
	out[k++] = sqrtf(x);
	out[k++] = fabsf(-x);
	out[k++] = fminf(x, 0.25f);
	out[k++] = fmaxf(x, 0.25f);
	out[k++] = rsqrtf(x);
	out[k++] = __expf(x);
	out[k++] = __logf(x);
	out[k++] = __fdividef(1.0f, x);
	out[k++] = __saturatef(x * 10);
	out[k++] = s;
	out[k++] = c;
	out[k++] = sd;
	out[k++] = cd;
	out[k++] = exp(xd);
	out[k++] = log1p(xd);
	out[k++] = exp(x);  // the float overload
	out[k++] = rsqrt(xd);
	out[k++] = __fmaf_rn(x, x, 1.0f);
	out[k++] = __fmul_rn(x, 3.0f);
	out[k++] = __fadd_rn(x, 3.0f);
	out[k++] = min((int)i, (int)j);
	out[k++] = max((int)i, (int)j);
	out[k++] = min(i, j);
	out[k++] = max((unsigned)i, (unsigned)j);
	out[k++] = __umulhi(0xffffffffu, (unsigned)j);
	out[k++] = (double)__umul64hi(~0ull, (unsigned long long)j);
	out[k++] = __popc(0xf0f0u);
	out[k++] = __clz(1);
	out[k++] = __uint_as_float(__float_as_uint(x));
	out[k++] = __longlong_as_double(__double_as_longlong(xd));
	out[k++] = __int_as_float(__float_as_int(x));
	out[k++] = min(x, 0.25f);
	out[k++] = max(xd, 0.25);
	out[k++] = __ldg(&out[0]);
}

EMU_REGISTER(emutest_math)
EMU_REGISTER(emutest_race)
EMU_REGISTER(emutest_crash)
EMU_REGISTER(emutest_barrier)
EMU_REGISTER(emutest_shared)
EMU_REGISTER(emutest_warp)
EMU_REGISTER(emutest_atomic)
EMU_REGISTER(emutest_axpy)
EMU_REGISTER(emutest_params)
EMU_REGISTER(emutest_divergent)
EMU_REGISTER(emutest_shfl_ragged)
EMU_REGISTER(emutest_syncreduce)
