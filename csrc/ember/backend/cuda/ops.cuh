// Device functors of the unary and binary families: the same results as the CPU's
// (backend/cpu/unary_ops.h, binary_ops.h), written with CUDA's math. Constrained templates say
// which element types each op takes, as on the CPU; halves are computed through float by the
// kernels (an op is called with float and its result converted back).
#pragma once

#include "ember/backend/cuda/types.cuh"

namespace ember::cuda::ops {

namespace cstd = ::cuda::std;

template <typename T>
concept Real = cstd::is_floating_point_v<T>;
template <typename T>
concept Inexact = cstd::is_floating_point_v<T> || is_complex_v<T>;
template <typename T>
concept Integer = cstd::is_integral_v<T> && !cstd::is_same_v<T, bool>;
template <typename T>
concept Numeric = Inexact<T> || Integer<T>;
template <typename T>
concept IntOrBool = cstd::is_integral_v<T>;

#define EMBER_DEV __device__ __forceinline__

// ---- unary ----
// Functors declare their result types: nvcc's host pass sees a __device__ function's body
// replaced by a stub, so a deduced (auto) return type is void there while the device pass
// deduces the real one; the host would then launch a kernel instance the device code does
// not have ("invalid device function"). unary_gpu / binary_gpu reject a void result.
template <typename T>
using abs_result_t = cstd::conditional_t<is_complex_v<T>, float, T>;

struct Abs {
  template <Numeric T>
  EMBER_DEV abs_result_t<T> operator()(T x) const {
    if constexpr (is_complex_v<T>) return cstd::abs(x);  // float output
    else if constexpr (cstd::is_unsigned_v<T>) return x;
    else return x < T(0) ? T(-x) : x;
  }
  EMBER_DEV bool operator()(bool x) const { return x; }
};
struct Negative {
  template <Numeric T>
  EMBER_DEV T operator()(T x) const { return T(-x); }
};
struct Sign {
  template <Numeric T>
  EMBER_DEV T operator()(T x) const {
    if constexpr (is_complex_v<T>) {
      float m = cstd::abs(x);
      return m == 0.f ? T(0.f) : x / m;
    } else if constexpr (cstd::is_unsigned_v<T>) {
      return T(x != 0);
    } else {
      return T((T(0) < x) - (x < T(0)));
    }
  }
  EMBER_DEV bool operator()(bool x) const { return x; }
};
struct Square {
  template <Numeric T>
  EMBER_DEV T operator()(T x) const { return T(x * x); }
};
struct Sqrt { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::sqrt(x); } };
struct Rsqrt {
  template <Inexact T>
  EMBER_DEV T operator()(T x) const {
    if constexpr (cstd::is_same_v<T, float>) return rsqrtf(x);
    else return T(1) / cstd::sqrt(x);
  }
};
struct Reciprocal { template <Inexact T> EMBER_DEV T operator()(T x) const { return T(1) / x; } };
struct Exp { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::exp(x); } };
struct Expm1 { template <Real T> EMBER_DEV T operator()(T x) const { return cstd::expm1(x); } };
struct Log { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::log(x); } };
struct Log1p { template <Real T> EMBER_DEV T operator()(T x) const { return cstd::log1p(x); } };
struct Log2 { template <Real T> EMBER_DEV T operator()(T x) const { return cstd::log2(x); } };
struct Log10 { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::log10(x); } };
struct Sin { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::sin(x); } };
struct Cos { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::cos(x); } };
struct Tan { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::tan(x); } };
struct ArcSin { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::asin(x); } };
struct ArcCos { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::acos(x); } };
struct ArcTan { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::atan(x); } };
struct Sinh { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::sinh(x); } };
struct Cosh { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::cosh(x); } };
struct Tanh { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::tanh(x); } };
struct ArcSinh { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::asinh(x); } };
struct ArcCosh { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::acosh(x); } };
struct ArcTanh { template <Inexact T> EMBER_DEV T operator()(T x) const { return cstd::atanh(x); } };
struct Sigmoid {
  // 1/(1+e^-x) or e^x/(1+e^x): neither branch overflows.
  template <Real T>
  EMBER_DEV T operator()(T x) const {
    if (x >= T(0)) return T(1) / (T(1) + cstd::exp(-x));
    T e = cstd::exp(x);
    return e / (T(1) + e);
  }
};
struct Erf { template <Real T> EMBER_DEV T operator()(T x) const { return cstd::erf(x); } };
struct ErfInv {
  template <Real T>
  EMBER_DEV T operator()(T x) const {
    if constexpr (cstd::is_same_v<T, float>) return erfinvf(x);
    else return erfinv(x);
  }
};
struct Floor {
  template <Real T> EMBER_DEV T operator()(T x) const { return cstd::floor(x); }
  template <Integer T> EMBER_DEV T operator()(T x) const { return x; }
};
struct Ceil {
  template <Real T> EMBER_DEV T operator()(T x) const { return cstd::ceil(x); }
  template <Integer T> EMBER_DEV T operator()(T x) const { return x; }
};
struct Round {
  template <Real T> EMBER_DEV T operator()(T x) const { return cstd::rint(x); }  // half to even
  template <Integer T> EMBER_DEV T operator()(T x) const { return x; }
};
template <typename T>
EMBER_DEV bool truth(T x) {
  if constexpr (is_complex_v<T>) return x.real() != 0.f || x.imag() != 0.f;
  else return x != T(0);
}
struct LogicalNot {
  template <typename T>
  EMBER_DEV bool operator()(T x) const { return !truth(x); }
};
struct IsNan {
  template <Real T> EMBER_DEV bool operator()(T x) const { return cstd::isnan(x); }
  EMBER_DEV bool operator()(cfloat x) const { return cstd::isnan(x.real()) || cstd::isnan(x.imag()); }
  template <Integer T> EMBER_DEV bool operator()(T) const { return false; }
  EMBER_DEV bool operator()(bool) const { return false; }
};
struct IsInf {
  template <Real T> EMBER_DEV bool operator()(T x) const { return cstd::isinf(x); }
  EMBER_DEV bool operator()(cfloat x) const { return cstd::isinf(x.real()) || cstd::isinf(x.imag()); }
  template <Integer T> EMBER_DEV bool operator()(T) const { return false; }
  EMBER_DEV bool operator()(bool) const { return false; }
};
struct BitwiseInvert {
  template <Integer T> EMBER_DEV T operator()(T x) const { return T(~x); }
  EMBER_DEV bool operator()(bool x) const { return !x; }
};

// ---- binary ----
struct Add {
  template <Numeric T> EMBER_DEV T operator()(T a, T b) const { return T(a + b); }
  EMBER_DEV bool operator()(bool a, bool b) const { return a || b; }
};
struct Subtract {
  template <Numeric T> EMBER_DEV T operator()(T a, T b) const { return T(a - b); }
};
struct Multiply {
  template <Numeric T> EMBER_DEV T operator()(T a, T b) const { return T(a * b); }
  EMBER_DEV bool operator()(bool a, bool b) const { return a && b; }
};
struct Divide {
  template <Inexact T> EMBER_DEV T operator()(T a, T b) const { return a / b; }
};
struct FloorDivide {
  template <Real T> EMBER_DEV T operator()(T a, T b) const { return cstd::floor(a / b); }
  template <Integer T>
  EMBER_DEV T operator()(T a, T b) const {
    if (b == 0) return 0;
    if constexpr (cstd::is_signed_v<T>) {
      if (b == -1) return T(-a);  // no INT_MIN / -1 trap
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
  EMBER_DEV T operator()(T a, T b) const {
    T r = cstd::fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  template <Integer T>
  EMBER_DEV T operator()(T a, T b) const {
    if (b == 0) return 0;
    if constexpr (cstd::is_signed_v<T>) {
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
  template <Inexact T> EMBER_DEV T operator()(T a, T b) const { return cstd::pow(a, b); }
  template <Integer T>
  EMBER_DEV T operator()(T a, T b) const {
    if constexpr (cstd::is_signed_v<T>) {
      if (b < 0) return a == 1 ? T(1) : (a == -1 ? ((b & 1) ? T(-1) : T(1)) : T(0));
    }
    // Square-and-multiply in unsigned arithmetic: wraps like numpy on overflow.
    using U = cstd::make_unsigned_t<T>;
    U base = U(a), result = 1;
    for (T e = b; e > 0; e >>= 1) {
      if (e & 1) result = U(result * base);
      base = U(base * base);
    }
    return T(result);
  }
};
struct Maximum {
  template <Real T> EMBER_DEV T operator()(T a, T b) const { return (a > b || cstd::isnan(a)) ? a : b; }
  template <Integer T> EMBER_DEV T operator()(T a, T b) const { return a > b ? a : b; }
  EMBER_DEV bool operator()(bool a, bool b) const { return a || b; }
};
struct Minimum {
  template <Real T> EMBER_DEV T operator()(T a, T b) const { return (a < b || cstd::isnan(a)) ? a : b; }
  template <Integer T> EMBER_DEV T operator()(T a, T b) const { return a < b ? a : b; }
  EMBER_DEV bool operator()(bool a, bool b) const { return a && b; }
};
struct ArcTan2 { template <Real T> EMBER_DEV T operator()(T a, T b) const { return cstd::atan2(a, b); } };
struct LogAddExp {
  template <Real T>
  EMBER_DEV T operator()(T a, T b) const {
    if (cstd::isinf(a) && a == b) return a;  // -inf + -inf, inf + inf
    T m = a > b ? a : b;
    return m + cstd::log1p(cstd::exp(-cstd::abs(a - b)));
  }
};

// Comparisons for every type; complex orders by real part, then imaginary part (numpy).
template <typename T>
EMBER_DEV bool less_than(T a, T b) {
  if constexpr (is_complex_v<T>) return a.real() < b.real() || (a.real() == b.real() && a.imag() < b.imag());
  else return a < b;
}
template <typename T>
EMBER_DEV bool less_equal(T a, T b) {
  if constexpr (is_complex_v<T>) return less_than(a, b) || a == b;
  else return a <= b;
}
struct Equal { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return a == b; } };
struct NotEqual { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return a != b; } };
struct Less { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return less_than(a, b); } };
struct LessEqual { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return less_equal(a, b); } };
struct Greater { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return less_than(b, a); } };
struct GreaterEqual { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return less_equal(b, a); } };
struct LogicalAnd { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return truth(a) && truth(b); } };
struct LogicalOr { template <typename T> EMBER_DEV bool operator()(T a, T b) const { return truth(a) || truth(b); } };
struct BitwiseAnd { template <IntOrBool T> EMBER_DEV T operator()(T a, T b) const { return T(a & b); } };
struct BitwiseOr { template <IntOrBool T> EMBER_DEV T operator()(T a, T b) const { return T(a | b); } };
struct BitwiseXor { template <IntOrBool T> EMBER_DEV T operator()(T a, T b) const { return T(a ^ b); } };
struct LeftShift {
  template <Integer T>
  EMBER_DEV T operator()(T a, T b) const {
    if (b < 0 || b >= T(sizeof(T) * 8)) return 0;
    return T(cstd::make_unsigned_t<T>(a) << b);
  }
};
struct RightShift {
  template <Integer T>
  EMBER_DEV T operator()(T a, T b) const {
    if (b < 0 || b >= T(sizeof(T) * 8)) return a < 0 ? T(-1) : T(0);
    return T(a >> b);
  }
};

#undef EMBER_DEV

/// Whether op takes elements of type T (halves are computed as float), and what it returns:
/// the functor's result on T's compute type, brought back to T for halves (bool stays bool,
/// as on the CPU). Use the result types only where the op is valid (if constexpr).
template <typename Op, typename T>
inline constexpr bool unary_ok = cstd::is_invocable_v<Op, compute_t<T>>;
template <typename Op, typename T>
inline constexpr bool binary_ok = cstd::is_invocable_v<Op, compute_t<T>, compute_t<T>>;
template <typename T, typename R>
using back_to_t = cstd::conditional_t<is_half_v<T> && !cstd::is_same_v<R, bool>, T, R>;
template <typename Op, typename T>
using unary_result_t = back_to_t<T, cstd::invoke_result_t<Op, compute_t<T>>>;
template <typename Op, typename T>
using binary_result_t = back_to_t<T, cstd::invoke_result_t<Op, compute_t<T>, compute_t<T>>>;

}  // namespace ember::cuda::ops
