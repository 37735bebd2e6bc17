// Unary elementwise ops. Ops that need a float (exp, sin, ...) promote
// integer and bool inputs to float32; abs, negative, sign, square keep ints.
#pragma once

#include <optional>

#include "ember/array.h"

namespace ember {

EMBER_API array abs(const array& a);
EMBER_API array negative(const array& a);
EMBER_API array sign(const array& a);
EMBER_API array square(const array& a);
EMBER_API array sqrt(const array& a);
EMBER_API array rsqrt(const array& a);
EMBER_API array reciprocal(const array& a);
EMBER_API array exp(const array& a);
EMBER_API array expm1(const array& a);
EMBER_API array log(const array& a);
EMBER_API array log1p(const array& a);
EMBER_API array log2(const array& a);
EMBER_API array log10(const array& a);
EMBER_API array sin(const array& a);
EMBER_API array cos(const array& a);
EMBER_API array tan(const array& a);
EMBER_API array arcsin(const array& a);
EMBER_API array arccos(const array& a);
EMBER_API array arctan(const array& a);
EMBER_API array sinh(const array& a);
EMBER_API array cosh(const array& a);
EMBER_API array tanh(const array& a);
EMBER_API array arcsinh(const array& a);
EMBER_API array arccosh(const array& a);
EMBER_API array arctanh(const array& a);
EMBER_API array sigmoid(const array& a);
EMBER_API array erf(const array& a);
EMBER_API array erfinv(const array& a);
/// floor / ceil / round keep integer dtypes unchanged (round: half to even).
EMBER_API array floor(const array& a);
EMBER_API array ceil(const array& a);
/// Rounds toward zero (integers unchanged).
EMBER_API array trunc(const array& a);
EMBER_API array round(const array& a, int decimals = 0);
/// Returns bool.
EMBER_API array logical_not(const array& a);
EMBER_API array isnan(const array& a);
EMBER_API array isinf(const array& a);
/// Bitwise not of integers (logical not of bool).
EMBER_API array bitwise_invert(const array& a);
/// True where the value is neither NaN nor infinite.
EMBER_API array isfinite(const array& a);
/// True where the value is +inf (isposinf) / -inf (isneginf).
EMBER_API array isposinf(const array& a);
EMBER_API array isneginf(const array& a);
/// Replaces NaN with `nan` and infinities with `posinf` / `neginf` (default: the
/// dtype's largest / lowest finite value); integer and bool arrays are unchanged.
EMBER_API array nan_to_num(const array& a, double nan = 0.0,
                           std::optional<double> posinf = std::nullopt,
                           std::optional<double> neginf = std::nullopt);
/// Radians to degrees and back (ints promote to float32).
EMBER_API array degrees(const array& a);
EMBER_API array radians(const array& a);
/// Real and imaginary parts (float32 for complex64; for real input: a, and zeros).
EMBER_API array real(const array& a);
EMBER_API array imag(const array& a);
/// Complex conjugate (the identity for real dtypes).
EMBER_API array conjugate(const array& a);
/// max(x, 0).
EMBER_API array relu(const array& a);
/// Identity on values; blocks gradients at every order.
EMBER_API array stop_gradient(const array& a);

}  // namespace ember
