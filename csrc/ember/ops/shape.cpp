// Shape ops: argument checks, then view primitives (reshape, transpose,
// broadcast_to, slice); expand_dims, squeeze and flatten are reshapes; split,
// stack, repeat and tile are compositions; concatenate, slice_update and pad
// are copying primitives.
#include "ember/ops/shape.h"

#include <algorithm>
#include <numeric>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/shape.h"

namespace ember {

namespace {

// Canonical window of one axis: start clamped the way slice.indices clamps,
// the length n, and stop recomputed as start + n * step so that equal windows
// compare equal (is_equivalent) whatever stop the caller wrote.
struct Window {
  std::vector<int64_t> start, stop, step;
  Shape shape;
};

Window make_window(const char* op, const array& a, const std::vector<int64_t>& start,
                   const std::vector<int64_t>& stop, const std::vector<int64_t>& step) {
  if (int(start.size()) != a.ndim() || int(stop.size()) != a.ndim() ||
      int(step.size()) != a.ndim()) {
    throw std::invalid_argument(msg("[", op, "] Expected ", a.ndim(),
                                    " values each for start, stop and step (array shape ",
                                    a.shape(), "), got ", start.size(), ", ", stop.size(),
                                    " and ", step.size(), "."));
  }
  Window w;
  for (int i = 0; i < a.ndim(); ++i) {
    int64_t d = a.shape(i), st = step[i], s, n;
    if (st == 0) {
      throw std::invalid_argument(msg("[", op, "] step must not be zero (axis ", i, ")."));
    }
    if (st > 0) {
      s = std::clamp<int64_t>(start[i], 0, d);
      int64_t e = std::clamp<int64_t>(stop[i], s, d);
      n = (e - s + st - 1) / st;
    } else {
      // Going down, -1 stands for "past the first element" as in slice.indices.
      s = std::clamp<int64_t>(start[i], -1, d - 1);
      int64_t e = std::clamp<int64_t>(stop[i], -1, s);
      n = (s - e - st - 1) / -st;
    }
    if (n == 0) s = 0;
    w.start.push_back(s);
    w.stop.push_back(s + n * st);
    w.step.push_back(st);
    w.shape.push_back(n);
  }
  return w;
}

}  // namespace

array slice(const array& a, const std::vector<int64_t>& start, const std::vector<int64_t>& stop,
            const std::vector<int64_t>& step) {
  Window w = make_window("slice", a, start, stop, step);
  bool whole = true;
  for (int i = 0; i < a.ndim(); ++i) {
    whole &= w.start[i] == 0 && w.step[i] == 1 && w.shape[i] == a.shape(i);
  }
  if (whole) return a;
  Shape shape = w.shape;
  return make_node<Slice>(std::move(shape), a.dtype(), {a}, std::move(w.start), std::move(w.stop),
                          std::move(w.step));
}

array slice_update(const array& a, const array& update, const std::vector<int64_t>& start,
                   const std::vector<int64_t>& stop, const std::vector<int64_t>& step) {
  Window w = make_window("slice_update", a, start, stop, step);
  // numpy assignment semantics: the update broadcasts to the window and takes a's dtype.
  // Leading size-1 axes beyond the window's rank are dropped, as numpy does.
  array upd = update;
  while (upd.ndim() > a.ndim() && upd.shape(0) == 1) upd = squeeze(upd, {0});
  Shape us = upd.shape();
  bool ok = us.size() <= w.shape.size();
  for (size_t i = 0; ok && i < us.size(); ++i) {
    int64_t d = us[us.size() - 1 - i], t = w.shape[w.shape.size() - 1 - i];
    ok = d == t || d == 1;
  }
  if (!ok) {
    throw std::invalid_argument(msg("[slice_update] Cannot broadcast update of shape ",
                                    update.shape(),
                                    " to the slice shape ", w.shape, "."));
  }
  array u = broadcast_to(astype(upd, a.dtype()), w.shape);
  return make_node<SliceUpdate>(a.shape(), a.dtype(), {a, u}, std::move(w.start),
                                std::move(w.stop), std::move(w.step));
}

array reshape(const array& a, Shape shape) {
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < int(shape.size()); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("[reshape] Only one dimension can be -1.");
      infer = i;
    } else if (shape[i] < 0) {
      throw std::invalid_argument(msg("[reshape] Invalid dimension ", shape[i], " in shape ", shape, "."));
    } else {
      known = checked_mul("reshape", known, shape[i]);
    }
  }
  if (infer >= 0) {
    if (known == 0 || a.size() % known != 0) {
      throw std::invalid_argument(
          msg("[reshape] Cannot reshape array of shape ", a.shape(), " into shape ", shape, "."));
    }
    shape[infer] = a.size() / known;
  }
  if (shape_size(shape, "reshape") != a.size()) {
    throw std::invalid_argument(
        msg("[reshape] Cannot reshape array of size ", a.size(), " (shape ", a.shape(),
            ") into shape ", shape, "."));
  }
  if (shape == a.shape()) return a;
  Shape s = shape;
  return make_node<Reshape>(std::move(s), a.dtype(), {a}, std::move(shape));
}

array flatten(const array& a, int start_axis, int end_axis) {
  if (a.ndim() == 0) return reshape(a, {1});
  int s = normalize_axis("flatten", start_axis, a.ndim());
  int e = normalize_axis("flatten", end_axis, a.ndim());
  if (s > e) throw std::invalid_argument("[flatten] start_axis must not be after end_axis.");
  Shape shape(a.shape().begin(), a.shape().begin() + s);
  int64_t n = 1;
  for (int i = s; i <= e; ++i) n *= a.shape(i);  // no overflow: a's size is checked
  shape.push_back(n);
  shape.insert(shape.end(), a.shape().begin() + e + 1, a.shape().end());
  return reshape(a, shape);
}

array squeeze(const array& a, const std::vector<int>& axes) {
  Shape shape;
  if (axes.empty()) {
    for (auto d : a.shape()) if (d != 1) shape.push_back(d);
  } else {
    auto ax = normalize_axes("squeeze", axes, a.ndim());
    for (int i = 0; i < a.ndim(); ++i) {
      bool drop = std::find(ax.begin(), ax.end(), i) != ax.end();
      if (drop && a.shape(i) != 1) {
        throw std::invalid_argument(msg("[squeeze] Cannot squeeze axis ", i, " of size ", a.shape(i),
                                        " (shape ", a.shape(), ")."));
      }
      if (!drop) shape.push_back(a.shape(i));
    }
  }
  return reshape(a, shape);
}

array expand_dims(const array& a, const std::vector<int>& axes) {
  int out_ndim = a.ndim() + int(axes.size());
  auto ax = normalize_axes("expand_dims", axes, out_ndim);
  std::sort(ax.begin(), ax.end());
  Shape shape;
  size_t src = 0, k = 0;
  for (int i = 0; i < out_ndim; ++i) {
    if (k < ax.size() && ax[k] == i) {
      shape.push_back(1);
      ++k;
    } else {
      shape.push_back(a.shape(int(src++)));
    }
  }
  return reshape(a, shape);
}

array transpose(const array& a, std::vector<int> axes) {
  if (axes.empty()) {
    axes.resize(a.ndim());
    std::iota(axes.rbegin(), axes.rend(), 0);
  }
  if (int(axes.size()) != a.ndim()) {
    throw std::invalid_argument(msg("[transpose] Got ", axes.size(), " axes for an array with ",
                                    a.ndim(), " dimensions (shape ", a.shape(), ")."));
  }
  axes = normalize_axes("transpose", axes, a.ndim());
  bool identity = true;
  for (int i = 0; i < a.ndim(); ++i) identity &= axes[i] == i;
  if (identity) return a;
  Shape shape;
  for (int ax : axes) shape.push_back(a.shape(ax));
  return make_node<Transpose>(std::move(shape), a.dtype(), {a}, std::move(axes));
}

array swapaxes(const array& a, int axis1, int axis2) {
  int i = normalize_axis("swapaxes", axis1, a.ndim());
  int j = normalize_axis("swapaxes", axis2, a.ndim());
  std::vector<int> perm(a.ndim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[i], perm[j]);
  return transpose(a, perm);
}

array moveaxis(const array& a, int source, int destination) {
  int s = normalize_axis("moveaxis", source, a.ndim());
  int d = normalize_axis("moveaxis", destination, a.ndim());
  if (s == d) return a;
  std::vector<int> perm;
  for (int i = 0; i < a.ndim(); ++i) if (i != s) perm.push_back(i);
  perm.insert(perm.begin() + d, s);
  return transpose(a, perm);
}

array broadcast_to(const array& a, const Shape& shape) {
  if (a.shape() == shape) return a;
  shape_size(shape, "broadcast_to");
  bool ok = shape.size() >= a.shape().size();
  for (size_t i = 0; ok && i < a.shape().size(); ++i) {
    int64_t d = a.shape()[a.ndim() - 1 - i];
    int64_t t = shape[shape.size() - 1 - i];
    ok = d == t || d == 1;
  }
  if (!ok) {
    throw std::invalid_argument(
        msg("[broadcast_to] Cannot broadcast array of shape ", a.shape(), " to shape ", shape, "."));
  }
  return make_node<BroadcastTo>(shape, a.dtype(), {a}, shape);
}

std::vector<array> broadcast_arrays(const std::vector<array>& arrays, const char* op) {
  Shape s;
  for (auto& a : arrays) s = broadcast_shapes(op, s, a.shape());
  std::vector<array> out;
  for (auto& a : arrays) out.push_back(broadcast_to(a, s));
  return out;
}

namespace {

// a[start:stop] along one axis (Python slice semantics, step 1).
array slice_axis(const array& a, int axis, int64_t start, int64_t stop) {
  std::vector<int64_t> lo(a.ndim(), 0), hi(a.shape().begin(), a.shape().end()),
      step(a.ndim(), 1);
  int64_t d = a.shape(axis);
  if (start < 0) start += d;
  if (stop < 0) stop += d;
  lo[axis] = std::clamp<int64_t>(start, 0, d);
  hi[axis] = std::clamp<int64_t>(stop, lo[axis], d);
  return slice(a, lo, hi, step);
}

}  // namespace

array concatenate(const std::vector<array>& arrays, int axis) {
  if (arrays.empty()) throw std::invalid_argument("[concatenate] Need at least one array.");
  const array& first = arrays[0];
  if (first.ndim() == 0) {
    throw std::invalid_argument("[concatenate] Zero-dimensional arrays cannot be concatenated.");
  }
  int ax = normalize_axis("concatenate", axis, first.ndim());
  Dtype dtype = first.dtype();
  Shape shape = first.shape();
  shape[ax] = 0;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const array& x = arrays[i];
    bool ok = x.ndim() == first.ndim();
    for (int d = 0; ok && d < x.ndim(); ++d) ok = d == ax || x.shape(d) == first.shape(d);
    if (!ok) {
      throw std::invalid_argument(
          msg("[concatenate] All arrays must have the same shape except along axis ", ax,
              ", but array 0 has shape ", first.shape(), " and array ", i, " has shape ",
              x.shape(), "."));
    }
    shape[ax] = checked_add("concatenate", shape[ax], x.shape(ax));
    dtype = promote_types(dtype, x.dtype());
  }
  if (arrays.size() == 1) return astype(first, dtype);
  std::vector<array> inputs;
  for (auto& x : arrays) inputs.push_back(astype(x, dtype));
  return make_node<Concatenate>(std::move(shape), dtype, std::move(inputs), ax);
}

array stack(const std::vector<array>& arrays, int axis) {
  if (arrays.empty()) throw std::invalid_argument("[stack] Need at least one array.");
  for (size_t i = 1; i < arrays.size(); ++i) {
    if (arrays[i].shape() != arrays[0].shape()) {
      throw std::invalid_argument(msg("[stack] All arrays must have the same shape, but array 0 "
                                      "has shape ", arrays[0].shape(), " and array ", i,
                                      " has shape ", arrays[i].shape(), "."));
    }
  }
  int ax = normalize_axis("stack", axis, arrays[0].ndim() + 1);
  std::vector<array> expanded;
  for (auto& x : arrays) expanded.push_back(expand_dims(x, {ax}));
  return concatenate(expanded, ax);
}

namespace {
// One Split node for pieces [bounds[k], bounds[k + 1]) of `a` along ax.
std::vector<array> split_at(const array& a, int ax, std::vector<int64_t> bounds) {
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    Shape s = a.shape();
    s[ax] = bounds[k + 1] - bounds[k];
    shapes.push_back(std::move(s));
    dtypes.push_back(a.dtype());
  }
  return make_nodes<Split>(std::move(shapes), std::move(dtypes), {a}, ax, std::move(bounds));
}
}  // namespace

std::vector<array> split(const array& a, int num, int axis) {
  if (a.ndim() == 0) throw std::invalid_argument("[split] Cannot split a zero-dimensional array.");
  int ax = normalize_axis("split", axis, a.ndim());
  if (num <= 0) {
    throw std::invalid_argument(msg("[split] Number of sections must be positive, got ", num, "."));
  }
  // An empty axis splits into any number of empty parts; each part is a node, so a huge
  // count would exhaust memory building them.
  if (num > (1 << 24)) {
    throw std::invalid_argument(msg("[split] ", num, " sections are more arrays than split makes "
                                    "(at most 2^24)."));
  }
  if (a.shape(ax) % num != 0) {
    throw std::invalid_argument(msg("[split] Array of size ", a.shape(ax), " along axis ", ax,
                                    " (shape ", a.shape(), ") cannot be split into ", num,
                                    " equal sections."));
  }
  int64_t n = a.shape(ax) / num;
  std::vector<int64_t> bounds;
  for (int i = 0; i <= num; ++i) bounds.push_back(i * n);
  return split_at(a, ax, std::move(bounds));
}

std::vector<array> split(const array& a, const std::vector<int64_t>& indices, int axis) {
  if (a.ndim() == 0) throw std::invalid_argument("[split] Cannot split a zero-dimensional array.");
  int ax = normalize_axis("split", axis, a.ndim());
  // numpy: part i is a[indices[i-1]:indices[i]] with Python slice semantics (negative indices
  // count from the end, out-of-range ones clamp, a decreasing index gives an empty part).
  const int64_t n = a.shape(ax);
  auto clamp = [n](int64_t i) { return std::min(n, std::max<int64_t>(0, i < 0 ? i + n : i)); };
  std::vector<int64_t> bounds{0};
  for (int64_t idx : indices) bounds.push_back(clamp(idx));
  bounds.push_back(n);
  if (!std::is_sorted(bounds.begin(), bounds.end())) {
    // Decreasing indices give overlapping or empty parts, which are not one Split: slices.
    std::vector<array> out;
    int64_t p = 0;
    for (int64_t idx : indices) {
      out.push_back(slice_axis(a, ax, p, idx));
      p = idx;
    }
    out.push_back(slice_axis(a, ax, p, n));
    return out;
  }
  return split_at(a, ax, std::move(bounds));
}

array repeat(const array& a, int64_t repeats, std::optional<int> axis) {
  if (repeats < 0) {
    throw std::invalid_argument(msg("[repeat] repeats must be non-negative, got ", repeats, "."));
  }
  array x = axis ? a : flatten(a);
  int ax = normalize_axis("repeat", axis.value_or(0), x.ndim());
  // (.., d, ..) -> (.., d, 1, ..) -> broadcast (.., d, r, ..) -> merge (.., d * r, ..)
  array e = expand_dims(x, {ax + 1});
  Shape b = e.shape();
  b[ax + 1] = repeats;
  Shape out = x.shape();
  out[ax] = checked_mul("repeat", out[ax], repeats);
  shape_size(out, "repeat");
  return reshape(broadcast_to(e, b), out);
}

array tile(const array& a, const std::vector<int64_t>& reps) {
  for (int64_t r : reps) {
    if (r < 0) {
      throw std::invalid_argument(msg("[tile] reps must be non-negative, got ",
                                      Shape(reps.begin(), reps.end()), "."));
    }
  }
  // numpy: pad the shorter of shape and reps with leading ones.
  size_t n = std::max(size_t(a.ndim()), reps.size());
  Shape shape(n - a.ndim(), 1), r(n - reps.size(), 1);
  shape.insert(shape.end(), a.shape().begin(), a.shape().end());
  r.insert(r.end(), reps.begin(), reps.end());
  // (d0, d1) -> (1, d0, 1, d1) -> broadcast (r0, d0, r1, d1) -> (r0 * d0, r1 * d1)
  Shape inter, target, out;
  for (size_t i = 0; i < n; ++i) {
    inter.insert(inter.end(), {1, shape[i]});
    target.insert(target.end(), {r[i], shape[i]});
    out.push_back(checked_mul("tile", r[i], shape[i]));
  }
  shape_size(out, "tile");
  return reshape(broadcast_to(reshape(a, inter), target), out);
}

array pad(const array& a, const std::vector<std::pair<int64_t, int64_t>>& widths,
          const array& value) {
  if (int(widths.size()) != a.ndim()) {
    throw std::invalid_argument(msg("[pad] Expected ", a.ndim(), " (before, after) pairs for an "
                                    "array of shape ", a.shape(), ", got ", widths.size(), "."));
  }
  if (value.size() != 1) {
    throw std::invalid_argument(
        msg("[pad] The pad value must be a scalar, got shape ", value.shape(), "."));
  }
  Shape shape = a.shape();
  bool none = true;
  for (int i = 0; i < a.ndim(); ++i) {
    auto [lo, hi] = widths[i];
    if (lo < 0 || hi < 0) {
      throw std::invalid_argument(msg("[pad] Pad widths must be non-negative, got (", lo, ", ", hi,
                                      ") for axis ", i, "."));
    }
    shape[i] = checked_add("pad", shape[i], checked_add("pad", lo, hi));
    none &= lo == 0 && hi == 0;
  }
  if (none) return a;
  array v = astype(reshape(value, {}), a.dtype());
  return make_node<Pad>(std::move(shape), a.dtype(), {a, v}, widths);
}

}  // namespace ember
