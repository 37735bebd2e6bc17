// Binary ops: promote to a common dtype, broadcast to a common shape (views),
// then build the node.
#include "ember/ops/binary.h"

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/binary.h"

namespace ember {

namespace {

// Promotes and broadcasts a and b for op `name`; `min_dtype` lifts ints to
// float for ops such as divide.
std::pair<array, array> prepare(const char* name, const array& a, const array& b,
                                bool needs_inexact = false) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (needs_inexact) t = to_inexact(t);
  Shape s = broadcast_shapes(name, a.shape(), b.shape());
  return {broadcast_to(astype(a, t), s), broadcast_to(astype(b, t), s)};
}

template <typename P>
array binary(const char* name, const array& a, const array& b, bool needs_inexact = false) {
  auto [x, y] = prepare(name, a, b, needs_inexact);
  Shape s = x.shape();
  Dtype t = x.dtype();
  return make_node<P>(std::move(s), t, {std::move(x), std::move(y)});
}

template <typename P>
array comparison(const char* name, const array& a, const array& b) {
  auto [x, y] = prepare(name, a, b);
  Shape s = x.shape();
  return make_node<P>(std::move(s), Dtype::bool_, {std::move(x), std::move(y)});
}

void no_complex(const char* name, const array& a, const array& b) {
  if (is_complex(a.dtype()) || is_complex(b.dtype())) {
    throw type_error(msg("[", name, "] Not supported for complex64 inputs."));
  }
}

void integers_only(const char* name, const array& a, const array& b) {
  if (is_inexact(a.dtype()) || is_inexact(b.dtype())) {
    throw type_error(msg("[", name, "] Needs integer or bool inputs, got ", dtype_name(a.dtype()),
                         " and ", dtype_name(b.dtype()), "."));
  }
}

}  // namespace

array add(const array& a, const array& b) { return binary<Add>("add", a, b); }
array subtract(const array& a, const array& b) {
  if (a.dtype() == Dtype::bool_ && b.dtype() == Dtype::bool_) {
    throw type_error("[subtract] Not supported for two bool inputs; use logical_xor or !=.");
  }
  return binary<Subtract>("subtract", a, b);
}
array multiply(const array& a, const array& b) { return binary<Multiply>("multiply", a, b); }
array divide(const array& a, const array& b) { return binary<Divide>("divide", a, b, true); }
array floor_divide(const array& a, const array& b) {
  no_complex("floor_divide", a, b);
  auto t = promote_types(a.dtype(), b.dtype());
  // Two bools stay bool, as in MLX: a // b is a and b (x // 0 gives 0, as for integers).
  if (t == Dtype::bool_) {
    broadcast_shapes("floor_divide", a.shape(), b.shape());
    return logical_and(a, b);
  }
  return binary<FloorDivide>("floor_divide", a, b);
}
array remainder(const array& a, const array& b) {
  no_complex("remainder", a, b);
  auto t = promote_types(a.dtype(), b.dtype());
  // Two bools stay bool, as in MLX: a % b is a and not b (x % 0 gives x there).
  if (t == Dtype::bool_) {
    broadcast_shapes("remainder", a.shape(), b.shape());
    return logical_and(a, logical_not(b));
  }
  return binary<Remainder>("remainder", a, b);
}
array power(const array& a, const array& b) {
  auto t = promote_types(a.dtype(), b.dtype());
  // Two bools stay bool, as in MLX: a ** b is a or not b (x ** 0 is 1).
  if (t == Dtype::bool_) {
    broadcast_shapes("power", a.shape(), b.shape());
    return logical_or(a, logical_not(b));
  }
  return binary<Power>("power", a, b);
}
array maximum(const array& a, const array& b) {
  no_complex("maximum", a, b);
  return binary<Maximum>("maximum", a, b);
}
array minimum(const array& a, const array& b) {
  no_complex("minimum", a, b);
  return binary<Minimum>("minimum", a, b);
}
array arctan2(const array& a, const array& b) {
  no_complex("arctan2", a, b);
  return binary<ArcTan2>("arctan2", a, b, true);
}
array logaddexp(const array& a, const array& b) {
  no_complex("logaddexp", a, b);
  return binary<LogAddExp>("logaddexp", a, b, true);
}

array equal(const array& a, const array& b) { return comparison<Equal>("equal", a, b); }
array not_equal(const array& a, const array& b) { return comparison<NotEqual>("not_equal", a, b); }
array less(const array& a, const array& b) { return comparison<Less>("less", a, b); }
array less_equal(const array& a, const array& b) {
  return comparison<LessEqual>("less_equal", a, b);
}
array greater(const array& a, const array& b) { return comparison<Greater>("greater", a, b); }
array greater_equal(const array& a, const array& b) {
  return comparison<GreaterEqual>("greater_equal", a, b);
}
array logical_and(const array& a, const array& b) {
  return comparison<LogicalAnd>("logical_and", a, b);
}
array logical_or(const array& a, const array& b) {
  return comparison<LogicalOr>("logical_or", a, b);
}

array logical_xor(const array& a, const array& b) {
  auto [x, y] = prepare("logical_xor", a, b);
  return not_equal(astype(x, Dtype::bool_), astype(y, Dtype::bool_));
}

array isclose(const array& a, const array& b, double rtol, double atol, bool equal_nan) {
  auto [x, y] = prepare("isclose", a, b, true);
  array tol = add(detail::scalar_like(atol, y), multiply(detail::scalar_like(rtol, y), abs(y)));
  // abs() of complex is float32: compare the distance in that dtype
  array dist = abs(subtract(x, y));
  array close = less_equal(dist, astype(tol, dist.dtype()));
  close = logical_or(close, equal(x, y));  // inf == inf, where inf - inf is NaN
  if (equal_nan) close = logical_or(close, logical_and(isnan(x), isnan(y)));
  return close;
}

array allclose(const array& a, const array& b, double rtol, double atol, bool equal_nan) {
  broadcast_shapes("allclose", a.shape(), b.shape());  // errors name allclose, not isclose
  return all(isclose(a, b, rtol, atol, equal_nan));
}

array array_equal(const array& a, const array& b, bool equal_nan) {
  if (a.shape() != b.shape()) return array(false);
  array eq = equal(a, b);
  if (equal_nan) eq = logical_or(eq, logical_and(isnan(a), isnan(b)));
  return all(eq);
}

array bitwise_and(const array& a, const array& b) {
  integers_only("bitwise_and", a, b);
  return binary<BitwiseAnd>("bitwise_and", a, b);
}
array bitwise_or(const array& a, const array& b) {
  integers_only("bitwise_or", a, b);
  return binary<BitwiseOr>("bitwise_or", a, b);
}
array bitwise_xor(const array& a, const array& b) {
  integers_only("bitwise_xor", a, b);
  return binary<BitwiseXor>("bitwise_xor", a, b);
}
array left_shift(const array& a, const array& b) {
  integers_only("left_shift", a, b);
  auto t = promote_types(a.dtype(), b.dtype());
  if (t == Dtype::bool_) return binary<LeftShift>("left_shift", astype(a, Dtype::uint8), b);
  return binary<LeftShift>("left_shift", a, b);
}
array right_shift(const array& a, const array& b) {
  integers_only("right_shift", a, b);
  auto t = promote_types(a.dtype(), b.dtype());
  if (t == Dtype::bool_) return binary<RightShift>("right_shift", astype(a, Dtype::uint8), b);
  return binary<RightShift>("right_shift", a, b);
}

array where(const array& cond, const array& x, const array& y) {
  Dtype t = promote_types(x.dtype(), y.dtype());
  Shape s = broadcast_shapes("where", cond.shape(), x.shape());
  s = broadcast_shapes("where", s, y.shape());
  return make_node<Select>(s, t,
                           {broadcast_to(astype(cond, Dtype::bool_), s),
                            broadcast_to(astype(x, t), s), broadcast_to(astype(y, t), s)});
}

array clip(const array& a, const std::optional<array>& a_min, const std::optional<array>& a_max) {
  if (!a_min && !a_max) {
    throw std::invalid_argument("[clip] At least one of a_min and a_max is needed.");
  }
  array r = a;
  if (a_min) r = maximum(r, *a_min);
  if (a_max) r = minimum(r, *a_max);
  return r;
}

array operator+(const array& a, const array& b) { return add(a, b); }
array operator-(const array& a, const array& b) { return subtract(a, b); }
array operator*(const array& a, const array& b) { return multiply(a, b); }
array operator/(const array& a, const array& b) { return divide(a, b); }
array operator-(const array& a) { return negative(a); }

}  // namespace ember
