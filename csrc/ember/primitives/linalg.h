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
