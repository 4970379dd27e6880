// Elementwise losses over n examples of d values: summed over all n*d values
// and divided by n, written to loss[0]; the loss terms in double as the Go
// fallbacks compute them. One launch per loss: each block writes its
// gradient values and one double partial sum to a scratch buffer, and the
// last block to finish adds all partials in index order and writes loss[0].
// No float atomics, and the grid depends only on n*d, so the loss is
// bit-reproducible.
#include "cuda_common.cuh"

// Launched with exactly LOSS_THREADS threads a block and at most
// LOSS_MAX_BLOCKS blocks (gpu/loss.go). The scratch buffer holds
// LOSS_MAX_BLOCKS doubles, then the ticket counter (zero between launches).
#define LOSS_THREADS 256
#define LOSS_MAX_BLOCKS 1024

// loss_block_sum returns the sum of v over the block in thread 0: warp
// shuffles, then the eight warp sums through shared memory, in fixed order.
static __device__ __forceinline__ double loss_block_sum(double v) {
	__shared__ double warp[LOSS_THREADS / 32];
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
	if ((threadIdx.x & 31) == 0) warp[threadIdx.x >> 5] = v;
	__syncthreads();
	double s = 0;
	if (threadIdx.x == 0)
		for (int w = 0; w < LOSS_THREADS / 32; w++) s += warp[w];
	return s;
}

// loss_finish stores the block's sum of v as its partial; the block that
// takes the last ticket adds the partials in index order, writes sum/n to
// loss[0] and resets the ticket for the next launch. The fences order the
// partial stores before the ticket, and __ldcg reads them from L2.
static __device__ __forceinline__ void loss_finish(double v, double* scratch, float* loss, int64_t n) {
	__shared__ bool last;
	unsigned int* ticket = (unsigned int*)(scratch + LOSS_MAX_BLOCKS);
	double s = loss_block_sum(v);
	if (threadIdx.x == 0) {
		scratch[blockIdx.x] = s;
		__threadfence();
		last = atomicAdd(ticket, 1u) == gridDim.x - 1;
		__threadfence();
	}
	__syncthreads();
	if (!last) return;
	double t = 0;
	for (unsigned int i = threadIdx.x; i < gridDim.x; i += LOSS_THREADS) t += __ldcg(scratch + i);
	t = loss_block_sum(t);
	if (threadIdx.x == 0) {
		loss[0] = (float)(t / (double)n);
		*ticket = 0;
	}
}

// loss_softplus is log(1+exp(a)) without overflow (kernels.softplus), given
// e = exp(-|a|): a + log1p(exp(-a)) for a > 0, log1p(exp(a)) otherwise.
static __device__ __forceinline__ double loss_softplus(double a, double e) { return a > 0 ? a + log1p(e) : log1p(e); }

// loss_sigmoid32 is kernels.sigmoid, given e = exp(-|x|) in double: float32
// arithmetic rounded step by step as Go does, so the gradient matches bit
// for bit.
static __device__ __forceinline__ float loss_sigmoid32(float x, double e) {
	float ef = (float)e;
	if (x >= 0) return __fdiv_rn(1.0f, __fadd_rn(1.0f, ef));
	return __fdiv_rn(ef, __fadd_rn(1.0f, ef));
}

#define LOSS_FOR(i, nd) \
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (nd); i += (int64_t)gridDim.x * blockDim.x)

// loss_mse: sum of (xhat-x)^2 / n; dxhat = scale/n * 2(xhat-x) when dxhat
// is not null. Go fallback: kernels.MSE.
KERNEL void loss_mse(float* loss, double* scratch, float* dxhat, const float* xhat, const float* x, int64_t nd,
                     int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		double e = (double)xhat[i] - (double)x[i];
		s += e * e;
		if (dxhat) dxhat[i] = (float)(g * (2 * e));
	}
	loss_finish(s, scratch, loss, n);
}

// loss_bce: sum of softplus(a) - t*a over logits a and targets t, / n;
// dlogit = scale/n * (sigmoid(a) - t) when dlogit is not null.
// Go fallback: kernels.BCEWithLogits.
KERNEL void loss_bce(float* loss, double* scratch, float* dlogit, const float* logit, const float* target, int64_t nd,
                     int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		float a = logit[i];
		double t = target[i];
		double e = exp(-fabs((double)a));
		s += loss_softplus(a, e) - t * a;
		if (dlogit) dlogit[i] = (float)(g * ((double)loss_sigmoid32(a, e) - t));
	}
	loss_finish(s, scratch, loss, n);
}

// loss_wbce is loss_bce with element (i,j) weighted by posw[j] where its
// target is 1 and negw[j] where it is 0.
// Go fallback: kernels.WeightedBCEWithLogits.
KERNEL void loss_wbce(float* loss, double* scratch, float* dlogit, const float* logit, const float* target,
                      const float* posw, const float* negw, int64_t nd, int64_t d, int64_t n, uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		float a = logit[i];
		float tf = target[i];
		double t = tf;
		double w = tf > 0.5f ? posw[i % d] : negw[i % d];
		double e = exp(-fabs((double)a));
		s += w * (loss_softplus(a, e) - t * a);
		if (dlogit) dlogit[i] = (float)(g * (w * ((double)loss_sigmoid32(a, e) - t)));
	}
	loss_finish(s, scratch, loss, n);
}

// loss_negent: sum of q log q + (1-q) log(1-q), q = sigmoid(a), / n;
// dlogit = scale/n * q(1-q)a when dlogit is not null.
// Go fallback: kernels.NegEntropyWithLogits.
KERNEL void loss_negent(float* loss, double* scratch, float* dlogit, const float* logit, int64_t nd, int64_t n,
                        uint64_t scale) {
	double g = (double)f32(scale) / (double)n;
	double s = 0;
	LOSS_FOR(i, nd) {
		double a = logit[i];
		double e = exp(-fabs(a));
		double q = 1 / (1 + exp(-a));
		s += -(q * loss_softplus(-a, e) + (1 - q) * loss_softplus(a, e));
		if (dlogit) dlogit[i] = (float)(g * (q * (1 - q) * a));
	}
	loss_finish(s, scratch, loss, n);
}

EMU_REGISTER(loss_mse)
EMU_REGISTER(loss_bce)
EMU_REGISTER(loss_wbce)
EMU_REGISTER(loss_negent)
