// mlx.core.fast ops: argument checks (eager, naming the op and the shapes), dtype
// promotion, then one fused node each. Below them, the same math as compositions of
// ordinary ops (fast::reference), which the transform rules and the tests use.
#include "ember/ops/fast.h"

#include <cmath>
#include <limits>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/fast.h"

namespace ember::fast {

namespace {

// Kernels accumulate in float32, or float64 for float64 data.
Dtype accumulate_dtype(Dtype t) { return t == Dtype::float64 ? Dtype::float64 : Dtype::float32; }

array cast(const array& a, Dtype t) { return a.dtype() == t ? a : astype(a, t); }

void require_floating(const char* op, const char* what, const array& a) {
  if (!is_floating(a.dtype())) {
    throw type_error(msg("[", op, "] ", what, " must have a floating point dtype, got ",
                         dtype_name(a.dtype()), "."));
  }
}

Shape lead_shape(const array& a, int drop) {
  return Shape(a.shape().begin(), a.shape().end() - drop);
}

// ---- the checks that the ops and the node builders (ember::detail, below) share ----

// A node's input that must be exactly this shape and dtype (what the kernel reads).
void expect_exact(const char* op, const char* what, const array& a, const Shape& shape, Dtype dtype) {
  if (a.shape() != shape || a.dtype() != dtype) {
    throw std::invalid_argument(msg("[", op, "] ", what, " must have shape ", shape, " and dtype ",
                                    dtype_name(dtype), ", got shape ", a.shape(), " and dtype ",
                                    dtype_name(a.dtype()), "."));
  }
}

void expect_count(const char* op, const std::vector<array>& inputs, size_t n) {
  if (inputs.size() != n) {
    throw std::invalid_argument(msg("[", op, "] The node takes ", n, " inputs with these parameters, got ",
                                    inputs.size(), "."));
  }
}

void check_norm_input(const char* op, const array& x) {
  if (x.ndim() == 0) {
    throw std::invalid_argument(msg("[", op, "] Input must have at least 1 dimension, got a 0-d array."));
  }
  require_floating(op, "x", x);
}

// A weight or bias of a normalization over the last axis of x: shape x.shape[:groups] + (D,)
// (the ops take groups = 0, a (D,) vector; vmap adds groups).
void check_affine(const char* op, const char* what, const array& x, const array& p, int groups) {
  require_floating(op, what, p);
  if (p.ndim() != groups + 1) {
    throw std::invalid_argument(msg("[", op, "] ", what, " must have ", groups + 1,
                                    groups ? " dimensions" : " dimension", " but has shape ",
                                    p.shape(), "."));
  }
  if (p.shape(-1) != x.shape(-1)) {
    throw std::invalid_argument(msg("[", op, "] ", what, " (shape ", p.shape(),
                                    ") must have the size of the last axis of x (shape ",
                                    x.shape(), ")."));
  }
  for (int i = 0; i < groups; ++i) {
    if (p.shape(i) != x.shape(i)) {
      throw std::invalid_argument(msg("[", op, "] ", what, " (shape ", p.shape(), ") must start with the first ",
                                      groups, " dimensions of x (shape ", x.shape(), ")."));
    }
  }
}

void check_rope_input(const char* op, const array& a, int dims) {
  if (a.ndim() < 3) {
    throw std::invalid_argument(msg("[", op, "] Input must have at least 3 dimensions (B, *, T, D), got shape ",
                                    a.shape(), "."));
  }
  require_floating(op, "Input", a);
  if (dims <= 0 || dims % 2) {
    throw std::invalid_argument(msg("[", op, "] dims must be positive and even, got ", dims, "."));
  }
  if (dims > a.shape(-1)) {
    throw std::invalid_argument(msg("[", op, "] dims (", dims, ") must not exceed the last axis of the input (shape ",
                                    a.shape(), ")."));
  }
}

void check_base_or_freqs(const char* op, bool has_base, bool has_freqs) {
  if (has_base == has_freqs) {
    throw std::invalid_argument(msg("[", op, "] Exactly one of base and freqs must be given, got ",
                                    has_base ? "both." : "neither."));
  }
}

// The sizes of attention's q (B, Hq, L, D), k (B, Hkv, S, D), v (B, Hkv, S, Dv).
struct AttentionDims {
  int64_t B, Hq, L, Hkv, S, Dv;
};

AttentionDims attention_dims(const char* op, const array& q, const array& k, const array& v) {
  auto rank4 = [&](const char* what, const array& a, const char* dims) {
    if (a.ndim() != 4) {
      throw std::invalid_argument(msg("[", op, "] ", what, " must have 4 dimensions ", dims,
                                      ", got shape ", a.shape(), "."));
    }
  };
  rank4("q", q, "(B, Hq, L, D)");
  rank4("k", k, "(B, Hkv, S, D)");
  rank4("v", v, "(B, Hkv, S, Dv)");
  if (k.shape(0) != q.shape(0) || v.shape(0) != q.shape(0)) {
    throw std::invalid_argument(msg("[", op, "] q, k and v must have the same batch size, got shapes ",
                                    q.shape(), ", ", k.shape(), " and ", v.shape(), "."));
  }
  if (q.shape(3) != k.shape(3)) {
    throw std::invalid_argument(msg("[", op, "] q (shape ", q.shape(), ") and k (shape ", k.shape(),
                                    ") must have the same last dimension."));
  }
  if (k.shape(1) != v.shape(1) || k.shape(2) != v.shape(2)) {
    throw std::invalid_argument(msg("[", op, "] k (shape ", k.shape(), ") and v (shape ", v.shape(),
                                    ") must have the same number of heads and keys."));
  }
  AttentionDims d{q.shape(0), q.shape(1), q.shape(2), k.shape(1), k.shape(2), v.shape(3)};
  if (d.Hkv == 0 || d.Hq % d.Hkv) {
    throw std::invalid_argument(msg("[", op, "] The number of query heads (", d.Hq,
                                    ") must be a multiple of the number of key/value heads (", d.Hkv, ")."));
  }
  return d;
}

// The shapes of the gated delta rule's arguments (state and mask when given).
void check_delta_shapes(const char* op, const array& q, const array& k, const array& v,
                        const array& gamma, const array& beta, const array* state, const array* mask) {
  auto expect = [&](const char* what, const array& a, const Shape& s, const char* dims) {
    if (a.shape() != s) {
      throw std::invalid_argument(msg("[", op, "] ", what, " must have shape ", dims, " = ", s,
                                      ", got ", a.shape(), "."));
    }
  };
  if (q.ndim() != 4) {
    throw std::invalid_argument(msg("[", op, "] q must have 4 dimensions (B, T, Hk, Dk), got shape ",
                                    q.shape(), "."));
  }
  const int64_t B = q.shape(0), T = q.shape(1), Hk = q.shape(2), Dk = q.shape(3);
  expect("k", k, q.shape(), "(B, T, Hk, Dk)");
  if (v.ndim() != 4 || v.shape(0) != B || v.shape(1) != T) {
    throw std::invalid_argument(msg("[", op, "] v must have shape (B, T, Hv, Dv) with B, T = ", B, ", ", T,
                                    " (from q), got ", v.shape(), "."));
  }
  const int64_t Hv = v.shape(2), Dv = v.shape(3);
  if (Hk == 0 || Hv % Hk) {
    throw std::invalid_argument(msg("[", op, "] The number of value heads (", Hv,
                                    ") must be a multiple of the number of query/key heads (", Hk, ")."));
  }
  if (gamma.shape() != Shape{B, T, Hv} && gamma.shape() != Shape{B, T, Hv, Dk}) {
    throw std::invalid_argument(msg("[", op, "] gamma must have shape (B, T, Hv) = ", Shape{B, T, Hv},
                                    " or (B, T, Hv, Dk) = ", Shape{B, T, Hv, Dk}, ", got ", gamma.shape(), "."));
  }
  expect("beta", beta, Shape{B, T, Hv}, "(B, T, Hv)");
  if (state) expect("initial_state", *state, Shape{B, Hv, Dv, Dk}, "(B, Hv, Dv, Dk)");
  if (mask) expect("mask", *mask, Shape{B, T}, "(B, T)");
}

// The dtype q, k and v compute in.
Dtype qkv_dtype(const char* op, const array& q, const array& k, const array& v) {
  Dtype t = to_inexact(promote_types(promote_types(q.dtype(), k.dtype()), v.dtype()));
  if (!is_floating(t)) {
    throw type_error(msg("[", op, "] q, k and v must be real, got ", dtype_name(t), "."));
  }
  return t;
}

// A node's q, k and v: one floating dtype (the ops cast them to it).
Dtype node_qkv_dtype(const char* op, const array& q, const array& k, const array& v) {
  if (!is_floating(q.dtype()) || k.dtype() != q.dtype() || v.dtype() != q.dtype()) {
    throw std::invalid_argument(msg("[", op, "] The node's q, k and v must have one floating point dtype, got ",
                                    dtype_name(q.dtype()), ", ", dtype_name(k.dtype()), " and ",
                                    dtype_name(v.dtype()), "."));
  }
  return q.dtype();
}

}  // namespace

}  // namespace ember::fast

// ---- the node builders: each checks that its inputs are exactly what the primitive's kernel
// reads (count, shapes, dtypes) and makes the node. The ops call them on the arguments they
// converted, the rules on the arrays they derive, and import_function's loaders on a file's.
namespace ember::detail {

using fast::accumulate_dtype;
using fast::expect_count;
using fast::expect_exact;

namespace {

// Checks a normalization node's inputs: x, then its `affine` weight and bias (the first
// has_weight + has_bias, or has_weight for the backward, which takes no bias), then `extra`
// more. Returns x.
const array& check_norm_node(const char* op, bool layer, const std::vector<array>& inputs,
                             const NormParams& p, size_t affine, size_t extra) {
  expect_count(op, inputs, 1 + affine + extra);
  if (!layer && p.has_bias) {
    throw std::invalid_argument(msg("[", op, "] An RMS normalization has no bias."));
  }
  const array& x = inputs[0];
  fast::check_norm_input(op, x);
  if (p.groups < 0 || p.groups >= x.ndim()) {
    throw std::invalid_argument(msg("[", op, "] groups must be in [0, ", x.ndim() - 1, "] for x of shape ",
                                    x.shape(), ", got ", p.groups, "."));
  }
  for (size_t i = 1; i <= affine; ++i) {
    fast::check_affine(op, i == 1 && p.has_weight ? "weight" : "bias", x, inputs[i], p.groups);
    if (inputs[i].dtype() != x.dtype()) {
      throw std::invalid_argument(msg("[", op, "] The node's weight and bias must have x's dtype ",
                                      dtype_name(x.dtype()), ", got ", dtype_name(inputs[i].dtype()), "."));
    }
  }
  return x;
}

// Attention's inputs (q, k, v, [mask], [sinks], ...) checked: the sizes and the dtypes.
struct AttentionNode {
  fast::AttentionDims d;
  Dtype t, acc;
  size_t count;  // of the forward inputs
};

AttentionNode check_attention_node(const char* op, const std::vector<array>& in,
                                   const AttentionParams& p, size_t extra) {
  const size_t count = 3 + size_t(p.mask != MaskKind::none) + size_t(p.has_sinks);
  expect_count(op, in, count + extra);
  AttentionNode a{fast::attention_dims(op, in[0], in[1], in[2]), Dtype::float32, Dtype::float32, count};
  a.t = fast::node_qkv_dtype(op, in[0], in[1], in[2]);
  a.acc = accumulate_dtype(a.t);
  size_t i = 3;
  if (p.mask != MaskKind::none) {
    expect_exact(op, "The node's mask", in[i++], Shape{a.d.B, a.d.Hq, a.d.L, a.d.S},
                 p.mask == MaskKind::boolean ? Dtype::bool_ : a.acc);
  }
  if (p.has_sinks) expect_exact(op, "The node's sinks", in[i++], Shape{a.d.Hq}, a.acc);
  return a;
}

// The gated delta rule's inputs (q, k, v, gamma, beta, state, [mask], ...) checked; returns
// q's dtype.
Dtype check_delta_node(const char* op, const std::vector<array>& in, const DeltaParams& p, size_t extra) {
  expect_count(op, in, 6 + size_t(p.has_mask) + extra);
  fast::check_delta_shapes(op, in[0], in[1], in[2], in[3], in[4], &in[5], p.has_mask ? &in[6] : nullptr);
  const Dtype t = fast::node_qkv_dtype(op, in[0], in[1], in[2]), acc = accumulate_dtype(t);
  for (int i = 3; i < 6; ++i) {
    if (in[i].dtype() != acc) {
      throw std::invalid_argument(msg("[", op, "] The node's gamma, beta and state must be ", dtype_name(acc),
                                      " for q of dtype ", dtype_name(t), ", got ", dtype_name(in[i].dtype()), "."));
    }
  }
  if (p.has_mask && in[6].dtype() != Dtype::bool_) {
    throw std::invalid_argument(msg("[", op, "] The node's mask must be bool, got ", dtype_name(in[6].dtype()), "."));
  }
  return t;
}

}  // namespace

array norm_node(bool layer, std::vector<array> inputs, const NormParams& p) {
  const char* op = layer ? "layer_norm" : "rms_norm";
  const array& x = check_norm_node(op, layer, inputs, p, size_t(p.has_weight) + size_t(p.has_bias), 0);
  Shape shape = x.shape();
  Dtype dtype = x.dtype();
  if (layer) return make_node<LayerNorm>(std::move(shape), dtype, std::move(inputs), p);
  return make_node<RMSNorm>(std::move(shape), dtype, std::move(inputs), p);
}

std::vector<array> norm_vjp_nodes(bool layer, std::vector<array> inputs, const NormParams& p) {
  const char* op = layer ? "layer_norm" : "rms_norm";
  const array& x = check_norm_node(op, layer, inputs, p, size_t(p.has_weight), 1);
  expect_exact(op, "The cotangent", inputs.back(), x.shape(), x.dtype());
  std::vector<Shape> shapes{x.shape()};
  std::vector<Dtype> dtypes{x.dtype()};
  for (int i = 0; i < int(p.has_weight) + int(layer && p.has_bias); ++i) {
    shapes.push_back(p.weight_shape(x.shape()));
    dtypes.push_back(x.dtype());
  }
  if (layer) return make_nodes<LayerNormVJP>(std::move(shapes), std::move(dtypes), std::move(inputs), p);
  return make_nodes<RMSNormVJP>(std::move(shapes), std::move(dtypes), std::move(inputs), p);
}

array rope_node(std::vector<array> inputs, const RopeParams& p) {
  const char* op = "rope";
  if (inputs.size() != 2 && inputs.size() != 3) expect_count(op, inputs, p.base ? 2 : 3);
  fast::check_base_or_freqs(op, p.base.has_value(), inputs.size() == 3);
  const array& a = inputs[0];
  fast::check_rope_input(op, a, p.dims);
  expect_exact(op, "The node's offsets", inputs[1], fast::lead_shape(a, 2), Dtype::int32);
  if (!p.base) expect_exact(op, "The node's freqs", inputs[2], Shape{p.dims / 2}, accumulate_dtype(a.dtype()));
  Shape shape = a.shape();
  Dtype dtype = a.dtype();
  return make_node<RoPE>(std::move(shape), dtype, std::move(inputs), p);
}

std::vector<array> attention_nodes(std::vector<array> inputs, const AttentionParams& p) {
  auto a = check_attention_node("scaled_dot_product_attention", inputs, p, 0);
  return make_nodes<ScaledDotProductAttention>({Shape{a.d.B, a.d.Hq, a.d.L, a.d.Dv}, Shape{a.d.B, a.d.Hq, a.d.L}},
                                               {a.t, a.acc}, std::move(inputs), p);
}

std::vector<array> attention_vjp_nodes(std::vector<array> inputs, const AttentionParams& p) {
  const char* op = "scaled_dot_product_attention";
  auto a = check_attention_node(op, inputs, p, 3);
  const Shape out{a.d.B, a.d.Hq, a.d.L, a.d.Dv};
  expect_exact(op, "The node's output", inputs[a.count], out, a.t);
  expect_exact(op, "The node's lse", inputs[a.count + 1], Shape{a.d.B, a.d.Hq, a.d.L}, a.acc);
  expect_exact(op, "The cotangent", inputs[a.count + 2], out, a.t);
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  std::vector<size_t> grads{0, 1, 2};  // of q, k, v [, sinks]
  if (p.has_sinks) grads.push_back(a.count - 1);
  for (size_t i : grads) {
    shapes.push_back(inputs[i].shape());
    dtypes.push_back(inputs[i].dtype());
  }
  return make_nodes<ScaledDotProductAttentionVJP>(std::move(shapes), std::move(dtypes), std::move(inputs), p);
}

array cross_entropy_vjp_node(std::vector<array> inputs) {
  const char* op = "cross_entropy";
  expect_count(op, inputs, 3);
  const array& logits = inputs[0];
  if (logits.ndim() == 0) {
    throw std::invalid_argument(msg("[", op, "] logits must have at least 1 dimension (classes last)."));
  }
  fast::require_floating(op, "logits", logits);
  const Shape rows = fast::lead_shape(logits, 1);
  expect_exact(op, "The node's targets", inputs[1], rows, Dtype::int32);
  expect_exact(op, "The cotangent", inputs[2], rows, accumulate_dtype(logits.dtype()));
  Shape shape = logits.shape();
  Dtype dtype = logits.dtype();
  return make_node<CrossEntropyVJP>(std::move(shape), dtype, std::move(inputs));
}

std::vector<array> gated_delta_nodes(std::vector<array> inputs, const DeltaParams& p) {
  const Dtype t = check_delta_node("gated_delta_update", inputs, p, 0);
  const array &q = inputs[0], &v = inputs[2], &state = inputs[5];
  std::vector<Shape> shapes{Shape{q.shape(0), q.shape(1), v.shape(2), v.shape(3)}, state.shape()};
  std::vector<Dtype> dtypes{t, state.dtype()};
  return make_nodes<GatedDeltaUpdate>(std::move(shapes), std::move(dtypes), std::move(inputs), p);
}

std::vector<array> gated_delta_vjp_nodes(std::vector<array> inputs, const DeltaParams& p) {
  const char* op = "gated_delta_update";
  const Dtype t = check_delta_node(op, inputs, p, 2);
  const array &q = inputs[0], &v = inputs[2], &state = inputs[5];
  const size_t n = inputs.size() - 2;
  expect_exact(op, "The cotangent of y", inputs[n], Shape{q.shape(0), q.shape(1), v.shape(2), v.shape(3)}, t);
  expect_exact(op, "The cotangent of the state", inputs[n + 1], state.shape(), state.dtype());
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  for (int i = 0; i < 6; ++i) {
    shapes.push_back(inputs[i].shape());
    dtypes.push_back(inputs[i].dtype());
  }
  return make_nodes<GatedDeltaUpdateVJP>(std::move(shapes), std::move(dtypes), std::move(inputs), p);
}

}  // namespace ember::detail

namespace ember::fast {

array rms_norm(const array& x, const std::optional<array>& weight, float eps) {
  const char* op = "rms_norm";
  check_norm_input(op, x);
  Dtype out = x.dtype();
  if (weight) {
    check_affine(op, "weight", x, *weight, 0);
    out = promote_types(out, weight->dtype());
  }
  std::vector<array> inputs{cast(x, out)};
  if (weight) inputs.push_back(cast(*weight, out));
  return detail::norm_node(false, std::move(inputs), NormParams{eps, bool(weight), false, 0});
}

array layer_norm(const array& x, const std::optional<array>& weight,
                 const std::optional<array>& bias, float eps) {
  const char* op = "layer_norm";
  check_norm_input(op, x);
  Dtype out = x.dtype();
  if (weight) {
    check_affine(op, "weight", x, *weight, 0);
    out = promote_types(out, weight->dtype());
  }
  if (bias) check_affine(op, "bias", x, *bias, 0);
  std::vector<array> inputs{cast(x, out)};
  if (weight) inputs.push_back(cast(*weight, out));
  if (bias) inputs.push_back(cast(*bias, out));
  return detail::norm_node(true, std::move(inputs), NormParams{eps, bool(weight), bool(bias), 0});
}

array rope(const array& a, int dims, bool traditional, std::optional<double> base, double scale,
           const array& offset, const std::optional<array>& freqs) {
  const char* op = "rope";
  check_rope_input(op, a, dims);
  check_base_or_freqs(op, base.has_value(), freqs.has_value());
  Dtype acc = accumulate_dtype(a.dtype());
  std::vector<array> inputs{a};
  if (!is_integral(offset.dtype())) {
    throw type_error(msg("[", op, "] offset must be an integer, got dtype ", dtype_name(offset.dtype()), "."));
  }
  Shape lead = lead_shape(a, 2);
  array off = cast(offset, Dtype::int32);
  if (offset.ndim() == 1 && offset.shape(0) == a.shape(0)) {
    Shape s(lead.size(), 1);
    s[0] = a.shape(0);
    off = reshape(off, s);
  } else if (offset.ndim() != 0) {
    throw std::invalid_argument(msg("[", op, "] offset must be a scalar or a vector of B = ", a.shape(0),
                                    " offsets (the input's first axis), got shape ", offset.shape(), "."));
  }
  inputs.push_back(broadcast_to(off, lead));
  if (freqs) {
    require_floating(op, "freqs", *freqs);
    if (freqs->ndim() != 1 || freqs->shape(0) != dims / 2) {
      throw std::invalid_argument(msg("[", op, "] freqs must be one-dimensional of size dims / 2 = ", dims / 2,
                                      ", got shape ", freqs->shape(), "."));
    }
    inputs.push_back(cast(*freqs, acc));
  }
  return detail::rope_node(std::move(inputs), RopeParams{dims, traditional, base, scale, false});
}

array rope(const array& a, int dims, bool traditional, std::optional<double> base, double scale,
           int offset, const std::optional<array>& freqs) {
  return rope(a, dims, traditional, base, scale, array(int32_t(offset)), freqs);
}

array scaled_dot_product_attention(const array& q, const array& k, const array& v, double scale,
                                   const std::string& mask_mode, const std::optional<array>& mask,
                                   const std::optional<array>& sinks) {
  const char* op = "scaled_dot_product_attention";
  const AttentionDims d = attention_dims(op, q, k, v);
  Dtype t = qkv_dtype(op, q, k, v);
  Dtype acc = accumulate_dtype(t);
  bool causal = false;
  if (mask_mode == "causal") {
    causal = true;
  } else if (!mask_mode.empty()) {
    throw std::invalid_argument(msg("[", op, "] Invalid mask option '", mask_mode,
                                    "': a mask is 'causal' or an array."));
  }
  std::vector<array> inputs{cast(q, t), cast(k, t), cast(v, t)};
  MaskKind kind = MaskKind::none;
  const Shape scores{d.B, d.Hq, d.L, d.S};
  if (mask) {
    bool fits = mask->ndim() <= 4;
    for (int i = 1; fits && i <= mask->ndim(); ++i) {
      const int64_t m = mask->shape(-i);
      fits = m == 1 || m == scores[4 - i];
    }
    if (!fits) {
      throw std::invalid_argument(msg("[", op, "] The mask (shape ", mask->shape(),
                                      ") must broadcast to the scores' shape (B, Hq, L, S) = ", scores, "."));
    }
    if (mask->dtype() == Dtype::bool_) {
      kind = MaskKind::boolean;
      inputs.push_back(broadcast_to(*mask, scores));
    } else {
      if (is_complex(mask->dtype()) || promote_types(mask->dtype(), t) != t) {
        throw std::invalid_argument(msg("[", op, "] An additive mask's dtype (", dtype_name(mask->dtype()),
                                        ") must promote to the output dtype ", dtype_name(t), "."));
      }
      kind = MaskKind::additive;
      inputs.push_back(broadcast_to(cast(*mask, acc), scores));
    }
  }
  if (sinks) {
    if (sinks->ndim() != 1 || sinks->shape(0) != d.Hq) {
      throw std::invalid_argument(msg("[", op, "] sinks must have shape (Hq,) = (", d.Hq, ",), got ",
                                      sinks->shape(), "."));
    }
    require_floating(op, "sinks", *sinks);
    inputs.push_back(cast(*sinks, acc));
  }
  return detail::attention_nodes(std::move(inputs), AttentionParams{scale, causal, kind, bool(sinks)})[0];
}

array cross_entropy(const array& logits, const array& targets) {
  const char* op = "cross_entropy";
  if (logits.ndim() == 0) {
    throw std::invalid_argument(msg("[", op, "] logits must have at least 1 dimension (classes last)."));
  }
  require_floating(op, "logits", logits);
  if (!is_integral(targets.dtype())) {
    throw type_error(msg("[", op, "] targets must be integer class indices, got dtype ",
                         dtype_name(targets.dtype()), "."));
  }
  if (targets.shape() != lead_shape(logits, 1)) {
    throw std::invalid_argument(msg("[", op, "] targets (shape ", targets.shape(),
                                    ") must have the shape of logits (shape ", logits.shape(),
                                    ") without its last axis."));
  }
  return make_node<CrossEntropy>(targets.shape(), accumulate_dtype(logits.dtype()),
                                 {logits, cast(targets, Dtype::int32)});
}

std::vector<array> gated_delta_update(const array& q, const array& k, const array& v,
                                      const array& gamma, const array& beta,
                                      const std::optional<array>& state,
                                      const std::optional<array>& mask) {
  const char* op = "gated_delta_update";
  check_delta_shapes(op, q, k, v, gamma, beta, state ? &*state : nullptr, mask ? &*mask : nullptr);
  Dtype t = qkv_dtype(op, q, k, v);
  for (auto* p : {&gamma, &beta}) {
    if (is_complex(p->dtype())) throw type_error(msg("[", op, "] gamma and beta must be real."));
  }
  Dtype acc = accumulate_dtype(t);
  const int64_t B = q.shape(0), Hv = v.shape(2), Dv = v.shape(3), Dk = q.shape(3);
  std::vector<array> inputs{cast(q, t), cast(k, t), cast(v, t), cast(gamma, acc), cast(beta, acc),
                            state ? cast(*state, acc) : zeros({B, Hv, Dv, Dk}, acc)};
  if (mask) inputs.push_back(cast(*mask, Dtype::bool_));
  return detail::gated_delta_nodes(std::move(inputs), DeltaParams{bool(mask)});
}

std::vector<array> custom_kernel(const KernelSpec& spec, const std::vector<array>& inputs,
                                 const std::vector<Shape>& output_shapes,
                                 const std::vector<Dtype>& output_dtypes,
                                 std::tuple<int, int, int> grid, std::tuple<int, int, int> threadgroup,
                                 const std::vector<std::pair<std::string, TemplateArg>>& template_args,
                                 std::optional<float> init_value,
                                 const std::vector<std::variant<bool, int64_t, double>>& scalars) {
  const char* op = spec.backend == "metal" ? "metal_kernel" : spec.backend == "cuda" ? "cuda_kernel"
                                                                                     : "precompiled_cuda_kernel";
  if (spec.backend != "cuda_precompiled" && inputs.size() != spec.input_names.size()) {
    throw std::invalid_argument(msg("[", op, "] The kernel '", spec.name, "' names ", spec.input_names.size(),
                                    " inputs but was called with ", inputs.size(), "."));
  }
  if (output_shapes.size() != output_dtypes.size()) {
    throw std::invalid_argument(msg("[", op, "] output_shapes and output_dtypes must have the same length, got ",
                                    output_shapes.size(), " and ", output_dtypes.size(), "."));
  }
  if (spec.backend != "cuda_precompiled" && output_shapes.size() != spec.output_names.size()) {
    throw std::invalid_argument(msg("[", op, "] The kernel '", spec.name, "' names ", spec.output_names.size(),
                                    " outputs but ", output_shapes.size(), " output shapes were given."));
  }
  if (output_shapes.empty()) {
    throw std::invalid_argument(msg("[", op, "] A kernel needs at least one output."));
  }
  for (int d : {std::get<0>(grid), std::get<1>(grid), std::get<2>(grid), std::get<0>(threadgroup),
                std::get<1>(threadgroup), std::get<2>(threadgroup)}) {
    if (d <= 0) {
      throw std::invalid_argument(msg("[", op, "] grid and threadgroup sizes must be positive."));
    }
  }
  for (auto& s : output_shapes) shape_size(s, op);
  std::vector<array> in;
  for (auto& a : inputs) in.push_back(spec.ensure_row_contiguous ? contiguous(a) : a);
  return make_nodes<CustomKernel>(output_shapes, output_dtypes, std::move(in), spec, grid, threadgroup,
                                  template_args, init_value, scalars);
}

// ---- compositions --------------------------------------------------------------------

namespace reference {

namespace {
// The value kernels give masked scores: the lowest finite number, so a row whose keys are
// all masked averages them uniformly (as MLX does) while any visible key takes all weight.
array masked_value(Dtype acc) {
  return detail::scalar(acc == Dtype::float64 ? std::numeric_limits<double>::lowest()
                                              : double(std::numeric_limits<float>::lowest()),
                        acc);
}
}  // namespace

array rms_norm(const array& x, const std::optional<array>& weight, float eps) {
  Dtype out = weight ? promote_types(x.dtype(), weight->dtype()) : x.dtype();
  array xf = cast(x, accumulate_dtype(out));
  array r = rsqrt(add(mean(square(xf), std::vector<int>{-1}, true), detail::scalar(eps, xf.dtype())));
  array y = multiply(xf, r);
  if (weight) y = multiply(y, cast(*weight, xf.dtype()));
  return cast(y, out);
}

array layer_norm(const array& x, const std::optional<array>& weight,
                 const std::optional<array>& bias, float eps) {
  Dtype out = weight ? promote_types(x.dtype(), weight->dtype()) : x.dtype();
  array xf = cast(x, accumulate_dtype(out));
  array mu = mean(xf, std::vector<int>{-1}, true);
  array d = subtract(xf, mu);
  array var_ = mean(square(d), std::vector<int>{-1}, true);
  array y = multiply(d, rsqrt(add(var_, detail::scalar(eps, xf.dtype()))));
  if (weight) y = multiply(y, cast(*weight, xf.dtype()));
  if (bias) y = add(y, cast(*bias, xf.dtype()));
  return cast(y, out);
}

array rope(const array& a, int dims, bool traditional, const array& offset, const array& inv_freq,
           double scale, bool inverse) {
  Dtype acc = accumulate_dtype(a.dtype());
  const int64_t T = a.shape(-2), half = dims / 2;
  // theta[..., t, i] = (offset[...] + t) * scale * inv_freq[i]
  array pos = add(expand_dims(cast(offset, acc), {-1}), arange(0, double(T), 1, acc));
  pos = multiply(pos, detail::scalar(scale, acc));
  array theta = multiply(expand_dims(pos, {-1}), cast(inv_freq, acc));
  array c = cos(theta), s = sin(theta);
  if (inverse) s = negative(s);
  array af = cast(a, acc);
  const int nd = a.ndim();
  auto cut = [&](int64_t start, int64_t stop, int64_t step) {
    std::vector<int64_t> b(nd, 0), e(a.shape().begin(), a.shape().end()), st(nd, 1);
    b[nd - 1] = start;
    e[nd - 1] = stop;
    st[nd - 1] = step;
    return slice(af, b, e, st);
  };
  array x1 = traditional ? cut(0, dims, 2) : cut(0, half, 1);
  array x2 = traditional ? cut(1, dims, 2) : cut(half, dims, 1);
  array y1 = subtract(multiply(x1, c), multiply(x2, s));
  array y2 = add(multiply(x1, s), multiply(x2, c));
  array rot = traditional ? reshape(stack({y1, y2}, -1), [&] {
    Shape s2 = y1.shape();
    s2.back() = dims;
    return s2;
  }())
                          : concatenate({y1, y2}, -1);
  if (dims < a.shape(-1)) rot = concatenate({rot, cut(dims, a.shape(-1), 1)}, -1);
  return cast(rot, a.dtype());
}

array scaled_dot_product_attention(const array& q, const array& k, const array& v, double scale,
                                   bool causal, const std::optional<array>& mask,
                                   const std::optional<array>& sinks, array* lse) {
  Dtype t = q.dtype();
  Dtype acc = accumulate_dtype(t);
  const int64_t Hq = q.shape(1), Hkv = k.shape(1), L = q.shape(2), S = k.shape(2);
  array kk = cast(k, acc), vv = cast(v, acc);
  if (Hq != Hkv) {
    kk = repeat(kk, Hq / Hkv, 1);
    vv = repeat(vv, Hq / Hkv, 1);
  }
  array s = matmul(multiply(cast(q, acc), detail::scalar(scale, acc)), swapaxes(kk, -1, -2));
  if (causal) {
    array i = expand_dims(arange(0, double(L), 1, Dtype::int32), {-1});
    array j = arange(0, double(S), 1, Dtype::int32);
    s = where(greater_equal(add(i, array(int32_t(S - L))), j), s, masked_value(acc));
  }
  if (mask) {
    s = mask->dtype() == Dtype::bool_ ? where(*mask, s, masked_value(acc)) : add(s, cast(*mask, acc));
  }
  array p;
  if (sinks) {
    Shape col = s.shape();
    col.back() = 1;
    array sk = broadcast_to(reshape(cast(*sinks, acc), {1, Hq, 1, 1}), col);
    s = concatenate({sk, s}, -1);
    array full_p = softmax(s, std::vector<int>{-1});
    std::vector<int64_t> b(4, 0), e(full_p.shape().begin(), full_p.shape().end()), st(4, 1);
    b[3] = 1;
    p = slice(full_p, b, e, st);
  } else {
    p = softmax(s, std::vector<int>{-1});
  }
  if (lse) *lse = logsumexp(s, std::vector<int>{-1});
  return cast(matmul(p, vv), t);
}

array cross_entropy(const array& logits, const array& targets) {
  Dtype acc = accumulate_dtype(logits.dtype());
  array x = cast(logits, acc);
  const int64_t C = logits.shape(-1);
  array t = cast(targets, Dtype::int32);
  array idx = where(less(t, array(int32_t(0))), add(t, array(int32_t(C))), t);
  array valid = logical_and(greater_equal(idx, array(int32_t(0))), less(idx, array(int32_t(C))));
  array safe = where(valid, idx, array(int32_t(0)));
  array picked = squeeze(take_along_axis(x, expand_dims(safe, {-1}), -1), {-1});
  return subtract(logsumexp(x, std::vector<int>{-1}), where(valid, picked, zeros({}, acc)));
}

std::vector<array> gated_delta_update(const array& q, const array& k, const array& v,
                                      const array& gamma, const array& beta, const array& state,
                                      const std::optional<array>& mask) {
  Dtype t = to_inexact(promote_types(promote_types(q.dtype(), k.dtype()), v.dtype()));
  Dtype acc = accumulate_dtype(t);
  const int64_t T = q.shape(1), Hk = q.shape(2), Hv = v.shape(2);
  array qq = cast(q, acc), kk = cast(k, acc), vv = cast(v, acc);
  if (Hv != Hk) {
    qq = repeat(qq, Hv / Hk, 2);
    kk = repeat(kk, Hv / Hk, 2);
  }
  array g = cast(gamma, acc), b = cast(beta, acc);
  array S = cast(state, acc);  // (B, Hv, Dv, Dk)
  std::vector<array> ys;
  auto step = [&](const array& a, int64_t i) {  // a[:, i]
    std::vector<int64_t> s0(a.ndim(), 0), s1(a.shape().begin(), a.shape().end()), st(a.ndim(), 1);
    s0[1] = i;
    s1[1] = i + 1;
    return squeeze(slice(a, s0, s1, st), {1});
  };
  for (int64_t i = 0; i < T; ++i) {
    array qt = expand_dims(step(qq, i), {2}), kt = expand_dims(step(kk, i), {2});  // (B, Hv, 1, Dk)
    array vt = step(vv, i);                                                      // (B, Hv, Dv)
    array gt = step(g, i);
    gt = gt.ndim() == 2 ? expand_dims(gt, {2, 3}) : expand_dims(gt, {2});
    array bt = expand_dims(step(b, i), {2});
    array decayed = multiply(S, gt);
    array kv = sum(multiply(decayed, kt), std::vector<int>{-1});
    array delta = multiply(subtract(vt, kv), bt);
    array next = add(decayed, multiply(expand_dims(delta, {-1}), kt));
    array y = sum(multiply(next, qt), std::vector<int>{-1});  // (B, Hv, Dv)
    if (mask) {
      array m = step(*mask, i);  // (B,)
      next = where(expand_dims(m, {1, 2, 3}), next, S);
      y = where(expand_dims(m, {1, 2}), y, zeros({}, acc));
    }
    S = next;
    ys.push_back(cast(y, t));
  }
  array y = T > 0 ? stack(ys, 1) : zeros({q.shape(0), 0, Hv, v.shape(3)}, t);
  return {y, S};
}

}  // namespace reference

}  // namespace ember::fast
