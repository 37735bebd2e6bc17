// Transform rules of the reduce family: Reduce, ArgReduce and Scan, each with
// jvp, vjp and vmap in that order. Outputs keep the reduced axes (size 1), so
// cotangents broadcast back to the input and vmap only renumbers axes.
#include "ember/primitives/reduce.h"

#include <algorithm>
#include <numeric>

#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/ops/reduce_internal.h"

namespace ember {

using detail::reduce_keepdims;
using detail::scalar_like;
using detail::scan;

namespace {

// Unbatched axes renumbered for an input whose batch axis is at b.
std::vector<int> shift_axes(const std::vector<int>& axes, int b) {
  std::vector<int> out;
  for (int a : axes) out.push_back(a >= b ? a + 1 : a);
  return out;
}

// d prod / d x_i = the product of the other elements, without dividing (so
// zeros are handled): the reduced axes are moved last and flattened, and an
// exclusive cumprod from the left times one from the right gives each
// position the product of everything but itself. Its own derivative goes
// through cumprod's rules, which are exact at zeros too.
array prod_others(const array& x, const std::vector<int>& axes) {
  std::vector<int> perm;
  Shape flat;
  for (int i = 0; i < x.ndim(); ++i) {
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) {
      perm.push_back(i);
      flat.push_back(x.shape(i));
    }
  }
  perm.insert(perm.end(), axes.begin(), axes.end());
  flat.push_back(-1);
  array xt = transpose(x, perm);
  array x2 = reshape(xt, flat);
  const int last = x2.ndim() - 1;
  array others = multiply(scan(x2, ScanKind::prod, last, false, false),
                          scan(x2, ScanKind::prod, last, true, false));
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = int(i);
  return transpose(reshape(others, xt.shape()), inverse);
}

// d max / d x_i: 1 / (number of ties) at the positions equal to the extremum, 0
// elsewhere, so tied positions share the cotangent evenly (as in JAX).
array extremum_share(const array& x, const array& out, const std::vector<int>& axes) {
  array mask = astype(equal(x, out), x.dtype());
  return divide(mask, reduce_keepdims(mask, ReduceKind::sum, axes));
}

}  // namespace

// ---- Reduce ----
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
  return o && o->kind_ == kind_ && o->axes_ == axes_ && o->dtype_ == dtype_;
}

void Reduce::print(std::ostream& os) const {
  os << name() << "(axes=(";
  for (size_t i = 0; i < axes_.size(); ++i) os << (i ? ", " : "") << axes_[i];
  os << "))";
}

array Reduce::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                  const std::vector<int>&, const array& out) {
  const array& x = primals[0];
  const array& t = tangents[0];
  switch (kind_) {
    // d sum(x) = sum(t)
    case ReduceKind::sum: return reduce_keepdims(t, kind_, axes_, dtype_);
    // d prod(x) = sum_i t_i prod_{j != i} x_j
    case ReduceKind::prod:
      return reduce_keepdims(multiply(t, prod_others(x, axes_)), ReduceKind::sum, axes_);
    // d max(x) = mean of t over the positions holding the max
    case ReduceKind::max:
    case ReduceKind::min:
      return reduce_keepdims(multiply(t, extremum_share(x, out, axes_)), ReduceKind::sum, axes_);
    // all / any: boolean outputs carry no tangent
    default: return zeros(out.shape(), out.dtype());
  }
}

std::vector<array> Reduce::vjp(const std::vector<array>& primals, const array& cotangent,
                               const std::vector<int>&, const array& out) {
  const array& x = primals[0];
  if (kind_ == ReduceKind::all || kind_ == ReduceKind::any) return {zeros_like(x)};
  // The cotangent has the output's dtype (float32 for the mean of halves).
  array c = broadcast_to(astype(cotangent, x.dtype()), x.shape());
  switch (kind_) {
    // d sum / d x_i = 1
    case ReduceKind::sum: return {c};
    // d prod / d x_i = prod_{j != i} x_j
    case ReduceKind::prod: return {multiply(c, prod_others(x, axes_))};
    // d max / d x_i = [x_i == max] / (number of ties)
    default: return {multiply(c, extremum_share(x, astype(out, x.dtype()), axes_))};
  }
}

std::pair<array, int> Reduce::vmap(const std::vector<array>& inputs,
                                   const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {reduce_keepdims(inputs[0], kind_, shift_axes(axes_, b), dtype_), b};
}

// ---- ArgReduce: indices are piecewise constant, so every derivative is zero ----
bool ArgReduce::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const ArgReduce*>(&other);
  return o && o->is_max_ == is_max_ && o->axis_ == axis_;
}

void ArgReduce::print(std::ostream& os) const { os << name() << "(axis=" << axis_ << ")"; }

array ArgReduce::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                     const array& out) {
  return zeros(out.shape(), out.dtype());
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

// ---- Scan ----
namespace {

// Scan helpers along `axis` in scan order: `forward` = not reverse.
struct ScanAxis {
  int axis;
  bool reverse;
  // Cumulative sum in this direction (dir = true) or the opposite one.
  array cumsum(const array& v, bool inclusive, bool same_dir = true) const {
    return scan(v, ScanKind::sum, axis, same_dir ? reverse : !reverse, inclusive);
  }
  // out_i = v at the position before i in scan order; 0 at the first position.
  array shift(const array& v, bool same_dir = true) const {
    bool fwd = same_dir ? !reverse : reverse;
    const int64_t n = v.shape(axis);
    std::vector<std::pair<int64_t, int64_t>> widths(v.ndim(), {0, 0});
    widths[axis] = fwd ? std::pair<int64_t, int64_t>(1, 0) : std::pair<int64_t, int64_t>(0, 1);
    array p = pad(v, widths, zeros({}, v.dtype()));
    std::vector<int64_t> start(v.ndim(), 0), stop(p.shape()), step(v.ndim(), 1);
    start[axis] = fwd ? 0 : 1;
    stop[axis] = start[axis] + n;
    return slice(p, start, stop, step);
  }
  // 0, 1, ..., n-1 along the axis (int32), broadcast to like's shape.
  array iota(const array& like) const {
    Shape s(like.ndim(), 1);
    s[axis] = like.shape(axis);
    array i = arange(0, double(like.shape(axis)), 1, Dtype::int32);
    return broadcast_to(reshape(i, s), like.shape());
  }
};

// For inclusive cummax / cummin y of x: the index each output was taken from,
// the latest position (in scan order) where the running extremum changed.
array extremum_source(const array& x, const array& y, ScanKind kind, const ScanAxis& s) {
  array prev = scan(x, kind, s.axis, s.reverse, false);
  // A NaN takes over the running value, so it counts as a new extremum.
  array holds = is_floating(x.dtype()) ? logical_or(equal(x, y), isnan(x)) : equal(x, y);
  array record = logical_and(holds, not_equal(prev, y));
  const int64_t n = x.shape(s.axis);
  // Before any record (leading -inf for cummax), outputs come from the first position.
  array fill = scalar_like(s.reverse ? double(n - 1) : 0.0, s.iota(x));
  array marks = where(record, s.iota(x), fill);
  return scan(marks, s.reverse ? ScanKind::min : ScanKind::max, s.axis, s.reverse, true);
}

}  // namespace

const char* Scan::name() const {
  switch (kind_) {
    case ScanKind::sum: return "CumSum";
    case ScanKind::prod: return "CumProd";
    case ScanKind::max: return "CumMax";
    case ScanKind::min: return "CumMin";
    case ScanKind::logaddexp: return "LogCumSumExp";
  }
  return "Scan";
}

bool Scan::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Scan*>(&other);
  return o && o->kind_ == kind_ && o->axis_ == axis_ && o->reverse_ == reverse_ &&
         o->inclusive_ == inclusive_;
}

void Scan::print(std::ostream& os) const {
  os << name() << "(axis=" << axis_ << (reverse_ ? ", reverse" : "")
     << (inclusive_ ? "" : ", exclusive") << ")";
}

// Tangents of cumprod (any flags) at x, with y = cumprod(x). With z the first
// zero in scan order and x' = x with x_z replaced by 1, y' = cumprod(x'):
//   before z (no zero among the inputs of y_i): dy_i = y_i * cumsum(t / x)_i;
//   from z on: only the term of x_z survives: dy_i = t_z * y'_i.
array cumprod_jvp(const array& x, const array& y, const array& t, bool inclusive,
                  const ScanAxis& s) {
  array zero = scalar_like(0.0, x), one = scalar_like(1.0, x);
  array is_zero = equal(x, zero);
  array zf = astype(is_zero, x.dtype());
  array first = logical_and(is_zero, equal(s.cumsum(zf, true), one));
  array safe = where(is_zero, one, x);
  array y1 = scan(where(first, one, x), ScanKind::prod, s.axis, s.reverse, inclusive);
  array clean = equal(s.cumsum(zf, inclusive), zero);
  return where(clean, multiply(y, s.cumsum(divide(t, safe), inclusive)),
               multiply(s.cumsum(where(first, t, zero), inclusive), y1));
}

// Cotangent of cumprod: dx_k = sum over the outputs i that use x_k of
// c_i y_i / x_k, i.e. a cumsum of c y in the opposite direction, divided by x.
// At the first zero z (where that division fails) it is the same sum with
// y' = cumprod(x with x_z = 1); at later zeros every term holds x_z = 0.
array cumprod_vjp(const array& x, const array& y, const array& c, bool inclusive,
                  const ScanAxis& s) {
  array zero = scalar_like(0.0, x), one = scalar_like(1.0, x);
  array is_zero = equal(x, zero);
  array first = logical_and(is_zero, equal(s.cumsum(astype(is_zero, x.dtype()), true), one));
  array safe = where(is_zero, one, x);
  array y1 = scan(where(first, one, x), ScanKind::prod, s.axis, s.reverse, inclusive);
  array at_zero = where(first, s.cumsum(multiply(c, y1), inclusive, false), zero);
  return where(is_zero, at_zero, divide(s.cumsum(multiply(c, y), inclusive, false), safe));
}

// log(v) where v > 0, -inf elsewhere; the inner where keeps log's derivative
// finite where it is not used, so these rules differentiate again.
array safe_log(const array& v) {
  array zero = scalar_like(0.0, v);
  array pos = greater(v, zero);
  return where(pos, log(where(pos, v, scalar_like(1.0, v))), scalar_like(-INFINITY, v));
}

// Sum over the k that output i uses of w_k exp(x_k - y_i), in the log domain
// (so neither exp(x) nor exp(-y) overflows): the positive and negative parts
// of w go through one logcumsumexp each. Outputs with y_i = -inf use no input.
array logcumsumexp_jvp(const array& x, const array& y, const array& t, bool inclusive,
                       const ScanAxis& s) {
  array empty = isneginf(y);
  array ys = where(empty, scalar_like(0.0, y), y);
  auto part = [&](const array& w) {
    return exp(subtract(scan(add(x, safe_log(w)), ScanKind::logaddexp, s.axis, s.reverse, inclusive), ys));
  };
  array d = subtract(part(t), part(negative(t)));
  return where(empty, scalar_like(0.0, d), d);
}

// dx_k = sum over outputs i that use x_k of c_i exp(x_k - y_i): the same
// log-domain split, scanning in the opposite direction.
array logcumsumexp_vjp(const array& x, const array& y, const array& c, bool inclusive,
                       const ScanAxis& s) {
  array empty = isneginf(y);
  array ys = where(empty, scalar_like(0.0, y), y);
  array cs = where(empty, scalar_like(0.0, c), c);
  auto part = [&](const array& w) {
    return exp(add(x, scan(subtract(safe_log(w), ys), ScanKind::logaddexp, s.axis, !s.reverse, inclusive)));
  };
  return subtract(part(cs), part(negative(cs)));
}

array Scan::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                const std::vector<int>&, const array& out) {
  const array& x = primals[0];
  const array& t = tangents[0];
  ScanAxis s{axis_, reverse_};
  switch (kind_) {
    // cumsum is linear: d cumsum(x) = cumsum(t)
    case ScanKind::sum: return scan(t, kind_, axis_, reverse_, inclusive_);
    // d prod_{j<=i} x_j = sum_{k<=i} t_k prod_{j<=i, j!=k} x_j
    case ScanKind::prod: return cumprod_jvp(x, out, t, inclusive_, s);
    // d y_i = sum_k t_k exp(x_k - y_i)
    case ScanKind::logaddexp: return logcumsumexp_jvp(x, out, t, inclusive_, s);
    default: {
      // d cummax(x)_i = t at the position the running max came from; an
      // exclusive scan is the inclusive one shifted by one place.
      array y = inclusive_ ? out : scan(x, kind_, axis_, reverse_, true);
      array d = take_along_axis(t, extremum_source(x, y, kind_, s), axis_);
      return inclusive_ ? d : s.shift(d);
    }
  }
}

std::vector<array> Scan::vjp(const std::vector<array>& primals, const array& cotangent,
                             const std::vector<int>&, const array& out) {
  const array& x = primals[0];
  ScanAxis s{axis_, reverse_};
  switch (kind_) {
    // the transpose of a cumsum is the cumsum in the other direction
    case ScanKind::sum: return {s.cumsum(cotangent, inclusive_, false)};
    case ScanKind::prod: return {cumprod_vjp(x, out, cotangent, inclusive_, s)};
    case ScanKind::logaddexp: return {logcumsumexp_vjp(x, out, cotangent, inclusive_, s)};
    default: {
      // each output's cotangent goes to the position its value came from
      array y = inclusive_ ? out : scan(x, kind_, axis_, reverse_, true);
      array c = inclusive_ ? cotangent : s.shift(cotangent, false);
      return {scatter_add_along_axis(zeros_like(x), extremum_source(x, y, kind_, s), c, axis_)};
    }
  }
}

std::pair<array, int> Scan::vmap(const std::vector<array>& inputs,
                                 const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {scan(inputs[0], kind_, axis_ >= b ? axis_ + 1 : axis_, reverse_, inclusive_), b};
}

// ---- export: parameters, and loaders that rebuild each node through its op ----
void Reduce::serialize(ExportFields& f) const {
  f.add_int(int(kind_));
  f.add_ints(axes_);
  f.add_dtype(dtype_);
}
void ArgReduce::serialize(ExportFields& f) const {
  f.add_bool(is_max_);
  f.add_int(axis_);
}
void Scan::serialize(ExportFields& f) const {
  f.add_int(int(kind_));
  f.add_int(axis_);
  f.add_bool(reverse_);
  f.add_bool(inclusive_);
}

namespace {

std::vector<array> load_reduce(ExportFields::Reader& f, const std::vector<array>& in,
                               const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  auto kind = ReduceKind(f.integer("kind", 0, int(ReduceKind::any)));
  std::vector<int> axes = f.ints("axes");
  Dtype dtype = f.dtype("dtype");
  // reduce_keepdims takes normalized, sorted, distinct axes (what the ops give it).
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= in[0].ndim() || (i > 0 && axes[i] <= axes[i - 1])) {
      throw std::invalid_argument(msg("axes ", Shape(axes.begin(), axes.end()),
                                      " are not sorted distinct axes of an array of rank ",
                                      in[0].ndim()));
    }
  }
  std::optional<Dtype> out;
  if (kind == ReduceKind::sum || kind == ReduceKind::prod) {
    // The kernels sum into the natural dtype, or into float32 (mean).
    if (dtype != detail::sum_dtype(in[0].dtype()) && dtype != Dtype::float32) {
      throw std::invalid_argument(msg("a ", dtype_name(in[0].dtype()), " input cannot be reduced into ",
                                      dtype_name(dtype)));
    }
    out = dtype;
  }
  return {reduce_keepdims(in[0], kind, axes, out)};
}

std::vector<array> load_arg_reduce(ExportFields::Reader& f, const std::vector<array>& in,
                                   const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  bool is_max = f.boolean("is_max");
  int axis = f.axis("axis");
  return {is_max ? argmax(in[0], axis, true) : argmin(in[0], axis, true)};
}

std::vector<array> load_scan(ExportFields::Reader& f, const std::vector<array>& in,
                             const std::vector<ExportSpec>&) {
  detail::expect_inputs(in, 1);
  auto kind = ScanKind(f.integer("kind", 0, int(ScanKind::logaddexp)));
  int axis = f.axis("axis");
  bool reverse = f.boolean("reverse"), inclusive = f.boolean("inclusive");
  switch (kind) {
    case ScanKind::sum: return {cumsum(in[0], axis, reverse, inclusive)};
    case ScanKind::prod: return {cumprod(in[0], axis, reverse, inclusive)};
    case ScanKind::max: return {cummax(in[0], axis, reverse, inclusive)};
    case ScanKind::min: return {cummin(in[0], axis, reverse, inclusive)};
    case ScanKind::logaddexp: return {logcumsumexp(in[0], axis, reverse, inclusive)};
  }
  return {};
}

const detail::RegisterLoaders kLoaders{
    {"Sum", load_reduce},        {"Prod", load_reduce},       {"Max", load_reduce},
    {"Min", load_reduce},        {"All", load_reduce},        {"Any", load_reduce},
    {"ArgMax", load_arg_reduce}, {"ArgMin", load_arg_reduce}, {"CumSum", load_scan},
    {"CumProd", load_scan},      {"CumMax", load_scan},       {"CumMin", load_scan},
    {"LogCumSumExp", load_scan},
};

}  // namespace

}  // namespace ember
