// Scalar functors for the binary family. Integer division and shifts are
// guarded so no input can trap (division by zero gives 0, as numpy does
// after its warning).
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "ember/backend/cpu/unary_ops.h"

namespace ember::cpu::ops {

struct Add { template <Numeric T> T operator()(T a, T b) const { return T(a + b); }
             bool operator()(bool a, bool b) const { return a || b; } };
struct Subtract { template <Numeric T> T operator()(T a, T b) const { return T(a - b); } };
struct Multiply { template <Numeric T> T operator()(T a, T b) const { return T(a * b); }
                  bool operator()(bool a, bool b) const { return a && b; } };
struct Divide { template <Inexact T> T operator()(T a, T b) const { return a / b; } };

struct FloorDivide {
  template <Real T> T operator()(T a, T b) const { return std::floor(a / b); }
  template <Integer T>
  T operator()(T a, T b) const {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return T(-a);  // avoids the INT_MIN / -1 trap
      T q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return q;
    } else {
      return a / b;
    }
  }
};

struct Remainder {
  template <Real T>
  T operator()(T a, T b) const {
    T r = std::fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  template <Integer T>
  T operator()(T a, T b) const {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return 0;
      T r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      return r;
    } else {
      return a % b;
    }
  }
};

struct Power {
  template <Inexact T> T operator()(T a, T b) const { return std::pow(a, b); }
  template <Integer T>
  T operator()(T a, T b) const {
    if constexpr (std::is_signed_v<T>) {
      if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
    }
    // Square-and-multiply in unsigned arithmetic: wraps like numpy on overflow.
    using U = std::make_unsigned_t<T>;
    U base = U(a), result = 1;
    for (auto e = b; e > 0; e >>= 1) {
      if (e & 1) result = U(result * base);
      base = U(base * base);
    }
    return T(result);
  }
};

struct Maximum {
  template <Real T> T operator()(T a, T b) const { return (a > b || std::isnan(a)) ? a : b; }
  template <Integer T> T operator()(T a, T b) const { return a > b ? a : b; }
  bool operator()(bool a, bool b) const { return a || b; }
};
struct Minimum {
  template <Real T> T operator()(T a, T b) const { return (a < b || std::isnan(a)) ? a : b; }
  template <Integer T> T operator()(T a, T b) const { return a < b ? a : b; }
  bool operator()(bool a, bool b) const { return a && b; }
};
struct ArcTan2 { template <Real T> T operator()(T a, T b) const { return std::atan2(a, b); } };
struct LogAddExp {
  template <Real T>
  T operator()(T a, T b) const {
    if (std::isinf(a) && a == b) return a;  // -inf + -inf, inf + inf
    T m = a > b ? a : b;
    return m + std::log1p(std::exp(-std::abs(a - b)));
  }
};

// Comparisons work for every type; complex orders lexicographically (real
// part, then imaginary part), as numpy does; equality is exact.
template <typename T>
inline bool less_than(T a, T b) {
  if constexpr (std::is_same_v<T, complex64_t>) {
    return a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
  } else {
    return a < b;
  }
}
template <typename T>
inline bool less_equal(T a, T b) {
  if constexpr (std::is_same_v<T, complex64_t>) return less_than(a, b) || a == b;
  else return a <= b;  // keeps NaN <= x false
}
struct Equal { template <typename T> bool operator()(T a, T b) const { return a == b; } };
struct NotEqual { template <typename T> bool operator()(T a, T b) const { return a != b; } };
struct Less { template <typename T> bool operator()(T a, T b) const { return less_than(a, b); } };
struct LessEqual { template <typename T> bool operator()(T a, T b) const { return less_equal(a, b); } };
struct Greater { template <typename T> bool operator()(T a, T b) const { return less_than(b, a); } };
struct GreaterEqual { template <typename T> bool operator()(T a, T b) const { return less_equal(b, a); } };
struct LogicalAnd {
  template <typename T> bool operator()(T a, T b) const { return LogicalNot::detail_truth(a) && LogicalNot::detail_truth(b); }
};
struct LogicalOr {
  template <typename T> bool operator()(T a, T b) const { return LogicalNot::detail_truth(a) || LogicalNot::detail_truth(b); }
};

template <typename T>
concept IntOrBool = std::is_integral_v<T>;
struct BitwiseAnd { template <IntOrBool T> T operator()(T a, T b) const { return T(a & b); } };
struct BitwiseOr { template <IntOrBool T> T operator()(T a, T b) const { return T(a | b); } };
struct BitwiseXor { template <IntOrBool T> T operator()(T a, T b) const { return T(a ^ b); } };
struct LeftShift {
  template <Integer T>
  T operator()(T a, T b) const {
    if (b < 0 || b >= T(sizeof(T) * 8)) return 0;
    return T(std::make_unsigned_t<T>(a) << b);
  }
};
struct RightShift {
  template <Integer T>
  T operator()(T a, T b) const {
    if (b < 0 || b >= T(sizeof(T) * 8)) return a < 0 ? T(-1) : T(0);
    return T(a >> b);
  }
};

}  // namespace ember::cpu::ops
