// Transform rules of the fast primitives. Reverse mode goes through fused backward
// primitives (one pass over the data); forward mode, the second order (the rules of the
// backward primitives) and the rare cases (a gradient for rope's freqs or an additive
// attention mask, batched attention sinks) go through the op compositions of
// fast::reference with ember's own transforms, so every rule is made of ops and nests.
#include "ember/primitives/fast.h"

#include <cfloat>
#include <climits>
#include <cmath>

#include "ember/errors.h"
#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/transforms.h"

namespace ember {

namespace {

// ---- transforms of a composition, restricted to some of its arguments ----------------

// f with the arguments outside argnums fixed at their primal values.
ArrayFn restrict_to(const ArrayFn& f, const std::vector<array>& primals,
                    const std::vector<int>& argnums) {
  return [f, primals, argnums](const std::vector<array>& xs) {
    std::vector<array> all = primals;
    for (size_t i = 0; i < argnums.size(); ++i) all[argnums[i]] = xs[i];
    return f(all);
  };
}

std::vector<array> pick(const std::vector<array>& a, const std::vector<int>& idx) {
  std::vector<array> out;
  for (int i : idx) out.push_back(a[i]);
  return out;
}

// One tangent per output of f, for the tangents of primals[argnums].
std::vector<array> composed_jvp(const ArrayFn& f, const std::vector<array>& primals,
                                const std::vector<array>& tangents, const std::vector<int>& argnums) {
  return jvp(restrict_to(f, primals, argnums), pick(primals, argnums), tangents).second;
}

// One cotangent per entry of argnums; an invalid output cotangent counts as zeros.
std::vector<array> composed_vjp(const ArrayFn& f, const std::vector<array>& primals,
                                const std::vector<array>& cotangents,
                                const std::vector<int>& argnums, const std::vector<array>& outputs) {
  std::vector<array> cots;
  for (size_t i = 0; i < cotangents.size(); ++i) {
    cots.push_back(cotangents[i].valid() ? cotangents[i] : zeros(outputs[i].shape(), outputs[i].dtype()));
  }
  return vjp(restrict_to(f, primals, argnums), pick(primals, argnums), cots).second;
}

// vmap of f over the inputs' batch axes; every output gets its batch axis at 0.
std::pair<std::vector<array>, std::vector<int>> composed_vmap(const ArrayFn& f,
                                                              const std::vector<array>& inputs,
                                                              const std::vector<BatchAxis>& axes,
                                                              size_t num_outputs) {
  auto g = vmap(f, std::vector<std::optional<int>>(axes.begin(), axes.end()),
                std::vector<std::optional<int>>(num_outputs, 0));
  return {g(inputs), std::vector<int>(num_outputs, 0)};
}

// ---- batch axes -----------------------------------------------------------------------

// The batch size of a vmap step (the size of any batched input's batch axis).
int64_t batch_size(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i]) return inputs[i].shape(*axes[i]);
  }
  return 1;
}

// x with its batch axis first: moved there, or (unbatched) broadcast to n along a new axis.
array to_front(const array& x, const BatchAxis& axis, int64_t n) {
  if (axis) return moveaxis(x, *axis, 0);
  Shape s = x.shape();
  s.insert(s.begin(), n);
  return broadcast_to(expand_dims(x, {0}), s);
}

// Inputs whose vmapped axis is merged into their leading axis B: (N, B, ...) -> (N * B, ...),
// for primitives whose rows are independent along B (attention, the gated delta rule).
// Inputs at `keep` (none: size_t(-1)) are left as they are.
struct Folded {
  std::vector<array> inputs;
  int64_t n = 0, b = 0;
  // The inverse for an output: (N * B, ...) -> (N, B, ...).
  array unfold(const array& x) const {
    Shape s = x.shape();
    s[0] = b;
    s.insert(s.begin(), n);
    return reshape(x, s);
  }
};
Folded fold(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes,
            size_t keep = size_t(-1)) {
  Folded f;
  f.n = batch_size(inputs, axes);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i == keep) {
      f.inputs.push_back(inputs[i]);
      continue;
    }
    array x = to_front(inputs[i], axes[i], f.n);
    f.b = x.shape(1);
    Shape s(x.shape().begin() + 1, x.shape().end());
    s[0] *= f.n;
    f.inputs.push_back(reshape(x, s));
  }
  return f;
}

bool any_batched(const std::vector<BatchAxis>& axes, size_t from, size_t to) {
  for (size_t i = from; i < to && i < axes.size(); ++i) {
    if (axes[i]) return true;
  }
  return false;
}

// ---- normalizations -------------------------------------------------------------------

// A weight of shape x.shape[:groups] + (D,) reshaped to broadcast against x.
array expand_weight(const array& w, const array& x, int groups) {
  if (groups == 0) return w;
  Shape s(x.ndim(), 1);
  for (int i = 0; i < groups; ++i) s[i] = x.shape(i);
  s.back() = x.shape(-1);
  return reshape(w, s);
}

// The normalizations' inputs (x, [w], [b], ...) as a composition's arguments.
struct NormArgs {
  array x;
  std::optional<array> w, b;
  NormArgs(const std::vector<array>& in, const NormParams& p) : x(in[0]) {
    size_t i = 1;
    if (p.has_weight) w = expand_weight(in[i++], x, p.groups);
    if (p.has_bias) b = expand_weight(in[i++], x, p.groups);
  }
};

ArrayFn rms_forward(const NormParams& p) {
  return [p](const std::vector<array>& in) {
    NormArgs a(in, p);
    return std::vector<array>{fast::reference::rms_norm(a.x, a.w, p.eps)};
  };
}

ArrayFn ln_forward(const NormParams& p) {
  return [p](const std::vector<array>& in) {
    NormArgs a(in, p);
    return std::vector<array>{fast::reference::layer_norm(a.x, a.w, a.b, p.eps)};
  };
}

// p with one more group (vmap's batch axis).
NormParams grouped(NormParams p, int groups) {
  p.groups = groups;
  return p;
}

// The gradients of `forward` (over its n differentiable inputs) as a function of those
// inputs followed by the output cotangent: a backward primitive's composition.
ArrayFn backward_of(ArrayFn forward, size_t n) {
  return [forward, n](const std::vector<array>& in) {
    std::vector<array> primals(in.begin(), in.begin() + n);
    return vjp(forward, primals, {in.back()}).second;
  };
}

// vmap of a normalization forward. With unbatched weights (and no groups yet) rows stay
// independent: x keeps its batch axis unless it is the normalized one. Otherwise every
// input moves to axis 0 (broadcast when unbatched) and the weights become per-example
// (groups + 1).
struct NormBatch {
  std::vector<array> inputs;
  int groups;
  int out_axis;
};
NormBatch norm_vmap_inputs(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes,
                           int groups) {
  const int64_t n = batch_size(inputs, axes);
  NormBatch r{inputs, groups, 0};
  if (groups == 0 && !any_batched(axes, 1, inputs.size())) {
    if (*axes[0] != inputs[0].ndim() - 1) r.out_axis = *axes[0];
    else r.inputs[0] = moveaxis(inputs[0], *axes[0], 0);
    return r;
  }
  for (size_t i = 0; i < inputs.size(); ++i) r.inputs[i] = to_front(inputs[i], axes[i], n);
  r.groups = groups + 1;
  return r;
}

}  // namespace

// ---- RMSNorm --------------------------------------------------------------------------
array RMSNorm::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                   const std::vector<int>& argnums, const array&) {
  return composed_jvp(rms_forward(params_), primals, tangents, argnums)[0];
}
// dx = r (dn - n mean(dn n)), dn = c w, n = x r;  dw = sum over rows of c n
std::vector<array> RMSNorm::vjp(const std::vector<array>& primals, const array& cotangent,
                                const std::vector<int>& argnums, const array&) {
  std::vector<array> in(primals);
  in.push_back(cotangent);
  return pick(detail::norm_vjp_nodes(false, in, params_), argnums);
}
std::pair<array, int> RMSNorm::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  auto b = norm_vmap_inputs(inputs, axes, params_.groups);
  return {detail::norm_node(false, b.inputs, grouped(params_, b.groups)), b.out_axis};
}

// ---- RMSNormVJP ------------------------------------------------------------------------
std::vector<array> RMSNormVJP::jvp_multi(const std::vector<array>& primals,
                                         const std::vector<array>& tangents,
                                         const std::vector<int>& argnums, const std::vector<array>&) {
  auto f = backward_of(rms_forward(params_), primals.size() - 1);
  return composed_jvp(f, primals, tangents, argnums);
}
std::vector<array> RMSNormVJP::vjp_multi(const std::vector<array>& primals,
                                         const std::vector<array>& cotangents,
                                         const std::vector<int>& argnums,
                                         const std::vector<array>& outputs) {
  auto f = backward_of(rms_forward(params_), primals.size() - 1);
  return composed_vjp(f, primals, cotangents, argnums, outputs);
}
std::pair<std::vector<array>, std::vector<int>> RMSNormVJP::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  const int64_t n = batch_size(inputs, axes);
  std::vector<array> in;
  for (size_t i = 0; i < inputs.size(); ++i) in.push_back(to_front(inputs[i], axes[i], n));
  auto outs = detail::norm_vjp_nodes(false, in, grouped(params_, params_.groups + 1));
  return {outs, std::vector<int>(outs.size(), 0)};
}

// ---- LayerNorm ------------------------------------------------------------------------
array LayerNorm::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                     const std::vector<int>& argnums, const array&) {
  return composed_jvp(ln_forward(params_), primals, tangents,
                      argnums)[0];
}
// dx = rstd (dn - mean(dn) - n mean(dn n)), dn = c w;  dw = sum c n;  db = sum c
std::vector<array> LayerNorm::vjp(const std::vector<array>& primals, const array& cotangent,
                                  const std::vector<int>& argnums, const array&) {
  std::vector<array> in{primals[0]};
  if (params_.has_weight) in.push_back(primals[1]);
  in.push_back(cotangent);
  return pick(detail::norm_vjp_nodes(true, in, params_), argnums);
}
std::pair<array, int> LayerNorm::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  auto b = norm_vmap_inputs(inputs, axes, params_.groups);
  return {detail::norm_node(true, b.inputs, grouped(params_, b.groups)), b.out_axis};
}

// ---- LayerNormVJP ----------------------------------------------------------------------
namespace {
// LayerNormVJP's inputs (x, [w], c) as the backward of the forward over (x, [w], [b]): the
// bias only shifts the output, so zeros stand in for it.
ArrayFn ln_backward(const NormParams& p) {
  auto fwd = ln_forward(p);
  return [fwd, p](const std::vector<array>& in) {
    std::vector<array> primals(in.begin(), in.end() - 1);
    if (p.has_bias) primals.push_back(zeros(p.weight_shape(in[0].shape()), in[0].dtype()));
    return vjp(fwd, primals, {in.back()}).second;
  };
}
}  // namespace
std::vector<array> LayerNormVJP::jvp_multi(const std::vector<array>& primals,
                                           const std::vector<array>& tangents,
                                           const std::vector<int>& argnums,
                                           const std::vector<array>&) {
  return composed_jvp(ln_backward(params_), primals, tangents, argnums);
}
std::vector<array> LayerNormVJP::vjp_multi(const std::vector<array>& primals,
                                           const std::vector<array>& cotangents,
                                           const std::vector<int>& argnums,
                                           const std::vector<array>& outputs) {
  return composed_vjp(ln_backward(params_), primals, cotangents,
                      argnums, outputs);
}
std::pair<std::vector<array>, std::vector<int>> LayerNormVJP::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  const int64_t n = batch_size(inputs, axes);
  std::vector<array> in;
  for (size_t i = 0; i < inputs.size(); ++i) in.push_back(to_front(inputs[i], axes[i], n));
  auto outs = detail::norm_vjp_nodes(true, in, grouped(params_, params_.groups + 1));
  return {outs, std::vector<int>(outs.size(), 0)};
}

// ---- RoPE -------------------------------------------------------------------------------
namespace {
// RoPE's inputs (a, offset, [freqs]) as a composition.
ArrayFn rope_forward(const RopeParams& p) {
  return [p](const std::vector<array>& in) {
    const array& a = in[0];
    Dtype acc = a.dtype() == Dtype::float64 ? Dtype::float64 : Dtype::float32;
    array inv_freq = p.base ? power(detail::scalar(*p.base, acc), multiply(arange(0, p.dims, 2, acc),
                                                                           detail::scalar(-1.0 / p.dims, acc)))
                            : reciprocal(in[2]);
    return std::vector<array>{
        fast::reference::rope(a, p.dims, p.traditional, in[1], inv_freq, p.scale, p.inverse)};
  };
}
}  // namespace
// Linear in a: d out = RoPE(t_a); freqs through the composition.
array RoPE::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                const std::vector<int>& argnums, const array& out) {
  array result;
  for (size_t i = 0; i < argnums.size(); ++i) {
    array t;
    if (argnums[i] == 0) {
      std::vector<array> in(primals);
      in[0] = tangents[i];
      t = detail::rope_node(in, params_);
    } else if (argnums[i] == 2) {
      t = composed_jvp(rope_forward(params_), primals,
                       {tangents[i]}, {2})[0];
    } else {
      continue;
    }
    result = result.valid() ? add(result, t) : t;
  }
  return result.valid() ? result : zeros_like(out);
}
// The rotation is orthogonal: its transpose turns by -theta (inverse flipped).
std::vector<array> RoPE::vjp(const std::vector<array>& primals, const array& cotangent,
                             const std::vector<int>& argnums, const array& out) {
  std::vector<array> grads;
  for (int a : argnums) {
    if (a == 0) {
      std::vector<array> in(primals);
      in[0] = cotangent;
      RopeParams back = params_;
      back.inverse = !back.inverse;
      grads.push_back(detail::rope_node(in, back));
    } else if (a == 2) {
      grads.push_back(composed_vjp(rope_forward(params_),
                                   primals, {cotangent}, {2}, {out})[0]);
    } else {
      grads.push_back(array());
    }
  }
  return grads;
}
std::pair<array, int> RoPE::vmap(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  if (inputs.size() > 2 && axes[2]) {  // per-example frequencies: no fused form
    auto r = composed_vmap(rope_forward(params_), inputs, axes, 1);
    return {r.first[0], 0};
  }
  const int64_t n = batch_size(inputs, axes);
  array a = inputs[0], off = inputs[1];
  int out_axis = 0;
  if (axes[0] && *axes[0] < a.ndim() - 2 && !axes[1]) {
    // The batch axis is a leading axis of a: the offsets (a.shape[:-2]) gain it in place.
    out_axis = *axes[0];
    Shape lead(a.shape().begin(), a.shape().end() - 2);
    off = broadcast_to(expand_dims(off, {out_axis}), lead);
  } else {
    a = to_front(a, axes[0], n);
    off = to_front(off, axes[1], n);
  }
  std::vector<array> in{a, off};
  if (inputs.size() > 2) in.push_back(inputs[2]);
  return {detail::rope_node(in, params_), out_axis};
}

// ---- ScaledDotProductAttention -------------------------------------------------------------
namespace {
struct AttentionArgs {
  array q, k, v;
  std::optional<array> mask, sinks;
  AttentionArgs(const std::vector<array>& in, const AttentionParams& p) : q(in[0]), k(in[1]), v(in[2]) {
    size_t i = 3;
    if (p.mask != MaskKind::none) mask = in[i++];
    if (p.has_sinks) sinks = in[i++];
  }
  size_t count() const { return 3 + size_t(mask.has_value()) + size_t(sinks.has_value()); }
};

ArrayFn attention_forward(const AttentionParams& p) {
  return [p](const std::vector<array>& in) {
    AttentionArgs a(in, p);
    return std::vector<array>{fast::reference::scaled_dot_product_attention(
        a.q, a.k, a.v, p.scale, p.causal, a.mask, a.sinks)};
  };
}

// The backward primitive's inputs (q, k, v, [mask], [sinks], out, lse, d_out) as the
// gradients of the composition for (q, k, v, [sinks]); out and lse are recomputed.
ArrayFn attention_backward(const AttentionParams& p) {
  auto fwd = attention_forward(p);
  return [fwd, p](const std::vector<array>& in) {
    AttentionArgs a(in, p);
    std::vector<int> diff{0, 1, 2};
    if (p.has_sinks) diff.push_back(int(a.count()) - 1);
    std::vector<array> primals(in.begin(), in.begin() + a.count());
    return vjp(restrict_to(fwd, primals, diff), pick(primals, diff), {in.back()}).second;
  };
}

}  // namespace

std::vector<array> ScaledDotProductAttention::jvp_multi(const std::vector<array>& primals,
                                                        const std::vector<array>& tangents,
                                                        const std::vector<int>& argnums,
                                                        const std::vector<array>&) {
  // lse feeds only this primitive's own backward, whose rules recompute it: no tangent.
  auto t = composed_jvp(attention_forward(params_), primals, tangents,
                        argnums);
  return {t[0], array()};
}
std::vector<array> ScaledDotProductAttention::vjp_multi(const std::vector<array>& primals,
                                                        const std::vector<array>& cotangents,
                                                        const std::vector<int>& argnums,
                                                        const std::vector<array>& outputs) {
  // lse is internal (only this rule reads it, and the backward's rules return nothing for
  // it), so only the output's cotangent matters.
  std::vector<array> grads(argnums.size());
  if (!cotangents[0].valid()) return grads;
  AttentionArgs a(primals, params_);
  const size_t mask_index = 3, sinks_index = a.count() - 1;
  std::vector<array> fwd = outputs;
  // An output nobody held is an unevaluable stand-in once its node ran: recompute.
  if (fwd[0].is_placeholder() || fwd[1].is_placeholder()) {
    fwd = detail::attention_nodes(primals, params_);
  }
  bool fused = false, mask_grad = false;
  for (int i : argnums) {
    if (params_.mask != MaskKind::none && i == int(mask_index)) mask_grad = true;
    else fused = true;
  }
  std::vector<array> fused_grads;
  if (fused) {
    std::vector<array> in(primals);
    in.push_back(fwd[0]);
    in.push_back(fwd[1]);
    in.push_back(cotangents[0]);
    fused_grads = detail::attention_vjp_nodes(in, params_);
  }
  for (size_t j = 0; j < argnums.size(); ++j) {
    int i = argnums[j];
    if (i < 3) grads[j] = fused_grads[i];
    else if (params_.has_sinks && i == int(sinks_index)) grads[j] = fused_grads[3];
  }
  if (mask_grad) {
    // d mask = the scores' cotangent, an (L, S) matrix per head: only the composition has it.
    array dm = composed_vjp(attention_forward(params_), primals,
                            {cotangents[0]}, {int(mask_index)}, {outputs[0]})[0];
    for (size_t j = 0; j < argnums.size(); ++j) {
      if (argnums[j] == int(mask_index)) grads[j] = dm;
    }
  }
  return grads;
}
std::pair<std::vector<array>, std::vector<int>> ScaledDotProductAttention::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  const size_t sinks_index = params_.has_sinks ? inputs.size() - 1 : inputs.size();
  if (params_.has_sinks && axes[sinks_index]) {
    // Per-example sinks cannot fold into B: the composition, lse included.
    auto f = [p = params_](const std::vector<array>& in) {
      AttentionArgs a(in, p);
      array lse;
      array out = fast::reference::scaled_dot_product_attention(a.q, a.k, a.v, p.scale, p.causal,
                                                                a.mask, a.sinks, &lse);
      return std::vector<array>{out, lse};
    };
    return composed_vmap(f, inputs, axes, 2);
  }
  // B folds the vmapped axis in (every input but the sinks has B first).
  auto f = fold(inputs, axes, sinks_index);
  auto outs = detail::attention_nodes(f.inputs, params_);
  return {{f.unfold(outs[0]), f.unfold(outs[1])}, {0, 0}};
}

// ---- ScaledDotProductAttentionVJP -----------------------------------------------------------
std::vector<array> ScaledDotProductAttentionVJP::jvp_multi(const std::vector<array>& primals,
                                                           const std::vector<array>& tangents,
                                                           const std::vector<int>& argnums,
                                                           const std::vector<array>&) {
  return composed_jvp(attention_backward(params_), primals, tangents,
                      argnums);
}
std::vector<array> ScaledDotProductAttentionVJP::vjp_multi(const std::vector<array>& primals,
                                                           const std::vector<array>& cotangents,
                                                           const std::vector<int>& argnums,
                                                           const std::vector<array>& outputs) {
  return composed_vjp(attention_backward(params_), primals, cotangents,
                      argnums, outputs);
}
std::pair<std::vector<array>, std::vector<int>> ScaledDotProductAttentionVJP::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  const size_t sinks_index = params_.has_sinks ? inputs.size() - 4 : inputs.size();
  const size_t nout = params_.has_sinks ? 4 : 3;
  if (params_.has_sinks) {
    // The sinks' gradient sums over B, which folding would mix with the vmapped axis.
    return composed_vmap(attention_backward(params_), inputs, axes, nout);
  }
  auto f = fold(inputs, axes, sinks_index);
  auto outs = detail::attention_vjp_nodes(f.inputs, params_);
  for (auto& o : outs) o = f.unfold(o);
  return {outs, std::vector<int>(outs.size(), 0)};
}

// ---- CrossEntropy ---------------------------------------------------------------------------
namespace {
ArrayFn ce_forward() {
  return [](const std::vector<array>& in) {
    return std::vector<array>{fast::reference::cross_entropy(in[0], in[1])};
  };
}
// CrossEntropyVJP's inputs (logits, targets, c) as the gradient of the composition.
ArrayFn ce_backward() {
  return [](const std::vector<array>& in) {
    return composed_vjp(ce_forward(), {in[0], in[1]}, {in[2]}, {0}, {in[2]});
  };
}
// (logits, targets, ...) batched: logits and targets (and a cotangent) moved to axis 0.
std::vector<array> ce_front(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  const int64_t n = batch_size(inputs, axes);
  std::vector<array> in;
  for (size_t i = 0; i < inputs.size(); ++i) in.push_back(to_front(inputs[i], axes[i], n));
  return in;
}
}  // namespace
array CrossEntropy::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                        const std::vector<int>& argnums, const array&) {
  return composed_jvp(ce_forward(), primals, tangents, argnums)[0];
}
// d logits = (softmax(logits) - onehot(target)) c
std::vector<array> CrossEntropy::vjp(const std::vector<array>& primals, const array& cotangent,
                                     const std::vector<int>& argnums, const array&) {
  std::vector<array> grads;
  for (int a : argnums) {
    grads.push_back(a == 0 ? detail::cross_entropy_vjp_node({primals[0], primals[1], cotangent}) : array());
  }
  return grads;
}
std::pair<array, int> CrossEntropy::vmap(const std::vector<array>& inputs,
                                         const std::vector<BatchAxis>& axes) {
  auto in = ce_front(inputs, axes);
  return {fast::cross_entropy(in[0], in[1]), 0};
}

array CrossEntropyVJP::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                           const std::vector<int>& argnums, const array&) {
  return composed_jvp(ce_backward(), primals, tangents, argnums)[0];
}
std::vector<array> CrossEntropyVJP::vjp(const std::vector<array>& primals, const array& cotangent,
                                        const std::vector<int>& argnums, const array& out) {
  return composed_vjp(ce_backward(), primals, {cotangent}, argnums, {out});
}
std::pair<array, int> CrossEntropyVJP::vmap(const std::vector<array>& inputs,
                                            const std::vector<BatchAxis>& axes) {
  auto in = ce_front(inputs, axes);
  return {detail::cross_entropy_vjp_node(in), 0};
}

// ---- GatedDeltaUpdate -------------------------------------------------------------------------
namespace {
ArrayFn gdu_forward(bool has_mask) {
  return [=](const std::vector<array>& in) {
    std::optional<array> mask;
    if (has_mask) mask = in[6];
    return fast::reference::gated_delta_update(in[0], in[1], in[2], in[3], in[4], in[5], mask);
  };
}
// GatedDeltaUpdateVJP's inputs (q, k, v, gamma, beta, state, [mask], dy, d_state) as the
// gradients of the composition for (q, k, v, gamma, beta, state).
ArrayFn gdu_backward(bool has_mask) {
  return [=](const std::vector<array>& in) {
    const size_t n = in.size() - 2;
    std::vector<array> primals(in.begin(), in.begin() + n);
    return vjp(restrict_to(gdu_forward(has_mask), primals, {0, 1, 2, 3, 4, 5}),
               pick(primals, {0, 1, 2, 3, 4, 5}), {in[n], in[n + 1]})
        .second;
  };
}
}  // namespace
std::vector<array> GatedDeltaUpdate::jvp_multi(const std::vector<array>& primals,
                                               const std::vector<array>& tangents,
                                               const std::vector<int>& argnums,
                                               const std::vector<array>&) {
  return composed_jvp(gdu_forward(params_.has_mask), primals, tangents, argnums);
}
std::vector<array> GatedDeltaUpdate::vjp_multi(const std::vector<array>& primals,
                                               const std::vector<array>& cotangents,
                                               const std::vector<int>& argnums,
                                               const std::vector<array>& outputs) {
  std::vector<array> in(primals);
  for (size_t i = 0; i < 2; ++i) {
    in.push_back(cotangents[i].valid() ? cotangents[i] : zeros(outputs[i].shape(), outputs[i].dtype()));
  }
  return pick(detail::gated_delta_vjp_nodes(in, params_), argnums);
}
std::pair<std::vector<array>, std::vector<int>> GatedDeltaUpdate::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  auto f = fold(inputs, axes);
  auto outs = detail::gated_delta_nodes(f.inputs, params_);
  return {{f.unfold(outs[0]), f.unfold(outs[1])}, {0, 0}};
}

std::vector<array> GatedDeltaUpdateVJP::jvp_multi(const std::vector<array>& primals,
                                                  const std::vector<array>& tangents,
                                                  const std::vector<int>& argnums,
                                                  const std::vector<array>&) {
  return composed_jvp(gdu_backward(params_.has_mask), primals, tangents, argnums);
}
std::vector<array> GatedDeltaUpdateVJP::vjp_multi(const std::vector<array>& primals,
                                                  const std::vector<array>& cotangents,
                                                  const std::vector<int>& argnums,
                                                  const std::vector<array>& outputs) {
  return composed_vjp(gdu_backward(params_.has_mask), primals, cotangents, argnums, outputs);
}
std::pair<std::vector<array>, std::vector<int>> GatedDeltaUpdateVJP::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  auto f = fold(inputs, axes);
  auto outs = detail::gated_delta_vjp_nodes(f.inputs, params_);
  for (auto& o : outs) o = f.unfold(o);
  return {outs, std::vector<int>(outs.size(), 0)};
}

// ---- CustomKernel ------------------------------------------------------------------------------
namespace {
const char* kernel_op(const std::string& backend) {
  return backend == "metal" ? "metal_kernel" : backend == "cuda" ? "cuda_kernel" : "precompiled_cuda_kernel";
}
}  // namespace
bool CustomKernel::is_equivalent(const Primitive&) const {
  return false;  // user code may have side effects: two launches are never merged
}
std::vector<array> CustomKernel::jvp_multi(const std::vector<array>&, const std::vector<array>&,
                                           const std::vector<int>&, const std::vector<array>&) {
  throw std::invalid_argument(msg("[", kernel_op(spec_.backend), "] The kernel '", spec_.name,
                                  "' has no derivative: wrap its call in mx.custom_function with a "
                                  "jvp rule."));
}
std::vector<array> CustomKernel::vjp_multi(const std::vector<array>&, const std::vector<array>&,
                                           const std::vector<int>&, const std::vector<array>&) {
  throw std::invalid_argument(msg("[", kernel_op(spec_.backend), "] The kernel '", spec_.name,
                                  "' has no derivative: wrap its call in mx.custom_function with a "
                                  "vjp rule."));
}
std::pair<std::vector<array>, std::vector<int>> CustomKernel::vmap_multi(const std::vector<array>&,
                                                                         const std::vector<BatchAxis>&) {
  throw std::invalid_argument(msg("Primitive's vmap not implemented. [primitive: CustomKernel] [",
                                  kernel_op(spec_.backend), "] A user kernel's batching is not known: "
                                  "wrap its call in mx.custom_function with a vmap rule."));
}

// ---- export: the parameters, and loaders that rebuild each node through the builder that
// its op ends in (detail::norm_node, ...: ops/fast.cpp), which checks a file's inputs as it
// checks an op's; the builders also make the nodes that only rules make (vmap's per-example
// norm weights, the backward primitives), which no op could rebuild ----
namespace {

void add_norm(ExportFields& f, const NormParams& p) {
  f.add_float(p.eps);
  f.add_bool(p.has_weight);
  f.add_bool(p.has_bias);
  f.add_int(p.groups);
}

NormParams read_norm(ExportFields::Reader& f) {
  NormParams p;
  const double eps = f.real("eps");
  if (std::isfinite(eps) && std::fabs(eps) > FLT_MAX) {
    throw std::invalid_argument(msg("parameter 'eps' is ", eps, ", beyond float32's range"));
  }
  p.eps = float(eps);
  p.has_weight = f.boolean("has_weight");
  p.has_bias = f.boolean("has_bias");
  p.groups = int(f.integer("groups", 0, INT_MAX));
  return p;
}

void add_attention(ExportFields& f, const AttentionParams& p) {
  f.add_float(p.scale);
  f.add_bool(p.causal);
  f.add_int(int(p.mask));
  f.add_bool(p.has_sinks);
}

AttentionParams read_attention(ExportFields::Reader& f) {
  AttentionParams p;
  p.scale = f.real("scale");
  p.causal = f.boolean("causal");
  p.mask = MaskKind(f.integer("mask", 0, int(MaskKind::additive)));
  p.has_sinks = f.boolean("has_sinks");
  return p;
}

}  // namespace

void RMSNorm::serialize(ExportFields& f) const { add_norm(f, params_); }
void RMSNormVJP::serialize(ExportFields& f) const { add_norm(f, params_); }
void LayerNorm::serialize(ExportFields& f) const { add_norm(f, params_); }
void LayerNormVJP::serialize(ExportFields& f) const { add_norm(f, params_); }

void RoPE::serialize(ExportFields& f) const {
  f.add_int(params_.dims);
  f.add_bool(params_.traditional);
  f.add_bool(params_.base.has_value());
  f.add_float(params_.base.value_or(0.0));
  f.add_float(params_.scale);
  f.add_bool(params_.inverse);
}

void ScaledDotProductAttention::serialize(ExportFields& f) const { add_attention(f, params_); }
void ScaledDotProductAttentionVJP::serialize(ExportFields& f) const { add_attention(f, params_); }
void GatedDeltaUpdate::serialize(ExportFields& f) const { f.add_bool(params_.has_mask); }
void GatedDeltaUpdateVJP::serialize(ExportFields& f) const { f.add_bool(params_.has_mask); }

// A kernel's source would have to be stored in the file and compiled and run on import; a
// function file never carries code (importing one runs only ember's own kernels).
void CustomKernel::serialize(ExportFields&) const {
  throw std::invalid_argument(msg("[export_function] The custom kernel '", spec_.name, "' (",
                                  kernel_op(spec_.backend), ") cannot be exported: a function file "
                                  "holds no code, and importing one never compiles or runs kernel "
                                  "source. Export the parts of the function around the kernel."));
}

namespace {

using Loaded = std::vector<array>;
using In = std::vector<array>;
using Specs = std::vector<ExportSpec>;

PrimitiveLoader norm_loader(bool layer) {
  return [layer](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
    return {detail::norm_node(layer, in, read_norm(f))};
  };
}

PrimitiveLoader norm_vjp_loader(bool layer) {
  return [layer](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
    return detail::norm_vjp_nodes(layer, in, read_norm(f));
  };
}

const detail::RegisterLoaders kLoaders{
    {"RMSNorm", norm_loader(false)},
    {"LayerNorm", norm_loader(true)},
    {"RMSNormVJP", norm_vjp_loader(false)},
    {"LayerNormVJP", norm_vjp_loader(true)},
    {"RoPE", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       RopeParams p;
       p.dims = int(f.integer("dims", INT_MIN, INT_MAX));
       p.traditional = f.boolean("traditional");
       const bool has_base = f.boolean("has_base");
       const double base = f.real("base");
       if (has_base) p.base = base;
       p.scale = f.real("scale");
       p.inverse = f.boolean("inverse");
       return {detail::rope_node(in, p)};
     }},
    {"ScaledDotProductAttention", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       return detail::attention_nodes(in, read_attention(f));
     }},
    {"ScaledDotProductAttentionVJP", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       return detail::attention_vjp_nodes(in, read_attention(f));
     }},
    {"CrossEntropy", [](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 2);
       return {fast::cross_entropy(in[0], in[1])};
     }},
    {"CrossEntropyVJP", [](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
       return {detail::cross_entropy_vjp_node(in)};
     }},
    {"GatedDeltaUpdate", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       return detail::gated_delta_nodes(in, DeltaParams{f.boolean("has_mask")});
     }},
    {"GatedDeltaUpdateVJP", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       return detail::gated_delta_vjp_nodes(in, DeltaParams{f.boolean("has_mask")});
     }},
};

}  // namespace

}  // namespace ember
