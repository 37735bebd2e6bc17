// The conv family's one primitive: Convolution, in MLX's layout (input N...C, weight O...I).
// conv1d/2d/3d, conv_transpose*, conv_general and convolve all build it (ops/conv.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "ember/primitives/primitive.h"

namespace ember {

/// A convolution's parameters, one entry per spatial axis. Per axis, the input of size S
/// is dilated (d - 1 zeros between neighbours: size (S - 1) * d + 1), padded with lo zeros
/// before and hi after (negative values crop), and the kernel (size K, its taps
/// kernel_dilation apart, reversed when flip) slides over it in steps of stride:
/// out[o] = sum_k padded[o * stride + k * kernel_dilation] * w[k].
struct ConvParams {
  std::vector<int64_t> stride, padding_lo, padding_hi, kernel_dilation, input_dilation;
  int64_t groups = 1;
  bool flip = false;

  bool operator==(const ConvParams& other) const = default;
  int ndim() const { return int(stride.size()); }
};

/// input (N, S..., C_in) and weight (C_out, K..., C_in / groups), of one floating dtype,
/// to (N, O..., C_out). Input channel block g (of C_in / groups) meets output channel block g
/// (of C_out / groups) only. Its vjps are convolutions again (the input's: the transposed
/// convolution; the weight's: a convolution of the input with the cotangent), so every
/// order of derivative stays one primitive.
class EMBER_API Convolution : public Primitive {
 public:
  explicit Convolution(ConvParams params) : params_(std::move(params)) {}
  const char* name() const override { return "Convolution"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void print(std::ostream& os) const override;
  void serialize(ExportFields& fields) const override;
  const ConvParams& params() const { return params_; }

 private:
  ConvParams params_;
};

namespace detail {
/// Checks a convolution's arguments (errors name `op` and the shapes), promotes the two
/// inputs to one floating dtype and builds the Convolution node. Every conv op ends here,
/// and so do the rules, so a transformed convolution is checked like a user's.
EMBER_API array convolution(const char* op, const array& input, const array& weight,
                            const ConvParams& params);
}  // namespace detail

}  // namespace ember
