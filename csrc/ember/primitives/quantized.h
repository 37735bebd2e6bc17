// Primitives of the quantized family: Quantize, Dequantize, QuantizedMatmul, GatherQMM,
// QQMatmul, GatherQQMM, ToFP8 and FromFP8. The packed layout is MLX's (see ops/quantized.h);
// the kernels (backend/cpu/quantized.cpp) read the packed words directly.
#pragma once

#include <string>

#include "ember/primitives/primitive.h"

namespace ember {

/// The quantization formats. affine: per group of group_size elements a scale and a bias
/// (w ~ scale * q + bias, q an unsigned integer of `bits` bits); mxfp4 / mxfp8: E2M1 / E4M3
/// elements with one E8M0 (power of two) scale per 32; nvfp4: E2M1 elements with one E4M3
/// scale per 16 (and an optional per-tensor float32 global scale).
enum class QuantMode : uint8_t { affine, mxfp4, mxfp8, nvfp4 };

/// A format with its group size and bits, checked by the ops.
struct QuantSpec {
  QuantMode mode = QuantMode::affine;
  int group_size = 64;
  int bits = 4;
  bool affine() const { return mode == QuantMode::affine; }
  bool operator==(const QuantSpec& o) const {
    return mode == o.mode && group_size == o.group_size && bits == o.bits;
  }
};

EMBER_API const char* quant_mode_name(QuantMode mode);

/// w (..., K) -> packed (..., K * bits / 32) uint32, scales (..., K / group_size) and, for
/// affine, biases (same shape, w's dtype). Inputs: w [, global_scale (nvfp4)].
class EMBER_API Quantize : public Primitive {
 public:
  explicit Quantize(QuantSpec spec) : spec_(spec) {}
  const char* name() const override { return "Quantize"; }
  EMBER_MULTI_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;
  const QuantSpec& spec() const { return spec_; }

 private:
  QuantSpec spec_;
};

/// The matrix a packed one stands for. Inputs: w, scales [, biases (affine)]
/// [, global_scale (nvfp4)]; the output dtype is the node's.
class EMBER_API Dequantize : public Primitive {
 public:
  Dequantize(QuantSpec spec, bool has_global_scale, Dtype out_dtype)
      : spec_(spec), has_global_scale_(has_global_scale), out_dtype_(out_dtype) {}
  const char* name() const override { return "Dequantize"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  QuantSpec spec_;
  bool has_global_scale_;
  Dtype out_dtype_;
};

/// x (..., M, K) @ W.T (transpose) or x @ W with W given packed: inputs x, w, scales
/// [, biases]. Batch dims of x and of (w, scales, biases) broadcast like matmul's; the
/// kernel never materializes W.
class EMBER_API QuantizedMatmul : public Primitive {
 public:
  QuantizedMatmul(QuantSpec spec, bool transpose) : spec_(spec), transpose_(transpose) {}
  const char* name() const override { return "QuantizedMatmul"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  QuantSpec spec_;
  bool transpose_;
};

/// quantized_matmul of x's matrix lhs[i] with w's matrix rhs[i] (flat batch indices) for
/// every position i of the (broadcast) index arrays. Inputs: x, w, scales [, biases], lhs,
/// rhs; the output is (*lhs.shape, M, N).
class EMBER_API GatherQMM : public Primitive {
 public:
  GatherQMM(QuantSpec spec, bool transpose) : spec_(spec), transpose_(transpose) {}
  const char* name() const override { return "GatherQMM"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  QuantSpec spec_;
  bool transpose_;
};

/// Both operands quantized: Q(x) @ Q(w).T, where Q is a round trip through the format
/// (quantize then dequantize, along K). Inputs: x, w, then scales when w is packed, then
/// the global scales of x and of w when given (nvfp4). Gradients pass straight through Q
/// (a float w gets one; a packed w none). With lhs / rhs indices (gather=true, the last two
/// inputs) it is gather_qqmm.
class EMBER_API QQMatmul : public Primitive {
 public:
  QQMatmul(QuantSpec spec, bool w_packed, bool has_gsx, bool has_gsw, bool gather)
      : spec_(spec), w_packed_(w_packed), has_gsx_(has_gsx), has_gsw_(has_gsw), gather_(gather) {}
  const char* name() const override { return gather_ ? "GatherQQMM" : "QQMatmul"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  QuantSpec spec_;
  bool w_packed_, has_gsx_, has_gsw_, gather_;
};

/// Floats to E4M3 bytes (uint8): round to nearest even, saturating at +-448 (NaN too, as
/// MLX's CPU kernel does).
class EMBER_API ToFP8 : public Primitive {
 public:
  const char* name() const override { return "ToFP8"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// E4M3 bytes to the node's float dtype.
class EMBER_API FromFP8 : public Primitive {
 public:
  explicit FromFP8(Dtype dtype) : out_dtype_(dtype) {}
  const char* name() const override { return "FromFP8"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  Dtype out_dtype_;
};

}  // namespace ember
