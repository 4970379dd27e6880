// The CUDA subset our kernels use, for g++: kernels/cuda_common.cuh includes
// this header when nvcc is not compiling, so the very same kernels/*.cu
// sources build as C++17 and run on the CPU (package kernels/emu).
//
// A block's threads run as fibers on one OS thread, in round-robin order;
// a fiber leaves the CPU only at __syncthreads or a warp primitive, so plain
// shared-memory traffic between barriers needs no locking, exactly as on a
// GPU, and code that forgets a barrier usually reads stale values here too.
// __shared__ is a function-static thread_local: the one block an OS thread
// runs at a time owns it. Blocks may run on several OS threads at once, so
// atomics are real atomics.
//
// Kernels are launched by name through the registry filled by EMU_REGISTER;
// the launcher and scheduler are in registry.cc, its C interface in capi.h.
#pragma once

#include <assert.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <type_traits>
#include <utility>

// ---- Qualifiers -----------------------------------------------------------

#define KERNEL extern "C"
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static thread_local
// __constant__ data is private to its .cu file under nvcc (whole-program
// compilation); static keeps it so when every family links into one binary.
#define __constant__ static

// ---- Vector types -----------------------------------------------------------

struct uint3 {
	unsigned int x, y, z;
};
struct dim3 {
	unsigned int x, y, z;
	constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
	constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct alignas(8) float2 {
	float x, y;
};
struct float3 {
	float x, y, z;
};
struct alignas(16) float4 {
	float x, y, z, w;
};
struct alignas(8) int2 {
	int x, y;
};
struct alignas(16) int4 {
	int x, y, z, w;
};
struct alignas(8) uint2 {
	unsigned int x, y;
};
struct alignas(16) uint4 {
	unsigned int x, y, z, w;
};
struct alignas(16) double2 {
	double x, y;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float3 make_float3(float x, float y, float z) { return {x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned int x, unsigned int y) { return {x, y}; }
inline uint3 make_uint3(unsigned int x, unsigned int y, unsigned int z) { return {x, y, z}; }
inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }

// ---- Thread and block indices ---------------------------------------------

namespace emu {

// Ctx is what the running fiber sees; the scheduler sets threadIdx before
// each switch. Fibers never move between OS threads.
struct Ctx {
	uint3 tid;
	uint3 bid;
	dim3 bdim;
	dim3 gdim;
};
inline thread_local Ctx ctx{};

// Out of line (registry.cc): a call the compiler cannot see through, so it
// reloads shared memory and indices after it.
void sync_block();
int sync_block_reduce(int op, int pred);  // __syncthreads_count/and/or
uint64_t warp_op(int op, unsigned int mask, uint64_t val, int arg, int width);
[[noreturn]] void fail(const char* what);

enum { WARP_SHFL, WARP_UP, WARP_DOWN, WARP_XOR, WARP_BALLOT, WARP_ANY, WARP_ALL, WARP_SYNC };
enum { REDUCE_COUNT, REDUCE_AND, REDUCE_OR };

template <class T>
inline uint64_t to_bits(T v) {
	static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "warp shuffles move at most 8 bytes");
	uint64_t u = 0;
	memcpy(&u, &v, sizeof(T));
	return u;
}
template <class T>
inline T from_bits(uint64_t u) {
	T v;
	memcpy(&v, &u, sizeof(T));
	return v;
}

}  // namespace emu

#define threadIdx (::emu::ctx.tid)
#define blockIdx (::emu::ctx.bid)
#define blockDim (::emu::ctx.bdim)
#define gridDim (::emu::ctx.gdim)
constexpr int warpSize = 32;

// ---- Barriers and warp primitives -------------------------------------------

inline void __syncthreads() { ::emu::sync_block(); }
inline int __syncthreads_count(int p) { return ::emu::sync_block_reduce(::emu::REDUCE_COUNT, p); }
inline int __syncthreads_and(int p) { return ::emu::sync_block_reduce(::emu::REDUCE_AND, p); }
inline int __syncthreads_or(int p) { return ::emu::sync_block_reduce(::emu::REDUCE_OR, p); }
inline void __syncwarp(unsigned int mask = 0xffffffffu) { ::emu::warp_op(::emu::WARP_SYNC, mask, 0, 0, 32); }
inline unsigned int __activemask() { return 0xffffffffu; }
inline unsigned int __ballot_sync(unsigned int mask, int p) {
	return (unsigned int)::emu::warp_op(::emu::WARP_BALLOT, mask, p != 0, 0, 32);
}
inline int __any_sync(unsigned int mask, int p) { return (int)::emu::warp_op(::emu::WARP_ANY, mask, p != 0, 0, 32); }
inline int __all_sync(unsigned int mask, int p) { return (int)::emu::warp_op(::emu::WARP_ALL, mask, p != 0, 0, 32); }

template <class T>
inline T __shfl_sync(unsigned int mask, T v, int src, int width = warpSize) {
	return ::emu::from_bits<T>(::emu::warp_op(::emu::WARP_SHFL, mask, ::emu::to_bits(v), src, width));
}
template <class T>
inline T __shfl_up_sync(unsigned int mask, T v, unsigned int delta, int width = warpSize) {
	return ::emu::from_bits<T>(::emu::warp_op(::emu::WARP_UP, mask, ::emu::to_bits(v), (int)delta, width));
}
template <class T>
inline T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = warpSize) {
	return ::emu::from_bits<T>(::emu::warp_op(::emu::WARP_DOWN, mask, ::emu::to_bits(v), (int)delta, width));
}
template <class T>
inline T __shfl_xor_sync(unsigned int mask, T v, int lanemask, int width = warpSize) {
	return ::emu::from_bits<T>(::emu::warp_op(::emu::WARP_XOR, mask, ::emu::to_bits(v), lanemask, width));
}

inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---- Atomics (the overloads CUDA has, no more) ------------------------------

namespace emu {
template <class T, class F>
inline T atomic_update(T* p, F f) {
	using U = typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type;
	static_assert(sizeof(T) == sizeof(U), "4- or 8-byte atomics only");
	U* u = reinterpret_cast<U*>(p);
	U old = __atomic_load_n(u, __ATOMIC_RELAXED);
	for (;;) {
		T o = from_bits<T>(old);
		T n = f(o);
		U nu = (U)to_bits(n);
		if (__atomic_compare_exchange_n(u, &old, nu, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return o;
	}
}
}  // namespace emu

inline float atomicAdd(float* p, float v) {
	return ::emu::atomic_update(p, [v](float o) { return o + v; });
}
inline double atomicAdd(double* p, double v) {
	return ::emu::atomic_update(p, [v](double o) { return o + v; });
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned int atomicAdd(unsigned int* p, unsigned int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
	return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
inline int atomicSub(int* p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
inline unsigned int atomicSub(unsigned int* p, unsigned int v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline unsigned int atomicExch(unsigned int* p, unsigned int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicExch(unsigned long long* p, unsigned long long v) {
	return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}
inline float atomicExch(float* p, float v) {
	return ::emu::atomic_update(p, [v](float) { return v; });
}
#define EMU_ATOMIC_MINMAX(T)                                                                  \
	inline T atomicMax(T* p, T v) {                                                           \
		return ::emu::atomic_update(p, [v](T o) { return o > v ? o : v; });                   \
	}                                                                                         \
	inline T atomicMin(T* p, T v) {                                                           \
		return ::emu::atomic_update(p, [v](T o) { return o < v ? o : v; });                   \
	}
EMU_ATOMIC_MINMAX(int)
EMU_ATOMIC_MINMAX(unsigned int)
EMU_ATOMIC_MINMAX(long long)
EMU_ATOMIC_MINMAX(unsigned long long)
#undef EMU_ATOMIC_MINMAX
#define EMU_ATOMIC_CAS(T)                                                                    \
	inline T atomicCAS(T* p, T cmp, T v) {                                                   \
		__atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
		return cmp;                                                                          \
	}
EMU_ATOMIC_CAS(int)
EMU_ATOMIC_CAS(unsigned int)
EMU_ATOMIC_CAS(unsigned long long)
#undef EMU_ATOMIC_CAS
#define EMU_ATOMIC_BITS(T)                                                                               \
	inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }                  \
	inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }                    \
	inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }
EMU_ATOMIC_BITS(int)
EMU_ATOMIC_BITS(unsigned int)
EMU_ATOMIC_BITS(unsigned long long)
#undef EMU_ATOMIC_BITS

// ---- Intrinsics -------------------------------------------------------------

inline float __uint_as_float(unsigned int u) { return ::emu::from_bits<float>(u); }
inline unsigned int __float_as_uint(float f) { return (unsigned int)::emu::to_bits(f); }
inline float __int_as_float(int i) { return ::emu::from_bits<float>((uint32_t)i); }
inline int __float_as_int(float f) { return (int)(uint32_t)::emu::to_bits(f); }
inline double __longlong_as_double(long long i) { return ::emu::from_bits<double>((uint64_t)i); }
inline long long __double_as_longlong(double d) { return (long long)::emu::to_bits(d); }
inline double __hiloint2double(int hi, int lo) {
	return ::emu::from_bits<double>(((uint64_t)(uint32_t)hi << 32) | (uint32_t)lo);
}
inline int __double2hiint(double d) { return (int)(::emu::to_bits(d) >> 32); }
inline int __double2loint(double d) { return (int)(uint32_t)::emu::to_bits(d); }

inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((uint64_t)a * b) >> 32); }
inline int __mulhi(int a, int b) { return (int)(((int64_t)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
	return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline long long __mul64hi(long long a, long long b) { return (long long)(((__int128)a * b) >> 64); }
inline int __mul24(int a, int b) { return (int)((int64_t)((a << 8) >> 8) * ((b << 8) >> 8)); }
inline unsigned int __umul24(unsigned int a, unsigned int b) { return (a & 0xffffff) * (b & 0xffffff); }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned int)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
	x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
	x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
	x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
	return __builtin_bswap32(x);
}

// Float arithmetic with explicit rounding: IEEE round-to-nearest is what
// the CPU does anyway (g++ does not contract a*b+c on x86-64 without -mfma).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __drcp_rn(double a) { return 1.0 / a; }
inline double __dsqrt_rn(double a) { return sqrt(a); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return exp10f(x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline void __sincosf(float x, float* s, float* c) { sincosf(x, s, c); }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }  // NaN -> 0
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)floorf(x); }
inline int __float2int_ru(float x) { return (int)ceilf(x); }
inline unsigned int __float2uint_rn(float x) { return (unsigned int)nearbyintf(x); }
inline long long __float2ll_rn(float x) { return (long long)nearbyintf(x); }
inline float __int2float_rn(int x) { return (float)x; }
inline float __uint2float_rn(unsigned int x) { return (float)x; }
inline float __ll2float_rn(long long x) { return (float)x; }
inline float __double2float_rn(double x) { return (float)x; }
inline int __double2int_rn(double x) { return (int)nearbyint(x); }
inline int __double2int_rz(double x) { return (int)x; }

template <class T>
inline T __ldg(const T* p) { return *p; }
template <class T>
inline T __ldcg(const T* p) { return *p; }
template <class T>
inline T __ldca(const T* p) { return *p; }
template <class T>
inline T __ldcs(const T* p) { return *p; }
template <class T>
inline T __ldlu(const T* p) { return *p; }
template <class T>
inline void __stcg(T* p, T v) { *p = v; }
template <class T>
inline void __stcs(T* p, T v) { *p = v; }
template <class T>
inline void __stwb(T* p, T v) { *p = v; }

// min and max: the device overloads CUDA declares (same types, the
// int/unsigned mixes, float/double), so a call that is ambiguous for nvcc
// is ambiguous here too.
#define EMU_MINMAX(A, B, R)                                         \
	inline R min(A a, B b) { return (R)a < (R)b ? (R)a : (R)b; } \
	inline R max(A a, B b) { return (R)a > (R)b ? (R)a : (R)b; }
EMU_MINMAX(int, int, int)
EMU_MINMAX(unsigned int, unsigned int, unsigned int)
EMU_MINMAX(int, unsigned int, unsigned int)
EMU_MINMAX(unsigned int, int, unsigned int)
EMU_MINMAX(long, long, long)
EMU_MINMAX(unsigned long, unsigned long, unsigned long)
EMU_MINMAX(long, unsigned long, unsigned long)
EMU_MINMAX(unsigned long, long, unsigned long)
EMU_MINMAX(long long, long long, long long)
EMU_MINMAX(unsigned long long, unsigned long long, unsigned long long)
EMU_MINMAX(long long, unsigned long long, unsigned long long)
EMU_MINMAX(unsigned long long, long long, unsigned long long)
#undef EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(double a, float b) { return fmax(a, b); }

// ---- Registration -----------------------------------------------------------

namespace emu {

using Thunk = void (*)(const uint64_t* args);

// register_kernel adds a kernel to the registry (registry.cc); ptrmask has
// bit i set when parameter i is a pointer, which the launcher checks
// against the live allocations.
bool register_kernel(const char* name, int nargs, uint64_t ptrmask, Thunk thunk);

template <class T>
inline T arg(uint64_t v) {
	static_assert(sizeof(T) == 8,
	              "kernel parameters must be 64-bit: pointers, int64_t, uint64_t (f32() for a float)");
	if constexpr (std::is_pointer<T>::value) {
		return reinterpret_cast<T>(static_cast<uintptr_t>(v));
	} else if constexpr (std::is_integral<T>::value) {
		return static_cast<T>(v);
	} else if constexpr (std::is_same<T, double>::value) {
		return from_bits<double>(v);
	} else {
		static_assert(std::is_pointer<T>::value, "kernel parameter of unsupported type");
	}
}

template <class... A>
struct Sig {
	static constexpr int n = sizeof...(A);
	static constexpr uint64_t ptrmask() {
		constexpr bool p[] = {std::is_pointer<A>::value..., false};
		uint64_t m = 0;
		for (int i = 0; i < n; i++)
			if (p[i]) m |= uint64_t(1) << i;
		return m;
	}
	template <void (*F)(A...), size_t... I>
	static void call(const uint64_t* a, std::index_sequence<I...>) {
		(void)a;
		F(arg<A>(a[I])...);
	}
	template <void (*F)(A...)>
	static void thunk(const uint64_t* a) {
		call<F>(a, std::index_sequence_for<A...>{});
	}
};
template <class... A>
Sig<A...> sig_of(void (*)(A...));

}  // namespace emu

#define EMU_REGISTER(name)                                                                                   \
	[[maybe_unused]] static const bool emu_registered_##name = ::emu::register_kernel(                      \
	    #name, decltype(::emu::sig_of(&name))::n, decltype(::emu::sig_of(&name))::ptrmask(),               \
	    &decltype(::emu::sig_of(&name))::template thunk<&name>);
