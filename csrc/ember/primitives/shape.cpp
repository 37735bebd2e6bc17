// Transform rules of the shape family.
#include "ember/primitives/shape.h"

#include <numeric>

#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"

namespace ember {

namespace {

// A broadcast zero: costs no memory until something copies it.
array zeros_of(const Shape& shape, Dtype dtype) {
  return broadcast_to(detail::scalar(0, dtype), shape);
}

void print_vec(std::ostream& os, const std::vector<int64_t>& v) {
  os << "(";
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << ")";
}

// Prepends an axis that is taken whole (the batch axis of a vmap rule).
std::vector<int64_t> with_front(int64_t value, const std::vector<int64_t>& v) {
  std::vector<int64_t> out{value};
  out.insert(out.end(), v.begin(), v.end());
  return out;
}

// The batch size of the first batched input.
int64_t batch_size(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i]) return inputs[i].shape(*axes[i]);
  }
  throw std::logic_error("vmap rule called with no batched input");
}

// Moves x's batch axis to the front, or broadcasts an unbatched x to size b there.
array batched_front(const array& x, const BatchAxis& axis, int64_t b) {
  if (axis) return moveaxis(x, *axis, 0);
  Shape s = with_front(b, x.shape());
  return broadcast_to(expand_dims(x, {0}), s);
}

}  // namespace

// ---- BroadcastTo: the vjp sums over the broadcast axes ----
bool BroadcastTo::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const BroadcastTo&>(other).shape_ == shape_;
}
array BroadcastTo::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                       const std::vector<int>&, const array&) {
  return broadcast_to(tangents[0], shape_);
}
std::vector<array> BroadcastTo::vjp(const std::vector<array>& primals, const array& cotangent,
                                    const std::vector<int>&, const array&) {
  const Shape& in = primals[0].shape();
  int lead = int(shape_.size() - in.size());
  std::vector<int> axes;
  for (int i = 0; i < int(shape_.size()); ++i) {
    if (i < lead || (in[i - lead] == 1 && shape_[i] != 1)) axes.push_back(i);
  }
  array g = axes.empty() ? cotangent : sum(cotangent, axes, true);
  return {reshape(g, in)};
}
std::pair<array, int> BroadcastTo::vmap(const std::vector<array>& inputs,
                                        const std::vector<BatchAxis>& axes) {
  // Put the batch first, pad the input's rank to the target's, then broadcast.
  array x = moveaxis(inputs[0], *axes[0], 0);
  Shape s = x.shape();
  Shape padded{s[0]};
  for (size_t i = 0; i < shape_.size() - (s.size() - 1); ++i) padded.push_back(1);
  padded.insert(padded.end(), s.begin() + 1, s.end());
  Shape target{s[0]};
  target.insert(target.end(), shape_.begin(), shape_.end());
  return {broadcast_to(reshape(x, padded), target), 0};
}

// ---- Reshape ----
bool Reshape::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Reshape&>(other).shape_ == shape_;
}
array Reshape::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                   const std::vector<int>&, const array&) {
  return reshape(tangents[0], shape_);
}
std::vector<array> Reshape::vjp(const std::vector<array>& primals, const array& cotangent,
                                const std::vector<int>&, const array&) {
  return {reshape(cotangent, primals[0].shape())};
}
std::pair<array, int> Reshape::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  array x = moveaxis(inputs[0], *axes[0], 0);
  Shape target{x.shape(0)};
  target.insert(target.end(), shape_.begin(), shape_.end());
  return {reshape(x, target), 0};
}

// ---- Transpose: the vjp applies the inverse permutation ----
bool Transpose::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Transpose&>(other).perm_ == perm_;
}
array Transpose::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                     const std::vector<int>&, const array&) {
  return transpose(tangents[0], perm_);
}
std::vector<array> Transpose::vjp(const std::vector<array>&, const array& cotangent,
                                  const std::vector<int>&, const array&) {
  std::vector<int> inverse(perm_.size());
  for (size_t i = 0; i < perm_.size(); ++i) inverse[perm_[i]] = int(i);
  return {transpose(cotangent, inverse)};
}
std::pair<array, int> Transpose::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  // Keep the batch axis where it is and permute the others around it.
  int b = *axes[0];
  std::vector<int> perm;
  for (int p : perm_) perm.push_back(p >= b ? p + 1 : p);
  perm.insert(perm.begin() + b, b);
  return {transpose(inputs[0], perm), b};
}

// ---- Slice: linear, so jvp slices the tangent; vjp scatters into zeros ----
bool Slice::is_equivalent(const Primitive& other) const {
  if (!Primitive::is_equivalent(other)) return false;
  auto& o = static_cast<const Slice&>(other);
  return o.start_ == start_ && o.stop_ == stop_ && o.step_ == step_;
}
void Slice::print(std::ostream& os) const {
  os << "Slice";
  print_vec(os, start_);
  print_vec(os, stop_);
  print_vec(os, step_);
}
// d out = t[window]
array Slice::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                 const std::vector<int>&, const array&) {
  return slice(tangents[0], start_, stop_, step_);
}
// dx = zeros with c written into the window
std::vector<array> Slice::vjp(const std::vector<array>& primals, const array& cotangent,
                              const std::vector<int>&, const array&) {
  const array& x = primals[0];
  return {slice_update(zeros_of(x.shape(), cotangent.dtype()), cotangent, start_, stop_, step_)};
}
std::pair<array, int> Slice::vmap(const std::vector<array>& inputs,
                                  const std::vector<BatchAxis>& axes) {
  // The batch axis stays where it is and is taken whole.
  int b = *axes[0];
  auto start = start_, stop = stop_, step = step_;
  start.insert(start.begin() + b, 0);
  stop.insert(stop.begin() + b, inputs[0].shape(b));
  step.insert(step.begin() + b, 1);
  return {slice(inputs[0], start, stop, step), b};
}

// ---- SliceUpdate: out = a outside the window, u inside; linear in (a, u) ----
bool SliceUpdate::is_equivalent(const Primitive& other) const {
  if (!Primitive::is_equivalent(other)) return false;
  auto& o = static_cast<const SliceUpdate&>(other);
  return o.start_ == start_ && o.stop_ == stop_ && o.step_ == step_;
}
void SliceUpdate::print(std::ostream& os) const {
  os << "SliceUpdate";
  print_vec(os, start_);
  print_vec(os, stop_);
  print_vec(os, step_);
}
// d out = slice_update(ta, tu)
array SliceUpdate::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                       const std::vector<int>& argnums, const array&) {
  array ta = zeros_of(primals[0].shape(), primals[0].dtype());
  array tu = zeros_of(primals[1].shape(), primals[1].dtype());
  for (size_t i = 0; i < argnums.size(); ++i) (argnums[i] == 0 ? ta : tu) = tangents[i];
  return slice_update(ta, tu, start_, stop_, step_);
}
// da = c with the window zeroed; du = c[window]
std::vector<array> SliceUpdate::vjp(const std::vector<array>& primals, const array& cotangent,
                                    const std::vector<int>& argnums, const array&) {
  std::vector<array> out;
  for (int arg : argnums) {
    if (arg == 0) {
      out.push_back(slice_update(cotangent, zeros_of(primals[1].shape(), cotangent.dtype()),
                                 start_, stop_, step_));
    } else {
      out.push_back(slice(cotangent, start_, stop_, step_));
    }
  }
  return out;
}
std::pair<array, int> SliceUpdate::vmap(const std::vector<array>& inputs,
                                        const std::vector<BatchAxis>& axes) {
  // The output is batched, so a must be; an unbatched update broadcasts over the batch.
  int64_t b = batch_size(inputs, axes);
  array a = batched_front(inputs[0], axes[0], b);
  array u = axes[1] ? moveaxis(inputs[1], *axes[1], 0) : inputs[1];
  return {slice_update(a, u, with_front(0, start_), with_front(b, stop_), with_front(1, step_)), 0};
}

// ---- Concatenate: linear; each input's cotangent is its slab of c ----
bool Concatenate::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Concatenate&>(other).axis_ == axis_;
}
void Concatenate::print(std::ostream& os) const { os << "Concatenate(axis=" << axis_ << ")"; }
// d out = concatenate(t_i), zeros for inputs without a tangent
array Concatenate::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                       const std::vector<int>& argnums, const array&) {
  std::vector<array> ts;
  for (auto& p : primals) ts.push_back(zeros_of(p.shape(), p.dtype()));
  for (size_t i = 0; i < argnums.size(); ++i) ts[argnums[i]] = tangents[i];
  return concatenate(ts, axis_);
}
// dx_i = c[.., off_i : off_i + n_i, ..]
std::vector<array> Concatenate::vjp(const std::vector<array>& primals, const array& cotangent,
                                    const std::vector<int>& argnums, const array&) {
  std::vector<int64_t> offsets{0};
  for (auto& p : primals) offsets.push_back(offsets.back() + p.shape(axis_));
  std::vector<array> out;
  for (int arg : argnums) {
    std::vector<int64_t> start(cotangent.ndim(), 0), step(cotangent.ndim(), 1);
    std::vector<int64_t> stop(cotangent.shape().begin(), cotangent.shape().end());
    start[axis_] = offsets[arg];
    stop[axis_] = offsets[arg + 1];
    out.push_back(slice(cotangent, start, stop, step));
  }
  return out;
}
std::pair<array, int> Concatenate::vmap(const std::vector<array>& inputs,
                                        const std::vector<BatchAxis>& axes) {
  // Every part of the output is batched, so unbatched inputs are broadcast
  // over the batch (the copy that concatenation makes anyway).
  int64_t b = batch_size(inputs, axes);
  std::vector<array> xs;
  for (size_t i = 0; i < inputs.size(); ++i) xs.push_back(batched_front(inputs[i], axes[i], b));
  return {concatenate(xs, axis_ + 1), 0};
}

// ---- Pad: out = a inside, value outside; linear in (a, value) ----
bool Pad::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Pad&>(other).widths_ == widths_;
}
void Pad::print(std::ostream& os) const {
  os << "Pad(";
  for (size_t i = 0; i < widths_.size(); ++i) {
    os << (i ? ", " : "") << "(" << widths_[i].first << ", " << widths_[i].second << ")";
  }
  os << ")";
}

namespace {
// The interior window (where a lands) of a padded array.
std::vector<int64_t> pad_start(const std::vector<std::pair<int64_t, int64_t>>& w) {
  std::vector<int64_t> s;
  for (auto& p : w) s.push_back(p.first);
  return s;
}
std::vector<int64_t> pad_stop(const std::vector<std::pair<int64_t, int64_t>>& w, const Shape& in) {
  std::vector<int64_t> s;
  for (size_t i = 0; i < w.size(); ++i) s.push_back(w[i].first + in[i]);
  return s;
}
}  // namespace

// d out = pad(ta, tv)
array Pad::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
               const std::vector<int>& argnums, const array&) {
  array ta = zeros_of(primals[0].shape(), primals[0].dtype());
  array tv = zeros_of({}, primals[1].dtype());
  for (size_t i = 0; i < argnums.size(); ++i) (argnums[i] == 0 ? ta : tv) = tangents[i];
  return pad(ta, widths_, tv);
}
// da = c[interior]; dvalue = sum(c) - sum(c[interior])
std::vector<array> Pad::vjp(const std::vector<array>& primals, const array& cotangent,
                            const std::vector<int>& argnums, const array&) {
  auto start = pad_start(widths_), stop = pad_stop(widths_, primals[0].shape());
  std::vector<int64_t> step(start.size(), 1);
  array inner = slice(cotangent, start, stop, step);
  std::vector<array> out;
  for (int arg : argnums) {
    if (arg == 0) out.push_back(inner);
    else out.push_back(subtract(sum(cotangent), sum(inner)));
  }
  return out;
}
std::pair<array, int> Pad::vmap(const std::vector<array>& inputs,
                                const std::vector<BatchAxis>& axes) {
  auto widths = widths_;
  widths.insert(widths.begin(), {0, 0});
  if (!axes[1]) return {pad(moveaxis(inputs[0], *axes[0], 0), widths, inputs[1]), 0};
  // A value per batch element: pad with zero, then fill the border from a mask
  // computed once for the unbatched shape.
  int64_t b = batch_size(inputs, axes);
  Shape in_shape = inputs[0].shape();
  if (axes[0]) in_shape.erase(in_shape.begin() + *axes[0]);
  array a = batched_front(inputs[0], axes[0], b);
  array padded = pad(a, widths, detail::scalar(0, a.dtype()));
  array border = pad(zeros_of(in_shape, Dtype::bool_), widths_, array(true));
  Shape vshape(padded.ndim(), 1);
  vshape[0] = b;
  array v = reshape(moveaxis(inputs[1], *axes[1], 0), vshape);
  return {where(border, v, padded), 0};
}

// ---- Split ----
std::vector<array> Split::jvp_multi(const std::vector<array>&, const std::vector<array>& tangents,
                                    const std::vector<int>&, const std::vector<array>&) {
  std::vector<int64_t> inner(bounds_.begin() + 1, bounds_.end() - 1);
  return split(tangents[0], inner, axis_);
}

std::vector<array> Split::vjp_multi(const std::vector<array>& primals,
                                    const std::vector<array>& cotangents,
                                    const std::vector<int>&, const std::vector<array>& outputs) {
  std::vector<array> parts;
  for (size_t k = 0; k < outputs.size(); ++k) {
    parts.push_back(cotangents[k].valid() ? cotangents[k]
                                          : zeros(outputs[k].shape(), primals[0].dtype()));
  }
  return {concatenate(parts, axis_)};
}

std::pair<std::vector<array>, std::vector<int>> Split::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  int b = *axes[0];
  int ax = axis_ >= b ? axis_ + 1 : axis_;
  std::vector<int64_t> inner(bounds_.begin() + 1, bounds_.end() - 1);
  auto outs = split(inputs[0], inner, ax);
  return {outs, std::vector<int>(outs.size(), b)};
}

bool Split::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Split*>(&other);
  return o && o->axis_ == axis_ && o->bounds_ == bounds_;
}

}  // namespace ember

namespace ember {

// ---- Depends: the identity on inputs[0]; the dependencies carry no derivative ----
// d out = t0
array Depends::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                   const std::vector<int>& argnums, const array&) {
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 0) return tangents[i];
  }
  return zeros_of(primals[0].shape(), primals[0].dtype());
}
// d x = c; the dependencies get none
std::vector<array> Depends::vjp(const std::vector<array>&, const array& cotangent,
                                const std::vector<int>& argnums, const array&) {
  std::vector<array> out;
  for (int arg : argnums) out.push_back(arg == 0 ? cotangent : array());
  return out;
}
std::pair<array, int> Depends::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  std::vector<array> deps(inputs.begin() + 1, inputs.end());
  if (axes[0]) return {depends({inputs[0]}, deps)[0], *axes[0]};
  // Only a dependency is batched: the value itself is not, so it gains a
  // broadcast batch axis (the vmap contract: a batched output).
  int64_t b = batch_size(inputs, axes);
  array x = depends({inputs[0]}, deps)[0];
  Shape s = x.shape();
  s.insert(s.begin(), b);
  return {broadcast_to(expand_dims(x, {0}), s), 0};
}

// ---- View: a reinterpretation of bits; piecewise nothing, so zero derivatives ----
bool View::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const View&>(other).dtype_ == dtype_;
}
void View::print(std::ostream& os) const { os << "View(" << dtype_name(dtype_) << ")"; }
// d out = 0
array View::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                const array& out) {
  return zeros_of(out.shape(), out.dtype());
}
// dx = 0
std::vector<array> View::vjp(const std::vector<array>& primals, const array&,
                             const std::vector<int>&, const array&) {
  return {zeros_of(primals[0].shape(), primals[0].dtype())};
}
std::pair<array, int> View::vmap(const std::vector<array>& inputs,
                                 const std::vector<BatchAxis>& axes) {
  // The last axis changes size: the batch goes in front, where it stays whole.
  return {view(moveaxis(inputs[0], *axes[0], 0), dtype_), 0};
}

// ---- export: parameters, and loaders that rebuild each node through its op ----
void BroadcastTo::serialize(ExportFields& f) const { f.add_ints(shape_); }
void Reshape::serialize(ExportFields& f) const { f.add_ints(shape_); }
void Transpose::serialize(ExportFields& f) const { f.add_ints(perm_); }
void Slice::serialize(ExportFields& f) const {
  f.add_ints(start_);
  f.add_ints(stop_);
  f.add_ints(step_);
}
void Split::serialize(ExportFields& f) const {
  f.add_int(axis_);
  f.add_ints(bounds_);
}
void SliceUpdate::serialize(ExportFields& f) const {
  f.add_ints(start_);
  f.add_ints(stop_);
  f.add_ints(step_);
}
void Concatenate::serialize(ExportFields& f) const { f.add_int(axis_); }
void Pad::serialize(ExportFields& f) const {
  std::vector<int64_t> flat;
  for (auto [lo, hi] : widths_) flat.insert(flat.end(), {lo, hi});
  f.add_ints(std::move(flat));
}
void View::serialize(ExportFields& f) const { f.add_dtype(dtype_); }

namespace {

using Loaded = std::vector<array>;
using In = std::vector<array>;
using Specs = std::vector<ExportSpec>;

// A window's start, stop and step; bounded so that the op's window arithmetic cannot overflow
// (the ops get them from Python ints already checked to fit, a file could hold anything).
struct StoredWindow {
  std::vector<int64_t> start, stop, step;
};
StoredWindow read_window(ExportFields::Reader& f) {
  StoredWindow w{f.integers("start"), f.integers("stop"), f.integers("step")};
  constexpr int64_t limit = int64_t(1) << 61;
  for (auto* v : {&w.start, &w.stop, &w.step}) {
    for (int64_t x : *v) {
      if (x < -limit || x > limit) throw std::invalid_argument(msg("window bound ", x, " is out of range"));
    }
  }
  return w;
}

Loaded load_split(ExportFields::Reader& f, const In& in, const Specs&) {
  detail::expect_inputs(in, 1);
  int axis = f.axis("axis");
  std::vector<int64_t> bounds = f.integers("bounds");
  if (in[0].ndim() == 0 || axis < 0 || axis >= in[0].ndim()) {
    throw std::invalid_argument(msg("axis ", axis, " is not an axis of shape ", in[0].shape()));
  }
  // Pieces [bounds[k], bounds[k + 1]) covering the axis: split's indices are the inner bounds.
  if (bounds.size() < 2 || bounds.front() != 0 || bounds.back() != in[0].shape(axis) ||
      !std::is_sorted(bounds.begin(), bounds.end())) {
    throw std::invalid_argument(msg("bounds ", Shape(bounds), " do not split an axis of size ",
                                    in[0].shape(axis)));
  }
  return split(in[0], std::vector<int64_t>(bounds.begin() + 1, bounds.end() - 1), axis);
}

Loaded load_pad(ExportFields::Reader& f, const In& in, const Specs&) {
  detail::expect_inputs(in, 2);
  std::vector<int64_t> flat = f.integers("widths");
  if (flat.size() % 2 != 0) throw std::invalid_argument("pad widths come in pairs");
  std::vector<std::pair<int64_t, int64_t>> widths;
  for (size_t i = 0; i < flat.size(); i += 2) widths.emplace_back(flat[i], flat[i + 1]);
  return {pad(in[0], widths, in[1])};
}

const detail::RegisterLoaders kLoaders{
    {"BroadcastTo", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {broadcast_to(in[0], f.integers("shape"))};
     }},
    {"Reshape", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {reshape(in[0], f.integers("shape"))};
     }},
    {"Transpose", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {transpose(in[0], f.ints("perm"))};
     }},
    {"Slice", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       auto w = read_window(f);
       return {slice(in[0], w.start, w.stop, w.step)};
     }},
    {"Split", load_split},
    {"SliceUpdate", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 2);
       auto w = read_window(f);
       return {slice_update(in[0], in[1], w.start, w.stop, w.step)};
     }},
    {"Concatenate", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 2, true);
       return {concatenate(in, f.axis("axis"))};
     }},
    {"Pad", load_pad},
    {"Depends", [](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1, true);
       return depends({in[0]}, In(in.begin() + 1, in.end()));
     }},
    {"View", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {view(in[0], f.dtype("dtype"))};
     }},
};

}  // namespace

}  // namespace ember
