// Bindings of the quantized family (quantize, dequantize, quantized_matmul, gather_qmm, qqmm,
// gather_qqmm, to_fp8, from_fp8) and of the gathered / masked / segmented products.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

std::optional<array> opt_array(nb::handle h) {
  if (h.is_none()) return std::nullopt;
  return to_array(h);
}

// The modes table of the docstrings.
constexpr const char* kModes = R"(
Modes (group sizes and bits; the defaults first):

    ======  ============  ================  =============  =====
    mode    group size    bits              scale          bias
    ======  ============  ================  =============  =====
    affine  64, 32, 128   4, 1, 2, 3, 5,    w's dtype      yes
                          6, 8
    mxfp4   32            4 (E2M1)          uint8 (E8M0)   no
    mxfp8   32            8 (E4M3)          uint8 (E8M0)   no
    nvfp4   16            4 (E2M1)          uint8 (E4M3)   no
    ======  ============  ================  =============  =====

Each row of K elements is a little-endian bit stream (element k in bits
[k * bits, (k + 1) * bits)) stored as K * bits / 32 uint32 words: MLX's layout, so
arrays quantized by MLX give the same numbers here.)";

}  // namespace

// quantize's docstring with the modes table (kept alive for the module's lifetime).
const std::string& quantize_doc() {
  static const std::string doc = std::string(R"(Quantizes w along its last axis, in groups of group_size elements.

affine: per group, the extreme of larger magnitude is kept exactly as the bias and
scale = (max - min) / (2^bits - 1) is adjusted to reach the other end (1 bit: bias =
min); q = clip(round((w - bias) / scale), 0, 2^bits - 1). The float formats store the
elements as E2M1 / E4M3 values of w / scale, with scale a power of two (mx) or an E4M3
value (nvfp4, times global_scale / (448 * 6) when a float32 global_scale is given).
The results are bit-identical to MLX's (nvfp4 with a global scale: for float32 w).

Args:
    w (array): float array with at least 2 dimensions, last one a multiple of group_size.
    group_size (int, optional): elements per scale. Default: the mode's.
    bits (int, optional): bits per element. Default: the mode's.
    mode (str): "affine", "mxfp4", "mxfp8" or "nvfp4". Default: "affine".
    global_scale (array, optional): nvfp4 only: the tensor's float32 scale.

Returns:
    tuple: (w_q, scales, biases) for affine, (w_q, scales) otherwise.
)") + kModes;
  return doc;
}

void init_ops_quantized(nb::module_& m) {
  def_op(m, "quantize", [](ArrayArg w, std::optional<int> group_size, std::optional<int> bits,
                           const std::string& mode, ArrayArg global_scale) {
    auto r = quantize(to_array(w), group_size, bits, mode, opt_array(global_scale));
    nb::list out;
    for (auto& a : r) out.append(nb::cast(a));
    return nb::tuple(out);
  }, "w"_a, "group_size"_a = nb::none(), "bits"_a = nb::none(), "mode"_a = "affine",
  nb::kw_only(), "global_scale"_a = nb::none(),
  nb::sig("def quantize(w: array, group_size: int | None = None, bits: int | None = None, "
          "mode: str = 'affine', *, global_scale: array | None = None, "
          EMBER_STREAM_PARAM ") -> tuple[array, ...]"),
  quantize_doc().c_str());

  def_op(m, "dequantize", [](ArrayArg w, ArrayArg scales, ArrayArg biases,
                             std::optional<int> group_size, std::optional<int> bits,
                             const std::string& mode, ArrayArg global_scale,
                             std::optional<Dtype> dtype) {
    return dequantize(to_array(w), to_array(scales), opt_array(biases), group_size, bits, mode,
                      opt_array(global_scale), dtype);
  }, "w"_a, "scales"_a, "biases"_a = nb::none(), "group_size"_a = nb::none(),
  "bits"_a = nb::none(), "mode"_a = "affine", "global_scale"_a = nb::none(),
  "dtype"_a = nb::none(),
  nb::sig("def dequantize(w: array, scales: array, biases: array | None = None, "
          "group_size: int | None = None, bits: int | None = None, mode: str = 'affine', "
          "global_scale: array | None = None, dtype: Dtype | None = None, *, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(The matrix that (w, scales, biases) packs (see quantize).

affine: scale * q + bias, computed in the scales' dtype (rounded after the product, as
MLX does). The float formats: element value times the group's scale.

Args:
    w (array): packed uint32 matrix.
    scales (array): one scale per group.
    biases (array, optional): affine only.
    group_size (int, optional): Default: the mode's.
    bits (int, optional): Default: the mode's.
    mode (str): Default: "affine".
    global_scale (array, optional): nvfp4 only.
    dtype (Dtype, optional): the result's dtype. Default: the scales' (affine), else
        bfloat16.

Returns:
    array: shape w.shape[:-1] + (w.shape[-1] * 32 // bits,).)");

  def_op(m, "quantized_matmul", [](ArrayArg x, ArrayArg w, ArrayArg scales,
                                   ArrayArg biases, bool transpose,
                                   std::optional<int> group_size, std::optional<int> bits,
                                   const std::string& mode) {
    return quantized_matmul(to_array(x), to_array(w), to_array(scales), opt_array(biases),
                            transpose, group_size, bits, mode);
  }, "x"_a, "w"_a, "scales"_a, "biases"_a = nb::none(), "transpose"_a = true,
  "group_size"_a = nb::none(), "bits"_a = nb::none(), "mode"_a = "affine",
  nb::sig("def quantized_matmul(x: array, w: array, scales: array, biases: array | None = None, "
          "transpose: bool = True, group_size: int | None = None, bits: int | None = None, "
          "mode: str = 'affine', *, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(x @ W.T (transpose=True) or x @ W, with W given packed (see quantize).

The CPU kernel reads the packed words directly: it unpacks small tiles of W next to the
dot products (threaded); past 2048 rows of x it unpacks W a slab at a time for BLAS. W is
never materialized whole. The batch dims of x and w broadcast like matmul's (MLX instead ignores
w's when x is 2-D). float16 / bfloat16 are computed in float32, float64 in float64 (MLX's
CPU kernel refuses float64).

Args:
    x (array): input (..., K).
    w (array): packed matrix (N, K * bits / 32) when transpose, else (K, N * bits / 32).
    scales (array): its scales.
    biases (array, optional): its biases (affine).
    transpose (bool): multiply by W.T. Default: True.
    group_size (int, optional): Default: the mode's.
    bits (int, optional): Default: the mode's.
    mode (str): Default: "affine".

Returns:
    array: (..., N).)");

  def_op(m, "gather_qmm", [](ArrayArg x, ArrayArg w, ArrayArg scales, ArrayArg biases,
                             ArrayArg lhs, ArrayArg rhs, bool transpose,
                             std::optional<int> group_size, std::optional<int> bits,
                             const std::string& mode, ArrayArg global_scale,
                             bool sorted_indices) {
    return gather_qmm(to_array(x), to_array(w), to_array(scales), opt_array(biases),
                      opt_array(lhs), opt_array(rhs), transpose, group_size, bits, mode,
                      opt_array(global_scale), sorted_indices);
  }, "x"_a, "w"_a, "scales"_a, "biases"_a = nb::none(), "lhs_indices"_a = nb::none(),
  "rhs_indices"_a = nb::none(), "transpose"_a = true, "group_size"_a = nb::none(),
  "bits"_a = nb::none(), "mode"_a = "affine", "global_scale"_a = nb::none(), nb::kw_only(),
  "sorted_indices"_a = false,
  nb::sig("def gather_qmm(x: array, w: array, scales: array, biases: array | None = None, "
          "lhs_indices: array | None = None, rhs_indices: array | None = None, "
          "transpose: bool = True, group_size: int | None = None, bits: int | None = None, "
          "mode: str = 'affine', global_scale: array | None = None, *, "
          "sorted_indices: bool = False, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(quantized_matmul with matrix-level gather (the quantized gather_mm).

Position i of the broadcast index arrays multiplies x's matrix lhs_indices[i] by w's
matrix rhs_indices[i] (flat indices over the batch dims; a missing one means every
matrix in order; negative ones count from the end; out of range is an IndexError at
eval). Consecutive positions with the same rhs index share one unpacking of W, so
sorted indices (a mixture of experts) are fast whatever sorted_indices says.
global_scale (nvfp4) multiplies the result by global_scale / (448 * 6); MLX supports it
on the GPU only.

Args:
    x (array): input (..., M, K), at least 2-D.
    w (array): packed matrices (..., N, K * bits / 32) (transpose) or (..., K, ...).
    scales (array): their scales (w's batch dims).
    biases (array, optional): affine only.
    lhs_indices (array, optional): integer indices into x's matrices.
    rhs_indices (array, optional): integer indices into w's matrices.
    transpose (bool): Default: True.
    group_size (int, optional), bits (int, optional), mode (str): the format.
    global_scale (array, optional): nvfp4 only.
    sorted_indices (bool): accepted for MLX compatibility.

Returns:
    array: (*indices.shape, M, N).)");

  def_op(m, "qqmm", [](ArrayArg x, ArrayArg w, ArrayArg scales,
                       std::optional<int> group_size, std::optional<int> bits,
                       const std::string& mode, ArrayArg gsx, ArrayArg gsw) {
    return qqmm(to_array(x), to_array(w), opt_array(scales), group_size, bits, mode,
                opt_array(gsx), opt_array(gsw));
  }, "x"_a, "w"_a, "scales"_a = nb::none(), "group_size"_a = nb::none(), "bits"_a = nb::none(),
  "mode"_a = "nvfp4", "global_scale_x"_a = nb::none(), "global_scale_w"_a = nb::none(),
  nb::sig("def qqmm(x: array, w: array, scales: array | None = None, "
          "group_size: int | None = None, bits: int | None = None, mode: str = 'nvfp4', "
          "global_scale_x: array | None = None, global_scale_w: array | None = None, *, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(x @ w.T with both operands quantized: x on the fly, w unless already packed.

Computes Q(x) @ Q(w).T, Q the mode's round trip (quantize, then dequantize) along K.
Gradients pass straight through Q: x always gets one, w when given unquantized (float).
MLX's CPU build runs only one row of x with a packed w; ember runs any shape (batch
dims broadcast like matmul's), on the CPU.

Args:
    x (array): input (..., M, K), float.
    w (array): (..., N, K) float, or packed uint32 with scales.
    scales (array, optional): scales of a packed w.
    group_size (int, optional), bits (int, optional): the format's.
    mode (str): "nvfp4", "mxfp8" or "mxfp4". Default: "nvfp4".
    global_scale_x (array, optional): nvfp4 global scale of x.
    global_scale_w (array, optional): nvfp4 global scale of w.

Returns:
    array: (..., M, N) of x's dtype.)");

  def_op(m, "gather_qqmm", [](ArrayArg x, ArrayArg w, ArrayArg scales, ArrayArg lhs,
                              ArrayArg rhs, std::optional<int> group_size,
                              std::optional<int> bits, const std::string& mode, ArrayArg gsx,
                              ArrayArg gsw, bool sorted_indices) {
    return gather_qqmm(to_array(x), to_array(w), opt_array(scales), opt_array(lhs),
                       opt_array(rhs), group_size, bits, mode, opt_array(gsx), opt_array(gsw),
                       sorted_indices);
  }, "x"_a, "w"_a, "scales"_a = nb::none(), "lhs_indices"_a = nb::none(),
  "rhs_indices"_a = nb::none(), "group_size"_a = nb::none(), "bits"_a = nb::none(),
  "mode"_a = "nvfp4", "global_scale_x"_a = nb::none(), "global_scale_w"_a = nb::none(),
  nb::kw_only(), "sorted_indices"_a = false,
  nb::sig("def gather_qqmm(x: array, w: array, scales: array | None = None, "
          "lhs_indices: array | None = None, rhs_indices: array | None = None, "
          "group_size: int | None = None, bits: int | None = None, mode: str = 'nvfp4', "
          "global_scale_x: array | None = None, global_scale_w: array | None = None, *, "
          "sorted_indices: bool = False, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(qqmm with matrix-level gather (indices as gather_qmm's).

Returns:
    array: (*indices.shape, M, N).)");

  def_op(m, "to_fp8", [](ArrayArg x) { return to_fp8(to_array(x)); }, "x"_a,
  nb::sig("def to_fp8(x: array, *, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(Converts floats to E4M3 (fp8) bytes, rounding to nearest even.

Values from 464 up, infinities and NaN become +-448 (0x7E / 0xFE), as MLX's CPU
conversion does.

Returns:
    array: uint8.)");

  def_op(m, "from_fp8", [](ArrayArg x, Dtype dtype) { return from_fp8(to_array(x), dtype); },
  "x"_a, "dtype"_a = Dtype::bfloat16,
  nb::sig("def from_fp8(x: array, dtype: Dtype = bfloat16, *, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(Converts E4M3 (fp8) bytes (uint8) to floats of dtype (0x7F / 0xFF are NaN).

Args:
    x (array): uint8 array.
    dtype (Dtype): float dtype. Default: bfloat16.)");

  def_op(m, "gather_mm", [](ArrayArg a, ArrayArg b, ArrayArg lhs, ArrayArg rhs,
                            bool sorted_indices) {
    return gather_mm(to_array(a), to_array(b), opt_array(lhs), opt_array(rhs), sorted_indices);
  }, "a"_a, "b"_a, "lhs_indices"_a = nb::none(), "rhs_indices"_a = nb::none(), nb::kw_only(),
  "sorted_indices"_a = false,
  nb::sig("def gather_mm(a: array, b: array, lhs_indices: array | None = None, "
          "rhs_indices: array | None = None, *, sorted_indices: bool = False, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(Matrix product with matrix-level gather: a's matrix lhs_indices[i] times b's matrix
rhs_indices[i] for every position i of the broadcast indices (flat over the batch dims; a
missing one means every matrix; negative ones count from the end). 1-D operands as
matmul's. Differentiable in a and b. Every float dtype (MLX's CPU: float32 only).

Returns:
    array: (*indices.shape, M, N).)");

  def_op(m, "block_masked_mm", [](ArrayArg a, ArrayArg b, int block_size, ArrayArg mo,
                                  ArrayArg ml, ArrayArg mr) {
    return block_masked_mm(to_array(a), to_array(b), block_size, opt_array(mo), opt_array(ml),
                           opt_array(mr));
  }, "a"_a, "b"_a, "block_size"_a = 64, "mask_out"_a = nb::none(), "mask_lhs"_a = nb::none(),
  "mask_rhs"_a = nb::none(),
  nb::sig("def block_masked_mm(a: array, b: array, block_size: int = 64, "
          "mask_out: array | None = None, mask_lhs: array | None = None, "
          "mask_rhs: array | None = None, *, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(a @ b with block_size x block_size blocks masked.

mask_out (..., ceil(M / bs), ceil(N / bs)) masks the output's blocks, mask_lhs
(..., ceil(M / bs), ceil(K / bs)) a's and mask_rhs (..., ceil(K / bs), ceil(N / bs)) b's;
a bool mask keeps or drops a block, a float mask multiplies it. Differentiable in a, b
and float masks. Every float dtype (MLX's CPU: float32 only).

Args:
    block_size (int): 32 or 64. Default: 64.)");

  def_op(m, "segmented_mm", [](ArrayArg a, ArrayArg b, ArrayArg segments) {
    return segmented_mm(to_array(a), to_array(b), to_array(segments));
  }, "a"_a, "b"_a, "segments"_a,
  nb::sig("def segmented_mm(a: array, b: array, segments: array, *, "
          EMBER_STREAM_PARAM ") -> array"),
  R"(A matrix product per segment of the inner dimension.

out[s] = a[:, start:end] @ b[start:end, :] for each (start, end) of segments (..., 2),
clipped to [0, K] (MLX reads out of bounds there); an empty segment gives zeros.
Differentiable in a and b.

Args:
    a (array): (M, K).
    b (array): (K, N).
    segments (array): integer (..., 2).

Returns:
    array: (*segments.shape[:-1], M, N).)");
}
