// The reduction shared by the losses (loss.cu) and the KL terms (kl.cu):
// one launch per loss, each block writes one double partial sum to a
// scratch buffer, and the last block to finish adds the partials in index
// order and writes sum/n to loss[0]. No float atomics, and the grid depends
// only on n*d, so a loss is bit-reproducible.
#pragma once
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
