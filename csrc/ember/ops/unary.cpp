// Unary ops: dtype checks and promotion, then the lazy node.
#include "ember/ops/unary.h"

#include <cmath>
#include <limits>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/unary.h"

namespace ember {

namespace {

// Ops defined on floats: ints and bool become float32 first.
template <typename P>
array float_op(const array& a) {
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  return make_node<P>(x.shape(), x.dtype(), {x});
}

// Ops that keep the dtype (abs, negative, floor, ...).
template <typename P>
array same_op(const array& a) {
  return make_node<P>(a.shape(), a.dtype(), {a});
}

// Ops only for real floats (erf, log1p, ...): complex is a TypeError.
template <typename P>
array real_op(const char* name, const array& a) {
  if (is_complex(a.dtype())) {
    throw type_error(msg("[", name, "] Not supported for complex64 input."));
  }
  return float_op<P>(a);
}

}  // namespace

array abs(const array& a) {
  if (a.dtype() == Dtype::complex64) return make_node<Abs>(a.shape(), Dtype::float32, {a});
  return same_op<Abs>(a);
}
array negative(const array& a) {
  if (a.dtype() == Dtype::bool_) {
    throw type_error("[negative] Not supported for bool; use logical_not.");
  }
  return same_op<Negative>(a);
}
array sign(const array& a) { return same_op<Sign>(a); }
array square(const array& a) {
  // bool stays bool, as in MLX: x * x is x.
  return a.dtype() == Dtype::bool_ ? a : same_op<Square>(a);
}
array sqrt(const array& a) { return float_op<Sqrt>(a); }
array rsqrt(const array& a) { return float_op<Rsqrt>(a); }
array reciprocal(const array& a) { return float_op<Reciprocal>(a); }
array exp(const array& a) { return float_op<Exp>(a); }
array expm1(const array& a) { return real_op<Expm1>("expm1", a); }
array log(const array& a) { return float_op<Log>(a); }
array log1p(const array& a) { return real_op<Log1p>("log1p", a); }
array log2(const array& a) { return real_op<Log2>("log2", a); }
array log10(const array& a) { return float_op<Log10>(a); }
array sin(const array& a) { return float_op<Sin>(a); }
array cos(const array& a) { return float_op<Cos>(a); }
array tan(const array& a) { return float_op<Tan>(a); }
array arcsin(const array& a) { return float_op<ArcSin>(a); }
array arccos(const array& a) { return float_op<ArcCos>(a); }
array arctan(const array& a) { return float_op<ArcTan>(a); }
array sinh(const array& a) { return float_op<Sinh>(a); }
array cosh(const array& a) { return float_op<Cosh>(a); }
array tanh(const array& a) { return float_op<Tanh>(a); }
array arcsinh(const array& a) { return float_op<ArcSinh>(a); }
array arccosh(const array& a) { return float_op<ArcCosh>(a); }
array arctanh(const array& a) { return float_op<ArcTanh>(a); }
array sigmoid(const array& a) { return real_op<Sigmoid>("sigmoid", a); }
array erf(const array& a) { return real_op<Erf>("erf", a); }
array erfinv(const array& a) { return real_op<ErfInv>("erfinv", a); }

array floor(const array& a) {
  if (is_complex(a.dtype())) throw type_error("[floor] Not supported for complex64 input.");
  return a.dtype() == Dtype::bool_ ? a : same_op<Floor>(a);
}
array ceil(const array& a) {
  if (is_complex(a.dtype())) throw type_error("[ceil] Not supported for complex64 input.");
  return a.dtype() == Dtype::bool_ ? a : same_op<Ceil>(a);
}
array trunc(const array& a) {
  if (is_complex(a.dtype())) throw type_error("[trunc] Not supported for complex64 input.");
  if (!is_inexact(a.dtype())) return a;
  return where(less(a, zeros({}, a.dtype())), ceil(a), floor(a));
}
// Integers with decimals < 0 round to a multiple of s = 10^-decimals, half to
// even (numpy: round(25, -1) == 20), with integer ops only so int64 stays exact.
static array round_integer(const array& a, int decimals) {
  double s = std::pow(10.0, -decimals);
  double type_max = dispatch_dtype(a.dtype(), [](auto v) -> double {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T>) return double(std::numeric_limits<T>::max());
    else return 0.0;  // not reached: integers only
  });
  // Every value has |a| < s / 2 then, so all round to zero.
  if (s > type_max) return zeros_like(a);
  array sa = detail::scalar_like(s, a);
  array q = floor_divide(a, sa);
  array r = subtract(a, multiply(q, sa));  // in [0, s)
  array rest = subtract(sa, r);            // s - r >= 1: no overflow, unlike 2 r
  array odd = not_equal(bitwise_and(q, detail::scalar_like(1, q)), detail::scalar_like(0, q));
  array up = logical_or(greater(r, rest), logical_and(equal(r, rest), odd));
  return multiply(add(q, astype(up, a.dtype())), sa);
}

array round(const array& a, int decimals) {
  if (is_complex(a.dtype())) throw type_error("[round] Not supported for complex64 input.");
  if (is_integral(a.dtype()) && decimals < 0) return round_integer(a, decimals);
  if (!is_floating(a.dtype())) return a;
  if (decimals == 0) return same_op<Round>(a);
  // Halves scale in float32: x * 10^d rounded to 8 bits of bfloat16 would move values
  // across a rounding boundary (2.35 -> 23.5 -> 24).
  array x = size_of(a.dtype()) == 2 ? astype(a, Dtype::float32) : a;
  array s = detail::scalar_like(std::pow(10.0, decimals), x);
  return astype(divide(same_op<Round>(multiply(x, s)), s), a.dtype());
}

array logical_not(const array& a) { return make_node<LogicalNot>(a.shape(), Dtype::bool_, {a}); }
array isnan(const array& a) { return make_node<IsNan>(a.shape(), Dtype::bool_, {a}); }
array isinf(const array& a) { return make_node<IsInf>(a.shape(), Dtype::bool_, {a}); }
array bitwise_invert(const array& a) {
  if (is_inexact(a.dtype())) {
    throw type_error(msg("[bitwise_invert] Needs an integer or bool input, got ",
                         dtype_name(a.dtype()), "."));
  }
  return same_op<BitwiseInvert>(a);
}

array isfinite(const array& a) { return logical_not(logical_or(isnan(a), isinf(a))); }
array isposinf(const array& a) {
  if (!is_floating(a.dtype())) return zeros(a.shape(), Dtype::bool_);
  return logical_and(isinf(a), greater(a, detail::scalar_like(0.0, a)));
}
array isneginf(const array& a) {
  if (!is_floating(a.dtype())) return zeros(a.shape(), Dtype::bool_);
  return logical_and(isinf(a), less(a, detail::scalar_like(0.0, a)));
}

array nan_to_num(const array& a, double nan, std::optional<double> posinf,
                 std::optional<double> neginf) {
  if (is_complex(a.dtype())) throw type_error("[nan_to_num] Not supported for complex64 input.");
  if (!is_floating(a.dtype())) return a;
  double big = 0;
  switch (a.dtype()) {
    case Dtype::float16: big = 65504.0; break;
    case Dtype::bfloat16: big = 3.3895313892515355e38; break;
    case Dtype::float32: big = std::numeric_limits<float>::max(); break;
    default: big = std::numeric_limits<double>::max();
  }
  array r = where(isnan(a), detail::scalar_like(nan, a), a);
  r = where(isposinf(a), detail::scalar_like(posinf.value_or(big), a), r);
  return where(isneginf(a), detail::scalar_like(neginf.value_or(-big), a), r);
}

array degrees(const array& a) {
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  return multiply(x, detail::scalar_like(180.0 / M_PI, x));
}
array radians(const array& a) {
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  return multiply(x, detail::scalar_like(M_PI / 180.0, x));
}

// complex64 -> float32 keeps the real part, so real() is a cast; imag(z) is the
// real part of -i z, and conj(z) = 2 re(z) - z, both exact in floating point.
array real(const array& a) { return is_complex(a.dtype()) ? astype(a, Dtype::float32) : a; }
array imag(const array& a) {
  if (!is_complex(a.dtype())) return zeros_like(a);
  array minus_i = array(complex64_t(0.f, -1.f));
  return astype(multiply(a, minus_i), Dtype::float32);
}
array conjugate(const array& a) {
  if (!is_complex(a.dtype())) return a;
  array re = astype(real(a), Dtype::complex64);
  return subtract(multiply(re, array(complex64_t(2.f, 0.f))), a);
}

array relu(const array& a) { return maximum(a, detail::scalar_like(0.0, a)); }

array stop_gradient(const array& a) { return make_node<StopGradient>(a.shape(), a.dtype(), {a}); }

}  // namespace ember
