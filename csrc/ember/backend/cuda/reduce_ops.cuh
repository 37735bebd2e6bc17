// Device functors of the reduce family, shared by the Reduce and Scan kernels: the same
// results as the CPU's (backend/cpu/reduce_ops.h). Each op has an accumulator type A (float
// sums and products accumulate in double, as on the CPU), an identity, a step that folds one
// element in, a combine of two accumulators, and the conversion to the output type. Also the
// warp and block reductions of accumulators.
#pragma once

#include "ember/backend/cuda/types.cuh"

namespace ember::cuda::reduce_ops {

namespace cstd = ::cuda::std;

/// The dtype a sum / product of T produces: numpy's rules with 32-bit ints.
template <typename T>
using SumOut = cstd::conditional_t<
    cstd::is_same_v<T, bool> || cstd::is_same_v<T, int8_t> || cstd::is_same_v<T, int16_t>, int32_t,
    cstd::conditional_t<cstd::is_same_v<T, uint8_t> || cstd::is_same_v<T, uint16_t>, uint32_t, T>>;

/// Accumulators of sums and products: double for every real floating output, the output
/// type otherwise (complex64 accumulates as complex64).
template <typename O>
using WideAcc = cstd::conditional_t<cstd::is_floating_point_v<O> || is_half_v<O>, double, O>;

#define EMBER_DEV __device__ __forceinline__

template <typename T, typename O>
struct Sum {
  using A = WideAcc<O>;
  static EMBER_DEV A init() { return A(0); }
  static EMBER_DEV A step(A a, T x) { return a + convert<A>(x); }
  static EMBER_DEV A combine(A a, A b) { return a + b; }
  static EMBER_DEV O out(A a) { return convert<O>(a); }
};

template <typename T, typename O>
struct Prod {
  using A = WideAcc<O>;
  static EMBER_DEV A init() { return A(1); }
  static EMBER_DEV A step(A a, T x) { return a * convert<A>(x); }
  static EMBER_DEV A combine(A a, A b) { return a * b; }
  static EMBER_DEV O out(A a) { return convert<O>(a); }
};

// max / min propagate NaN: a NaN operand wins, and once the accumulator is NaN it stays.
template <typename T, typename O = T>
struct Max {
  using A = compute_t<T>;
  static EMBER_DEV A init() {
    if constexpr (cstd::is_same_v<A, bool>) return false;
    else if constexpr (cstd::is_floating_point_v<A>) return -cstd::numeric_limits<A>::infinity();
    else return cstd::numeric_limits<A>::lowest();
  }
  static EMBER_DEV A combine(A a, A b) {
    if constexpr (cstd::is_same_v<A, bool>) return a || b;
    else if constexpr (cstd::is_floating_point_v<A>) return (b > a || b != b) ? b : a;
    else return b > a ? b : a;
  }
  static EMBER_DEV A step(A a, T x) { return combine(a, load(x)); }
  static EMBER_DEV O out(A a) { return convert<O>(a); }
};

template <typename T, typename O = T>
struct Min {
  using A = compute_t<T>;
  static EMBER_DEV A init() {
    if constexpr (cstd::is_same_v<A, bool>) return true;
    else if constexpr (cstd::is_floating_point_v<A>) return cstd::numeric_limits<A>::infinity();
    else return cstd::numeric_limits<A>::max();
  }
  static EMBER_DEV A combine(A a, A b) {
    if constexpr (cstd::is_same_v<A, bool>) return a && b;
    else if constexpr (cstd::is_floating_point_v<A>) return (b < a || b != b) ? b : a;
    else return b < a ? b : a;
  }
  static EMBER_DEV A step(A a, T x) { return combine(a, load(x)); }
  static EMBER_DEV O out(A a) { return convert<O>(a); }
};

// log(exp(a) + exp(b)) without overflow; -inf is the identity, NaN propagates.
template <typename T, typename O = T>
struct LogAddExp {
  using A = compute_t<T>;
  static EMBER_DEV A init() { return -cstd::numeric_limits<A>::infinity(); }
  static EMBER_DEV A combine(A a, A b) {
    if (a != a || b != b) return a + b;
    A m = a > b ? a : b;
    if (m == -cstd::numeric_limits<A>::infinity()) return m;
    return m + cstd::log1p(cstd::exp(-(a > b ? a - b : b - a)));
  }
  static EMBER_DEV A step(A a, T x) { return combine(a, load(x)); }
  static EMBER_DEV O out(A a) { return convert<O>(a); }
};

template <typename T, typename O = bool>
struct All {
  using A = bool;
  static EMBER_DEV A init() { return true; }
  static EMBER_DEV A step(A a, T x) { return a && convert<bool>(x); }
  static EMBER_DEV A combine(A a, A b) { return a && b; }
  static EMBER_DEV O out(A a) { return a; }
};

template <typename T, typename O = bool>
struct Any {
  using A = bool;
  static EMBER_DEV A init() { return false; }
  static EMBER_DEV A step(A a, T x) { return a || convert<bool>(x); }
  static EMBER_DEV A combine(A a, A b) { return a || b; }
  static EMBER_DEV O out(A a) { return a; }
};

// ---- warp / block reductions ----
template <typename A>
EMBER_DEV A shfl_down(A v, int delta) {
  if constexpr (cstd::is_same_v<A, bool>) {
    return bool(__shfl_down_sync(0xffffffffu, int(v), delta));
  } else if constexpr (is_complex_v<A>) {
    return A(__shfl_down_sync(0xffffffffu, v.real(), delta), __shfl_down_sync(0xffffffffu, v.imag(), delta));
  } else if constexpr (sizeof(A) < 4) {
    return A(__shfl_down_sync(0xffffffffu, int(v), delta));
  } else {
    return __shfl_down_sync(0xffffffffu, v, delta);
  }
}

template <typename Op, typename A>
EMBER_DEV A warp_reduce(A v) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) v = Op::combine(v, shfl_down(v, d));
  return v;
}

/// Reduces v over the block (blockDim.x a multiple of 32, at most 1024); thread 0 gets it.
template <typename Op, typename A>
__device__ A block_reduce(A v) {
  __shared__ alignas(16) unsigned char raw[32 * sizeof(A)];
  A* part = reinterpret_cast<A*>(raw);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_reduce<Op>(v);
  __syncthreads();  // `part` may still be read by a previous call
  if (lane == 0) part[warp] = v;
  __syncthreads();
  const int warps = blockDim.x >> 5;
  v = threadIdx.x < warps ? part[lane] : Op::init();
  if (warp == 0) v = warp_reduce<Op>(v);
  return v;
}

#undef EMBER_DEV

}  // namespace ember::cuda::reduce_ops
