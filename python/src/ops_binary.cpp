// Bindings of the binary family: Python scalars are weakly typed.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

#define BINARY(name, doc)                                                  \
  def_op(m, #name, [](ArrayArg a, ArrayArg b) {                            \
    auto [x, y] = to_arrays(a, b);                                         \
    return name(x, y);                                                     \
  }, "a"_a, "b"_a, doc)

void init_ops_binary(nb::module_& m) {
  BINARY(add, "Elementwise a + b with broadcasting.");
  BINARY(subtract, "Elementwise a - b with broadcasting.");
  BINARY(multiply, "Elementwise a * b with broadcasting.");
  BINARY(divide, "Elementwise true division a / b (integers give float32).");
  BINARY(floor_divide, "Elementwise floor(a / b).");
  BINARY(remainder, "Elementwise remainder with the sign of b (Python's %).");
  BINARY(power, "Elementwise a ** b.");
  BINARY(maximum, "Elementwise maximum (NaN propagates).");
  BINARY(minimum, "Elementwise minimum (NaN propagates).");
  BINARY(arctan2, "Elementwise arctan(a / b) in the right quadrant.");
  BINARY(logaddexp, "Elementwise log(exp(a) + exp(b)), computed stably.");
  BINARY(equal, "Elementwise a == b.");
  BINARY(not_equal, "Elementwise a != b.");
  BINARY(less, "Elementwise a < b.");
  BINARY(less_equal, "Elementwise a <= b.");
  BINARY(greater, "Elementwise a > b.");
  BINARY(greater_equal, "Elementwise a >= b.");
  BINARY(logical_and, "Elementwise logical and; returns bool.");
  BINARY(logical_or, "Elementwise logical or; returns bool.");
  BINARY(bitwise_and, "Elementwise bitwise and of integers or bools.");
  BINARY(bitwise_or, "Elementwise bitwise or of integers or bools.");
  BINARY(bitwise_xor, "Elementwise bitwise xor of integers or bools.");
  BINARY(left_shift, "Elementwise a << b.");
  BINARY(right_shift, "Elementwise a >> b.");
  BINARY(logical_xor, "Elementwise logical xor; returns bool.");
  def_op(m, "divmod", [](ArrayArg a, ArrayArg b) {
    auto [x, y] = to_arrays(a, b);
    return nb::make_tuple(floor_divide(x, y), remainder(x, y));
  }, "a"_a, "b"_a, "(floor_divide(a, b), remainder(a, b)), as Python's divmod.");
  def_op(m, "isclose", [](ArrayArg a, ArrayArg b, double rtol, double atol, bool equal_nan) {
    auto [x, y] = to_arrays(a, b);
    return isclose(x, y, rtol, atol, equal_nan);
  }, "a"_a, "b"_a, "rtol"_a = 1e-5, "atol"_a = 1e-8, "equal_nan"_a = false,
     "Elementwise |a - b| <= atol + rtol * |b| (numpy.isclose); returns bool.");
  def_op(m, "allclose", [](ArrayArg a, ArrayArg b, double rtol, double atol, bool equal_nan) {
    auto [x, y] = to_arrays(a, b);
    return allclose(x, y, rtol, atol, equal_nan);
  }, "a"_a, "b"_a, "rtol"_a = 1e-5, "atol"_a = 1e-8, "equal_nan"_a = false,
     "A 0-d bool array: whether isclose holds everywhere.");
  def_op(m, "array_equal", [](ArrayArg a, ArrayArg b, bool equal_nan) {
    return array_equal(to_array(a), to_array(b), equal_nan);
  }, "a"_a, "b"_a, "equal_nan"_a = false,
     "A 0-d bool array: whether a and b have the same shape and values (dtypes may differ).");
  def_op(m, "where", [](ArrayArg cond, ArrayArg x, ArrayArg y) {
    auto [a, b] = to_arrays(x, y);
    return where(to_array(cond), a, b);
  }, "condition"_a, "x"_a, "y"_a, "Elementwise x where condition is true, else y (all broadcast).");
  def_op(m, "clip", [](ArrayArg a, ArrayArg a_min, ArrayArg a_max) {
    array x = to_array(a);
    std::optional<array> lo, hi;
    if (!a_min.is_none()) lo = to_array(a_min, std::nullopt, &x);
    if (!a_max.is_none()) hi = to_array(a_max, std::nullopt, &x);
    return clip(x, lo, hi);
  }, "a"_a, "a_min"_a.none(), "a_max"_a.none(),
     "Limits values to [a_min, a_max]; either may be None.");
}
