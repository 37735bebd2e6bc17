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
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
};

}  // namespace ember
