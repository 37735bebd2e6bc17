// mlx.core.fast: fused kernels for the hot spots of transformer models (normalizations,
// rotary embeddings, attention, cross entropy, the gated delta rule) and the entry points
// of user-written GPU kernels. Each math op is one primitive with a CPU kernel that
// accumulates in float32 (float64 for float64 inputs) and its own transform rules; the
// `reference` forms below are the same math as plain compositions of ops, which the rules
// use where a fused backward would not pay and the tests compare against.
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "ember/array.h"

namespace ember::fast {

/// x / sqrt(mean(x^2, -1) + eps) * weight over the last axis (weight (D,) or none).
/// The result has the promoted dtype of x and weight.
EMBER_API array rms_norm(const array& x, const std::optional<array>& weight, float eps);
/// (x - mean) / sqrt(var + eps) * weight + bias over the last axis (each optional, (D,)).
EMBER_API array layer_norm(const array& x, const std::optional<array>& weight,
                           const std::optional<array>& bias, float eps);

/// Rotary positional encoding of a (B, *, T, D): the first `dims` features of position t
/// turn by (offset + t) * scale * base^(-2i / dims) (or (offset + t) * scale / freqs[i]),
/// in pairs (x_2i, x_2i+1) when traditional, else (x_i, x_i+dims/2). offset is an integer
/// scalar or a (B,) vector of per-example offsets.
EMBER_API array rope(const array& a, int dims, bool traditional, std::optional<double> base,
                     double scale, const array& offset,
                     const std::optional<array>& freqs = std::nullopt);
EMBER_API array rope(const array& a, int dims, bool traditional, std::optional<double> base,
                     double scale, int offset, const std::optional<array>& freqs = std::nullopt);

/// softmax(q k^T * scale + mask) v for q (B, Hq, L, D), k (B, Hkv, S, D), v (B, Hkv, S, Dv),
/// Hq a multiple of Hkv (grouped-query / multi-query heads read k and v head h / (Hq/Hkv)).
/// mask_mode is "" or "causal" (lower-right aligned); mask an additive or boolean array
/// broadcastable to (B, Hq, L, S); sinks (Hq,) one extra logit per head whose value is 0.
/// Runs tiled with an online softmax: the (L, S) score matrix is never stored.
EMBER_API array scaled_dot_product_attention(const array& q, const array& k, const array& v,
                                             double scale, const std::string& mask_mode = "",
                                             const std::optional<array>& mask = std::nullopt,
                                             const std::optional<array>& sinks = std::nullopt);

/// logsumexp(logits, -1) - logits[..., target] per row, in float32 (float64 logits:
/// float64). A negative target counts from the end; one outside [-C, C) contributes 0.
EMBER_API array cross_entropy(const array& logits, const array& targets);

/// The gated delta rule (Gated DeltaNet's recurrence). For each step t and value head h
/// with state S (Dv, Dk): S <- gamma_t S (gamma a scalar or a (Dk,) row scale), then
/// S <- S + beta_t (v_t - S k_t) k_t^T, y_t = S q_t. q, k (B, T, Hk, Dk), v (B, T, Hv, Dv),
/// gamma (B, T, Hv) or (B, T, Hv, Dk), beta (B, T, Hv), state (B, Hv, Dv, Dk) (zeros when
/// none), mask (B, T) bool (a false step leaves the state and outputs 0). Returns
/// (y (B, T, Hv, Dv) in the inputs' dtype, the final state in float32).
EMBER_API std::vector<array> gated_delta_update(const array& q, const array& k, const array& v,
                                                const array& gamma, const array& beta,
                                                const std::optional<array>& state = std::nullopt,
                                                const std::optional<array>& mask = std::nullopt);

// ---- user-written kernels (CUDA / Metal source): see primitives/fast.h CustomKernel ----

/// A template argument of a custom kernel: an int, a bool or a dtype.
using TemplateArg = std::variant<int, bool, Dtype>;

/// What a custom kernel is: its source and how it is called (the factory's arguments).
struct KernelSpec {
  std::string backend;  // "cuda", "cuda_precompiled" or "metal"
  std::string name;
  std::vector<std::string> input_names, output_names;
  std::string source, header;
  std::string compiled_source;  // PTX / cubin bytes (precompiled kernels)
  bool ensure_row_contiguous = true;
  bool atomic_outputs = false;
  int shared_memory = 0;
};

/// One launch of a custom kernel: its outputs, computed by the CustomKernel primitive.
EMBER_API std::vector<array> custom_kernel(
    const KernelSpec& spec, const std::vector<array>& inputs,
    const std::vector<Shape>& output_shapes, const std::vector<Dtype>& output_dtypes,
    std::tuple<int, int, int> grid, std::tuple<int, int, int> threadgroup,
    const std::vector<std::pair<std::string, TemplateArg>>& template_args = {},
    std::optional<float> init_value = std::nullopt,
    const std::vector<std::variant<bool, int64_t, double>>& scalars = {});

// ---- the same math as compositions of ordinary ops (rules and tests use these) ----
namespace reference {
EMBER_API array rms_norm(const array& x, const std::optional<array>& weight, float eps);
EMBER_API array layer_norm(const array& x, const std::optional<array>& weight,
                           const std::optional<array>& bias, float eps);
/// offset: int32, a.shape[:-2] (per leading index); freqs: the periods (dims / 2,).
EMBER_API array rope(const array& a, int dims, bool traditional, const array& offset,
                     const array& periods, double scale, bool inverse);
/// lse, when given, receives the log of each row's softmax denominator.
EMBER_API array scaled_dot_product_attention(const array& q, const array& k, const array& v,
                                             double scale, bool causal,
                                             const std::optional<array>& mask,
                                             const std::optional<array>& sinks,
                                             array* lse = nullptr);
EMBER_API array cross_entropy(const array& logits, const array& targets);
EMBER_API std::vector<array> gated_delta_update(const array& q, const array& k, const array& v,
                                                const array& gamma, const array& beta,
                                                const array& state,
                                                const std::optional<array>& mask);
}  // namespace reference

}  // namespace ember::fast
