// Transform rules of the reduce family.
#include "ember/primitives/reduce.h"

#include <algorithm>
#include <numeric>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/ops/reduce_internal.h"

namespace ember {

using detail::reduce_keepdims;
using detail::scan;

namespace {

// Maps unbatched axes to their place in an input with a batch axis at b.
std::vector<int> shift_axes(const std::vector<int>& axes, int b) {
  std::vector<int> out;
  for (int a : axes) out.push_back(a >= b ? a + 1 : a);
  return out;
}

// d prod / d x_i = product of the other elements, computed without dividing
// (so zeros are handled): move the reduced axes last, flatten them, and
// multiply an exclusive cumprod from the left by one from the right.
array prod_partials(const array& x, const std::vector<int>& axes) {
  std::vector<int> perm;
  Shape kept_shape;
  for (int i = 0; i < x.ndim(); ++i) {
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) {
      perm.push_back(i);
      kept_shape.push_back(x.shape(i));
    }
  }
  perm.insert(perm.end(), axes.begin(), axes.end());
  array xt = transpose(x, perm);
  Shape flat = kept_shape;
  flat.push_back(-1);
  array x2 = reshape(xt, flat);
  array others = multiply(scan(x2, false, x2.ndim() - 1, false, false),
                          scan(x2, false, x2.ndim() - 1, true, false));
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = int(i);
  return transpose(reshape(others, xt.shape()), inverse);
}

// d max / d x: 1 at the positions equal to the maximum, shared among ties.
array extremum_partials(const array& x, const array& out, const std::vector<int>& axes) {
  array mask = astype(equal(x, out), x.dtype());
  return divide(mask, reduce_keepdims(mask, ReduceKind::sum, axes));
}

}  // namespace

const char* Reduce::name() const {
  switch (kind_) {
    case ReduceKind::sum: return "Sum";
    case ReduceKind::prod: return "Prod";
    case ReduceKind::max: return "Max";
    case ReduceKind::min: return "Min";
    case ReduceKind::all: return "All";
    case ReduceKind::any: return "Any";
  }
  return "Reduce";
}

bool Reduce::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Reduce*>(&other);
  return o && o->kind_ == kind_ && o->axes_ == axes_;
}

array Reduce::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                  const std::vector<int>&, const array& out) {
  const array& x = primals[0];
  const array& t = tangents[0];
  switch (kind_) {
    // d sum = sum of the tangent
    case ReduceKind::sum: return reduce_keepdims(t, ReduceKind::sum, axes_);
    // d prod = sum_i t_i prod_{j != i} x_j
    case ReduceKind::prod:
      return reduce_keepdims(multiply(t, prod_partials(x, axes_)), ReduceKind::sum, axes_);
    // d max = mean of the tangent over the arg-max positions
    case ReduceKind::max:
    case ReduceKind::min:
      return reduce_keepdims(multiply(t, extremum_partials(x, out, axes_)), ReduceKind::sum, axes_);
    default: return zeros_like(out);  // all / any: boolean, no derivative
  }
}

std::vector<array> Reduce::vjp(const std::vector<array>& primals, const array& cotangent,
                               const std::vector<int>&, const array& out) {
  const array& x = primals[0];
  array ct = broadcast_to(cotangent, x.shape());
  switch (kind_) {
    case ReduceKind::sum: return {ct};
    case ReduceKind::prod: return {multiply(ct, prod_partials(x, axes_))};
    case ReduceKind::max:
    case ReduceKind::min: return {multiply(ct, extremum_partials(x, out, axes_))};
    default: return {zeros_like(x)};
  }
}

std::pair<array, int> Reduce::vmap(const std::vector<array>& inputs,
                                   const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {reduce_keepdims(inputs[0], kind_, shift_axes(axes_, b)), b};
}

bool ArgReduce::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const ArgReduce*>(&other);
  return o && o->is_max_ == is_max_ && o->axis_ == axis_;
}
// Indices are piecewise constant: zero derivative.
array ArgReduce::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                     const array& out) {
  return zeros_like(out);
}
std::vector<array> ArgReduce::vjp(const std::vector<array>& primals, const array&,
                                  const std::vector<int>&, const array&) {
  return {zeros_like(primals[0])};
}
std::pair<array, int> ArgReduce::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  int a = axis_ >= b ? axis_ + 1 : axis_;
  const array& x = inputs[0];
  Shape s = x.shape();
  s[a] = 1;
  return {make_node<ArgReduce>(s, Dtype::uint32, {x}, is_max_, a), b};
}

bool Scan::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Scan*>(&other);
  return o && o->is_sum_ == is_sum_ && o->axis_ == axis_ && o->reverse_ == reverse_ &&
         o->inclusive_ == inclusive_;
}
// cumsum is linear: d cumsum(x) = cumsum(t). cumprod: d y = y * cumsum(t / x).
array Scan::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                const std::vector<int>&, const array& out) {
  if (is_sum_) return scan(tangents[0], true, axis_, reverse_, inclusive_);
  return multiply(out, scan(divide(tangents[0], primals[0]), true, axis_, reverse_, inclusive_));
}
// The transpose of a scan is the scan in the other direction; for cumprod,
// grad_i = (1 / x_i) sum_{j after i} c_j y_j (assumes x has no zeros).
std::vector<array> Scan::vjp(const std::vector<array>& primals, const array& cotangent,
                             const std::vector<int>&, const array& out) {
  if (is_sum_) return {scan(cotangent, true, axis_, !reverse_, inclusive_)};
  return {divide(scan(multiply(cotangent, out), true, axis_, !reverse_, inclusive_), primals[0])};
}
std::pair<array, int> Scan::vmap(const std::vector<array>& inputs,
                                 const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {scan(inputs[0], is_sum_, axis_ >= b ? axis_ + 1 : axis_, reverse_, inclusive_), b};
}

}  // namespace ember
