// Dense layers on the GPU: one tiled SGEMM in the three layouts a dense layer
// needs, and the reduction of its split-K partial products. Go fallbacks:
// kernels.DenseForward, kernels.DenseBackwardData and
// kernels.DenseBackwardParams (kernels/dense.go), which call kernels.Sgemm,
// kernels.AddBias and kernels.BiasBackward.
//
// The SGEMM computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// op(A) M×K and op(B) K×N:
//   gemm_nt: A[m*lda+k], B[n*ldb+k]  (y = x·wᵀ + b: DenseForward)
//   gemm_nn: A[m*lda+k], B[k*ldb+n]  (dx = dy·w: DenseBackwardData)
//   gemm_tn: A[k*lda+m], B[k*ldb+n]  (dw += dyᵀ·x, db += Σ dy: DenseBackwardParams)
// Launches cost more than these small products, so the bias rides along:
// gemm_nt adds bias[col] in its epilogue, and gemm_tn with ones set appends
// a column of ones to op(B), whose column of C, alpha*(row sums of op(A)) +
// beta*db, is written to db (the bias gradient; beta = 1 accumulates).
//
// A block computes a 64×64 tile of C with 128 threads, each a 4×8 register
// tile (rows ty*4..ty*4+3, columns tx*4..+3 and 32+tx*4..+3, so that the
// shared-memory reads of a warp are broadcasts or contiguous 128-byte lines).
// K advances 16 at a time through two shared buffers: while one is read, the
// next tile of A and B is loaded into registers and then stored into the
// other, so there is one barrier per 16 k.
//
// Operands may be views at any 4-byte offset with any leading dimension:
// a float4 load is used only where the base pointer is 16-byte aligned, the
// leading dimension a multiple of 4 and all four values are inside the
// matrix; anything else is loaded one float at a time with bounds checks.
//
// Split-K: blockIdx.z takes k in [z*kchunk, min(K, (z+1)*kchunk)) (kchunk a
// multiple of 16) and writes its partial product to C + z*cstride. The host
// launches the split form with alpha = 1, beta = 0, no bias, no db, C a
// scratch buffer of gridDim.z M×N' matrices (N' = N+1 with the ones column,
// which is then C's column N), then gemm_reduce_splitk sums them in a fixed
// order, so results are deterministic. Without split, gridDim.z = 1.
//
// beta == 0 never reads C, so whatever C held (NaN included) is overwritten.
#include "cuda_common.cuh"

#define GEMM_BM 64
#define GEMM_BN 64
#define GEMM_BK 16
#define GEMM_THREADS 128
// Row stride of a shared tile: 64 + 4 keeps float4 rows 16-byte aligned and
// makes the transposing stores of k-contiguous operands 2-way (not 4-way)
// bank conflicted.
#define GEMM_LDS (GEMM_BM + 4)
#define GEMM_TILE (GEMM_BK * GEMM_LDS)

// gemm_vec says whether an operand can be read with float4 loads at offsets
// that are multiples of 4 along its contiguous dimension.
static __device__ __forceinline__ bool gemm_vec(const float* p, int64_t ld) {
  return ((uint64_t)p & 15) == 0 && (ld & 3) == 0;
}

// gemm_load reads this thread's 8 values of the 64×16 operand tile whose
// element (r, k) is P[r*ld + k] (KCONTIG) or P[k*ld + r], for rows
// [r0, r0+64) of R and k in [k0, k0+16) below kend; values outside are 0.
// With ones, row R is a row of ones (the bias column of gemm_tn).
// Thread t reads two float4-shaped pieces, idx = t and t + 128:
//   KCONTIG: row idx/4, k 4*(idx%4)..+3  (8 rows × 64 bytes a warp)
//   else:    k idx/16, row 4*(idx%16)..+3 (2 rows × 256 bytes a warp)
template <bool KCONTIG>
static __device__ __forceinline__ void gemm_load(float v[8], const float* __restrict__ P, int64_t ld,
                                                 int64_t R, int64_t r0, int64_t k0, int64_t kend,
                                                 bool vec, bool ones, int t) {
#pragma unroll
  for (int l = 0; l < 2; ++l) {
    const int idx = l * GEMM_THREADS + t;
    float* o = v + 4 * l;
    if (KCONTIG) {
      const int64_t r = r0 + (idx >> 2), k = k0 + 4 * (idx & 3);
      if (r < R && vec && k + 3 < kend) {
        const float4 q = *reinterpret_cast<const float4*>(P + r * ld + k);
        o[0] = q.x, o[1] = q.y, o[2] = q.z, o[3] = q.w;
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i)
          o[i] = k + i >= kend ? 0.f : r < R ? P[r * ld + k + i] : (ones && r == R) ? 1.f : 0.f;
      }
    } else {
      const int64_t k = k0 + (idx >> 4), r = r0 + 4 * (idx & 15);
      if (k < kend && vec && r + 3 < R) {
        const float4 q = *reinterpret_cast<const float4*>(P + k * ld + r);
        o[0] = q.x, o[1] = q.y, o[2] = q.z, o[3] = q.w;
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i)
          o[i] = k >= kend ? 0.f : r + i < R ? P[k * ld + r + i] : (ones && r + i == R) ? 1.f : 0.f;
      }
    }
  }
}

// gemm_store puts the values gemm_load read into a shared tile s[k][r].
template <bool KCONTIG>
static __device__ __forceinline__ void gemm_store(float* s, const float v[8], int t) {
#pragma unroll
  for (int l = 0; l < 2; ++l) {
    const int idx = l * GEMM_THREADS + t;
    const float* o = v + 4 * l;
    if (KCONTIG) {
      const int r = idx >> 2, k = 4 * (idx & 3);
#pragma unroll
      for (int i = 0; i < 4; ++i) s[(k + i) * GEMM_LDS + r] = o[i];
    } else {
      const int k = idx >> 4, r = 4 * (idx & 15);
      *reinterpret_cast<float4*>(s + k * GEMM_LDS + r) = make_float4(o[0], o[1], o[2], o[3]);
    }
  }
}

// gemm_put stores four consecutive outputs of row i, columns j..j+3 of C
// (those below N): alpha*acc + beta*C + bias. Column N, when wanted (the
// ones column), goes to db[i] if db is set, else to C as a column of its own.
static __device__ __forceinline__ void gemm_put(float* C, int64_t ldc, int64_t i, int64_t j, int64_t N,
                                                const float acc[4], float alpha, float beta,
                                                const float* bias, float* db, bool ones, bool vec) {
  float o[4];
  float* c = C + i * ldc + j;
  if (vec && j + 3 < N) {
#pragma unroll
    for (int q = 0; q < 4; ++q) o[q] = alpha * acc[q];
    if (beta != 0.f) {
      const float4 old = *reinterpret_cast<const float4*>(c);
      o[0] += beta * old.x, o[1] += beta * old.y, o[2] += beta * old.z, o[3] += beta * old.w;
    }
    if (bias) {
#pragma unroll
      for (int q = 0; q < 4; ++q) o[q] += bias[j + q];
    }
    *reinterpret_cast<float4*>(c) = make_float4(o[0], o[1], o[2], o[3]);
    return;
  }
#pragma unroll
  for (int q = 0; q < 4; ++q) {
    float* d = j + q < N ? c + q : (ones && j + q == N) ? (db ? db + i : c + q) : nullptr;
    if (d) {
      float x = alpha * acc[q];
      if (beta != 0.f) x += beta * *d;
      if (bias && j + q < N) x += bias[j + q];
      *d = x;
    }
  }
}

// gemm_body is the whole SGEMM for one block; sa and sb are its two pairs of
// shared tiles (2*GEMM_TILE floats each, 16-byte aligned). The grid covers
// N+1 columns when ones is set.
template <bool TA, bool TB>
static __device__ __forceinline__ void gemm_body(float* sa, float* sb, const float* __restrict__ A,
                                                 const float* __restrict__ B, float* C,
                                                 const float* __restrict__ bias, float* db, bool ones,
                                                 int64_t M, int64_t N, int64_t K, int64_t lda,
                                                 int64_t ldb, int64_t ldc, float alpha, float beta,
                                                 int64_t kchunk, int64_t cstride) {
  const int t = threadIdx.x, tx = t & 7, ty = t >> 3;
  const int64_t m0 = (int64_t)blockIdx.y * GEMM_BM, n0 = (int64_t)blockIdx.x * GEMM_BN;
  const int64_t kbeg = (int64_t)blockIdx.z * kchunk;
  const int64_t kend = kbeg + kchunk < K ? kbeg + kchunk : K;
  const int64_t ntiles = kend > kbeg ? (kend - kbeg + GEMM_BK - 1) / GEMM_BK : 0;
  C += (int64_t)blockIdx.z * cstride;
  // A is k-contiguous unless transposed; B is k-contiguous when transposed.
  const bool va = gemm_vec(A, lda), vb = gemm_vec(B, ldb);

  float acc[4][8];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

  float ra[8], rb[8];
  if (ntiles > 0) {
    gemm_load<!TA>(ra, A, lda, M, m0, kbeg, kend, va, false, t);
    gemm_load<TB>(rb, B, ldb, N, n0, kbeg, kend, vb, ones, t);
    gemm_store<!TA>(sa, ra, t);
    gemm_store<TB>(sb, rb, t);
  }
  __syncthreads();

  for (int64_t kt = 0; kt < ntiles; ++kt) {
    const int cur = (int)(kt & 1);
    const float* ca = sa + cur * GEMM_TILE;
    const float* cb = sb + cur * GEMM_TILE;
    const bool more = kt + 1 < ntiles;
    if (more) {
      const int64_t k0 = kbeg + (kt + 1) * GEMM_BK;
      gemm_load<!TA>(ra, A, lda, M, m0, k0, kend, va, false, t);
      gemm_load<TB>(rb, B, ldb, N, n0, k0, kend, vb, ones, t);
    }
#pragma unroll
    for (int kk = 0; kk < GEMM_BK; ++kk) {
      const float4 a = *reinterpret_cast<const float4*>(ca + kk * GEMM_LDS + ty * 4);
      const float4 b0 = *reinterpret_cast<const float4*>(cb + kk * GEMM_LDS + tx * 4);
      const float4 b1 = *reinterpret_cast<const float4*>(cb + kk * GEMM_LDS + 32 + tx * 4);
      const float av[4] = {a.x, a.y, a.z, a.w};
      const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (more) {
      gemm_store<!TA>(sa + (cur ^ 1) * GEMM_TILE, ra, t);
      gemm_store<TB>(sb + (cur ^ 1) * GEMM_TILE, rb, t);
    }
    __syncthreads();
  }

  const bool vc = gemm_vec(C, ldc);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t row = m0 + ty * 4 + i;
    if (row < M) {
      gemm_put(C, ldc, row, n0 + tx * 4, N, &acc[i][0], alpha, beta, bias, db, ones, vc);
      gemm_put(C, ldc, row, n0 + 32 + tx * 4, N, &acc[i][4], alpha, beta, bias, db, ones, vc);
    }
  }
}

// The shared tiles are declared as float4 so that they are 16-byte aligned
// for the vector reads, in the emulator too.
#define GEMM_SHARED                                    \
  __shared__ float4 sa4[2 * GEMM_TILE / 4];            \
  __shared__ float4 sb4[2 * GEMM_TILE / 4];            \
  float* sa = reinterpret_cast<float*>(sa4);           \
  float* sb = reinterpret_cast<float*>(sb4)

// Go fallback: kernels.DenseForward (Sgemm(false, true, ...) + AddBias);
// bias may be null.
KERNEL void __launch_bounds__(GEMM_THREADS)
gemm_nt(const float* A, const float* B, float* C, const float* bias, int64_t M, int64_t N, int64_t K,
        int64_t lda, int64_t ldb, int64_t ldc, uint64_t alpha, uint64_t beta, int64_t kchunk,
        int64_t cstride) {
  GEMM_SHARED;
  gemm_body<false, true>(sa, sb, A, B, C, bias, nullptr, false, M, N, K, lda, ldb, ldc, f32(alpha),
                         f32(beta), kchunk, cstride);
}

// Go fallback: kernels.DenseBackwardData (Sgemm(false, false, ...)).
KERNEL void __launch_bounds__(GEMM_THREADS)
gemm_nn(const float* A, const float* B, float* C, int64_t M, int64_t N, int64_t K, int64_t lda,
        int64_t ldb, int64_t ldc, uint64_t alpha, uint64_t beta, int64_t kchunk, int64_t cstride) {
  GEMM_SHARED;
  gemm_body<false, false>(sa, sb, A, B, C, nullptr, nullptr, false, M, N, K, lda, ldb, ldc, f32(alpha),
                          f32(beta), kchunk, cstride);
}

// Go fallback: kernels.DenseBackwardParams (Sgemm(true, false, ...) and
// BiasBackward, whose sums come from the ones column: db may be null with
// ones set in the split form, see above).
KERNEL void __launch_bounds__(GEMM_THREADS)
gemm_tn(const float* A, const float* B, float* C, float* db, int64_t ones, int64_t M, int64_t N,
        int64_t K, int64_t lda, int64_t ldb, int64_t ldc, uint64_t alpha, uint64_t beta,
        int64_t kchunk, int64_t cstride) {
  GEMM_SHARED;
  gemm_body<true, false>(sa, sb, A, B, C, nullptr, db, ones != 0, M, N, K, lda, ldb, ldc, f32(alpha),
                         f32(beta), kchunk, cstride);
}

// gemm_reduce_splitk finishes a split-K product: C = alpha*Σ_z P_z + beta*C
// (+ bias[col]), where P_z = ws + z*M*W is the dense M×W partial product of
// slice z, summed in order of z; W = N, or N+1 when db is set, whose column
// N goes to db. Go fallback: the epilogue of kernels.Sgemm.
KERNEL void gemm_reduce_splitk(float* C, float* db, const float* __restrict__ ws,
                               const float* __restrict__ bias, int64_t M, int64_t N, int64_t ldc,
                               int64_t splits, uint64_t alpha, uint64_t beta) {
  const float a = f32(alpha), b = f32(beta);
  const int64_t W = db ? N + 1 : N, mw = M * W, stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < mw; e += stride) {
    float s = 0.f;
    for (int64_t z = 0; z < splits; ++z) s += ws[z * mw + e];
    const int64_t i = e / W, j = e - i * W;
    float* d = j < N ? C + i * ldc + j : db + i;
    float x = a * s;
    if (b != 0.f) x += b * *d;
    if (bias && j < N) x += bias[j];
    *d = x;
  }
}

EMU_REGISTER(gemm_nt)
EMU_REGISTER(gemm_nn)
EMU_REGISTER(gemm_tn)
EMU_REGISTER(gemm_reduce_splitk)
