// Binary elementwise ops with numpy broadcasting and type promotion, plus
// where and clip. Comparisons and logical ops return bool.
#pragma once

#include <optional>

#include "ember/array.h"

namespace ember {

EMBER_API array add(const array& a, const array& b);
EMBER_API array subtract(const array& a, const array& b);
EMBER_API array multiply(const array& a, const array& b);
/// True division: integers promote to float32.
EMBER_API array divide(const array& a, const array& b);
EMBER_API array floor_divide(const array& a, const array& b);
/// Python-style remainder: the result has the sign of b.
EMBER_API array remainder(const array& a, const array& b);
EMBER_API array power(const array& a, const array& b);
EMBER_API array maximum(const array& a, const array& b);
EMBER_API array minimum(const array& a, const array& b);
EMBER_API array arctan2(const array& a, const array& b);
/// log(exp(a) + exp(b)), computed stably.
EMBER_API array logaddexp(const array& a, const array& b);
EMBER_API array equal(const array& a, const array& b);
EMBER_API array not_equal(const array& a, const array& b);
EMBER_API array less(const array& a, const array& b);
EMBER_API array less_equal(const array& a, const array& b);
EMBER_API array greater(const array& a, const array& b);
EMBER_API array greater_equal(const array& a, const array& b);
EMBER_API array logical_and(const array& a, const array& b);
EMBER_API array logical_or(const array& a, const array& b);
/// Bitwise ops on integers and bool; TypeError for floats.
EMBER_API array bitwise_and(const array& a, const array& b);
EMBER_API array bitwise_or(const array& a, const array& b);
EMBER_API array bitwise_xor(const array& a, const array& b);
EMBER_API array left_shift(const array& a, const array& b);
EMBER_API array right_shift(const array& a, const array& b);
/// Elementwise logical xor; returns bool.
EMBER_API array logical_xor(const array& a, const array& b);
/// |a - b| <= atol + rtol |b| elementwise (numpy.isclose); equal infinities are
/// close, NaNs only when equal_nan.
EMBER_API array isclose(const array& a, const array& b, double rtol = 1e-5, double atol = 1e-8,
                        bool equal_nan = false);
/// 0-d bool: isclose everywhere.
EMBER_API array allclose(const array& a, const array& b, double rtol = 1e-5, double atol = 1e-8,
                         bool equal_nan = false);
/// 0-d bool: same shape and equal values (dtypes may differ).
EMBER_API array array_equal(const array& a, const array& b, bool equal_nan = false);
/// Elementwise choice: x where cond is true, else y (all three broadcast).
EMBER_API array where(const array& cond, const array& x, const array& y);
/// Limits values to [a_min, a_max]; either bound may be absent.
EMBER_API array clip(const array& a, const std::optional<array>& a_min,
                     const std::optional<array>& a_max);

EMBER_API array operator+(const array& a, const array& b);
EMBER_API array operator-(const array& a, const array& b);
EMBER_API array operator*(const array& a, const array& b);
EMBER_API array operator/(const array& a, const array& b);
EMBER_API array operator-(const array& a);

}  // namespace ember
