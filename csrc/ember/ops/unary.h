// Unary elementwise ops. Ops that need a float (exp, sin, ...) promote
// integer and bool inputs to float32; abs, negative, sign, square keep ints.
#pragma once

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
EMBER_API array round(const array& a, int decimals = 0);
/// Returns bool.
EMBER_API array logical_not(const array& a);
EMBER_API array isnan(const array& a);
EMBER_API array isinf(const array& a);
/// Bitwise not of integers (logical not of bool).
EMBER_API array bitwise_invert(const array& a);
/// max(x, 0).
EMBER_API array relu(const array& a);
/// Identity on values; blocks gradients at every order.
EMBER_API array stop_gradient(const array& a);

}  // namespace ember
