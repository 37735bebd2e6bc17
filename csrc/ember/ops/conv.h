// Convolutions in MLX's layout: input (N, spatial..., C_in), weight (C_out, kernel...,
// C_in / groups), output (N, out spatial..., C_out). All build one Convolution node.
#pragma once

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ember/array.h"

namespace ember {

/// The general N-d convolution (cross-correlation unless flip). Each list has one value per
/// spatial axis, or one value for all, or is empty (the default: stride, dilations 1,
/// padding 0). The input is dilated (input_dilation - 1 zeros between neighbours), padded
/// (padding_lo before, padding_hi after; negative values crop), and the kernel, its taps
/// kernel_dilation apart, slides over it in steps of stride. Floating dtypes only (the two
/// inputs promote); ValueError naming the shapes when channels, groups or sizes disagree.
EMBER_API array conv_general(const array& input, const array& weight,
                             std::vector<int> stride = {}, std::vector<int> padding_lo = {},
                             std::vector<int> padding_hi = {},
                             std::vector<int> kernel_dilation = {},
                             std::vector<int> input_dilation = {}, int groups = 1,
                             bool flip = false);
/// 1-, 2- and 3-D convolutions (cross-correlation) with symmetric padding.
EMBER_API array conv1d(const array& input, const array& weight, int stride = 1, int padding = 0,
                       int dilation = 1, int groups = 1);
EMBER_API array conv2d(const array& input, const array& weight,
                       const std::pair<int, int>& stride = {1, 1},
                       const std::pair<int, int>& padding = {0, 0},
                       const std::pair<int, int>& dilation = {1, 1}, int groups = 1);
EMBER_API array conv3d(const array& input, const array& weight,
                       const std::tuple<int, int, int>& stride = {1, 1, 1},
                       const std::tuple<int, int, int>& padding = {0, 0, 0},
                       const std::tuple<int, int, int>& dilation = {1, 1, 1}, int groups = 1);
/// Transposed convolutions (the gradient of conv*d with respect to its input): the input is
/// dilated by stride and convolved with the reversed kernel, with padding
/// dilation * (K - 1) - padding before and that plus output_padding after.
EMBER_API array conv_transpose1d(const array& input, const array& weight, int stride = 1,
                                 int padding = 0, int dilation = 1, int output_padding = 0,
                                 int groups = 1);
EMBER_API array conv_transpose2d(const array& input, const array& weight,
                                 const std::pair<int, int>& stride = {1, 1},
                                 const std::pair<int, int>& padding = {0, 0},
                                 const std::pair<int, int>& dilation = {1, 1},
                                 const std::pair<int, int>& output_padding = {0, 0},
                                 int groups = 1);
EMBER_API array conv_transpose3d(const array& input, const array& weight,
                                 const std::tuple<int, int, int>& stride = {1, 1, 1},
                                 const std::tuple<int, int, int>& padding = {0, 0, 0},
                                 const std::tuple<int, int, int>& dilation = {1, 1, 1},
                                 const std::tuple<int, int, int>& output_padding = {0, 0, 0},
                                 int groups = 1);
/// numpy.convolve: the discrete linear convolution of two non-empty 1-D arrays, mode "full"
/// (every overlap), "same" (the longer input's length, centred) or "valid" (full overlaps).
EMBER_API array convolve(const array& a, const array& v, const std::string& mode = "full");

}  // namespace ember
