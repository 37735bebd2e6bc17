// Bindings of the conv family: conv1d/2d/3d, conv_transpose1d/2d/3d, conv_general, convolve.
// input and weight are positional-only, as in MLX (unnamed nb::arg, shown as "/" by nb::sig).
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

using Pair = std::variant<int, std::pair<int, int>>;
using Triple = std::variant<int, std::tuple<int, int, int>>;
using IntOrList = std::variant<int, std::vector<int>>;
using Padding = std::variant<int, std::vector<int>, std::pair<std::vector<int>, std::vector<int>>>;

std::pair<int, int> pair_of(const Pair& v) {
  if (auto* i = std::get_if<int>(&v)) return {*i, *i};
  return std::get<std::pair<int, int>>(v);
}

std::tuple<int, int, int> triple_of(const Triple& v) {
  if (auto* i = std::get_if<int>(&v)) return {*i, *i, *i};
  return std::get<std::tuple<int, int, int>>(v);
}

std::vector<int> list_of(const IntOrList& v) {
  if (auto* i = std::get_if<int>(&v)) return {*i};  // one value: every spatial axis
  return std::get<std::vector<int>>(v);
}


constexpr const char* kConv1dDoc =
    R"(1-D convolution (cross-correlation) over inputs with several channels.

Args:
    input (array): input of shape (N, L, C_in).
    weight (array): weight of shape (C_out, K, C_in / groups).
    stride (int): step of the kernel. Default: 1.
    padding (int): zeros added at both ends. Default: 0.
    dilation (int): spacing of the kernel's taps. Default: 1.
    groups (int): channel groups; input channel block g meets output channel block g only.
        Default: 1.

Returns:
    array: of shape (N, L_out, C_out), in the promoted floating dtype of the inputs.

Example:
    >>> mx.conv1d(mx.ones((1, 5, 2)), mx.ones((3, 3, 2)), padding=1).shape
    (1, 5, 3))";

constexpr const char* kConv2dDoc =
    R"(2-D convolution (cross-correlation) over inputs with several channels.

Args:
    input (array): input of shape (N, H, W, C_in).
    weight (array): weight of shape (C_out, KH, KW, C_in / groups).
    stride (int or tuple(int, int)): steps of the kernel. Default: 1.
    padding (int or tuple(int, int)): zeros added on both sides of each axis. Default: 0.
    dilation (int or tuple(int, int)): spacing of the kernel's taps. Default: 1.
    groups (int): channel groups. Default: 1.

Returns:
    array: of shape (N, H_out, W_out, C_out).

Example:
    >>> mx.conv2d(mx.ones((2, 8, 8, 3)), mx.ones((4, 3, 3, 3)), stride=2, padding=1).shape
    (2, 4, 4, 4))";

constexpr const char* kConv3dDoc =
    R"(3-D convolution (cross-correlation) over inputs with several channels.

Unlike MLX, groups other than 1 are supported.

Args:
    input (array): input of shape (N, D, H, W, C_in).
    weight (array): weight of shape (C_out, KD, KH, KW, C_in / groups).
    stride (int or tuple(int, int, int)): steps of the kernel. Default: 1.
    padding (int or tuple(int, int, int)): zeros added on both sides of each axis. Default: 0.
    dilation (int or tuple(int, int, int)): spacing of the kernel's taps. Default: 1.
    groups (int): channel groups. Default: 1.

Returns:
    array: of shape (N, D_out, H_out, W_out, C_out).)";

constexpr const char* kConvTransposeDoc =
    R"(%dD transposed convolution: the gradient of conv%dd with respect to its input.

The input is dilated by stride (stride - 1 zeros between neighbours), padded with
dilation * (K - 1) - padding zeros before and that plus output_padding after, and
convolved with the reversed kernel, so the output is (L - 1) * stride - 2 * padding +
dilation * (K - 1) + output_padding + 1 long along each spatial axis. Unlike MLX's, groups
may be used with every rank.

Args:
    input (array): input of shape (N, %s, C_in).
    weight (array): weight of shape (C_out, %s, C_in / groups).
    stride: the stride of the convolution this one transposes. Default: 1.
    padding: its padding. Default: 0.
    dilation: its kernel dilation. Default: 1.
    output_padding: extra size added at the end of each spatial axis. Default: 0.
    groups (int): channel groups. Default: 1.

Returns:
    array: of shape (N, %s, C_out).)";

std::string transpose_doc(int nd, const char* in, const char* k, const char* out) {
  char buf[1400];
  std::snprintf(buf, sizeof(buf), kConvTransposeDoc, nd, nd, in, k, out);
  return buf;
}

}  // namespace

void init_ops_conv(nb::module_& m) {
  def_op(m, "conv1d", [](ArrayArg input, ArrayArg weight, int stride, int padding,
                         int dilation, int groups) {
    return conv1d(to_array(input), to_array(weight), stride, padding, dilation, groups);
  }, nb::arg(), nb::arg(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1,
  nb::sig("def conv1d(input: array, weight: array, /, stride: int = 1, padding: int = 0, "
          "dilation: int = 1, groups: int = 1, " EMBER_STREAM_SIG ") -> array"),
  kConv1dDoc);

  def_op(m, "conv2d", [](ArrayArg input, ArrayArg weight, const Pair& stride,
                         const Pair& padding, const Pair& dilation, int groups) {
    return conv2d(to_array(input), to_array(weight), pair_of(stride), pair_of(padding),
                  pair_of(dilation), groups);
  }, nb::arg(), nb::arg(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1,
  nb::sig("def conv2d(input: array, weight: array, /, stride: int | tuple[int, int] = 1, "
          "padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1, "
          "groups: int = 1, " EMBER_STREAM_SIG ") -> array"),
  kConv2dDoc);

  def_op(m, "conv3d", [](ArrayArg input, ArrayArg weight, const Triple& stride,
                         const Triple& padding, const Triple& dilation, int groups) {
    return conv3d(to_array(input), to_array(weight), triple_of(stride), triple_of(padding),
                  triple_of(dilation), groups);
  }, nb::arg(), nb::arg(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1,
  nb::sig("def conv3d(input: array, weight: array, /, stride: int | tuple[int, int, int] = 1, "
          "padding: int | tuple[int, int, int] = 0, dilation: int | tuple[int, int, int] = 1, "
          "groups: int = 1, " EMBER_STREAM_SIG ") -> array"),
  kConv3dDoc);

  static const std::string doc1 = transpose_doc(1, "L", "K", "L_out");
  def_op(m, "conv_transpose1d", [](ArrayArg input, ArrayArg weight, int stride, int padding,
                                   int dilation, int output_padding, int groups) {
    return conv_transpose1d(to_array(input), to_array(weight), stride, padding, dilation,
                            output_padding, groups);
  }, nb::arg(), nb::arg(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
  "output_padding"_a = 0, "groups"_a = 1,
  nb::sig("def conv_transpose1d(input: array, weight: array, /, stride: int = 1, "
          "padding: int = 0, dilation: int = 1, output_padding: int = 0, groups: int = 1, "
          EMBER_STREAM_SIG ") -> array"),
  doc1.c_str());

  static const std::string doc2 = transpose_doc(2, "H, W", "KH, KW", "H_out, W_out");
  def_op(m, "conv_transpose2d", [](ArrayArg input, ArrayArg weight, const Pair& stride,
                                   const Pair& padding, const Pair& dilation,
                                   const Pair& output_padding, int groups) {
    return conv_transpose2d(to_array(input), to_array(weight), pair_of(stride),
                            pair_of(padding), pair_of(dilation), pair_of(output_padding), groups);
  }, nb::arg(), nb::arg(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
  "output_padding"_a = 0, "groups"_a = 1,
  nb::sig("def conv_transpose2d(input: array, weight: array, /, "
          "stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0, "
          "dilation: int | tuple[int, int] = 1, output_padding: int | tuple[int, int] = 0, "
          "groups: int = 1, " EMBER_STREAM_SIG ") -> array"),
  doc2.c_str());

  static const std::string doc3 =
      transpose_doc(3, "D, H, W", "KD, KH, KW", "D_out, H_out, W_out");
  def_op(m, "conv_transpose3d", [](ArrayArg input, ArrayArg weight, const Triple& stride,
                                   const Triple& padding, const Triple& dilation,
                                   const Triple& output_padding, int groups) {
    return conv_transpose3d(to_array(input), to_array(weight), triple_of(stride),
                            triple_of(padding), triple_of(dilation), triple_of(output_padding),
                            groups);
  }, nb::arg(), nb::arg(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
  "output_padding"_a = 0, "groups"_a = 1,
  nb::sig("def conv_transpose3d(input: array, weight: array, /, "
          "stride: int | tuple[int, int, int] = 1, padding: int | tuple[int, int, int] = 0, "
          "dilation: int | tuple[int, int, int] = 1, "
          "output_padding: int | tuple[int, int, int] = 0, groups: int = 1, "
          EMBER_STREAM_SIG ") -> array"),
  doc3.c_str());

  def_op(m, "conv_general", [](ArrayArg input, ArrayArg weight, const IntOrList& stride,
                               const Padding& padding, const IntOrList& kernel_dilation,
                               const IntOrList& input_dilation, int groups, bool flip) {
    std::vector<int> lo, hi;
    if (auto* both = std::get_if<std::pair<std::vector<int>, std::vector<int>>>(&padding)) {
      lo = both->first;
      hi = both->second;
    } else {
      lo = hi = std::holds_alternative<int>(padding)
                    ? std::vector<int>{std::get<int>(padding)}
                    : std::get<std::vector<int>>(padding);
    }
    return conv_general(to_array(input), to_array(weight), list_of(stride), lo, hi,
                        list_of(kernel_dilation), list_of(input_dilation), groups, flip);
  }, nb::arg(), nb::arg(), "stride"_a = 1, "padding"_a = 0, "kernel_dilation"_a = 1,
  "input_dilation"_a = 1, "groups"_a = 1, "flip"_a = false,
  nb::sig("def conv_general(input: array, weight: array, /, stride: int | Sequence[int] = 1, "
          "padding: int | Sequence[int] | tuple[Sequence[int], Sequence[int]] = 0, "
          "kernel_dilation: int | Sequence[int] = 1, input_dilation: int | Sequence[int] = 1, "
          "groups: int = 1, flip: bool = False, " EMBER_STREAM_SIG ") -> array"),
  R"(General convolution over inputs with several channels and any number of spatial axes.

Per spatial axis, the input is dilated (input_dilation - 1 zeros between neighbours),
padded (padding_lo zeros before, padding_hi after; negative values crop), and the kernel,
its taps kernel_dilation apart, slides over it in steps of stride:
out[n, o, c] = sum_{k, j} padded[n, o * stride + k * kernel_dilation, g * C_in / groups + j]
* weight[c, k, j], with g the group of output channel c.

Differences from MLX: any number of spatial axes (MLX: 1 to 3); integer, bool and complex
inputs are a TypeError (MLX: ValueError), as dtype errors are throughout ember; empty
channel or batch axes give empty or zero outputs (MLX can crash on them).

Args:
    input (array): input of shape (N, ..., C_in).
    weight (array): weight of shape (C_out, ..., C_in / groups).
    stride (int or list(int)): steps of the kernel, one per spatial axis or one for all.
        Default: 1.
    padding (int, list(int), or tuple(list(int), list(int))): symmetric padding per axis, or
        (low, high) lists. Default: 0.
    kernel_dilation (int or list(int)): spacing of the kernel's taps. Default: 1.
    input_dilation (int or list(int)): spacing of the input's elements. Default: 1.
    groups (int): channel groups. Default: 1.
    flip (bool): reverse the kernel along its spatial axes (the convolution of signal
        processing; False gives the cross-correlation). Default: False.

Returns:
    array: of shape (N, ..., C_out), in the promoted floating dtype of the inputs.

Example:
    >>> x, w = mx.ones((1, 4, 4, 1)), mx.ones((1, 2, 2, 1))
    >>> mx.conv_general(x, w, padding=([0, 0], [1, 1])).shape
    (1, 4, 4, 1))");

  def_op(m, "convolve", [](ArrayArg a, ArrayArg v, const std::string& mode) {
    auto [x, y] = to_arrays(a, v);
    return convolve(x, y, mode);
  }, nb::arg(), nb::arg(), "mode"_a = "full",
  nb::sig("def convolve(a: array, v: array, /, mode: str = 'full', " EMBER_STREAM_SIG
          ") -> array"),
  R"(The discrete linear convolution of two 1-D arrays (numpy.convolve).

The shorter input, reversed, slides over the longer one (they are swapped if v is longer),
as a one-channel conv1d.

Args:
    a (array): 1-D input.
    v (array): 1-D input.
    mode (str): "full" (every overlap: len(a) + len(v) - 1 values), "same" (the longer
        input's length, centred) or "valid" (full overlaps only). Default: "full".

Returns:
    array: the convolution, in the promoted floating dtype of the inputs.

Example:
    >>> mx.convolve(mx.array([1.0, 2.0, 3.0]), mx.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5], dtype=float32))");
}
