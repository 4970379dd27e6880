// The Adam update over the flat parameter buffers of a ParamSet.
#include "cuda_common.cuh"

// adam_mul is a product that nvcc may not fuse into a following add or
// subtract: the fallback rounds every operation in float32, and matching it
// bit for bit keeps a GPU run comparable number by number with a CPU run.
#ifdef __CUDACC__
__device__ __forceinline__ float adam_mul(float a, float b) { return __fmul_rn(a, b); }
#else
static inline float adam_mul(float a, float b) { return a * b; }
#endif

struct AdamArgs {
    float beta1, beta2, omb1, omb2, eps, stepSize, rc2, lrwd;
};

// The fallback's expression, operation for operation (float32 throughout;
// the square root in float64 rounded to float32 is sqrtf).
__device__ __forceinline__ void adam_one(float& p, float g, float& m, float& v, const AdamArgs& a) {
    m = adam_mul(a.beta1, m) + adam_mul(a.omb1, g);
    v = adam_mul(a.beta2, v) + adam_mul(adam_mul(a.omb2, g), g);
    float denom = adam_mul(sqrtf(v), a.rc2) + a.eps;
    p -= adam_mul(a.stepSize, m) / denom + adam_mul(a.lrwd, p);
}

// One bias-corrected Adam step over n parameters: m and v move towards g and
// g², then p -= stepSize·m/(sqrt(v)·rc2 + eps) + lr·weightDecay·p, where the
// host computes omb1 = 1-beta1, omb2 = 1-beta2, stepSize = lr/(1-beta1^t),
// rc2 = 1/sqrt(1-beta2^t) and lrwd = lr·weightDecay as the fallback does.
// Each float scalar arrives as its bits. Go fallback: kernels.Adam
KERNEL void adam_update(float* p, const float* g, float* m, float* v, int64_t n, uint64_t beta1, uint64_t beta2,
                        uint64_t omb1, uint64_t omb2, uint64_t eps, uint64_t stepSize, uint64_t rc2, uint64_t lrwd) {
    AdamArgs a{f32(beta1), f32(beta2), f32(omb1), f32(omb2), f32(eps), f32(stepSize), f32(rc2), f32(lrwd)};
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t done = 0;
    if ((((uintptr_t)p | (uintptr_t)g | (uintptr_t)m | (uintptr_t)v) & 15) == 0) {
        int64_t n4 = n / 4;
        for (int64_t i = t; i < n4; i += stride) {
            float4 pp = ((float4*)p)[i], gg = ((const float4*)g)[i];
            float4 mm = ((float4*)m)[i], vv = ((float4*)v)[i];
            adam_one(pp.x, gg.x, mm.x, vv.x, a);
            adam_one(pp.y, gg.y, mm.y, vv.y, a);
            adam_one(pp.z, gg.z, mm.z, vv.z, a);
            adam_one(pp.w, gg.w, mm.w, vv.w, a);
            ((float4*)p)[i] = pp;
            ((float4*)m)[i] = mm;
            ((float4*)v)[i] = vv;
        }
        done = 4 * n4;
    }
    for (int64_t i = done + t; i < n; i += stride) adam_one(p[i], g[i], m[i], v[i], a);
}

EMU_REGISTER(adam_update)
