// Scalar functors for the unary family. Constrained templates say which
// element types each op accepts; the kernel computes halves through float.
#pragma once

#include <cmath>
#include <complex>
#include <concepts>
#include <cstdint>
#include <type_traits>

#include "ember/dtype.h"

namespace ember::cpu::ops {

template <typename T>
concept Real = std::is_floating_point_v<T>;
template <typename T>
concept Inexact = std::is_floating_point_v<T> || std::is_same_v<T, complex64_t>;
template <typename T>
concept Integer = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <typename T>
concept Numeric = Inexact<T> || Integer<T>;

struct Abs {
  template <Numeric T>
  auto operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>) return std::abs(x);  // float32 output
    else if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? T(-x) : x;
  }
  bool operator()(bool x) const { return x; }
};
struct Negative {
  template <Numeric T>
  T operator()(T x) const { return T(-x); }
};
struct Sign {
  template <Numeric T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, complex64_t>) {
      float m = std::abs(x);
      return m == 0.f ? complex64_t(0.f) : x / m;
    } else if constexpr (std::is_unsigned_v<T>) {
      return T(x != 0);
    } else {
      return T((T(0) < x) - (x < T(0)));
    }
  }
  bool operator()(bool x) const { return x; }
};
struct Square {
  template <Numeric T>
  T operator()(T x) const { return T(x * x); }
};
struct Sqrt { template <Inexact T> T operator()(T x) const { return std::sqrt(x); } };
struct Rsqrt { template <Inexact T> T operator()(T x) const { return T(1) / std::sqrt(x); } };
struct Reciprocal { template <Inexact T> T operator()(T x) const { return T(1) / x; } };
struct Exp { template <Inexact T> T operator()(T x) const { return std::exp(x); } };
struct Expm1 { template <Real T> T operator()(T x) const { return std::expm1(x); } };
struct Log { template <Inexact T> T operator()(T x) const { return std::log(x); } };
struct Log1p { template <Real T> T operator()(T x) const { return std::log1p(x); } };
struct Log2 { template <Real T> T operator()(T x) const { return std::log2(x); } };
struct Log10 { template <Inexact T> T operator()(T x) const { return std::log10(x); } };
struct Sin { template <Inexact T> T operator()(T x) const { return std::sin(x); } };
struct Cos { template <Inexact T> T operator()(T x) const { return std::cos(x); } };
struct Tan { template <Inexact T> T operator()(T x) const { return std::tan(x); } };
struct ArcSin { template <Inexact T> T operator()(T x) const { return std::asin(x); } };
struct ArcCos { template <Inexact T> T operator()(T x) const { return std::acos(x); } };
struct ArcTan { template <Inexact T> T operator()(T x) const { return std::atan(x); } };
struct Sinh { template <Inexact T> T operator()(T x) const { return std::sinh(x); } };
struct Cosh { template <Inexact T> T operator()(T x) const { return std::cosh(x); } };
struct Tanh { template <Inexact T> T operator()(T x) const { return std::tanh(x); } };
struct ArcSinh { template <Inexact T> T operator()(T x) const { return std::asinh(x); } };
struct ArcCosh { template <Inexact T> T operator()(T x) const { return std::acosh(x); } };
struct ArcTanh { template <Inexact T> T operator()(T x) const { return std::atanh(x); } };
struct Sigmoid {
  // Evaluated so that neither branch overflows: 1/(1+e^-x) or e^x/(1+e^x).
  template <Real T>
  T operator()(T x) const {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    T e = std::exp(x);
    return e / (T(1) + e);
  }
};
struct Erf { template <Real T> T operator()(T x) const { return std::erf(x); } };
struct ErfInv {
  // Giles' single-precision approximation as a start, then two Newton steps
  // on erf(y) - x so float64 is accurate too.
  template <Real T>
  T operator()(T x) const {
    if (x <= T(-1)) return x == T(-1) ? -INFINITY : NAN;
    if (x >= T(1)) return x == T(1) ? INFINITY : NAN;
    double xd = double(x);
    double w = -std::log((1.0 - xd) * (1.0 + xd));
    double p;
    if (w < 5.0) {
      w -= 2.5;
      p = 2.81022636e-08;
      p = 3.43273939e-07 + p * w;
      p = -3.5233877e-06 + p * w;
      p = -4.39150654e-06 + p * w;
      p = 0.00021858087 + p * w;
      p = -0.00125372503 + p * w;
      p = -0.00417768164 + p * w;
      p = 0.246640727 + p * w;
      p = 1.50140941 + p * w;
    } else {
      w = std::sqrt(w) - 3.0;
      p = -0.000200214257;
      p = 0.000100950558 + p * w;
      p = 0.00134934322 + p * w;
      p = -0.00367342844 + p * w;
      p = 0.00573950773 + p * w;
      p = -0.0076224613 + p * w;
      p = 0.00943887047 + p * w;
      p = 1.00167406 + p * w;
      p = 2.83297682 + p * w;
    }
    double y = p * xd;
    // Newton on f(y) = erf(y) - x, f' = 2/sqrt(pi) exp(-y^2).
    for (int i = 0; i < 2; ++i) {
      double err = std::erf(y) - xd;
      y -= err / (1.1283791670955126 * std::exp(-y * y));
    }
    return T(y);
  }
};
struct Floor {
  template <Real T> T operator()(T x) const { return std::floor(x); }
  template <Integer T> T operator()(T x) const { return x; }
};
struct Ceil {
  template <Real T> T operator()(T x) const { return std::ceil(x); }
  template <Integer T> T operator()(T x) const { return x; }
};
struct Round {
  template <Real T> T operator()(T x) const { return std::nearbyint(x); }  // half to even
  template <Integer T> T operator()(T x) const { return x; }
};
struct LogicalNot {
  template <typename T>
  bool operator()(T x) const { return !detail_truth(x); }
  template <typename T>
  static bool detail_truth(T x) {
    if constexpr (std::is_same_v<T, complex64_t>) return x != complex64_t(0.f);
    else return x != T(0);
  }
};
struct IsNan {
  template <Real T> bool operator()(T x) const { return std::isnan(x); }
  bool operator()(complex64_t x) const { return std::isnan(x.real()) || std::isnan(x.imag()); }
  template <Integer T> bool operator()(T) const { return false; }
  bool operator()(bool) const { return false; }
};
struct IsInf {
  template <Real T> bool operator()(T x) const { return std::isinf(x); }
  bool operator()(complex64_t x) const { return std::isinf(x.real()) || std::isinf(x.imag()); }
  template <Integer T> bool operator()(T) const { return false; }
  bool operator()(bool) const { return false; }
};
struct BitwiseInvert {
  template <Integer T> T operator()(T x) const { return T(~x); }
  bool operator()(bool x) const { return !x; }
};
struct Identity {
  template <typename T> T operator()(T x) const { return x; }
};

}  // namespace ember::cpu::ops
