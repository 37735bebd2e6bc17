// Reduce ops: axis checks, output dtypes, keepdims; mean, var, std,
// logsumexp and softmax are compositions.
#include "ember/ops/reduce.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/ops/reduce_internal.h"

namespace ember {

namespace detail {

array reduce_keepdims(const array& a, ReduceKind kind, const std::vector<int>& axes) {
  Shape s = a.shape();
  for (int ax : axes) s[ax] = 1;
  Dtype t = a.dtype();
  if (kind == ReduceKind::all || kind == ReduceKind::any) {
    t = Dtype::bool_;
  } else if (kind == ReduceKind::sum || kind == ReduceKind::prod) {
    if (t == Dtype::bool_ || t == Dtype::int8 || t == Dtype::int16) t = Dtype::int32;
    if (t == Dtype::uint8 || t == Dtype::uint16) t = Dtype::uint32;
  }
  std::vector<int> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  return make_node<Reduce>(std::move(s), t, {a}, kind, std::move(sorted));
}

array scan(const array& a, bool is_sum, int axis, bool reverse, bool inclusive) {
  return make_node<Scan>(a.shape(), a.dtype(), {a}, is_sum, axis, reverse, inclusive);
}

}  // namespace detail

namespace {

std::vector<int> resolve_axes(const char* op, const array& a, const Axes& axes) {
  if (!axes) {
    std::vector<int> all(a.ndim());
    std::iota(all.begin(), all.end(), 0);
    return all;
  }
  return normalize_axes(op, *axes, a.ndim());
}

array finish(const array& r, const std::vector<int>& axes, bool keepdims) {
  if (keepdims || axes.empty()) return r;
  return squeeze(r, axes);
}

array reduce(const char* op, const array& a, ReduceKind kind, const Axes& axes, bool keepdims) {
  auto ax = resolve_axes(op, a, axes);
  if (kind == ReduceKind::max || kind == ReduceKind::min) {
    if (is_complex(a.dtype())) throw type_error(msg("[", op, "] Not supported for complex64 input."));
    for (int i : ax) {
      if (a.shape(i) == 0) {
        throw std::invalid_argument(msg("[", op, "] Cannot reduce over axis ", i,
                                        " of size 0 (shape ", a.shape(), "): there is no identity."));
      }
    }
  }
  return finish(detail::reduce_keepdims(a, kind, ax), ax, keepdims);
}

int64_t count(const array& a, const std::vector<int>& axes) {
  int64_t n = 1;
  for (int i : axes) n *= a.shape(i);
  return n;
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
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  array s = finish(detail::reduce_keepdims(x, ReduceKind::sum, ax), ax, keepdims);
  return divide(s, detail::scalar_like(double(count(a, ax)), s));
}

array var(const array& a, const Axes& axes, bool keepdims, int ddof) {
  auto ax = resolve_axes("var", a, axes);
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  array m = mean(x, ax, true);
  array ss = finish(detail::reduce_keepdims(square(subtract(x, m)), ReduceKind::sum, ax), ax, keepdims);
  double n = double(count(a, ax)) - ddof;
  return divide(ss, detail::scalar_like(std::max(n, 0.0), ss));
}

array std(const array& a, const Axes& axes, bool keepdims, int ddof) {
  return sqrt(var(a, axes, keepdims, ddof));
}

array logsumexp(const array& a, const Axes& axes, bool keepdims) {
  auto ax = resolve_axes("logsumexp", a, axes);
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  if (count(x, ax) == 0 || x.size() == 0) {
    return finish(log(detail::reduce_keepdims(exp(x), ReduceKind::sum, ax)), ax, keepdims);
  }
  // Shift by the (gradient-free) max so exp cannot overflow; an all -inf or
  // inf slice shifts by 0 instead so the result stays -inf / inf, not nan.
  array m = stop_gradient(detail::reduce_keepdims(x, ReduceKind::max, ax));
  m = where(isinf(m), zeros({}, x.dtype()), m);
  array r = add(log(detail::reduce_keepdims(exp(subtract(x, m)), ReduceKind::sum, ax)), m);
  return finish(r, ax, keepdims);
}

array softmax(const array& a, const Axes& axes) {
  auto ax = resolve_axes("softmax", a, axes);
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  array m = stop_gradient(detail::reduce_keepdims(x, ReduceKind::max, ax));
  m = where(isinf(m), zeros({}, x.dtype()), m);
  array e = exp(subtract(x, m));
  return divide(e, detail::reduce_keepdims(e, ReduceKind::sum, ax));
}

namespace {

array arg_reduce(const char* op, bool is_max, const array& a, std::optional<int> axis, bool keepdims) {
  if (is_complex(a.dtype())) throw type_error(msg("[", op, "] Not supported for complex64 input."));
  array x = a;
  int ax;
  if (!axis) {
    x = reshape(a, {a.size()});
    ax = 0;
  } else {
    ax = normalize_axis(op, *axis, a.ndim());
  }
  if (x.shape(ax) == 0) {
    throw std::invalid_argument(msg("[", op, "] Cannot take ", op, " of an empty axis (shape ",
                                    a.shape(), ")."));
  }
  Shape s = x.shape();
  s[ax] = 1;
  array r = make_node<ArgReduce>(s, Dtype::uint32, {x}, is_max, ax);
  if (!axis) return keepdims ? reshape(r, Shape(a.ndim(), 1)) : reshape(r, {});
  return keepdims ? r : squeeze(r, {ax});
}

array scan_op(const char* op, bool is_sum, const array& a, std::optional<int> axis, bool reverse,
              bool inclusive) {
  array x = a;
  int ax;
  if (!axis) {
    x = reshape(a, {a.size()});
    ax = 0;
  } else {
    ax = normalize_axis(op, *axis, a.ndim());
  }
  if (x.dtype() == Dtype::bool_) x = astype(x, Dtype::int32);
  return detail::scan(x, is_sum, ax, reverse, inclusive);
}

}  // namespace

array argmax(const array& a, std::optional<int> axis, bool keepdims) {
  return arg_reduce("argmax", true, a, axis, keepdims);
}
array argmin(const array& a, std::optional<int> axis, bool keepdims) {
  return arg_reduce("argmin", false, a, axis, keepdims);
}
array cumsum(const array& a, std::optional<int> axis, bool reverse, bool inclusive) {
  return scan_op("cumsum", true, a, axis, reverse, inclusive);
}
array cumprod(const array& a, std::optional<int> axis, bool reverse, bool inclusive) {
  return scan_op("cumprod", false, a, axis, reverse, inclusive);
}

}  // namespace ember
