// Index ops: argument checks, then Gather / Scatter nodes (take, the
// along-axis ops and getitem/setitem are all written with these two) and the
// sorting family. Out-of-range index values can only be seen at eval, where
// the kernels throw std::out_of_range.
#include "ember/ops/index.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/index.h"

namespace ember {

namespace {

void require_int_indices(const char* op, const array& idx) {
  if (!is_integral(idx.dtype())) {
    throw type_error(msg("[", op, "] Indices must be integers, got ", dtype_name(idx.dtype()), "."));
  }
}

// The integer dtype that holds positions 0..n-1.
Dtype position_dtype(int64_t n) {
  return n <= std::numeric_limits<int32_t>::max() ? Dtype::int32 : Dtype::int64;
}

// Checks and broadcasts the index arrays of a gather / scatter over `axes` of a.
std::vector<array> prepare_indices(const char* op, const array& a, const std::vector<array>& indices,
                                   const std::vector<int>& axes) {
  if (indices.size() > size_t(a.ndim())) {
    throw std::invalid_argument(msg("[", op, "] Got ", indices.size(),
                                    " index arrays for an array with ", a.ndim(),
                                    " dimensions (shape ", a.shape(), ")."));
  }
  for (auto& idx : indices) require_int_indices(op, idx);
  std::vector<array> b = indices.size() > 1 ? broadcast_arrays(indices, op) : indices;
  // An empty axis has no valid index at all: say so now rather than at eval.
  if (!b.empty() && b[0].size() > 0) {
    for (size_t j = 0; j < axes.size(); ++j) {
      if (a.shape(axes[j]) == 0) {
        throw std::out_of_range(msg("[", op, "] Cannot index axis ", axes[j],
                                    " of size 0 (array shape ", a.shape(), ")."));
      }
    }
  }
  return b;
}

// Moves `axes` (distinct, normalized) to the front, keeping the others in order.
array axes_to_front(const array& a, const std::vector<int>& axes) {
  std::vector<int> perm = axes;
  for (int i = 0; i < a.ndim(); ++i) {
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) perm.push_back(i);
  }
  bool identity = true;
  for (int i = 0; i < a.ndim(); ++i) identity &= perm[i] == i;
  return identity ? a : transpose(a, perm);
}

std::vector<int> leading_axes(size_t k) {
  std::vector<int> axes(k);
  std::iota(axes.begin(), axes.end(), 0);
  return axes;
}

std::vector<int> checked_axes(const char* op, const array& a, const std::vector<array>& indices,
                              const std::vector<int>& axes) {
  if (axes.size() != indices.size()) {
    throw std::invalid_argument(msg("[", op, "] Got ", indices.size(), " index arrays but ",
                                    axes.size(), " axes."));
  }
  return normalize_axes(op, axes, a.ndim());
}

array gather_impl(const char* op, const array& a, const std::vector<array>& indices,
                  std::vector<int> axes) {
  std::vector<array> idx = prepare_indices(op, a, indices, axes);
  if (idx.empty()) return a;
  array src = axes_to_front(a, axes);
  Shape shape = idx[0].shape();
  shape.insert(shape.end(), src.shape().begin() + idx.size(), src.shape().end());
  std::vector<array> inputs{src};
  inputs.insert(inputs.end(), idx.begin(), idx.end());
  return make_node<Gather>(std::move(shape), a.dtype(), std::move(inputs), op, std::move(axes));
}

// The updates of a scatter, broadcast to `target` and cast to dtype; leading
// size-1 axes beyond target's rank are dropped, as numpy assignment does.
array broadcast_updates(const char* op, const array& updates, const Shape& target, Dtype dtype) {
  array u = updates;
  while (u.ndim() > int(target.size()) && u.shape(0) == 1) u = squeeze(u, {0});
  bool ok = u.ndim() <= int(target.size());
  for (int i = 1; ok && i <= u.ndim(); ++i) {
    int64_t d = u.shape(u.ndim() - i), t = target[target.size() - i];
    ok = d == t || d == 1;
  }
  if (!ok) {
    throw std::invalid_argument(msg("[", op, "] Cannot broadcast updates of shape ",
                                    updates.shape(), " to the indexed shape ", target, "."));
  }
  return broadcast_to(astype(u, dtype), target);
}

ScatterMode add_mode(bool add) { return add ? ScatterMode::add : ScatterMode::write; }

array scatter_impl(const char* op, const array& a, const std::vector<array>& indices,
                   const array& updates, std::vector<int> axes, ScatterMode mode) {
  std::vector<array> idx = prepare_indices(op, a, indices, axes);
  if (idx.empty()) {
    array u = broadcast_updates(op, updates, a.shape(), a.dtype());
    switch (mode) {
      case ScatterMode::write: return copy(u);
      case ScatterMode::add: return ember::add(a, u);
      case ScatterMode::prod: return multiply(a, u);
      case ScatterMode::max: return maximum(a, u);
      case ScatterMode::min: return minimum(a, u);
    }
  }
  // Scatter works on leading axes: move `axes` to the front and back again.
  array dst = axes_to_front(a, axes);
  Shape target = idx[0].shape();
  target.insert(target.end(), dst.shape().begin() + idx.size(), dst.shape().end());
  array u = broadcast_updates(op, updates, target, a.dtype());
  std::vector<array> inputs{dst, u};
  inputs.insert(inputs.end(), idx.begin(), idx.end());
  array out = make_node<Scatter>(dst.shape(), a.dtype(), std::move(inputs), mode, op, axes);
  if (dst.is_same(a)) return out;
  std::vector<int> perm = axes;
  for (int i = 0; i < a.ndim(); ++i) {
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) perm.push_back(i);
  }
  std::vector<int> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = int(i);
  return transpose(out, inverse);
}

// The along-axis ops index every axis: `indices` along `axis`, the position
// itself (an arange, broadcast) along the others. numpy broadcasts indices
// against a in the other axes.
std::vector<array> along_axis_indices(const char* op, const array& a, const array& indices,
                                      int axis) {
  require_int_indices(op, indices);
  if (indices.ndim() != a.ndim()) {
    throw std::invalid_argument(msg("[", op, "] indices must have as many dimensions as a, got "
                                    "indices of shape ", indices.shape(), " and a of shape ",
                                    a.shape(), "."));
  }
  std::vector<array> idx;
  for (int d = 0; d < a.ndim(); ++d) {
    if (d == axis) {
      idx.push_back(indices);
      continue;
    }
    Shape s(a.ndim(), 1);
    s[d] = a.shape(d);
    idx.push_back(reshape(arange(0, double(a.shape(d)), 1, position_dtype(a.shape(d))), s));
  }
  return idx;
}

// The (array, axis) a sort-like op works on: flattened when axis is nullopt.
std::pair<array, int> sort_operand(const char* op, const array& a, std::optional<int> axis) {
  if (!axis) return {reshape(a, {a.size()}), 0};
  return {a, normalize_axis(op, *axis, a.ndim())};
}

void check_index_range(const char* op, const array& x, int axis) {
  if (x.shape(axis) > int64_t(std::numeric_limits<uint32_t>::max())) {
    throw std::invalid_argument(msg("[", op, "] Axis ", axis, " of size ", x.shape(axis),
                                    " is too long for uint32 indices."));
  }
}

}  // namespace

array gather(const array& a, const std::vector<array>& indices) {
  return gather_impl("gather", a, indices, leading_axes(indices.size()));
}

array gather(const array& a, const std::vector<array>& indices, const std::vector<int>& axes) {
  return gather_impl("gather", a, indices, checked_axes("gather", a, indices, axes));
}

array scatter(const array& a, const std::vector<array>& indices, const array& updates, bool add) {
  return scatter(a, indices, updates, add_mode(add));
}

array scatter(const array& a, const std::vector<array>& indices, const array& updates,
              const std::vector<int>& axes, bool add) {
  return scatter(a, indices, updates, axes, add_mode(add));
}

array scatter(const array& a, const std::vector<array>& indices, const array& updates,
              ScatterMode mode) {
  return scatter_impl("scatter", a, indices, updates, leading_axes(indices.size()), mode);
}

array scatter(const array& a, const std::vector<array>& indices, const array& updates,
              const std::vector<int>& axes, ScatterMode mode) {
  return scatter_impl("scatter", a, indices, updates, checked_axes("scatter", a, indices, axes),
                      mode);
}

array scatter_prod(const array& a, const std::vector<array>& indices, const array& updates,
                   const std::vector<int>& axes) {
  return scatter_impl("scatter_prod", a, indices, updates,
                      checked_axes("scatter_prod", a, indices, axes), ScatterMode::prod);
}
array scatter_max(const array& a, const std::vector<array>& indices, const array& updates,
                  const std::vector<int>& axes) {
  return scatter_impl("scatter_max", a, indices, updates,
                      checked_axes("scatter_max", a, indices, axes), ScatterMode::max);
}
array scatter_min(const array& a, const std::vector<array>& indices, const array& updates,
                  const std::vector<int>& axes) {
  return scatter_impl("scatter_min", a, indices, updates,
                      checked_axes("scatter_min", a, indices, axes), ScatterMode::min);
}

array searchsorted(const array& sorted_sequence, const array& values, const std::string& side) {
  if (side != "left" && side != "right") {
    throw std::invalid_argument(msg("[searchsorted] side must be \"left\" or \"right\", got \"",
                                    side, "\"."));
  }
  const array& s = sorted_sequence;
  if (s.ndim() == 0) {
    throw std::invalid_argument("[searchsorted] sorted_sequence must have at least one dimension.");
  }
  if (s.ndim() > 1) {
    Shape lead(s.shape().begin(), s.shape().end() - 1);
    Shape vlead(values.shape().begin(), values.shape().begin() + std::min<int>(values.ndim(), int(lead.size())));
    if (values.ndim() < int(lead.size()) || vlead != lead) {
      throw std::invalid_argument(msg("[searchsorted] The leading axes of sorted_sequence (shape ",
                                      s.shape(), ") must match those of values (shape ",
                                      values.shape(), ")."));
    }
  }
  if (s.shape(-1) > int64_t(std::numeric_limits<uint32_t>::max())) {
    throw std::invalid_argument(msg("[searchsorted] The sorted axis (size ", s.shape(-1),
                                    ") is too long for uint32 indices."));
  }
  Dtype t = promote_types(s.dtype(), values.dtype());
  if (t == Dtype::complex64) throw type_error("[searchsorted] complex64 is not ordered.");
  return make_node<SearchSorted>(values.shape(), Dtype::uint32, {astype(s, t), astype(values, t)},
                                 side == "right");
}

array take(const array& a, const array& indices, std::optional<int> axis) {
  require_int_indices("take", indices);
  if (!axis) return gather_impl("take", reshape(a, {a.size()}), {indices}, {0});
  int ax = normalize_axis("take", *axis, a.ndim());
  array g = gather_impl("take", a, {indices}, {ax});
  if (ax == 0) return g;
  // g is indices.shape + the other axes; put the index dims where axis was.
  int m = indices.ndim();
  std::vector<int> perm;
  for (int i = 0; i < ax; ++i) perm.push_back(m + i);
  for (int i = 0; i < m; ++i) perm.push_back(i);
  for (int i = m + ax; i < g.ndim(); ++i) perm.push_back(i);
  return transpose(g, perm);
}

array take_along_axis(const array& a, const array& indices, std::optional<int> axis) {
  const char* op = "take_along_axis";
  require_int_indices(op, indices);
  if (!axis) {
    if (indices.ndim() != 1) {
      throw std::invalid_argument(msg("[", op, "] With axis=None, indices must be 1-D, got shape ",
                                      indices.shape(), "."));
    }
    return gather_impl(op, reshape(a, {a.size()}), {indices}, {0});
  }
  int ax = normalize_axis(op, *axis, a.ndim());
  return gather_impl(op, a, along_axis_indices(op, a, indices, ax), leading_axes(a.ndim()));
}

namespace {
array put_along_axis_impl(const char* op, const array& a, const array& indices,
                          const array& values, std::optional<int> axis, bool add) {
  require_int_indices(op, indices);
  if (!axis) {
    if (indices.ndim() != 1) {
      throw std::invalid_argument(msg("[", op, "] With axis=None, indices must be 1-D, got shape ",
                                      indices.shape(), "."));
    }
    array flat = scatter_impl(op, reshape(a, {a.size()}), {indices}, values, {0}, add_mode(add));
    return reshape(flat, a.shape());
  }
  int ax = normalize_axis(op, *axis, a.ndim());
  return scatter_impl(op, a, along_axis_indices(op, a, indices, ax), values,
                      leading_axes(a.ndim()), add_mode(add));
}
}  // namespace

array put_along_axis(const array& a, const array& indices, const array& values,
                     std::optional<int> axis) {
  return put_along_axis_impl("put_along_axis", a, indices, values, axis, false);
}

array scatter_add_along_axis(const array& a, const array& indices, const array& values,
                             std::optional<int> axis) {
  return put_along_axis_impl("scatter_add_along_axis", a, indices, values, axis, true);
}

array sort(const array& a, std::optional<int> axis) {
  auto [x, ax] = sort_operand("sort", a, axis);
  if (x.shape(ax) <= 1) return x;
  return make_node<Sort>(x.shape(), x.dtype(), {x}, ax);
}

array argsort(const array& a, std::optional<int> axis) {
  auto [x, ax] = sort_operand("argsort", a, axis);
  check_index_range("argsort", x, ax);
  return make_node<ArgSort>(x.shape(), Dtype::uint32, {x}, ax);
}

array argpartition(const array& a, int kth, std::optional<int> axis) {
  const char* op = "argpartition";
  auto [x, ax] = sort_operand(op, a, axis);
  check_index_range(op, x, ax);
  int64_t n = x.shape(ax);
  int64_t k = kth < 0 ? kth + n : kth;
  if (k < 0 || k >= n) {
    throw std::invalid_argument(msg("[", op, "] kth ", kth, " is out of range for axis ", ax,
                                    " of size ", n, "."));
  }
  return make_node<ArgPartition>(x.shape(), Dtype::uint32, {x}, int(k), ax);
}

array partition(const array& a, int kth, std::optional<int> axis) {
  // Values through the indices, so the vjp routes each cotangent back to the
  // element the forward pass put there.
  auto [x, ax] = sort_operand("partition", a, axis);
  int64_t n = x.shape(ax);
  if (kth < -n || kth >= n) {
    throw std::invalid_argument(msg("[partition] kth ", kth, " is out of range for axis ", ax,
                                    " of size ", n, "."));
  }
  return take_along_axis(x, argpartition(x, kth, ax), ax);
}

array topk(const array& a, int k, std::optional<int> axis) {
  auto [x, ax] = sort_operand("topk", a, axis);
  int64_t n = x.shape(ax);
  if (k < 0 || k > n) {
    throw std::invalid_argument(msg("[topk] k must be in [0, ", n, "] for axis ", ax,
                                    " of size ", n, ", got ", k, "."));
  }
  // Partition the indices so the k largest come last, gather just those k,
  // and sort them (ascending).
  std::vector<int64_t> start(x.ndim(), 0), stop(x.shape()), step(x.ndim(), 1);
  start[ax] = n - k;
  if (k == 0 || k == n) return sort(slice(x, start, stop, step), ax);
  array idx = slice(argpartition(x, int(n - k), ax), start, stop, step);
  return sort(take_along_axis(x, idx, ax), ax);
}

std::vector<array> nonzero(const array& a) {
  if (a.ndim() == 0) {
    throw std::invalid_argument("[nonzero] Needs an array with at least one dimension.");
  }
  array x = a;
  x.eval();
  std::vector<std::vector<int64_t>> coords(x.ndim());
  const int nd = x.ndim();
  dispatch_dtype(x.dtype(), [&](auto v) {
    using T = decltype(v);
    const T* data = x.data<T>();
    std::vector<int64_t> idx(nd, 0);
    int64_t off = 0;
    for (int64_t i = 0; i < x.size(); ++i) {
      bool set;
      if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
        set = float(data[off]) != 0.0f;
      } else {
        set = data[off] != T(0);
      }
      if (set) {
        for (int d = 0; d < nd; ++d) coords[d].push_back(idx[d]);
      }
      for (int d = nd - 1; d >= 0; --d) {
        off += x.strides()[d];
        if (++idx[d] < x.shape(d)) break;
        off -= x.strides()[d] * x.shape(d);
        idx[d] = 0;
      }
    }
  });
  std::vector<array> out;
  for (auto& c : coords) {
    int64_t n = int64_t(c.size());
    out.push_back(array(static_cast<const void*>(c.data()), Shape{n}, Dtype::int64));
  }
  return out;
}

}  // namespace ember
