// The reduce family's functors, shared by the Reduce and Scan kernels. Each op
// accumulates in two types: L, the type of the vectorized lanes of an inner loop,
// and W, into which finished blocks of lanes are folded. They differ only for
// sums of float32 and halves (L = float, W = double): short float blocks keep
// the inner loop fast and the double folds keep long sums accurate.
#pragma once

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
  static L step(L a, T x) { return a + convert<L>(x); }
  template <typename U>
  static U combine(U a, U b) { return a + b; }
  static O out(W w) { return narrow<O>(w); }
};

template <typename T, typename O>
struct Prod {
  using L = std::conditional_t<is_half_v<O>, float, O>;
  using W = L;
  static L init() { return L(1); }
  static L step(L a, T x) { return a * convert<L>(x); }
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
  static L step(L a, T x) { return combine(a, L(convert<L>(x))); }
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
  static L step(L a, T x) { return combine(a, L(convert<L>(x))); }
  static O out(W w) { return convert<O>(w); }
};

template <typename T, typename O = bool>
struct All {
  using L = bool;
  using W = bool;
  static L init() { return true; }
  static L step(L a, T x) { return a & convert<bool>(x); }
  template <typename U>
  static U combine(U a, U b) { return a & b; }
  static O out(W w) { return w; }
};

template <typename T, typename O = bool>
struct Any {
  using L = bool;
  using W = bool;
  static L init() { return false; }
  static L step(L a, T x) { return a | convert<bool>(x); }
  template <typename U>
  static U combine(U a, U b) { return a | b; }
  static O out(W w) { return w; }
};

/// True when Op folds float lanes into a wider accumulator (so the kernels block).
template <typename Op>
inline constexpr bool kWidens = !std::is_same_v<typename Op::L, typename Op::W>;

}  // namespace ember::cpu::reduce_ops
