// Batch normalisation over x[N,C,P] per channel (P = H·W), as
// kernels.BatchNormForward / BatchNormBackward.
//
// The network has few channels (32..256) and long per-channel reductions
// (N·P up to 128·1024 values), so one block per channel would leave most of
// the GPU idle. Each pass is therefore three launches:
//   1. *_partial, grid (S, C): block s of channel c reduces its chunk of the
//      channel's N·P values in double and writes one partial to scratch;
//   2. *_finalize, one thread per channel: adds the S partials in a fixed
//      order (deterministic, no atomics) and derives the per-channel
//      coefficients;
//   3. *_apply, a grid-stride map over all N·C·P values.
// y may alias x, and dx may alias dy or x: every value is read by the
// partial pass before the apply pass writes anything, and the apply pass
// reads and writes each value in the same thread.
//
// Scratch layout (doubles): 4·C per-channel coefficients, then 2·C·S
// partials, those of block s of channel c at [4·C + 2·(c·S + s)].
// Indices of values fit in 32 bits (the Go side checks N·C·P < 2³¹), which
// keeps the divisions that locate a channel cheap.
#include "cuda_common.cuh"

#define BN_THREADS 256
#define BN_COEF 4

// bn_mul is a product that nvcc may not fuse into a following add, so that
// y = x·scale + shift rounds twice as the fallback does (bitwise equal).
#ifdef __CUDACC__
__device__ __forceinline__ float bn_mul(float a, float b) { return __fmul_rn(a, b); }
#else
static inline float bn_mul(float a, float b) { return a * b; }
#endif

// bn_block_sum2 adds a and b over the block (BN_THREADS threads) in a fixed
// order; thread 0 gets the totals. sa and sb are __shared__ arrays of
// BN_THREADS/32 values.
__device__ __forceinline__ void bn_block_sum2(double& a, double& b, double* sa, double* sb) {
    for (int off = 16; off > 0; off >>= 1) {
        a += __shfl_down_sync(0xffffffffu, a, off);
        b += __shfl_down_sync(0xffffffffu, b, off);
    }
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        sa[warp] = a;
        sb[warp] = b;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        a = sa[0];
        b = sb[0];
        for (int w = 1; w < BN_THREADS / 32; w++) {
            a += sa[w];
            b += sb[w];
        }
    }
}

// BnCursor walks a channel's values j = i·P + q (image i, position q) with a
// fixed stride, without a division per step; the address of value j of
// channel ch is (i·C + ch)·P + q.
struct BnCursor {
    unsigned i, q, di, dq, p;
    __device__ BnCursor(unsigned j, unsigned stride, unsigned p_) : i(j / p_), q(j % p_), di(stride / p_), dq(stride % p_), p(p_) {}
    __device__ void step() {
        q += dq;
        i += di;
        if (q >= p) {
            q -= p;
            i++;
        }
    }
};

// bn_vec says whether a channel's values can be read as float4: rows of P
// values that start 16-byte aligned.
__device__ __forceinline__ bool bn_vec(int64_t p, const void* a, const void* b) {
    return p % 4 == 0 && (((uintptr_t)a | (uintptr_t)b) & 15) == 0;
}

// Training statistics, pass 1: block (s, ch) sums x-K and (x-K)² over values
// [s·chunk, (s+1)·chunk) of channel ch in double, where the shift K is the
// channel's first value; shifting keeps E[(x-K)²] - E[x-K]² accurate when the
// mean is large next to the spread. chunk is a multiple of 4.
// Go fallback: kernels.BatchNormForward
KERNEL void bn_stats_partial(double* scratch, const float* x, int64_t n, int64_t c, int64_t p, int64_t chunk) {
    int64_t ch = blockIdx.y, s = blockIdx.x, S = gridDim.x;
    int64_t m = n * p;
    int64_t j0 = s * chunk, j1 = min(j0 + chunk, m);
    double k = x[ch * p];
    double s1 = 0, s2 = 0;
    if (bn_vec(p, x, x)) {
        unsigned stride = 4 * BN_THREADS;
        BnCursor cur((unsigned)(j0 + 4 * threadIdx.x), stride, (unsigned)p);
        for (int64_t j = j0 + 4 * threadIdx.x; j < j1; j += stride, cur.step()) {
            float4 v = *(const float4*)&x[((int64_t)cur.i * c + ch) * p + cur.q];
            double d0 = v.x - k, d1 = v.y - k, d2 = v.z - k, d3 = v.w - k;
            s1 += (d0 + d1) + (d2 + d3);
            s2 += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
        }
    } else {
        BnCursor cur((unsigned)(j0 + threadIdx.x), BN_THREADS, (unsigned)p);
        for (int64_t j = j0 + threadIdx.x; j < j1; j += BN_THREADS, cur.step()) {
            double d = x[((int64_t)cur.i * c + ch) * p + cur.q] - k;
            s1 += d;
            s2 += d * d;
        }
    }
    __shared__ double sa[BN_THREADS / 32], sb[BN_THREADS / 32];
    bn_block_sum2(s1, s2, sa, sb);
    if (threadIdx.x == 0) {
        double* part = scratch + BN_COEF * c + 2 * (ch * S + s);
        part[0] = s1;
        part[1] = s2;
    }
}

// Per channel: the batch statistics from the partials (training) or the
// running statistics (inference), then y = x·scale + shift with scale and
// shift rounded to float as the fallback does, stored as the first 2·C
// floats of scratch. In training also writes mean and invstd and moves the
// running statistics (biased variance normalises, unbiased variance runs).
// Go fallback: kernels.BatchNormForward
KERNEL void bn_forward_finalize(double* scratch, const float* x, const float* gamma, const float* beta,
                                float* mean, float* invstd, float* runMean, float* runVar,
                                int64_t n, int64_t c, int64_t p, int64_t S,
                                uint64_t momentumBits, uint64_t epsBits, int64_t training) {
    int64_t ch = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    double eps = f32(epsBits);
    double mu, is;
    if (training) {
        const double* part = scratch + BN_COEF * c + 2 * ch * S;
        double s1 = 0, s2 = 0;
        for (int64_t s = 0; s < S; s++) {
            s1 += part[2 * s];
            s2 += part[2 * s + 1];
        }
        double m = (double)(n * p);
        double d = s1 / m;
        mu = x[ch * p] + d;
        double ss = max(s2 - s1 * d, 0.0);
        double variance = ss / m;
        is = 1 / sqrt(variance + eps);
        double unbiased = n * p > 1 ? ss / (m - 1) : variance;
        double mo = f32(momentumBits);
        if (mean) mean[ch] = (float)mu;
        if (invstd) invstd[ch] = (float)is;
        if (runMean) runMean[ch] = (float)((1 - mo) * runMean[ch] + mo * mu);
        if (runVar) runVar[ch] = (float)((1 - mo) * runVar[ch] + mo * unbiased);
    } else {
        mu = runMean[ch];
        is = 1 / sqrt((double)runVar[ch] + eps);
    }
    float* coef = (float*)scratch;
    coef[2 * ch] = (float)(gamma[ch] * is);
    coef[2 * ch + 1] = (float)(beta[ch] - mu * gamma[ch] * is);
}

// y = x·scale[ch] + shift[ch] over all N·C·P values.
// Go fallback: kernels.BatchNormForward
KERNEL void bn_forward_apply(float* y, const float* x, const double* scratch, int64_t n, int64_t c, int64_t p) {
    const float* coef = (const float*)scratch;
    int64_t total = n * c * p;
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    if (bn_vec(p, y, x)) {
        for (int64_t g = t; 4 * g < total; g += stride) {
            unsigned ch = ((unsigned)(4 * g) / (unsigned)p) % (unsigned)c;
            float a = coef[2 * ch], b = coef[2 * ch + 1];
            float4 v = ((const float4*)x)[g];
            v.x = bn_mul(v.x, a) + b;
            v.y = bn_mul(v.y, a) + b;
            v.z = bn_mul(v.z, a) + b;
            v.w = bn_mul(v.w, a) + b;
            ((float4*)y)[g] = v;
        }
    } else {
        for (int64_t e = t; e < total; e += stride) {
            unsigned ch = ((unsigned)e / (unsigned)p) % (unsigned)c;
            y[e] = bn_mul(x[e], coef[2 * ch]) + coef[2 * ch + 1];
        }
    }
}

// Backward, pass 1: block (s, ch) sums dy and dy·x̂ (x̂ = (x-mean)·invstd)
// over its chunk in double. Go fallback: kernels.BatchNormBackward
KERNEL void bn_backward_partial(double* scratch, const float* dy, const float* x, const float* mean, const float* invstd,
                                int64_t n, int64_t c, int64_t p, int64_t chunk) {
    int64_t ch = blockIdx.y, s = blockIdx.x, S = gridDim.x;
    int64_t m = n * p;
    int64_t j0 = s * chunk, j1 = min(j0 + chunk, m);
    double mu = mean[ch], is = invstd[ch];
    double s1 = 0, s2 = 0;
    if (bn_vec(p, dy, x)) {
        unsigned stride = 4 * BN_THREADS;
        BnCursor cur((unsigned)(j0 + 4 * threadIdx.x), stride, (unsigned)p);
        for (int64_t j = j0 + 4 * threadIdx.x; j < j1; j += stride, cur.step()) {
            int64_t a = ((int64_t)cur.i * c + ch) * p + cur.q;
            float4 d = *(const float4*)&dy[a];
            float4 v = *(const float4*)&x[a];
            s1 += ((double)d.x + d.y) + ((double)d.z + d.w);
            s2 += ((double)d.x * ((v.x - mu) * is) + (double)d.y * ((v.y - mu) * is)) +
                  ((double)d.z * ((v.z - mu) * is) + (double)d.w * ((v.w - mu) * is));
        }
    } else {
        BnCursor cur((unsigned)(j0 + threadIdx.x), BN_THREADS, (unsigned)p);
        for (int64_t j = j0 + threadIdx.x; j < j1; j += BN_THREADS, cur.step()) {
            int64_t a = ((int64_t)cur.i * c + ch) * p + cur.q;
            double d = dy[a];
            s1 += d;
            s2 += d * ((x[a] - mu) * is);
        }
    }
    __shared__ double sa[BN_THREADS / 32], sb[BN_THREADS / 32];
    bn_block_sum2(s1, s2, sa, sb);
    if (threadIdx.x == 0) {
        double* part = scratch + BN_COEF * c + 2 * (ch * S + s);
        part[0] = s1;
        part[1] = s2;
    }
}

// Per channel: the sums of dy and dy·x̂ from the partials, added to dbeta
// and dgamma (parameter gradients accumulate; either may be null), and the
// coefficients of dx = a·dy - b - k·(x-mean) for the apply pass. That is the
// fallback's gamma·invstd/M·(M·dy - Σdy - x̂·Σdy·x̂), M = N·P, x̂ =
// (x-mean)·invstd, with the per-channel products taken once, in double.
// Go fallback: kernels.BatchNormBackward
KERNEL void bn_backward_finalize(double* scratch, float* dgamma, float* dbeta, const float* gamma, const float* mean,
                                 const float* invstd, int64_t n, int64_t c, int64_t p, int64_t S) {
    int64_t ch = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    const double* part = scratch + BN_COEF * c + 2 * ch * S;
    double sdy = 0, sdyx = 0;
    for (int64_t s = 0; s < S; s++) {
        sdy += part[2 * s];
        sdyx += part[2 * s + 1];
    }
    if (dbeta) dbeta[ch] += (float)sdy;
    if (dgamma) dgamma[ch] += (float)sdyx;
    double m = (double)(n * p), is = invstd[ch], g = gamma[ch] * is / m;
    double* coef = scratch + BN_COEF * ch;
    coef[0] = g * m;
    coef[1] = g * sdy;
    coef[2] = g * sdyx * is;
    coef[3] = mean[ch];
}

__device__ __forceinline__ float bn_dx(float d, float v, const double* coef) {
    return (float)(coef[0] * d - coef[1] - coef[2] * (v - coef[3]));
}

// dx from dy, x and the coefficients of bn_backward_finalize.
// Go fallback: kernels.BatchNormBackward
KERNEL void bn_backward_apply(float* dx, const float* dy, const float* x, const double* scratch, int64_t n, int64_t c,
                              int64_t p) {
    int64_t total = n * c * p;
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    if (bn_vec(p, dx, dy) && bn_vec(p, x, x)) {
        for (int64_t g = t; 4 * g < total; g += stride) {
            unsigned ch = ((unsigned)(4 * g) / (unsigned)p) % (unsigned)c;
            const double* coef = scratch + BN_COEF * ch;
            float4 d = ((const float4*)dy)[g];
            float4 v = ((const float4*)x)[g];
            float4 r;
            r.x = bn_dx(d.x, v.x, coef);
            r.y = bn_dx(d.y, v.y, coef);
            r.z = bn_dx(d.z, v.z, coef);
            r.w = bn_dx(d.w, v.w, coef);
            ((float4*)dx)[g] = r;
        }
    } else {
        for (int64_t e = t; e < total; e += stride) {
            unsigned ch = ((unsigned)e / (unsigned)p) % (unsigned)c;
            dx[e] = bn_dx(dy[e], x[e], scratch + BN_COEF * ch);
        }
    }
}

EMU_REGISTER(bn_stats_partial)
EMU_REGISTER(bn_forward_finalize)
EMU_REGISTER(bn_forward_apply)
EMU_REGISTER(bn_backward_partial)
EMU_REGISTER(bn_backward_finalize)
EMU_REGISTER(bn_backward_apply)
