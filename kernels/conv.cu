// Convolutions over NCHW tensors as implicit GEMMs: the im2col matrix is
// never written to memory; each block gathers its tile of it into shared
// memory on the fly (zero padding included) and multiplies it against the
// matching tile of the other operand with a register-blocked inner loop.
//
// One templated body serves the three products (Go fallbacks in
// kernels/conv.go):
//   forward          y[K, N·OH·OW]  = w[K, CRS] · im2col(x)[CRS, N·OH·OW]
//   backward-data    dx[C, N·H·W]   = wᵀ[C, KRS] · dy gathered by the
//                    inverse map; with stride st the outputs split into st²
//                    phases by ((h+pad) % st, (w+pad) % st), and in a phase
//                    only the taps r ≡ (h+pad) (mod st) contribute, so each
//                    phase is a dense GEMM over K·⌈R/st⌉·⌈S/st⌉ with no
//                    wasted zero taps
//   backward-filter  dw[K, CRS]     = dy[K, N·OH·OW] · im2col(x)ᵀ, whose
//                    reduction is long and output small
// Any of them may split its reduction over gridDim.z (split-K): each split
// then writes its partial product to a workspace in the output's layout and
// conv_splitk_reduce sums the partials in a fixed order, so results do not
// depend on scheduling (no float atomics anywhere).
#include "cuda_common.cuh"

#define CONV_FWD 0
#define CONV_BWD_DATA 1
#define CONV_BWD_FILTER 2

// An offset that makes every bounds test fail: added to a small coordinate
// it stays negative, and negative coordinates fail the unsigned test.
#define CONV_FAR (-(1 << 29))

// The operands' geometry for one block; the phase fields are used by the
// backward-data product only.
struct ConvDims {
  int N, C, H, W, K, R, S, st, pad, OH, OW;
  int M, Ncols, Kr;   // the GEMM this block is part of
  int ph, pw;         // the phase (backward-data)
  int RR, SS;         // taps per phase in r and s
  int hq0, wq0;       // first quotient row/column of the phase
  int HQ, WQ;         // phase rows/columns
  int BH, BW;         // bounds of the gathered operand's planes
};

// Taps r in [0, R) with r ≡ ph (mod st).
__device__ __forceinline__ int conv_taps(int R, int ph, int st) { return ph < R ? (R - ph + st - 1) / st : 0; }

// Output rows h in [0, H) with (h + pad) % st == ph are h = q·st + ph - pad
// for q in [q0, q0 + count).
__device__ __forceinline__ void conv_phase_rows(int H, int pad, int ph, int st, int* q0, int* count) {
  int lo = pad >= ph ? (pad - ph + st - 1) / st : 0;
  int last = H - 1 + pad - ph;
  int hi = last >= 0 ? last / st + 1 : 0;
  *q0 = lo;
  *count = hi > lo ? hi - lo : 0;
}

// A reduction index as mixed-radix digits (hi, mid, lo) with radices
// (D1, D0): value = (hi·D1 + mid)·D0 + lo. Tiles advance every thread's
// reduction rows by a fixed step, so the loaders divide once, before the
// loop, and then only add digits with carries (integer division is some
// twenty instructions; a tile of 16 steps is 512 FMAs per thread).
struct ConvDigits {
  int hi, mid, lo;
};

__device__ __forceinline__ ConvDigits conv_digits(int v, int d1, int d0) {
  int q = v / d0;
  ConvDigits r;
  r.hi = q / d1, r.mid = q % d1, r.lo = v % d0;
  return r;
}

__device__ __forceinline__ void conv_digits_add(ConvDigits& a, const ConvDigits& b, int d1, int d0) {
  a.lo += b.lo;
  int c = a.lo >= d0;
  if (c) a.lo -= d0;
  a.mid += b.mid + c;
  c = a.mid >= d1;
  if (c) a.mid -= d1;
  a.hi += b.hi + c;
}

// conv_gemm computes one BM x BN tile of one split of a MODE product with
// NT = (BM/TM)·(BN/TN) threads, each owning a TM x TN block of accumulators
// spread in 4-wide chunks across the tile (so shared-memory reads are float4
// and a warp's reads hit distinct banks or broadcast).
//
// The reduction index kr is (c, r, s) forward, (k, rr, ss) backward-data
// and (n, oh, ow) backward-filter. Operand A [M, Kr] is gathered from
// abase(kr) + m·amstride; each thread loads one reduction row kka of every
// tile at a stride along M. Operand B [Kr, Ncols] is gathered as
// src[P(kr) + Q(col)], in range when the row's and the column's coordinates
// add up inside the BH x BW plane; each thread loads 4 columns, whose Q it
// decodes once before the loop, of BK/BRSTEP rows of every tile, whose P it
// steps with digit additions. Consecutive threads take consecutive columns,
// which are consecutive addresses (or every st-th) in the gathered tensor.
//
// out gets acc (+ bias[m]) (+ out when beta) without split-K, and the raw
// partial at out + split·outTotal with it.
template <int MODE, int BM, int BN, int BK, int TM, int TN>
__device__ __forceinline__ void conv_gemm(float* out, const float* asrc, const float* bsrc, const float* bias,
                                          int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                                          int64_t S, int64_t stride, int64_t pad, int64_t splits, int64_t outTotal,
                                          int64_t beta) {
  constexpr int TX = BN / TN, TY = BM / TM, NT = TX * TY;
  constexpr int BPT = 4;               // B columns a thread loads
  constexpr int TPR = BN / BPT;        // threads across a row of the B tile
  constexpr int BRSTEP = NT / TPR;     // B rows one pass of the block covers
  constexpr int BRP = BK / BRSTEP;     // B rows a thread loads per tile
  constexpr int AROWS = NT / BK;       // M rows one pass of A loads covers
  constexpr int APT = (BM + AROWS - 1) / AROWS;
  static_assert(NT % TPR == 0 && BK % BRSTEP == 0 && NT % BK == 0 && TM % 4 == 0 && TN % 4 == 0,
                "conv tile shape");
  // A is stored transposed, [kk][m]; the padding keeps rows 16-byte aligned
  // and spreads the column-wise stores over the banks.
  alignas(16) __shared__ float As[2][BK][BM + 4];
  alignas(16) __shared__ float Bs[2][BK][BN];

  ConvDims d;
  d.N = (int)N, d.C = (int)C, d.H = (int)H, d.W = (int)W, d.K = (int)K, d.R = (int)R, d.S = (int)S;
  d.st = (int)stride, d.pad = (int)pad;
  d.OH = (d.H + 2 * d.pad - d.R) / d.st + 1;
  d.OW = (d.W + 2 * d.pad - d.S) / d.st + 1;
  const int nsplit = (int)splits;
  int split = blockIdx.z;
  const int P = d.OH * d.OW, HW = d.H * d.W, RS = d.R * d.S;
  int d1, d0;  // the radices of kr's digits
  if (MODE == CONV_FWD) {
    d.M = d.K, d.Ncols = d.N * P, d.Kr = d.C * RS, d.BH = d.H, d.BW = d.W;
    d1 = d.R, d0 = d.S;
  } else if (MODE == CONV_BWD_FILTER) {
    d.M = d.K, d.Ncols = d.C * RS, d.Kr = d.N * P, d.BH = d.H, d.BW = d.W;
    d1 = d.OH, d0 = d.OW;
  } else {
    int phase = split / nsplit;
    split %= nsplit;
    d.ph = phase / d.st, d.pw = phase % d.st;
    d.RR = conv_taps(d.R, d.ph, d.st), d.SS = conv_taps(d.S, d.pw, d.st);
    conv_phase_rows(d.H, d.pad, d.ph, d.st, &d.hq0, &d.HQ);
    conv_phase_rows(d.W, d.pad, d.pw, d.st, &d.wq0, &d.WQ);
    d.M = d.C, d.Ncols = d.N * d.HQ * d.WQ, d.Kr = d.K * d.RR * d.SS, d.BH = d.OH, d.BW = d.OW;
    d1 = d.RR, d0 = d.SS;
  }
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  // Phases with fewer columns than the grid covers: the whole block leaves.
  if (n0 >= d.Ncols) return;
  const int chunk = ((d.Kr + nsplit - 1) / nsplit + BK - 1) / BK * BK;
  const int kbeg = split * chunk;
  const int kend = min(d.Kr, kbeg + chunk);
  const int ntiles = kend > kbeg ? (kend - kbeg + BK - 1) / BK : 0;

  const int tid = threadIdx.x;
  const int tx = tid % TX, ty = tid / TX;

  // A: this thread loads row kka of each tile at M rows ma + i·AROWS.
  const int kka = tid % BK, ma = tid / BK;
  int amstride;
  if (MODE == CONV_FWD) amstride = d.C * RS;
  else if (MODE == CONV_BWD_DATA) amstride = RS;
  else amstride = P;

  // B: this thread loads rows kkb + j·BRSTEP of each tile at columns
  // nb + i·TPR.
  const int kkb = tid / TPR, nb = tid % TPR;
  int qoff[BPT], qh[BPT], qw[BPT];
#pragma unroll
  for (int i = 0; i < BPT; i++) {
    int j = n0 + nb + i * TPR;
    qoff[i] = 0, qh[i] = CONV_FAR, qw[i] = 0;
    if (j >= d.Ncols) continue;
    if (MODE == CONV_FWD) {
      int n = j / P, p = j % P;
      int ih = (p / d.OW) * d.st - d.pad, iw = (p % d.OW) * d.st - d.pad;
      qoff[i] = n * d.C * HW + ih * d.W + iw, qh[i] = ih, qw[i] = iw;
    } else if (MODE == CONV_BWD_DATA) {
      int pq = d.HQ * d.WQ;
      int n = j / pq, q = j % pq;
      int hq = d.hq0 + q / d.WQ, wq = d.wq0 + q % d.WQ;
      qoff[i] = n * d.K * P + hq * d.OW + wq, qh[i] = hq, qw[i] = wq;
    } else {
      int c = j / RS, rs = j % RS, r = rs / d.S, s = rs % d.S;
      qoff[i] = c * HW + r * d.W + s, qh[i] = r, qw[i] = s;
    }
  }

  // The digits of this thread's next A row and B row, and the steps between
  // tiles (A) and between a thread's B rows (B, whose last step lands on the
  // next tile's first row). With no tiles the radices may be 0: no division.
  int kra = kbeg + kka, krb = kbeg + kkb;
  ConvDigits da = {0, 0, 0}, db = {0, 0, 0}, stepA = {0, 0, 0}, stepB = {0, 0, 0};
  if (ntiles > 0) {
    da = conv_digits(kra, d1, d0), db = conv_digits(krb, d1, d0);
    stepA = conv_digits(BK, d1, d0), stepB = conv_digits(BRSTEP, d1, d0);
  }

  float ra[APT], rb[BRP][BPT];
  // load gathers the next tile of both operands into registers.
  auto load = [&]() {
    int abase = 0;
    bool aok = kra < kend;
    if (MODE == CONV_FWD) {
      abase = kra;
    } else if (MODE == CONV_BWD_DATA) {
      abase = da.hi * d.C * RS + (d.ph + d.st * da.mid) * d.S + d.pw + d.st * da.lo;
    } else {
      abase = da.hi * d.K * P + da.mid * d.OW + da.lo;
    }
#pragma unroll
    for (int i = 0; i < APT; i++) {
      int m = ma + i * AROWS;
      ra[i] = 0.f;
      if (m < BM && aok && m0 + m < d.M) ra[i] = asrc[abase + (m0 + m) * amstride];
    }
    kra += BK;
    if (MODE != CONV_FWD) conv_digits_add(da, stepA, d1, d0);
#pragma unroll
    for (int j = 0; j < BRP; j++) {
      int poff, ph, pw;
      if (MODE == CONV_FWD) {
        poff = db.hi * HW + db.mid * d.W + db.lo, ph = db.mid, pw = db.lo;
      } else if (MODE == CONV_BWD_DATA) {
        poff = db.hi * P - db.mid * d.OW - db.lo, ph = -db.mid, pw = -db.lo;
      } else {
        ph = db.mid * d.st - d.pad, pw = db.lo * d.st - d.pad;
        poff = db.hi * d.C * HW + ph * d.W + pw;
      }
      if (krb >= kend) ph = CONV_FAR;
#pragma unroll
      for (int i = 0; i < BPT; i++) {
        bool ok = (unsigned)(ph + qh[i]) < (unsigned)d.BH && (unsigned)(pw + qw[i]) < (unsigned)d.BW;
        rb[j][i] = ok ? bsrc[poff + qoff[i]] : 0.f;
      }
      krb += BRSTEP;
      conv_digits_add(db, stepB, d1, d0);
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < APT; i++) {
      int m = ma + i * AROWS;
      if (m < BM) As[buf][kka][m] = ra[i];
    }
#pragma unroll
    for (int j = 0; j < BRP; j++)
#pragma unroll
      for (int i = 0; i < BPT; i++) Bs[buf][kkb + j * BRSTEP][nb + i * TPR] = rb[j][i];
  };

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; i++)
#pragma unroll
    for (int j = 0; j < TN; j++) acc[i][j] = 0.f;

  if (ntiles > 0) {
    load();
    store(0);
  }
  __syncthreads();
  for (int t = 0; t < ntiles; t++) {
    const int cur = t & 1;
    // The next tile's global loads are in flight while this one computes.
    if (t + 1 < ntiles) load();
#pragma unroll
    for (int kk = 0; kk < BK; kk++) {
      float a[TM], b[TN];
#pragma unroll
      for (int c = 0; c < TM / 4; c++) {
        float4 v = *reinterpret_cast<const float4*>(&As[cur][kk][c * TY * 4 + ty * 4]);
        a[c * 4 + 0] = v.x, a[c * 4 + 1] = v.y, a[c * 4 + 2] = v.z, a[c * 4 + 3] = v.w;
      }
#pragma unroll
      for (int c = 0; c < TN / 4; c++) {
        float4 v = *reinterpret_cast<const float4*>(&Bs[cur][kk][c * TX * 4 + tx * 4]);
        b[c * 4 + 0] = v.x, b[c * 4 + 1] = v.y, b[c * 4 + 2] = v.z, b[c * 4 + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (t + 1 < ntiles) store(cur ^ 1);
    __syncthreads();
  }

  // Epilogue: output (m, col) lives at ocol(col) + m·omstride.
  int omstride;
  if (MODE == CONV_FWD) omstride = P;
  else if (MODE == CONV_BWD_DATA) omstride = HW;
  else omstride = d.C * RS;
  float* dst = out;
  const bool partial = nsplit > 1;
  if (partial) dst += (size_t)split * (size_t)outTotal;
#pragma unroll
  for (int cj = 0; cj < TN / 4; cj++) {
#pragma unroll
    for (int q = 0; q < 4; q++) {
      int j = n0 + cj * TX * 4 + tx * 4 + q;
      if (j >= d.Ncols) continue;
      int ocol;
      if (MODE == CONV_FWD) {
        ocol = (j / P) * d.K * P + j % P;
      } else if (MODE == CONV_BWD_DATA) {
        int pq = d.HQ * d.WQ;
        int n = j / pq, qq = j % pq;
        int h = (d.hq0 + qq / d.WQ) * d.st + d.ph - d.pad, w = (d.wq0 + qq % d.WQ) * d.st + d.pw - d.pad;
        ocol = n * d.C * HW + h * d.W + w;
      } else {
        ocol = j;
      }
#pragma unroll
      for (int ci = 0; ci < TM / 4; ci++) {
#pragma unroll
        for (int p = 0; p < 4; p++) {
          int m = m0 + ci * TY * 4 + ty * 4 + p;
          if (m >= d.M) continue;
          int idx = ocol + m * omstride;
          float v = acc[ci * 4 + p][cj * 4 + q];
          if (!partial) {
            if (bias) v += bias[m];
            if (beta) v += dst[idx];
          }
          dst[idx] = v;
        }
      }
    }
  }
}

// One kernel per product and tile shape; gpu/conv.go picks the tile shape
// and the split count from the GEMM's size. Arguments, in order:
//   out, A source, B source, bias (or null),
//   N, C, H, W, K, R, S, stride, pad (the convolution, kernels.ConvGeom),
//   splits, outTotal (values of the output, the workspace's split stride),
//   beta (1: add to out; only without split-K).
// A and B are (w, x) forward, (w, dy) backward-data, (dy, x) backward-filter.
// The reduction step of the four larger tiles (the GPU harness may try 8).
#ifndef CONV_BK
#define CONV_BK 16
#endif

#define CONV_GEMM_KERNEL(name, MODE, BM, BN, BK, TM, TN, MINB)                                                       \
  KERNEL void __launch_bounds__((BM / TM) * (BN / TN), MINB)                                                        \
      name(float* out, const float* a, const float* b, const float* bias, int64_t N, int64_t C, int64_t H,      \
           int64_t W, int64_t K, int64_t R, int64_t S, int64_t stride, int64_t pad, int64_t splits,             \
           int64_t outTotal, int64_t beta) {                                                                    \
    conv_gemm<MODE, BM, BN, BK, TM, TN>(out, a, b, bias, N, C, H, W, K, R, S, stride, pad, splits, outTotal, \
                                        beta);                                                                  \
  }

// Go fallback: kernels.ConvForward (without split-K; bias fused).
CONV_GEMM_KERNEL(conv_fwd_128x128, CONV_FWD, 128, 128, CONV_BK, 8, 8, 2)
CONV_GEMM_KERNEL(conv_fwd_64x64, CONV_FWD, 64, 64, CONV_BK, 8, 4, 1)
CONV_GEMM_KERNEL(conv_fwd_32x128, CONV_FWD, 32, 128, CONV_BK, 4, 8, 1)
CONV_GEMM_KERNEL(conv_fwd_32x64, CONV_FWD, 32, 64, CONV_BK, 4, 4, 1)
CONV_GEMM_KERNEL(conv_fwd_4x512, CONV_FWD, 4, 512, 8, 4, 4, 1)
// Go fallback: kernels.ConvBackwardData; gridDim.z is phases x splits.
CONV_GEMM_KERNEL(conv_bwd_data_128x128, CONV_BWD_DATA, 128, 128, CONV_BK, 8, 8, 2)
CONV_GEMM_KERNEL(conv_bwd_data_64x64, CONV_BWD_DATA, 64, 64, CONV_BK, 8, 4, 1)
CONV_GEMM_KERNEL(conv_bwd_data_32x128, CONV_BWD_DATA, 32, 128, CONV_BK, 4, 8, 1)
CONV_GEMM_KERNEL(conv_bwd_data_32x64, CONV_BWD_DATA, 32, 64, CONV_BK, 4, 4, 1)
CONV_GEMM_KERNEL(conv_bwd_data_4x512, CONV_BWD_DATA, 4, 512, 8, 4, 4, 1)
// Go fallback: kernels.ConvBackwardFilter (the weight part; beta = 1).
CONV_GEMM_KERNEL(conv_bwd_filter_128x128, CONV_BWD_FILTER, 128, 128, CONV_BK, 8, 8, 2)
CONV_GEMM_KERNEL(conv_bwd_filter_64x64, CONV_BWD_FILTER, 64, 64, CONV_BK, 8, 4, 1)
CONV_GEMM_KERNEL(conv_bwd_filter_32x128, CONV_BWD_FILTER, 32, 128, CONV_BK, 4, 8, 1)
CONV_GEMM_KERNEL(conv_bwd_filter_32x64, CONV_BWD_FILTER, 32, 64, CONV_BK, 4, 4, 1)
CONV_GEMM_KERNEL(conv_bwd_filter_4x512, CONV_BWD_FILTER, 4, 512, 8, 4, 4, 1)

// conv_splitk_reduce finishes a split-K product: out[i] = Σ_s ws[s·total + i]
// in split order, plus bias[(i / p) % k] when bias is set, plus out[i] when
// beta. Grid-stride over the output.
// Go fallback: the epilogues of kernels.ConvForward, ConvBackwardData,
// ConvBackwardFilter.
KERNEL void conv_splitk_reduce(float* out, const float* ws, const float* bias, int64_t total, int64_t splits,
                               int64_t p, int64_t k, int64_t beta) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    float v = 0.f;
    for (int64_t s = 0; s < splits; s++) v += ws[s * total + i];
    if (bias) v += bias[(i / p) % k];
    if (beta) v += out[i];
    out[i] = v;
  }
}

// conv_add_channel_bias adds b[c] to every value of channel c of y[N,C,P].
// Grid-stride over the values.
// Go fallback: kernels.AddChannelBias.
KERNEL void conv_add_channel_bias(float* y, const float* b, int64_t total, int64_t c, int64_t p) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x)
    y[i] += b[(i / p) % c];
}

// conv_channel_bias_backward adds to db[c] the sum of channel c of dy[N,C,P]:
// one block of 256 threads per channel, each thread summing a fixed strided
// subset in double, then a fixed-order tree in shared memory, so the result
// is reproducible and as accurate as the fallback's float64 sum.
// Go fallback: kernels.ChannelBiasBackward.
KERNEL void conv_channel_bias_backward(float* db, const float* dy, int64_t n, int64_t c, int64_t p) {
  __shared__ double part[256];
  const int ch = blockIdx.x, tid = threadIdx.x;
  double s = 0;
  if (p >= 256) {
    for (int64_t i = 0; i < n; i++) {
      const float* row = dy + (i * c + ch) * p;
      for (int64_t j = tid; j < p; j += 256) s += row[j];
    }
  } else {
    // Small planes: a thread walks whole (example, position) pairs.
    for (int64_t e = tid; e < n * p; e += 256) s += dy[((e / p) * c + ch) * p + e % p];
  }
  part[tid] = s;
  __syncthreads();
  for (int w = 128; w > 0; w >>= 1) {
    if (tid < w) part[tid] += part[tid + w];
    __syncthreads();
  }
  if (tid == 0) db[ch] += (float)part[0];
}

EMU_REGISTER(conv_fwd_128x128)
EMU_REGISTER(conv_fwd_64x64)
EMU_REGISTER(conv_fwd_32x128)
EMU_REGISTER(conv_fwd_32x64)
EMU_REGISTER(conv_fwd_4x512)
EMU_REGISTER(conv_bwd_data_128x128)
EMU_REGISTER(conv_bwd_data_64x64)
EMU_REGISTER(conv_bwd_data_32x128)
EMU_REGISTER(conv_bwd_data_32x64)
EMU_REGISTER(conv_bwd_data_4x512)
EMU_REGISTER(conv_bwd_filter_128x128)
EMU_REGISTER(conv_bwd_filter_64x64)
EMU_REGISTER(conv_bwd_filter_32x128)
EMU_REGISTER(conv_bwd_filter_32x64)
EMU_REGISTER(conv_bwd_filter_4x512)
EMU_REGISTER(conv_splitk_reduce)
EMU_REGISTER(conv_add_channel_bias)
EMU_REGISTER(conv_channel_bias_backward)
