// Elementwise ops: axpy, copy, and the activations with their gradients.
// All are memory-bound maps over flat arrays, so each kernel is one
// grid-stride loop over float4 groups when every pointer it touches is
// 16-byte aligned (whole allocations and most slices are), with a scalar
// tail; otherwise (a slice at an odd offset) it runs element by element.
// Outputs may alias inputs (the model runs activations in place): each
// element is read and written by the same thread, in that order.
#include "cuda_common.cuh"

// ew_mul is a product that nvcc may not fuse into a following add: the Go
// fallbacks round every product, and matching them bit for bit lets a GPU
// run be compared number by number with a CPU run.
#ifdef __CUDACC__
__device__ __forceinline__ float ew_mul(float a, float b) { return __fmul_rn(a, b); }
#else
static inline float ew_mul(float a, float b) { return a * b; }
#endif

__device__ __forceinline__ bool ew_aligned(const void* a, const void* b) {
    return (((uintptr_t)a | (uintptr_t)b) & 15) == 0;
}

// ew_map1 writes out[i] = f(a[i]) for i < n.
template <class F>
__device__ __forceinline__ void ew_map1(float* out, const float* a, int64_t n, F f) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t done = 0;
    if (ew_aligned(out, a)) {
        int64_t n4 = n / 4;
        for (int64_t i = t; i < n4; i += stride) {
            float4 v = ((const float4*)a)[i];
            float4 r;
            r.x = f(v.x);
            r.y = f(v.y);
            r.z = f(v.z);
            r.w = f(v.w);
            ((float4*)out)[i] = r;
        }
        done = 4 * n4;
    }
    for (int64_t i = done + t; i < n; i += stride) out[i] = f(a[i]);
}

// ew_map2 writes out[i] = f(a[i], b[i]) for i < n.
template <class F>
__device__ __forceinline__ void ew_map2(float* out, const float* a, const float* b, int64_t n, F f) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t done = 0;
    if (ew_aligned(out, a) && ew_aligned(b, b)) {
        int64_t n4 = n / 4;
        for (int64_t i = t; i < n4; i += stride) {
            float4 u = ((const float4*)a)[i];
            float4 v = ((const float4*)b)[i];
            float4 r;
            r.x = f(u.x, v.x);
            r.y = f(u.y, v.y);
            r.z = f(u.z, v.z);
            r.w = f(u.w, v.w);
            ((float4*)out)[i] = r;
        }
        done = 4 * n4;
    }
    for (int64_t i = done + t; i < n; i += stride) out[i] = f(a[i], b[i]);
}

struct EwAxpy {
    float a;
    __device__ float operator()(float y, float x) const { return y + ew_mul(a, x); }
};

struct EwCopy {
    __device__ float operator()(float x) const { return x; }
};

// Branch-free like the fallback, and the same expression, so that the
// results are bitwise equal (one of the two terms is always zero).
struct EwLeaky {
    float slope;
    __device__ float operator()(float x) const { return fmaxf(x, 0.0f) + ew_mul(slope, fminf(x, 0.0f)); }
};

// The fallback takes exp in float64 and rounds it to float32 before the
// division; doing the same keeps the results bitwise equal, and the double
// exp costs nothing next to the memory traffic.
struct EwSigmoid {
    __device__ float operator()(float x) const {
        if (x >= 0.0f) return 1.0f / (1.0f + (float)exp(-(double)x));
        float e = (float)exp((double)x);
        return e / (1.0f + e);
    }
};

// x may be the layer's input or its output: for slope >= 0 they have the
// same sign.
struct EwLeakyBackward {
    float slope;
    __device__ float operator()(float dy, float x) const { return (x > 0.0f ? 1.0f : slope) * dy; }
};

struct EwSigmoidBackward {
    __device__ float operator()(float dy, float y) const { return dy * y * (1.0f - y); }
};

// y += a*x over n values. Go fallback: kernels.Axpy
KERNEL void ew_axpy(float* y, const float* x, int64_t n, uint64_t a) {
    ew_map2(y, y, x, n, EwAxpy{f32(a)});
}

// y = x over n values (the Identity activation and its gradient).
// Go fallback: copy in model.CPU.Activation
KERNEL void ew_copy(float* y, const float* x, int64_t n) { ew_map1(y, x, n, EwCopy{}); }

// y = max(x,0) + slope*min(x,0); ReLU is slope 0.
// Go fallback: kernels.LeakyReLUForward
KERNEL void ew_leaky_relu_forward(float* y, const float* x, int64_t n, uint64_t slope) {
    ew_map1(y, x, n, EwLeaky{f32(slope)});
}

// dx = dy * (x > 0 ? 1 : slope). Go fallback: kernels.LeakyReLUBackward
KERNEL void ew_leaky_relu_backward(float* dx, const float* dy, const float* x, int64_t n, uint64_t slope) {
    ew_map2(dx, dy, x, n, EwLeakyBackward{f32(slope)});
}

// y = 1/(1+exp(-x)). Go fallback: kernels.SigmoidForward
KERNEL void ew_sigmoid_forward(float* y, const float* x, int64_t n) { ew_map1(y, x, n, EwSigmoid{}); }

// dx = dy * y * (1-y) from the output y. Go fallback: kernels.SigmoidBackward
KERNEL void ew_sigmoid_backward(float* dx, const float* dy, const float* y, int64_t n) {
    ew_map2(dx, dy, y, n, EwSigmoidBackward{});
}

EMU_REGISTER(ew_axpy)
EMU_REGISTER(ew_copy)
EMU_REGISTER(ew_leaky_relu_forward)
EMU_REGISTER(ew_leaky_relu_backward)
EMU_REGISTER(ew_sigmoid_forward)
EMU_REGISTER(ew_sigmoid_backward)
