// Quantization ops, with MLX's formats and packed layout so that weights quantized by MLX
// give the same numbers here: quantize / dequantize, quantized_matmul, gather_qmm, qqmm,
// gather_qqmm, to_fp8 / from_fp8.
//
// Layout: each row of K elements is a little-endian bit stream, element k in bits
// [k * bits, (k + 1) * bits), stored as K * bits / 32 uint32 words (so 3-, 5- and 6-bit
// elements may straddle two words). Scales (and biases) hold one value per group of
// group_size consecutive elements of a row.
//   affine: w = scale * q + bias, q unsigned; scales and biases have w's dtype.
//   mxfp4 (group 32, 4 bits) / mxfp8 (32, 8): E2M1 / E4M3 elements times 2^(s - 127),
//     s one uint8 (E8M0) per group.
//   nvfp4 (16, 4): E2M1 elements times an E4M3 scale (uint8); with a float32 global_scale
//     g, times g / (448 * 6) as well.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ember/array.h"

namespace ember {

/// Packs w (..., K) along its last axis: {packed uint32, scales[, biases]} (biases for
/// "affine" only). Defaults: affine 64 / 4 bits, mxfp4 32 / 4, mxfp8 32 / 8, nvfp4 16 / 4.
EMBER_API std::vector<array> quantize(const array& w, std::optional<int> group_size = std::nullopt,
                                      std::optional<int> bits = std::nullopt,
                                      const std::string& mode = "affine",
                                      const std::optional<array>& global_scale = std::nullopt);
/// The matrix quantize packed; its dtype is `dtype`, else scales' (affine), else bfloat16.
EMBER_API array dequantize(const array& w, const array& scales,
                           const std::optional<array>& biases = std::nullopt,
                           std::optional<int> group_size = std::nullopt,
                           std::optional<int> bits = std::nullopt,
                           const std::string& mode = "affine",
                           const std::optional<array>& global_scale = std::nullopt,
                           std::optional<Dtype> dtype = std::nullopt);
/// x @ W.T (transpose) or x @ W, W the matrix (w, scales, biases) packs.
EMBER_API array quantized_matmul(const array& x, const array& w, const array& scales,
                                 const std::optional<array>& biases = std::nullopt,
                                 bool transpose = true, std::optional<int> group_size = std::nullopt,
                                 std::optional<int> bits = std::nullopt,
                                 const std::string& mode = "affine");
/// quantized_matmul with matrix-level gather: x's matrices at lhs_indices times w's at
/// rhs_indices (flat indices over the batch dims; a missing one means every matrix).
EMBER_API array gather_qmm(const array& x, const array& w, const array& scales,
                           const std::optional<array>& biases = std::nullopt,
                           const std::optional<array>& lhs_indices = std::nullopt,
                           const std::optional<array>& rhs_indices = std::nullopt,
                           bool transpose = true, std::optional<int> group_size = std::nullopt,
                           std::optional<int> bits = std::nullopt,
                           const std::string& mode = "affine",
                           const std::optional<array>& global_scale = std::nullopt,
                           bool sorted_indices = false);
/// Q(x) @ Q(w).T with x quantized on the fly and w quantized unless already packed
/// (uint32 with scales); Q is the format's round trip. Modes: nvfp4, mxfp8, mxfp4.
EMBER_API array qqmm(const array& x, const array& w,
                     const std::optional<array>& scales = std::nullopt,
                     std::optional<int> group_size = std::nullopt,
                     std::optional<int> bits = std::nullopt, const std::string& mode = "nvfp4",
                     const std::optional<array>& global_scale_x = std::nullopt,
                     const std::optional<array>& global_scale_w = std::nullopt);
/// qqmm with matrix-level gather (as gather_qmm).
EMBER_API array gather_qqmm(const array& x, const array& w,
                            const std::optional<array>& scales = std::nullopt,
                            const std::optional<array>& lhs_indices = std::nullopt,
                            const std::optional<array>& rhs_indices = std::nullopt,
                            std::optional<int> group_size = std::nullopt,
                            std::optional<int> bits = std::nullopt,
                            const std::string& mode = "nvfp4",
                            const std::optional<array>& global_scale_x = std::nullopt,
                            const std::optional<array>& global_scale_w = std::nullopt,
                            bool sorted_indices = false);
/// Floats to E4M3 bytes (uint8).
EMBER_API array to_fp8(const array& x);
/// E4M3 bytes (uint8) to floats of dtype.
EMBER_API array from_fp8(const array& x, Dtype dtype = Dtype::bfloat16);

}  // namespace ember
