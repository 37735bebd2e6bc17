// The fused primitives of mlx.core.fast (kernels in backend/cpu/fast.cpp and
// backend/cpu/fast_attention.cpp). Each forward primitive has a fused backward primitive
// where one pass over the data pays (norms, attention, cross entropy, the gated delta
// rule); the rules of the backward primitives (second order) and forward-mode rules go
// through the op compositions of ember::fast::reference, so they nest like any other rule.
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ember/ops/fast.h"
#include "ember/primitives/primitive.h"

namespace ember {

/// Parameters of RMSNorm / LayerNorm and their backward primitives. The weight and bias
/// (and their gradients) have shape x.shape[:groups] + (D,): groups is 0 for the ops, and
/// vmap adds the batch axis as a group when they differ per example.
struct NormParams {
  float eps = 0;
  bool has_weight = false, has_bias = false;
  int groups = 0;
  bool operator==(const NormParams&) const = default;
  /// The shape of the weight and bias for an x of shape x_shape.
  Shape weight_shape(const Shape& x_shape) const {
    Shape s(x_shape.begin(), x_shape.begin() + groups);
    s.push_back(x_shape.back());
    return s;
  }
};

/// Parameters of RoPE: without base, the inverse frequencies come from a freqs input;
/// inverse turns the other way (the transpose, which is the vjp).
struct RopeParams {
  int dims = 0;
  bool traditional = false;
  std::optional<double> base;
  double scale = 1;
  bool inverse = false;
  bool operator==(const RopeParams&) const = default;
};

/// What an attention mask input is.
enum class MaskKind { none, boolean, additive };

/// Parameters of attention and its backward primitive.
struct AttentionParams {
  double scale = 1;
  bool causal = false;
  MaskKind mask = MaskKind::none;
  bool has_sinks = false;
  bool operator==(const AttentionParams&) const = default;
};

/// Parameters of the gated delta rule and its backward primitive.
struct DeltaParams {
  bool has_mask = false;
  bool operator==(const DeltaParams&) const = default;
};

/// A fast primitive with parameters P: one accessor for them (what a backend's kernel
/// reads), and is_equivalent comparing them.
template <typename P>
class FastPrimitive : public Primitive {
 public:
  explicit FastPrimitive(P params) : params_(std::move(params)) {}
  const P& params() const { return params_; }
  bool is_equivalent(const Primitive& other) const override {
    return Primitive::is_equivalent(other) &&
           static_cast<const FastPrimitive<P>&>(other).params_ == params_;
  }

 protected:
  P params_;
};

/// y = x / sqrt(mean(x^2) + eps) * w over the last axis. Inputs (x, [w]), one dtype.
class EMBER_API RMSNorm : public FastPrimitive<NormParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "RMSNorm"; }
  EMBER_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// The gradients of RMSNorm in one pass: inputs (x, [w], cotangent), outputs (dx, [dw]),
/// dw summed over the rows of each group.
class EMBER_API RMSNormVJP : public FastPrimitive<NormParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "RMSNormVJP"; }
  EMBER_MULTI_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// y = (x - mean) / sqrt(var + eps) * w + b over the last axis. Inputs (x, [w], [b]).
class EMBER_API LayerNorm : public FastPrimitive<NormParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "LayerNorm"; }
  EMBER_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// The gradients of LayerNorm in one pass: inputs (x, [w], cotangent), outputs
/// (dx, [dw], [db]).
class EMBER_API LayerNormVJP : public FastPrimitive<NormParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "LayerNormVJP"; }
  EMBER_MULTI_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// Rotary embedding. Inputs (a, offset, [freqs]): offset int32 of shape a.shape[:-2] (the
/// first position of each (T, D) plane), freqs (dims / 2,) periods; without freqs the
/// inverse frequencies are base^(-2i / dims). Linear in a.
class EMBER_API RoPE : public FastPrimitive<RopeParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "RoPE"; }
  EMBER_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// Attention with an online softmax over key blocks. Inputs (q, k, v, [mask], [sinks]):
/// q (B, Hq, L, D), k (B, Hkv, S, D), v (B, Hkv, S, Dv); mask (B, Hq, L, S) (a broadcast
/// view: bool, or additive in the compute dtype); sinks (Hq,) in the compute dtype.
/// Outputs (out (B, Hq, L, Dv), lse (B, Hq, L)): lse is the log of each row's softmax
/// denominator (compute dtype), which the backward pass reuses; -inf marks a row with no
/// visible key, whose output is the mean of v over all keys.
class EMBER_API ScaledDotProductAttention : public FastPrimitive<AttentionParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "ScaledDotProductAttention"; }
  EMBER_MULTI_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// The attention backward pass, recomputing the probabilities block by block from lse.
/// Inputs (q, k, v, [mask], [sinks], out, lse, d_out); outputs (dq, dk, dv, [d_sinks]).
class EMBER_API ScaledDotProductAttentionVJP : public FastPrimitive<AttentionParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "ScaledDotProductAttentionVJP"; }
  EMBER_MULTI_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// logsumexp(logits) - logits[target] per row. Inputs (logits (..., C), targets int32
/// (...)); output in logits' dtype when float64, else float32.
class EMBER_API CrossEntropy : public Primitive {
 public:
  const char* name() const override { return "CrossEntropy"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// (softmax(logits) - onehot(target)) * cotangent in one pass. Inputs (logits, targets,
/// cotangent); output like logits.
class EMBER_API CrossEntropyVJP : public Primitive {
 public:
  const char* name() const override { return "CrossEntropyVJP"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// The gated delta rule over time. Inputs (q, k, v, gamma, beta, state, [mask]) as in
/// fast::gated_delta_update (gamma, beta and state float32 or float64, mask bool);
/// outputs (y, final state).
class EMBER_API GatedDeltaUpdate : public FastPrimitive<DeltaParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "GatedDeltaUpdate"; }
  EMBER_MULTI_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// Backpropagation through time of GatedDeltaUpdate: inputs (q, k, v, gamma, beta, state,
/// [mask], dy, d_final_state); outputs (dq, dk, dv, dgamma, dbeta, dstate). States are
/// recomputed from checkpoints every few steps, so memory stays O(state size * sqrt(T)).
class EMBER_API GatedDeltaUpdateVJP : public FastPrimitive<DeltaParams> {
 public:
  using FastPrimitive::FastPrimitive;
  const char* name() const override { return "GatedDeltaUpdateVJP"; }
  EMBER_MULTI_PRIMITIVE_RULES
  void serialize(ExportFields& fields) const override;
};

/// A user-written GPU kernel (mx.fast.cuda_kernel, precompiled_cuda_kernel, metal_kernel):
/// its source and launch parameters, kept in plain accessors for the backend that runs it.
/// The CPU has no way to run it: eval_cpu raises a ValueError naming the backend it needs.
/// It has no derivative and no batching rule (wrap it in custom_function to give it some).
class EMBER_API CustomKernel : public Primitive {
 public:
  CustomKernel(fast::KernelSpec spec, std::tuple<int, int, int> grid,
               std::tuple<int, int, int> threadgroup,
               std::vector<std::pair<std::string, fast::TemplateArg>> template_args,
               std::optional<float> init_value,
               std::vector<std::variant<bool, int64_t, double>> scalars)
      : spec_(std::move(spec)), grid_(grid), threadgroup_(threadgroup),
        template_args_(std::move(template_args)), init_value_(init_value),
        scalars_(std::move(scalars)) {}
  const char* name() const override { return "CustomKernel"; }
  EMBER_MULTI_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  /// Raises: a function file never carries code to run (see fast.cpp).
  void serialize(ExportFields& fields) const override;

  const fast::KernelSpec& spec() const { return spec_; }
  const std::string& backend() const { return spec_.backend; }
  const std::string& kernel_name() const { return spec_.name; }
  const std::vector<std::string>& input_names() const { return spec_.input_names; }
  const std::vector<std::string>& output_names() const { return spec_.output_names; }
  const std::string& source() const { return spec_.source; }
  const std::string& header() const { return spec_.header; }
  const std::string& compiled_source() const { return spec_.compiled_source; }
  bool ensure_row_contiguous() const { return spec_.ensure_row_contiguous; }
  bool atomic_outputs() const { return spec_.atomic_outputs; }
  int shared_memory() const { return spec_.shared_memory; }
  std::tuple<int, int, int> grid() const { return grid_; }
  std::tuple<int, int, int> threadgroup() const { return threadgroup_; }
  const std::vector<std::pair<std::string, fast::TemplateArg>>& template_args() const {
    return template_args_;
  }
  std::optional<float> init_value() const { return init_value_; }
  const std::vector<std::variant<bool, int64_t, double>>& scalars() const { return scalars_; }

 private:
  fast::KernelSpec spec_;
  std::tuple<int, int, int> grid_, threadgroup_;
  std::vector<std::pair<std::string, fast::TemplateArg>> template_args_;
  std::optional<float> init_value_;
  std::vector<std::variant<bool, int64_t, double>> scalars_;
};

namespace detail {

/// The builders of the fast nodes. Each checks that its inputs are exactly what the
/// primitive's kernel reads (their count for the parameters, shapes, dtypes), raising a
/// ValueError that names the op otherwise, and makes the node. The ops call them after
/// converting the user's arguments, the transform rules with the arrays they derive, and
/// import_function's loaders with a file's, so every fast node is checked here.
/// RMSNorm (layer false) or LayerNorm: inputs (x, [w], [b]).
EMBER_API array norm_node(bool layer, std::vector<array> inputs, const NormParams& p);
/// RMSNormVJP or LayerNormVJP: inputs (x, [w], cotangent); outputs (dx, [dw], [db]).
EMBER_API std::vector<array> norm_vjp_nodes(bool layer, std::vector<array> inputs, const NormParams& p);
/// RoPE: inputs (a, offsets, [freqs]).
EMBER_API array rope_node(std::vector<array> inputs, const RopeParams& p);
/// ScaledDotProductAttention: (out, lse).
EMBER_API std::vector<array> attention_nodes(std::vector<array> inputs, const AttentionParams& p);
/// ScaledDotProductAttentionVJP: (dq, dk, dv, [d_sinks]).
EMBER_API std::vector<array> attention_vjp_nodes(std::vector<array> inputs, const AttentionParams& p);
/// CrossEntropyVJP: inputs (logits, targets, cotangent).
EMBER_API array cross_entropy_vjp_node(std::vector<array> inputs);
/// GatedDeltaUpdate: (y, final state).
EMBER_API std::vector<array> gated_delta_nodes(std::vector<array> inputs, const DeltaParams& p);
/// GatedDeltaUpdateVJP: (dq, dk, dv, dgamma, dbeta, dstate).
EMBER_API std::vector<array> gated_delta_vjp_nodes(std::vector<array> inputs, const DeltaParams& p);

}  // namespace detail

}  // namespace ember
