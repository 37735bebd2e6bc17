// Transform rules of the binary family: one pair of partials per primitive.
#include "ember/primitives/binary.h"

#include <cmath>

#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"

namespace ember {

using detail::scalar_like;

array BinaryElementwise::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                             const std::vector<int>& argnums, const array& out) {
  auto [da, db] = partials(primals[0], primals[1], out);
  array result;
  for (size_t i = 0; i < argnums.size(); ++i) {
    array term = multiply(tangents[i], argnums[i] == 0 ? da : db);
    result = result.valid() ? add(result, term) : term;
  }
  return broadcast_to(result, out.shape());
}

std::vector<array> BinaryElementwise::vjp(const std::vector<array>& primals, const array& cotangent,
                                          const std::vector<int>& argnums, const array& out) {
  auto [da, db] = partials(primals[0], primals[1], out);
  std::vector<array> grads;
  for (int arg : argnums) {
    const array& p = primals[arg];
    grads.push_back(broadcast_to(multiply(cotangent, arg == 0 ? da : db), p.shape()));
  }
  return grads;
}

std::pair<array, int> BinaryElementwise::vmap(const std::vector<array>& inputs,
                                              const std::vector<BatchAxis>& axes) {
  auto x = detail::batch_to_front(inputs, axes);
  return {apply(x[0], x[1]), 0};
}

#define EMBER_APPLY(Name, fn) \
  array Name::apply(const array& a, const array& b) const { return fn(a, b); }
#define EMBER_ZERO_PARTIALS(Name)                                                     \
  std::pair<array, array> Name::partials(const array& a, const array& b, const array&) const { \
    return {scalar_like(0.0, a), scalar_like(0.0, b)};                                \
  }

// d(a + b) = (1, 1)
std::pair<array, array> Add::partials(const array& a, const array& b, const array&) const {
  return {scalar_like(1.0, a), scalar_like(1.0, b)};
}
EMBER_APPLY(Add, add)
// d(a - b) = (1, -1)
std::pair<array, array> Subtract::partials(const array& a, const array& b, const array&) const {
  return {scalar_like(1.0, a), scalar_like(-1.0, b)};
}
EMBER_APPLY(Subtract, subtract)
// d(a b) = (b, a)
std::pair<array, array> Multiply::partials(const array& a, const array& b, const array&) const {
  return {b, a};
}
EMBER_APPLY(Multiply, multiply)
// d(a / b) = (1/b, -a/b^2)
std::pair<array, array> Divide::partials(const array&, const array& b, const array& out) const {
  array rb = reciprocal(b);
  return {rb, negative(multiply(out, rb))};
}
EMBER_APPLY(Divide, divide)
EMBER_ZERO_PARTIALS(FloorDivide)
EMBER_APPLY(FloorDivide, floor_divide)
// a mod b = a - b floor(a/b): (1, -floor(a/b))
std::pair<array, array> Remainder::partials(const array& a, const array& b, const array&) const {
  return {scalar_like(1.0, a), negative(floor(divide(a, b)))};
}
EMBER_APPLY(Remainder, remainder)
// d a^b = (b a^(b-1), a^b log a); the second is 0 where a == 0 (the limit).
std::pair<array, array> Power::partials(const array& a, const array& b, const array& out) const {
  array da = multiply(b, power(a, subtract(b, scalar_like(1.0, b))));
  array zero = scalar_like(0.0, a);
  array safe_a = where(equal(a, zero), scalar_like(1.0, a), a);
  array db = where(equal(a, zero), zero, multiply(out, log(safe_a)));
  return {da, db};
}
EMBER_APPLY(Power, power)
// d max(a, b): 1 to the larger input (to a on ties)
std::pair<array, array> Maximum::partials(const array& a, const array& b, const array&) const {
  array m = greater_equal(a, b);
  return {astype(m, a.dtype()), astype(logical_not(m), b.dtype())};
}
EMBER_APPLY(Maximum, maximum)
std::pair<array, array> Minimum::partials(const array& a, const array& b, const array&) const {
  array m = less_equal(a, b);
  return {astype(m, a.dtype()), astype(logical_not(m), b.dtype())};
}
EMBER_APPLY(Minimum, minimum)
// d atan2(a, b) = (b, -a) / (a^2 + b^2)
std::pair<array, array> ArcTan2::partials(const array& a, const array& b, const array&) const {
  array r = reciprocal(add(square(a), square(b)));
  return {multiply(b, r), negative(multiply(a, r))};
}
EMBER_APPLY(ArcTan2, arctan2)
// d log(e^a + e^b) = (sigmoid(a - b), sigmoid(b - a))
std::pair<array, array> LogAddExp::partials(const array& a, const array& b, const array&) const {
  return {sigmoid(subtract(a, b)), sigmoid(subtract(b, a))};
}
EMBER_APPLY(LogAddExp, logaddexp)
EMBER_ZERO_PARTIALS(Equal)
EMBER_APPLY(Equal, equal)
EMBER_ZERO_PARTIALS(NotEqual)
EMBER_APPLY(NotEqual, not_equal)
EMBER_ZERO_PARTIALS(Less)
EMBER_APPLY(Less, less)
EMBER_ZERO_PARTIALS(LessEqual)
EMBER_APPLY(LessEqual, less_equal)
EMBER_ZERO_PARTIALS(Greater)
EMBER_APPLY(Greater, greater)
EMBER_ZERO_PARTIALS(GreaterEqual)
EMBER_APPLY(GreaterEqual, greater_equal)
EMBER_ZERO_PARTIALS(LogicalAnd)
EMBER_APPLY(LogicalAnd, logical_and)
EMBER_ZERO_PARTIALS(LogicalOr)
EMBER_APPLY(LogicalOr, logical_or)
EMBER_ZERO_PARTIALS(BitwiseAnd)
EMBER_APPLY(BitwiseAnd, bitwise_and)
EMBER_ZERO_PARTIALS(BitwiseOr)
EMBER_APPLY(BitwiseOr, bitwise_or)
EMBER_ZERO_PARTIALS(BitwiseXor)
EMBER_APPLY(BitwiseXor, bitwise_xor)
EMBER_ZERO_PARTIALS(LeftShift)
EMBER_APPLY(LeftShift, left_shift)
EMBER_ZERO_PARTIALS(RightShift)
EMBER_APPLY(RightShift, right_shift)
#undef EMBER_APPLY
#undef EMBER_ZERO_PARTIALS

// where(c, x, y): the tangent follows the chosen branch; c has none.
array Select::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                  const std::vector<int>& argnums, const array& out) {
  array zero = zeros({}, out.dtype());
  array tx = zero, ty = zero;
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 1) tx = tangents[i];
    if (argnums[i] == 2) ty = tangents[i];
  }
  return broadcast_to(where(primals[0], tx, ty), out.shape());
}

std::vector<array> Select::vjp(const std::vector<array>& primals, const array& cotangent,
                               const std::vector<int>& argnums, const array&) {
  array zero = zeros({}, cotangent.dtype());
  std::vector<array> grads;
  for (int arg : argnums) {
    if (arg == 0) grads.push_back(zeros_like(primals[0]));
    else if (arg == 1) grads.push_back(where(primals[0], cotangent, zero));
    else grads.push_back(where(primals[0], zero, cotangent));
  }
  return grads;
}

std::pair<array, int> Select::vmap(const std::vector<array>& inputs,
                                   const std::vector<BatchAxis>& axes) {
  auto x = detail::batch_to_front(inputs, axes);
  return {where(x[0], x[1], x[2]), 0};
}

// ---- export: loaders rebuild each node through its op ----
namespace {
template <typename P>
std::vector<array> load_binary(ExportFields::Reader&, const std::vector<array>& in,
                               const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 2);
  return {P().apply(in[0], in[1])};
}

#define EMBER_BINARY_LOADER(Name) {#Name, load_binary<Name>},
const detail::RegisterLoaders kLoaders{
    EMBER_BINARY_PRIMITIVES(EMBER_BINARY_LOADER)
    {"Select", [](ExportFields::Reader&, const std::vector<array>& in,
                  const std::vector<ExportSpec>&) {
       detail::expect_inputs(in, 3);
       return std::vector<array>{where(in[0], in[1], in[2])};
     }},
};
#undef EMBER_BINARY_LOADER
}  // namespace

}  // namespace ember
