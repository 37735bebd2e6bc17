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
    int64_t d = a.shape(i), st = step[i], s, count;
    if (st == 0) {
      throw std::invalid_argument(msg("[", op, "] step must not be zero (axis ", i, ")."));
    }
    if (st > 0) {
      s = std::clamp<int64_t>(start[i], 0, d);
      count = std::clamp<int64_t>(stop[i], s, d) - s;
    } else {
      // Going down, -1 stands for "past the first element" as in slice.indices.
      s = std::clamp<int64_t>(start[i], -1, d - 1);
      count = s - std::clamp<int64_t>(stop[i], -1, s);
    }
    // n = ceil(count / |step|), without int64 overflow for a step near +-2^63 (x[::2**63-1]
    // or x[::-2**63] came out as shape -1); |step| is taken in uint64 (it is 2^63 for INT64_MIN).
    const uint64_t mag = st > 0 ? uint64_t(st) : uint64_t(0) - uint64_t(st);
    const int64_t n = count == 0 ? 0 : 1 + int64_t(uint64_t(count - 1) / mag);
    if (n == 0) s = 0;
    // The normalized stop is s + n * step, or one past the last element (s + (n - 1) * step,
    // inside [0, d)) in the step's direction where that sum would overflow int64.
    int64_t stop_n;
    if (__builtin_mul_overflow(n, st, &stop_n) || __builtin_add_overflow(s, stop_n, &stop_n)) {
      stop_n = s + (n - 1) * st + (st > 0 ? 1 : -1);
    }
    w.start.push_back(s);
    w.stop.push_back(stop_n);
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


// ---- Compositions of the shape ops above (issue 9's remaining names) ----

namespace {

std::vector<int> all_axes(int ndim) {
  std::vector<int> out(ndim);
  std::iota(out.begin(), out.end(), 0);
  return out;
}

// The int64 arange [0, n) shaped to lie along `axis` of an ndim-dim array.
array arange_along(int64_t n, int axis, int ndim) {
  Shape s(ndim, 1);
  s[axis] = n;
  return reshape(arange(0, double(n), 1, Dtype::int64), s);
}

}  // namespace

array flip(const array& a, const std::optional<std::vector<int>>& axes) {
  std::vector<int> ax = axes ? normalize_axes("flip", *axes, a.ndim()) : all_axes(a.ndim());
  std::vector<int64_t> start(a.ndim(), 0), stop(a.shape().begin(), a.shape().end()),
      step(a.ndim(), 1);
  for (int i : ax) {
    // slice.indices(d) for [::-1]: start d - 1, stop -1 ("through index 0").
    start[i] = a.shape(i) - 1;
    stop[i] = -1;
    step[i] = -1;
  }
  return slice(a, start, stop, step);
}

array roll(const array& a, const std::vector<int64_t>& shift,
           const std::optional<std::vector<int>>& axes) {
  if (!axes) {
    if (shift.size() != 1) {
      throw std::invalid_argument(msg("[roll] Without axis, shift must be one value, got ",
                                      shift.size(), "."));
    }
    return reshape(roll(flatten(a), shift, std::vector<int>{0}), a.shape());
  }
  std::vector<int> ax;
  for (int x : *axes) ax.push_back(normalize_axis("roll", x, a.ndim()));
  std::vector<int64_t> sh = shift;
  if (sh.size() == 1 && ax.size() > 1) sh.assign(ax.size(), shift[0]);
  if (ax.size() == 1 && sh.size() > 1) ax.assign(sh.size(), ax[0]);
  if (sh.size() != ax.size()) {
    throw std::invalid_argument(msg("[roll] shift and axis must have the same length, got ",
                                    sh.size(), " and ", ax.size(), "."));
  }
  // Shifts along one axis add up (numpy allows an axis to repeat).
  std::vector<int64_t> total(a.ndim(), 0);
  for (size_t i = 0; i < ax.size(); ++i) total[ax[i]] += sh[i];
  array out = a;
  for (int i = 0; i < a.ndim(); ++i) {
    int64_t d = a.shape(i);
    if (d == 0) continue;
    int64_t s = ((total[i] % d) + d) % d;
    if (s == 0) continue;
    out = concatenate({slice_axis(out, i, d - s, d), slice_axis(out, i, 0, d - s)}, i);
  }
  return out;
}

array diagonal(const array& a, int offset, int axis1, int axis2) {
  if (a.ndim() < 2) {
    throw std::invalid_argument(msg("[diagonal] Array must have at least two dimensions, got shape ",
                                    a.shape(), "."));
  }
  int ax1 = normalize_axis("diagonal", axis1, a.ndim());
  int ax2 = normalize_axis("diagonal", axis2, a.ndim());
  if (ax1 == ax2) {
    throw std::invalid_argument(msg("[diagonal] axis1 and axis2 must differ, got ", axis1, " and ",
                                    axis2, "."));
  }
  // Rows r and columns r + offset, for every r where both are in range.
  int64_t rows = a.shape(ax1), cols = a.shape(ax2);
  int64_t r0 = offset >= 0 ? 0 : -int64_t(offset), c0 = offset >= 0 ? offset : 0;
  int64_t n = std::max<int64_t>(0, std::min(rows - r0, cols - c0));
  array r = arange(double(r0), double(r0 + n), 1, Dtype::int64);
  array c = arange(double(c0), double(c0 + n), 1, Dtype::int64);
  // gather puts the diagonal first, followed by the other axes in order.
  return moveaxis(gather(a, {r, c}, {ax1, ax2}), 0, -1);
}

array diag(const array& a, int k) {
  if (a.ndim() == 2) return diagonal(a, k, 0, 1);
  if (a.ndim() != 1) {
    throw std::invalid_argument(msg("[diag] Input must be 1-D or 2-D, got shape ", a.shape(), "."));
  }
  // out[i, i + k] = a[i]: a chosen by the row (k >= 0) or the column (k < 0).
  int64_t n = a.shape(0), m = n + (k >= 0 ? k : -int64_t(k));
  array v = pad(a, {{0, m - n}});
  array placed = k >= 0 ? reshape(v, {m, 1}) : reshape(v, {1, m});
  return where(eye(m, m, k, Dtype::bool_), placed, zeros({}, a.dtype()));
}

array atleast_1d(const array& a) { return a.ndim() >= 1 ? a : reshape(a, {1}); }
array atleast_2d(const array& a) {
  if (a.ndim() >= 2) return a;
  return a.ndim() == 0 ? reshape(a, {1, 1}) : expand_dims(a, {0});
}
array atleast_3d(const array& a) {
  // numpy: () -> (1, 1, 1), (N,) -> (1, N, 1), (M, N) -> (M, N, 1).
  if (a.ndim() >= 3) return a;
  if (a.ndim() == 0) return reshape(a, {1, 1, 1});
  if (a.ndim() == 1) return reshape(a, {1, a.shape(0), 1});
  return expand_dims(a, {2});
}

array unflatten(const array& a, int axis, const Shape& shape) {
  int ax = normalize_axis("unflatten", axis, a.ndim());
  if (shape.empty()) throw std::invalid_argument("[unflatten] shape must not be empty.");
  Shape out(a.shape().begin(), a.shape().begin() + ax);
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (unknown >= 0) throw std::invalid_argument("[unflatten] At most one dimension may be -1.");
      unknown = int(i);
    } else {
      known *= shape[i];
    }
  }
  Shape inner = shape;
  if (unknown >= 0 && known > 0) inner[unknown] = a.shape(ax) / known;
  if (shape_size(inner) != a.shape(ax)) {
    throw std::invalid_argument(msg("[unflatten] Cannot split axis ", axis, " of size ",
                                    a.shape(ax), " into shape ", shape, "."));
  }
  out.insert(out.end(), inner.begin(), inner.end());
  out.insert(out.end(), a.shape().begin() + ax + 1, a.shape().end());
  return reshape(a, out);
}

std::vector<array> unstack(const array& a, int axis) {
  if (a.ndim() == 0) throw std::invalid_argument("[unstack] Input must have at least one dimension.");
  int ax = normalize_axis("unstack", axis, a.ndim());
  std::vector<array> out;
  for (int64_t i = 0; i < a.shape(ax); ++i) out.push_back(squeeze(slice_axis(a, ax, i, i + 1), {ax}));
  return out;
}

std::vector<array> meshgrid(const std::vector<array>& arrays, bool sparse,
                            const std::string& indexing) {
  if (indexing != "xy" && indexing != "ij") {
    throw std::invalid_argument(msg("[meshgrid] indexing must be \"xy\" or \"ij\", got \"",
                                    indexing, "\"."));
  }
  int n = int(arrays.size());
  std::vector<array> out;
  Shape full;
  for (const auto& x : arrays) full.push_back(x.size());
  // "xy" swaps the first two output axes (Cartesian: x varies along columns).
  if (indexing == "xy" && n >= 2) std::swap(full[0], full[1]);
  for (int i = 0; i < n; ++i) {
    int pos = i;
    if (indexing == "xy" && n >= 2 && i < 2) pos = 1 - i;
    Shape s(n, 1);
    s[pos] = arrays[i].size();
    array v = reshape(arrays[i], s);
    out.push_back(sparse ? v : broadcast_to(v, full));
  }
  return out;
}

array diff(const array& a, int n, int axis) {
  if (n < 0) throw std::invalid_argument(msg("[diff] n must be >= 0, got ", n, "."));
  if (a.ndim() == 0) throw std::invalid_argument("[diff] Input must have at least one dimension.");
  int ax = normalize_axis("diff", axis, a.ndim());
  array out = a;
  for (int i = 0; i < n; ++i) {
    int64_t d = out.shape(ax);
    array hi = slice_axis(out, ax, std::min<int64_t>(1, d), d);
    array lo = slice_axis(out, ax, 0, std::max<int64_t>(0, d - 1));
    out = out.dtype() == Dtype::bool_ ? not_equal(hi, lo) : subtract(hi, lo);
  }
  return out;
}

array as_strided(const array& a, const Shape& shape, const std::optional<Strides>& strides,
                 int64_t offset) {
  Strides st = strides ? *strides : row_major_strides(shape);
  if (st.size() != shape.size()) {
    throw std::invalid_argument(msg("[as_strided] shape ", shape, " and strides ", shape_str(st),
                                    " must have the same length."));
  }
  // The lowest and highest element the view reaches must both lie inside a.
  int64_t lo = offset, hi = offset;
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw std::invalid_argument(msg("[as_strided] Negative dimension in shape ", shape, "."));
    if (shape[i] == 0) empty = true;
    int64_t reach = (shape[i] - 1) * st[i];
    (reach < 0 ? lo : hi) += reach;
  }
  if (!empty && (lo < 0 || hi >= a.size())) {
    throw std::invalid_argument(msg("[as_strided] shape ", shape, ", strides ", shape_str(st),
                                    " and offset ", offset, " reach elements ", lo, " to ", hi,
                                    ", outside the input's ", a.size(), " elements."));
  }
  // flat index = offset + sum_i idx_i * strides_i, built by broadcasting aranges.
  int nd = int(shape.size());
  array idx = full({}, array(offset), Dtype::int64);
  for (int i = 0; i < nd; ++i) {
    idx = add(idx, multiply(arange_along(shape[i], i, nd), array(st[i])));
  }
  if (nd > 0) idx = broadcast_to(idx, shape);
  return take(flatten(a), idx, 0);
}

array contiguous(const array& a, bool allow_col_major) {
  // A copy primitive always writes row-major; the flag only lets a column-major
  // input through, as its layout is known only after eval.
  (void)allow_col_major;
  return copy(a);
}

namespace {

// Start values of a dynamic slice along each axis, clamped to [0, dim - size].
array clamped_starts(const char* op, const array& a, const array& start,
                     const std::vector<int>& axes, const Shape& size) {
  if (!is_integral(start.dtype())) {
    throw type_error(msg("[", op, "] start_indices must be integers, got ", dtype_name(start.dtype()), "."));
  }
  if (start.size() != int64_t(axes.size())) {
    throw std::invalid_argument(msg("[", op, "] Expected ", axes.size(),
                                    " start indices (one per axis), got shape ", start.shape(), "."));
  }
  Shape hi;
  for (size_t i = 0; i < axes.size(); ++i) hi.push_back(a.shape(axes[i]) - size[i]);
  array limit(std::vector<int64_t>(hi.begin(), hi.end()), Shape{int64_t(hi.size())});
  return clip(astype(flatten(start), Dtype::int64), array(int64_t(0)), limit);
}

// Index arrays of the window: per axis, start[i] + arange(size[i]), shaped to
// broadcast against each other (an outer grid over the sliced axes).
std::vector<array> window_indices(const array& starts, const Shape& size) {
  int k = int(size.size());
  std::vector<array> idx;
  for (int i = 0; i < k; ++i) {
    array s = take(starts, array(int64_t(i)), 0);
    idx.push_back(add(arange_along(size[i], i, k), s));
  }
  return idx;
}

std::vector<int> checked_axes(const char* op, const std::vector<int>& axes, int ndim) {
  return normalize_axes(op, axes, ndim);
}

}  // namespace

array slice(const array& a, const array& start, const std::vector<int>& axes,
            const Shape& slice_size) {
  auto ax = checked_axes("slice", axes, a.ndim());
  if (slice_size.size() != ax.size()) {
    throw std::invalid_argument(msg("[slice] axes and slice_size must have the same length, got ",
                                    ax.size(), " and ", slice_size.size(), "."));
  }
  for (size_t i = 0; i < ax.size(); ++i) {
    if (slice_size[i] < 0 || slice_size[i] > a.shape(ax[i])) {
      throw std::invalid_argument(msg("[slice] slice_size ", slice_size[i], " does not fit axis ",
                                      ax[i], " of shape ", a.shape(), "."));
    }
  }
  if (ax.empty()) return a;
  array starts = clamped_starts("slice", a, start, ax, slice_size);
  // gather gives the window's axes first (in axes order), then the others.
  array g = gather(a, window_indices(starts, slice_size), ax);
  // Put each window axis back where its source axis was.
  std::vector<int> perm(a.ndim());
  std::vector<int> sorted = ax;
  int k = int(ax.size());
  std::vector<bool> is_ax(a.ndim(), false);
  for (int x : ax) is_ax[x] = true;
  int rest = k;
  for (int d = 0; d < a.ndim(); ++d) {
    if (is_ax[d]) {
      perm[d] = int(std::find(ax.begin(), ax.end(), d) - ax.begin());
    } else {
      perm[d] = rest++;
    }
  }
  return transpose(g, perm);
}

array slice_update(const array& a, const array& update, const array& start,
                   const std::vector<int>& axes) {
  auto ax = checked_axes("slice_update", axes, a.ndim());
  if (update.ndim() > a.ndim()) {
    throw std::invalid_argument(msg("[slice_update] update (shape ", update.shape(),
                                    ") has more dimensions than a (shape ", a.shape(), ")."));
  }
  // The window's shape is the update's (right-aligned to a), whole along other axes.
  Shape u = update.shape();
  u.insert(u.begin(), a.ndim() - update.ndim(), 1);
  Shape window = a.shape();
  for (int d : ax) window[d] = u[d];
  for (int d = 0; d < a.ndim(); ++d) {
    if (u[d] > window[d] || (u[d] != window[d] && u[d] != 1)) {
      throw std::invalid_argument(msg("[slice_update] update of shape ", update.shape(),
                                      " does not fit a (shape ", a.shape(), ") along axis ", d, "."));
    }
  }
  if (ax.empty()) return broadcast_to(astype(update, a.dtype()), a.shape());
  Shape size;
  for (int d : ax) size.push_back(window[d]);
  array starts = clamped_starts("slice_update", a, start, ax, size);
  // Updates in gather's layout: window axes first (in axes order), then the others.
  std::vector<int> perm(ax.begin(), ax.end());
  for (int d = 0; d < a.ndim(); ++d) {
    if (std::find(ax.begin(), ax.end(), d) == ax.end()) perm.push_back(d);
  }
  array upd = transpose(broadcast_to(astype(reshape(update, u), a.dtype()), window), perm);
  return scatter(a, window_indices(starts, size), upd, ax, false);
}

}  // namespace ember

namespace ember {

array view(const array& a, Dtype dtype) {
  size_t from = a.itemsize(), to = size_of(dtype);
  if (from == to) return make_node<View>(a.shape(), dtype, {a}, dtype);
  if (a.ndim() == 0) {
    throw std::invalid_argument(msg("[view] A 0-d ", dtype_name(a.dtype()), " array cannot be viewed as ",
                                    dtype_name(dtype), " (item sizes ", from, " and ", to, ")."));
  }
  Shape s = a.shape();
  int64_t bytes = s.back() * int64_t(from);
  if (bytes % int64_t(to) != 0) {
    throw std::invalid_argument(msg("[view] The last axis of shape ", a.shape(), " (", dtype_name(a.dtype()),
                                    ") is ", bytes, " bytes, not a multiple of the ", to,
                                    " bytes of ", dtype_name(dtype), "."));
  }
  s.back() = bytes / int64_t(to);
  return make_node<View>(s, dtype, {a}, dtype);
}

std::vector<array> depends(const std::vector<array>& inputs, const std::vector<array>& dependencies) {
  std::vector<array> out;
  for (const auto& x : inputs) {
    std::vector<array> in{x};
    in.insert(in.end(), dependencies.begin(), dependencies.end());
    out.push_back(make_node<Depends>(x.shape(), x.dtype(), std::move(in)));
  }
  return out;
}

}  // namespace ember
