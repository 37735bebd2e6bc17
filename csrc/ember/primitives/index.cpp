// Transform rules of the index family. Gather and Scatter are linear in their
// array inputs, so their rules are gathers and scatters again; the sorts route
// tangents through the permutation argsort gives. Indices never carry gradients.
#include "ember/primitives/index.h"

#include <algorithm>

#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"

namespace ember {

namespace {

// A broadcast zero: costs no memory until something copies it.
array zeros_of(const Shape& shape, Dtype dtype) {
  return broadcast_to(detail::scalar(0, dtype), shape);
}

std::vector<array> slice_from(const std::vector<array>& v, size_t first) {
  return std::vector<array>(v.begin() + first, v.end());
}

int64_t batch_size(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i]) return inputs[i].shape(*axes[i]);
  }
  throw std::logic_error("vmap rule called with no batched input");
}

bool any_batched(const std::vector<BatchAxis>& axes, size_t first) {
  for (size_t i = first; i < axes.size(); ++i) {
    if (axes[i]) return true;
  }
  return false;
}

// Index arrays with the batch in front (unbatched ones get a size-1 axis
// there and broadcast), plus a leading arange(b) shaped (b, 1, ..., 1) that
// picks each batch element of a source whose batch axis is 0.
std::vector<array> batched_indices(const std::vector<array>& idx,
                                   const std::vector<BatchAxis>& axes, int64_t b,
                                   bool with_arange) {
  std::vector<array> out;
  int ndim = 0;
  for (size_t j = 0; j < idx.size(); ++j) {
    out.push_back(axes[j] ? moveaxis(idx[j], *axes[j], 0) : expand_dims(idx[j], {0}));
    ndim = std::max(ndim, out.back().ndim());
  }
  if (with_arange) {
    Shape s(ndim, 1);
    s[0] = b;
    out.insert(out.begin(), reshape(arange(0, double(b), 1, Dtype::int64), s));
  }
  return out;
}

// Axis `axis` of an unbatched value, in the batched value whose batch axis is b.
int shifted(int axis, int b) { return axis < b ? axis : axis + 1; }

void print_axes(std::ostream& os, const char* name, int axis) {
  os << name << "(axis=" << axis << ")";
}

}  // namespace

// ---- Gather: linear in a ----
bool Gather::is_equivalent(const Primitive& other) const {
  // op_ and axes_ only name things in error messages.
  return Primitive::is_equivalent(other);
}
void Gather::print(std::ostream& os) const { os << "Gather"; }
// d out = gather(t, idx)
array Gather::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                  const std::vector<int>&, const array&) {
  return gather(tangents[0], slice_from(primals, 1));
}
// da = scatter_add(zeros, idx, c): repeated indices accumulate
std::vector<array> Gather::vjp(const std::vector<array>& primals, const array& cotangent,
                               const std::vector<int>& argnums, const array&) {
  std::vector<array> out;
  for (int arg : argnums) {
    if (arg == 0) {
      out.push_back(scatter(zeros_of(primals[0].shape(), cotangent.dtype()),
                            slice_from(primals, 1), cotangent, true));
    } else {
      out.push_back(array());  // integer indices: no cotangent
    }
  }
  return out;
}
std::pair<array, int> Gather::vmap(const std::vector<array>& inputs,
                                   const std::vector<BatchAxis>& axes) {
  const array& a = inputs[0];
  std::vector<array> idx = slice_from(inputs, 1);
  int k = int(idx.size());
  if (!any_batched(axes, 1)) {
    // Only the source is batched: put its batch axis just after the indexed
    // ones, where the gather keeps it (right after the index dims).
    return {gather(moveaxis(a, *axes[0], k), idx), idx[0].ndim()};
  }
  int64_t b = batch_size(inputs, axes);
  std::vector<BatchAxis> idx_axes(axes.begin() + 1, axes.end());
  if (!axes[0]) return {gather(a, batched_indices(idx, idx_axes, b, false)), 0};
  // Both batched: index the source's batch axis with an arange.
  return {gather(moveaxis(a, *axes[0], 0), batched_indices(idx, idx_axes, b, true)), 0};
}

// ---- Scatter: out = a outside the indexed positions, u combined into them ----
const char* Scatter::name() const {
  switch (mode_) {
    case ScatterMode::write: return "Scatter";
    case ScatterMode::add: return "ScatterAdd";
    case ScatterMode::prod: return "ScatterProd";
    case ScatterMode::max: return "ScatterMax";
    case ScatterMode::min: return "ScatterMin";
  }
  return "Scatter";
}
bool Scatter::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Scatter&>(other).mode_ == mode_;
}
void Scatter::print(std::ostream& os) const { os << name(); }

namespace {

// The pieces of the max / min rules: which of a and of the updates attain
// the output at their position, and how many do (ties share the derivative).
struct ExtremumMasks {
  array in_a, in_u, count;
};
ExtremumMasks extremum_masks(const array& a, const array& u, const std::vector<array>& idx,
                             const array& out, Dtype t) {
  array in_a = astype(equal(a, out), t);
  array in_u = astype(equal(u, gather(out, idx)), t);
  array count = add(in_a, scatter(zeros_of(a.shape(), t), idx, in_u, ScatterMode::add));
  return {in_a, in_u, count};
}

}  // namespace

array Scatter::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                   const std::vector<int>& argnums, const array& out) {
  const array& a = primals[0];
  const array& u = primals[1];
  std::vector<array> idx = slice_from(primals, 2);
  array ta = zeros_of(a.shape(), a.dtype());
  array tu = zeros_of(u.shape(), u.dtype());
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 0) ta = tangents[i];
    if (argnums[i] == 1) tu = tangents[i];
  }
  switch (mode_) {
    // write / add are linear: d out = scatter(ta, idx, tu)
    case ScatterMode::write:
    case ScatterMode::add: return scatter(ta, idx, tu, mode_);
    // out = a * P, P the product of a position's updates:
    // d out = ta * P + sum_j tu_j * out / u_j (nonzero updates)
    case ScatterMode::prod: {
      array p = scatter(ones_like(a), idx, u, ScatterMode::prod);
      array du = multiply(tu, divide(gather(out, idx), u));
      return add(multiply(ta, p), scatter(zeros_of(a.shape(), a.dtype()), idx, du, ScatterMode::add));
    }
    // d out = the mean of the tangents of the values that attain the extremum
    default: {
      auto m = extremum_masks(a, u, idx, out, a.dtype());
      array sum_t = add(multiply(ta, m.in_a),
                        scatter(zeros_of(a.shape(), a.dtype()), idx, multiply(tu, m.in_u), ScatterMode::add));
      return divide(sum_t, m.count);
    }
  }
}
// write: da = c with the written positions zeroed, du = gather(c, idx) (every
// duplicate gets the cotangent); add: da = c, du = gather(c, idx);
// prod: da = c * P, du_j = gather(c * out, idx) / u_j; max / min: the
// cotangent split evenly among the values that attain the output.
std::vector<array> Scatter::vjp(const std::vector<array>& primals, const array& cotangent,
                                const std::vector<int>& argnums, const array& out) {
  const array& a = primals[0];
  const array& u = primals[1];
  std::vector<array> idx = slice_from(primals, 2);
  std::optional<ExtremumMasks> m;
  if (mode_ == ScatterMode::max || mode_ == ScatterMode::min) {
    m = extremum_masks(a, u, idx, out, cotangent.dtype());
  }
  std::vector<array> grads;
  for (int arg : argnums) {
    if (arg == 0) {
      switch (mode_) {
        case ScatterMode::write:
          grads.push_back(scatter(cotangent, idx, zeros_of(u.shape(), cotangent.dtype()),
                                  ScatterMode::write));
          break;
        case ScatterMode::add: grads.push_back(cotangent); break;
        case ScatterMode::prod:
          grads.push_back(multiply(cotangent, scatter(ones_like(a), idx, u, ScatterMode::prod)));
          break;
        default: grads.push_back(multiply(cotangent, divide(m->in_a, m->count))); break;
      }
    } else if (arg == 1) {
      switch (mode_) {
        case ScatterMode::write:
        case ScatterMode::add: grads.push_back(gather(cotangent, idx)); break;
        case ScatterMode::prod:
          grads.push_back(divide(gather(multiply(cotangent, out), idx), u));
          break;
        default:
          grads.push_back(multiply(gather(divide(cotangent, m->count), idx), m->in_u));
          break;
      }
    } else {
      grads.push_back(array());
    }
  }
  return grads;
}
std::pair<array, int> Scatter::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  const array& a = inputs[0];
  const array& u = inputs[1];
  std::vector<array> idx = slice_from(inputs, 2);
  int k = int(idx.size());
  int m = idx[0].ndim();
  int64_t b = batch_size(inputs, axes);
  if (!any_batched(axes, 2)) {
    // Indices shared by the batch: the batch becomes a whole axis of a right
    // after the indexed ones, which sits at axis m of the updates.
    array a2;
    if (axes[0]) {
      a2 = moveaxis(a, *axes[0], k);
    } else {
      Shape s = a.shape();
      s.insert(s.begin() + k, b);
      a2 = broadcast_to(expand_dims(a, {k}), s);
    }
    array u2 = axes[1] ? moveaxis(u, *axes[1], m) : expand_dims(u, {m});
    return {scatter(a2, idx, u2, mode_), k};
  }
  // Batched indices: batch everything in front and index a's batch with an arange.
  array a2;
  if (axes[0]) {
    a2 = moveaxis(a, *axes[0], 0);
  } else {
    Shape s = a.shape();
    s.insert(s.begin(), b);
    a2 = broadcast_to(expand_dims(a, {0}), s);
  }
  array u2 = axes[1] ? moveaxis(u, *axes[1], 0) : expand_dims(u, {0});
  std::vector<BatchAxis> idx_axes(axes.begin() + 2, axes.end());
  return {scatter(a2, batched_indices(idx, idx_axes, b, true), u2, mode_), 0};
}

// ---- Sort: a permutation of x, namely take_along_axis(x, argsort(x)) ----
bool Sort::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Sort&>(other).axis_ == axis_;
}
void Sort::print(std::ostream& os) const { print_axes(os, "Sort", axis_); }
// d out = take_along_axis(t, argsort(x))
array Sort::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                const std::vector<int>&, const array&) {
  return take_along_axis(tangents[0], argsort(primals[0], axis_), axis_);
}
// dx = scatter_add_along_axis(zeros, argsort(x), c)
std::vector<array> Sort::vjp(const std::vector<array>& primals, const array& cotangent,
                             const std::vector<int>&, const array&) {
  const array& x = primals[0];
  return {scatter_add_along_axis(zeros_of(x.shape(), cotangent.dtype()), argsort(x, axis_),
                                 cotangent, axis_)};
}
std::pair<array, int> Sort::vmap(const std::vector<array>& inputs,
                                 const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {sort(inputs[0], shifted(axis_, b)), b};
}

// ---- ArgSort: piecewise constant, so zero derivatives ----
bool ArgSort::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const ArgSort&>(other).axis_ == axis_;
}
void ArgSort::print(std::ostream& os) const { print_axes(os, "ArgSort", axis_); }
// d out = 0
array ArgSort::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                   const array& out) {
  return zeros_of(out.shape(), out.dtype());
}
// dx = 0
std::vector<array> ArgSort::vjp(const std::vector<array>& primals, const array&,
                                const std::vector<int>&, const array&) {
  return {zeros_of(primals[0].shape(), primals[0].dtype())};
}
std::pair<array, int> ArgSort::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {argsort(inputs[0], shifted(axis_, b)), b};
}

// ---- ArgPartition: piecewise constant, so zero derivatives ----
bool ArgPartition::is_equivalent(const Primitive& other) const {
  if (!Primitive::is_equivalent(other)) return false;
  auto& o = static_cast<const ArgPartition&>(other);
  return o.axis_ == axis_ && o.kth_ == kth_;
}
void ArgPartition::print(std::ostream& os) const {
  os << "ArgPartition(kth=" << kth_ << ", axis=" << axis_ << ")";
}
// d out = 0
array ArgPartition::jvp(const std::vector<array>&, const std::vector<array>&,
                        const std::vector<int>&, const array& out) {
  return zeros_of(out.shape(), out.dtype());
}
// dx = 0
std::vector<array> ArgPartition::vjp(const std::vector<array>& primals, const array&,
                                     const std::vector<int>&, const array&) {
  return {zeros_of(primals[0].shape(), primals[0].dtype())};
}
std::pair<array, int> ArgPartition::vmap(const std::vector<array>& inputs,
                                         const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  return {argpartition(inputs[0], kth_, shifted(axis_, b)), b};
}

// ---- SearchSorted: piecewise constant, so zero derivatives ----
bool SearchSorted::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const SearchSorted&>(other).right_ == right_;
}
void SearchSorted::print(std::ostream& os) const {
  os << "SearchSorted(side=" << (right_ ? "right" : "left") << ")";
}
// d out = 0
array SearchSorted::jvp(const std::vector<array>&, const std::vector<array>&,
                        const std::vector<int>&, const array& out) {
  return zeros_of(out.shape(), out.dtype());
}
// no cotangent for either input
std::vector<array> SearchSorted::vjp(const std::vector<array>& primals, const array&,
                                     const std::vector<int>& argnums, const array&) {
  std::vector<array> out;
  for (int arg : argnums) out.push_back(zeros_of(primals[arg].shape(), primals[arg].dtype()));
  return out;
}
// An unbatched 1-D sequence serves every value as it is; otherwise both get
// the batch in front (a broadcast sequence is read with stride 0), which makes
// it one more leading axis the sequence and the values share.
std::pair<array, int> SearchSorted::vmap(const std::vector<array>& inputs,
                                         const std::vector<BatchAxis>& axes) {
  const char* side = right_ ? "right" : "left";
  if (!axes[0] && inputs[0].ndim() == 1) return {searchsorted(inputs[0], inputs[1], side), *axes[1]};
  int64_t b = batch_size(inputs, axes);
  auto front = [&](const array& x, const BatchAxis& ax) {
    if (ax) return moveaxis(x, *ax, 0);
    Shape s = x.shape();
    s.insert(s.begin(), b);
    return broadcast_to(expand_dims(x, {0}), s);
  };
  return {searchsorted(front(inputs[0], axes[0]), front(inputs[1], axes[1]), side), 0};
}

// ---- export: parameters, and loaders that rebuild each node through its op ----
// Gather's and Scatter's op name and axes only label their errors; they are kept.
void Gather::serialize(ExportFields& f) const {
  f.add_string(op_);
  f.add_ints(axes_);
}
void Scatter::serialize(ExportFields& f) const {
  f.add_int(int(mode_));
  f.add_string(op_);
  f.add_ints(axes_);
}
void Sort::serialize(ExportFields& f) const { f.add_int(axis_); }
void ArgSort::serialize(ExportFields& f) const { f.add_int(axis_); }
void ArgPartition::serialize(ExportFields& f) const {
  f.add_int(kth_);
  f.add_int(axis_);
}
void SearchSorted::serialize(ExportFields& f) const { f.add_bool(right_); }

namespace {

using Loaded = std::vector<array>;
using In = std::vector<array>;
using Specs = std::vector<ExportSpec>;

// The op name an error message shows: printable ASCII, or the family's own name.
std::string label(ExportFields::Reader& f, const char* fallback) {
  std::string op = f.string("op");
  bool ok = !op.empty() && op.size() <= 64;
  for (char c : op) ok = ok && c >= 0x20 && c < 0x7F;
  return ok ? op : fallback;
}

Loaded load_gather(ExportFields::Reader& f, const In& in, const Specs&) {
  detail::expect_inputs(in, 2, true);
  std::string op = label(f, "gather");
  std::vector<int> axes = f.ints("axes");
  In idx(in.begin() + 1, in.end());
  array g = gather(in[0], idx);  // the checks of a gather over leading axes
  if (!g.has_primitive() || std::string(g.primitive().name()) != "Gather") return {g};
  return {make_node<Gather>(g.shape(), g.dtype(), g.inputs(), op, axes)};
}

Loaded load_scatter(ExportFields::Reader& f, const In& in, const Specs&) {
  detail::expect_inputs(in, 3, true);
  auto mode = ScatterMode(f.integer("mode", 0, int(ScatterMode::min)));
  std::string op = label(f, "scatter");
  std::vector<int> axes = f.ints("axes");
  array s = scatter(in[0], In(in.begin() + 2, in.end()), in[1], mode);
  if (!s.has_primitive() || s.inputs().size() != in.size()) return {s};
  return {make_node<Scatter>(s.shape(), s.dtype(), s.inputs(), mode, op, axes)};
}

const detail::RegisterLoaders kLoaders{
    {"Gather", load_gather},
    {"Scatter", load_scatter},
    {"ScatterAdd", load_scatter},
    {"ScatterProd", load_scatter},
    {"ScatterMax", load_scatter},
    {"ScatterMin", load_scatter},
    {"Sort", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {sort(in[0], f.axis("axis"))};
     }},
    {"ArgSort", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {argsort(in[0], f.axis("axis"))};
     }},
    {"ArgPartition", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       int kth = f.axis("kth");
       return {argpartition(in[0], kth, f.axis("axis"))};
     }},
    {"SearchSorted", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 2);
       return {searchsorted(in[0], in[1], f.boolean("right") ? "right" : "left")};
     }},
};

}  // namespace

}  // namespace ember
