// The reduce family's functors, shared by the Reduce and Scan kernels. Each op
// accumulates in two types: L, the type of the vectorized lanes of an inner loop,
// and W, into which finished blocks of lanes are folded. They differ only for
// sums of float32 and halves (L = float, W = double): short float blocks keep
// the inner loop fast and the double folds keep long sums accurate.
#pragma once

#include <cmath>
#include <complex>
#include <limits>
#include <type_traits>

#include "ember/backend/common/convert.h"

namespace ember::cpu::reduce_ops {

using detail::convert;
using detail::is_half_v;

/// The dtype a sum / product of T produces: numpy's rules with 32-bit ints.
template <typename T>
using SumOut = std::conditional_t<
    std::is_same_v<T, bool> || std::is_same_v<T, int8_t> || std::is_same_v<T, int16_t>, int32_t,
    std::conditional_t<std::is_same_v<T, uint8_t> || std::is_same_v<T, uint16_t>, uint32_t, T>>;

/// Halves compare and compute as float.
template <typename T>
using Real = std::conditional_t<is_half_v<T>, float, T>;

/// float16 bits to float without branches, so loops over halves vectorize
/// (the storage type's own conversion branches on the exponent).
inline float half_to_float(uint16_t h) {
  const int32_t em = h & 0x7fff;
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t normal = (uint32_t(em) << 13) + ((127u - 15u) << 23);
  const uint32_t inf_nan = (uint32_t(em) << 13) | 0x7f800000u;
  // Subnormal halves are em * 2^-24, exact as a float.
  const uint32_t sub = __builtin_bit_cast(uint32_t, float(em) * 5.9604644775390625e-8f);
  // Masks rather than ?: so that no compiler turns the choice into branches.
  const uint32_t special = 0u - uint32_t(em >= 0x7c00), tiny = 0u - uint32_t(em < 0x0400);
  const uint32_t bits = (inf_nan & special) | (sub & tiny) | (normal & ~(special | tiny));
  return __builtin_bit_cast(float, bits | sign);
}

/// x as the accumulator type L (halves through the branch-free conversion).
template <typename L, typename T>
inline L load(T x) {
  if constexpr (std::is_same_v<T, float16_t>) return convert<L>(half_to_float(x.bits));
  else return convert<L>(x);
}

/// W back to the output type (complex<double> is not one of convert's types).
template <typename O, typename W>
inline O narrow(W w) {
  if constexpr (std::is_same_v<W, std::complex<double>>) {
    return O(float(w.real()), float(w.imag()));
  } else {
    return convert<O>(w);
  }
}

template <typename T, typename O>
struct Sum {
  using L = std::conditional_t<is_half_v<O> || std::is_same_v<O, float>, float, O>;
  using W = std::conditional_t<std::is_same_v<L, float>, double,
                               std::conditional_t<std::is_same_v<L, complex64_t>,
                                                  std::complex<double>, L>>;
  static L init() { return L(0); }
  static L step(L a, T x) { return a + load<L>(x); }
  template <typename U>
  static U combine(U a, U b) { return a + b; }
  static O out(W w) { return narrow<O>(w); }
};

// Products of float32 and halves run in double: in float, long products of
// values near 1 drift by ~1e-4 relative (numpy's float32 prod does too).
template <typename T, typename O>
struct Prod {
  using L = std::conditional_t<is_half_v<O> || std::is_same_v<O, float>, double, O>;
  using W = L;
  static L init() { return L(1); }
  static L step(L a, T x) { return a * load<L>(x); }
  template <typename U>
  static U combine(U a, U b) { return a * b; }
  static O out(W w) { return narrow<O>(w); }
};

// max / min propagate NaN: a NaN operand wins, and once the accumulator is NaN
// nothing replaces it (x > NaN and x < NaN are false). Bitwise | keeps the
// selection branch-free so the lanes vectorize.
template <typename T, typename O = T>
struct Max {
  using L = Real<T>;
  using W = L;
  static L init() {
    if constexpr (std::is_same_v<L, bool>) return false;
    else if constexpr (std::is_floating_point_v<L>) return -std::numeric_limits<L>::infinity();
    else return std::numeric_limits<L>::lowest();
  }
  template <typename U>
  static U combine(U a, U b) {
    if constexpr (std::is_same_v<U, bool>) return a | b;
    else if constexpr (std::is_floating_point_v<U>) return ((b > a) | (b != b)) ? b : a;
    else return b > a ? b : a;
  }
  static L step(L a, T x) { return combine(a, load<L>(x)); }
  static O out(W w) { return convert<O>(w); }
};

template <typename T, typename O = T>
struct Min {
  using L = Real<T>;
  using W = L;
  static L init() {
    if constexpr (std::is_same_v<L, bool>) return true;
    else if constexpr (std::is_floating_point_v<L>) return std::numeric_limits<L>::infinity();
    else return std::numeric_limits<L>::max();
  }
  template <typename U>
  static U combine(U a, U b) {
    if constexpr (std::is_same_v<U, bool>) return a & b;
    else if constexpr (std::is_floating_point_v<U>) return ((b < a) | (b != b)) ? b : a;
    else return b < a ? b : a;
  }
  static L step(L a, T x) { return combine(a, load<L>(x)); }
  static O out(W w) { return convert<O>(w); }
};

// log(exp(a) + exp(b)) without overflow; -inf is the identity, NaN propagates.
template <typename T, typename O = T>
struct LogAddExp {
  using L = Real<T>;
  using W = L;
  static L init() { return -std::numeric_limits<L>::infinity(); }
  template <typename U>
  static U combine(U a, U b) {
    if (a != a || b != b) return a + b;
    U m = a > b ? a : b;
    if (m == -std::numeric_limits<U>::infinity()) return m;
    return m + std::log1p(std::exp(-(a > b ? a - b : b - a)));
  }
  static L step(L a, T x) { return combine(a, load<L>(x)); }
  static O out(W w) { return convert<O>(w); }
};

template <typename T, typename O = bool>
struct All {
  using L = bool;
  using W = bool;
  static L init() { return true; }
  static L step(L a, T x) { return a & load<bool>(x); }
  template <typename U>
  static U combine(U a, U b) { return a & b; }
  static O out(W w) { return w; }
};

template <typename T, typename O = bool>
struct Any {
  using L = bool;
  using W = bool;
  static L init() { return false; }
  static L step(L a, T x) { return a | load<bool>(x); }
  template <typename U>
  static U combine(U a, U b) { return a | b; }
  static O out(W w) { return w; }
};

/// True when Op folds float lanes into a wider accumulator (so the kernels block).
template <typename Op>
inline constexpr bool kWidens = !std::is_same_v<typename Op::L, typename Op::W>;

}  // namespace ember::cpu::reduce_ops
