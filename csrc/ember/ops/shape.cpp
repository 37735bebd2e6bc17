// Shape ops: argument checks, then view primitives (reshape, transpose,
// broadcast_to); expand_dims, squeeze and flatten are reshapes.
#include "ember/ops/shape.h"

#include <algorithm>
#include <numeric>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/shape.h"

namespace ember {

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
      known *= shape[i];
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
  for (int i = s; i <= e; ++i) n *= a.shape(i);
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

}  // namespace ember
