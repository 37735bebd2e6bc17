// Reduce ops: axis checks, output dtypes and keepdims around the Reduce,
// ArgReduce and Scan primitives; mean, var, std, logsumexp and softmax are
// compositions (so their derivatives come from the primitives' rules).
#include "ember/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/ops/reduce_internal.h"

namespace ember {

namespace detail {

Dtype sum_dtype(Dtype t) {
  switch (t) {
    case Dtype::bool_:
    case Dtype::int8:
    case Dtype::int16: return Dtype::int32;
    case Dtype::uint8:
    case Dtype::uint16: return Dtype::uint32;
    default: return t;
  }
}

array reduce_keepdims(const array& a, ReduceKind kind, const std::vector<int>& axes,
                      std::optional<Dtype> dtype) {
  Shape s = a.shape();
  for (int ax : axes) s[ax] = 1;
  Dtype t = a.dtype();
  if (kind == ReduceKind::all || kind == ReduceKind::any) t = Dtype::bool_;
  if (kind == ReduceKind::sum || kind == ReduceKind::prod) t = dtype.value_or(sum_dtype(t));
  std::vector<int> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  return make_node<Reduce>(std::move(s), t, {a}, kind, std::move(sorted), t);
}

array scan(const array& a, ScanKind kind, int axis, bool reverse, bool inclusive) {
  Dtype t = (kind == ScanKind::sum || kind == ScanKind::prod) ? sum_dtype(a.dtype()) : a.dtype();
  return make_node<Scan>(a.shape(), t, {a}, kind, axis, reverse, inclusive);
}

}  // namespace detail

namespace {

using detail::reduce_keepdims;
using detail::scalar_like;

std::vector<int> resolve_axes(const char* op, const array& a, const Axes& axes) {
  if (!axes) {
    std::vector<int> all(a.ndim());
    std::iota(all.begin(), all.end(), 0);
    return all;
  }
  return normalize_axes(op, *axes, a.ndim());
}

// Drops the kept size-1 axes unless keepdims (a reshape: a view).
array finish(const array& r, const std::vector<int>& axes, bool keepdims) {
  if (keepdims || axes.empty()) return r;
  return squeeze(r, axes);
}

int64_t count(const array& a, const std::vector<int>& axes) {
  int64_t n = 1;
  for (int i : axes) n *= a.shape(i);
  return n;
}

void require_ordered(const char* op, const array& a) {
  if (is_complex(a.dtype())) {
    throw type_error(msg("[", op, "] Not supported for complex64 input (complex numbers are not "
                         "ordered)."));
  }
}

array reduce(const char* op, const array& a, ReduceKind kind, const Axes& axes, bool keepdims) {
  auto ax = resolve_axes(op, a, axes);
  if (kind == ReduceKind::max || kind == ReduceKind::min) {
    require_ordered(op, a);
    if (count(a, ax) == 0) {
      throw std::invalid_argument(msg("[", op, "] Cannot reduce an empty selection (shape ",
                                      a.shape(), "): ", op, " has no identity."));
    }
  }
  return finish(reduce_keepdims(a, kind, ax), ax, keepdims);
}

// ints and bool compute in float32; halves in float32 too where precision
// matters (the caller casts back).
array as_float32_unless_wide(const array& a) {
  Dtype t = a.dtype();
  return (t == Dtype::float32 || t == Dtype::float64 || t == Dtype::complex64)
             ? a
             : astype(a, Dtype::float32);
}

}  // namespace

array sum(const array& a, const Axes& axes, bool keepdims) {
  return reduce("sum", a, ReduceKind::sum, axes, keepdims);
}
array prod(const array& a, const Axes& axes, bool keepdims) {
  return reduce("prod", a, ReduceKind::prod, axes, keepdims);
}
array max(const array& a, const Axes& axes, bool keepdims) {
  return reduce("max", a, ReduceKind::max, axes, keepdims);
}
array min(const array& a, const Axes& axes, bool keepdims) {
  return reduce("min", a, ReduceKind::min, axes, keepdims);
}
array all(const array& a, const Axes& axes, bool keepdims) {
  return reduce("all", a, ReduceKind::all, axes, keepdims);
}
array any(const array& a, const Axes& axes, bool keepdims) {
  return reduce("any", a, ReduceKind::any, axes, keepdims);
}

array mean(const array& a, const Axes& axes, bool keepdims) {
  auto ax = resolve_axes("mean", a, axes);
  Dtype t = a.dtype();
  // ints, bool and halves sum straight into float32 (no converted copy, no
  // float16 overflow); halves are rounded back at the end.
  bool narrow = !(t == Dtype::float32 || t == Dtype::float64 || t == Dtype::complex64);
  array s = finish(reduce_keepdims(a, ReduceKind::sum, ax,
                                   narrow ? std::optional(Dtype::float32) : std::nullopt),
                   ax, keepdims);
  array m = divide(s, scalar_like(double(count(a, ax)), s));
  return is_floating(t) && narrow ? astype(m, t) : m;
}

array var(const array& a, const Axes& axes, bool keepdims, int ddof) {
  auto ax = resolve_axes("var", a, axes);
  array x = as_float32_unless_wide(a);
  array d = subtract(x, mean(x, ax, true));
  // |d|^2, real for complex input (numpy gives float32 for complex64).
  array sq = is_complex(x.dtype()) ? real(multiply(d, conjugate(d))) : square(d);
  array ss = finish(reduce_keepdims(sq, ReduceKind::sum, ax), ax, keepdims);
  double n = double(count(a, ax)) - ddof;
  array v = divide(ss, scalar_like(std::max(n, 0.0), ss));
  return (a.dtype() == Dtype::float16 || a.dtype() == Dtype::bfloat16) ? astype(v, a.dtype()) : v;
}

array std(const array& a, const Axes& axes, bool keepdims, int ddof) {
  resolve_axes("std", a, axes);  // errors name std, not var
  return sqrt(var(a, axes, keepdims, ddof));
}

array logsumexp(const array& a, const Axes& axes, bool keepdims) {
  auto ax = resolve_axes("logsumexp", a, axes);
  require_ordered("logsumexp", a);
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  if (count(x, ax) == 0 || x.size() == 0) {
    // Nothing to shift by: log(0) = -inf for empty selections.
    return finish(log(reduce_keepdims(exp(x), ReduceKind::sum, ax)), ax, keepdims);
  }
  // Shift by the max (no gradient flows through it: the result does not
  // depend on it) so exp cannot overflow; an all -inf or +inf slice shifts by
  // 0 so the result stays -inf / inf rather than nan.
  array m = stop_gradient(reduce_keepdims(x, ReduceKind::max, ax));
  m = where(isinf(m), zeros({}, x.dtype()), m);
  array r = add(log(reduce_keepdims(exp(subtract(x, m)), ReduceKind::sum, ax)), m);
  return finish(r, ax, keepdims);
}

array softmax(const array& a, const Axes& axes, bool precise) {
  auto ax = resolve_axes("softmax", a, axes);
  require_ordered("softmax", a);
  Dtype t = a.dtype();
  bool half = t == Dtype::float16 || t == Dtype::bfloat16;
  array x = !is_inexact(t) || (half && precise) ? astype(a, Dtype::float32) : a;
  if (x.size() == 0) return x;
  // exp(x - max) / sum(exp(x - max)): the max cancels, so it carries no gradient.
  array m = stop_gradient(reduce_keepdims(x, ReduceKind::max, ax));
  m = where(isinf(m), zeros({}, x.dtype()), m);
  array e = exp(subtract(x, m));
  array r = divide(e, reduce_keepdims(e, ReduceKind::sum, ax));
  return half && precise ? astype(r, t) : r;
}

array softmax(const array& a, const Axes& axes) { return softmax(a, axes, false); }

namespace {

// The array and axis an axis-wise op works on: the flattened array for nullopt.
std::pair<array, int> along(const char* op, const array& a, std::optional<int> axis) {
  if (!axis) return {reshape(a, {a.size()}), 0};
  return {a, normalize_axis(op, *axis, a.ndim())};
}

array arg_reduce(const char* op, bool is_max, const array& a, std::optional<int> axis,
                 bool keepdims) {
  require_ordered(op, a);
  auto [x, ax] = along(op, a, axis);
  if (x.shape(ax) == 0) {
    throw std::invalid_argument(msg("[", op, "] Cannot take the ", op, " of an empty axis (shape ",
                                    a.shape(), ")."));
  }
  Shape s = x.shape();
  s[ax] = 1;
  array r = make_node<ArgReduce>(s, Dtype::uint32, {x}, is_max, ax);
  if (!axis) return keepdims ? reshape(r, Shape(a.ndim(), 1)) : reshape(r, {});
  return keepdims ? r : squeeze(r, {ax});
}

array scan_op(const char* op, ScanKind kind, const array& a, std::optional<int> axis,
              bool reverse, bool inclusive) {
  if (kind == ScanKind::max || kind == ScanKind::min) require_ordered(op, a);
  auto [x, ax] = along(op, a, axis);
  return detail::scan(x, kind, ax, reverse, inclusive);
}

}  // namespace

array argmax(const array& a, std::optional<int> axis, bool keepdims) {
  return arg_reduce("argmax", true, a, axis, keepdims);
}
array argmin(const array& a, std::optional<int> axis, bool keepdims) {
  return arg_reduce("argmin", false, a, axis, keepdims);
}
array cumsum(const array& a, std::optional<int> axis, bool reverse, bool inclusive) {
  return scan_op("cumsum", ScanKind::sum, a, axis, reverse, inclusive);
}
array cumprod(const array& a, std::optional<int> axis, bool reverse, bool inclusive) {
  return scan_op("cumprod", ScanKind::prod, a, axis, reverse, inclusive);
}
array cummax(const array& a, std::optional<int> axis, bool reverse, bool inclusive) {
  return scan_op("cummax", ScanKind::max, a, axis, reverse, inclusive);
}
array cummin(const array& a, std::optional<int> axis, bool reverse, bool inclusive) {
  return scan_op("cummin", ScanKind::min, a, axis, reverse, inclusive);
}
array logcumsumexp(const array& a, std::optional<int> axis, bool reverse, bool inclusive) {
  if (a.dtype() == Dtype::complex64) {
    throw type_error("[logcumsumexp] complex64 is not supported.");
  }
  Dtype t = is_inexact(a.dtype()) ? a.dtype() : Dtype::float32;
  return scan_op("logcumsumexp", ScanKind::logaddexp, astype(a, t), axis, reverse, inclusive);
}

array count_nonzero(const array& a, const Axes& axes, bool keepdims) {
  return astype(sum(not_equal(a, zeros({}, a.dtype())), axes, keepdims), Dtype::int32);
}

array median(const array& a, const Axes& axes, bool keepdims) {
  // The reduced axes go last and become one; the median of the sorted line is
  // its middle element (the mean of the two middle ones for an even length).
  std::vector<int> ax;
  if (axes) {
    ax = normalize_axes("median", *axes, a.ndim());
  } else {
    for (int i = 0; i < a.ndim(); ++i) ax.push_back(i);
  }
  std::sort(ax.begin(), ax.end());
  std::vector<int> perm;
  Shape kept, kept_dims = a.shape();
  int64_t n = 1;
  for (int d = 0; d < a.ndim(); ++d) {
    if (std::find(ax.begin(), ax.end(), d) == ax.end()) perm.push_back(d), kept.push_back(a.shape(d));
  }
  for (int d : ax) perm.push_back(d), n *= a.shape(d), kept_dims[d] = 1;
  if (n == 0) throw std::invalid_argument(msg("[median] Cannot take the median of an empty selection (shape ", a.shape(), ")."));
  Dtype t = is_inexact(a.dtype()) ? a.dtype() : Dtype::float32;
  Shape line = kept;
  line.push_back(n);
  array x = sort(reshape(transpose(astype(a, t), perm), line), -1);
  int last = int(line.size()) - 1;
  std::vector<int64_t> lo(line.size(), 0), hi(line.begin(), line.end()), step(line.size(), 1);
  lo[last] = (n - 1) / 2;
  hi[last] = n / 2 + 1;
  array mid = mean(slice(x, lo, hi, step), std::vector<int>{last});
  // sort puts NaNs last; numpy's median is NaN when any value is.
  if (is_floating(t)) mid = where(any(isnan(x), std::vector<int>{last}), detail::scalar(NAN, t), mid);
  return keepdims ? reshape(mid, kept_dims) : mid;
}

}  // namespace ember
