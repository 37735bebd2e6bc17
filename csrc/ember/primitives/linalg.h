// Primitives of the linalg family. Matmul is the only one: outer, inner,
// tensordot and einsum are compositions of it with shape ops and sums.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

/// a (A..., M, K) @ b (B..., K, N) -> (broadcast(A, B)..., M, N); both inputs
/// have rank >= 2 and one dtype (the op reshapes 1-D operands and promotes).
/// The batch dimensions are NOT broadcast beforehand: the kernel reads an
/// unbatched b with stride 0 (one big gemm when it can), and the vjp knows
/// which operand was broadcast.
class EMBER_API Matmul : public Primitive {
 public:
  const char* name() const override { return "Matmul"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  EMBER_NO_EXPORT_FIELDS
};

}  // namespace ember

namespace ember {

/// a's matrix lhs[i] @ b's matrix rhs[i] for every position i of the (broadcast) flat
/// batch indices: inputs a (..., M, K), b (..., K, N), lhs, rhs; output (*lhs.shape, M, N).
class EMBER_API GatherMM : public Primitive {
 public:
  const char* name() const override { return "GatherMM"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// a @ b with blocks of block_size x block_size masked: inputs a, b (same batch dims)
/// [, mask_out] [, mask_lhs, mask_rhs], each mask (..., ceil(rows / bs), ceil(cols / bs)).
/// A bool mask drops the blocks it is false on; a float mask multiplies them.
class EMBER_API BlockMaskedMM : public Primitive {
 public:
  BlockMaskedMM(int block_size, bool has_out_mask, bool has_operand_masks)
      : block_size_(block_size), has_out_(has_out_mask), has_operands_(has_operand_masks) {}
  const char* name() const override { return "BlockMaskedMM"; }
  EMBER_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  int block_size_;
  bool has_out_, has_operands_;
};

/// out[s] = a[:, k0:k1] @ b[k0:k1, :] for each segment (k0, k1) = segments[s] (clipped to
/// [0, K]; empty when k1 <= k0): inputs a (M, K), b (K, N), segments (..., 2).
class EMBER_API SegmentedMM : public Primitive {
 public:
  const char* name() const override { return "SegmentedMM"; }
  EMBER_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

namespace detail {

/// x with its batch axis (if any) moved to the front; an unbatched x gets a size-n axis
/// there when `expand` (a broadcast view, nothing copied).
EMBER_API array batch_front(const array& x, const BatchAxis& axis, int64_t n, bool expand);
/// Flat matrix indices into a batch of n matrices, negative ones wrapped, as int64.
EMBER_API array wrap_index(const array& idx, int64_t n);
/// The number of matrices of a (the product of all but its last two dims).
EMBER_API int64_t matrices(const array& a);
/// a (..., r, c) as (matrices(a), r, c).
EMBER_API array flat_matrices(const array& a);
/// Zeros shaped like a, with the matrices g (P, r, c) added at flat indices idx (P).
EMBER_API array scatter_matrices(const array& a, const array& idx, const array& g);
/// The cotangents of a and b (in that order; invalid where not asked) of gather_mm(a, b,
/// lhs, rhs) given the output's cotangent ct.
EMBER_API std::pair<array, array> gather_mm_grads(const array& a, const array& b,
                                                  const array& lhs, const array& rhs,
                                                  const array& ct, bool need_a, bool need_b);
/// The vmap rule of a gathered product, by folding the vmapped axis into the batch of
/// matrices: inputs are [lhs side: 0, lhs_end) [rhs side: lhs_end, rhs_end) [others] lhs
/// rhs; every batched side becomes (B * matrices, r, c) and its indices point inside
/// their batch element. Returns the new inputs (without indices) and the new index pair,
/// each of shape (B, *index shape).
struct GatherBatch {
  std::vector<array> inputs;
  array lhs, rhs;
};
EMBER_API GatherBatch batch_gather(const std::vector<array>& inputs,
                                   const std::vector<BatchAxis>& axes, size_t lhs_end,
                                   size_t rhs_end);

}  // namespace detail

}  // namespace ember
