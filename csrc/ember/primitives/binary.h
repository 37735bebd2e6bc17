// Binary elementwise primitives (inputs already broadcast to one shape and
// promoted to one dtype by the op). The family base turns the two partial
// derivatives into jvp and vjp, and batches by moving batch axes to the front
// and re-applying the op, whose broadcasting covers unbatched inputs without
// materializing them.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

/// n results of a binary op into out; each operand has stride 1, or 0 (one value
/// repeated). For fused kernels (compile).
using BinaryBlockFn = void (*)(const void* a, int64_t a_stride, const void* b, int64_t b_stride,
                               void* out, int64_t n);

class EMBER_API BinaryElementwise : public Primitive {
 public:
  /// The loop for operands of dtype `in`, or null (fused kernels then call eval_cpu).
  virtual BinaryBlockFn block_fn(Dtype in) const { return nullptr; }
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;

  /// d out/d a and d out/d b (may be 0-d arrays that broadcast).
  virtual std::pair<array, array> partials(const array& a, const array& b,
                                           const array& out) const = 0;
  /// Applies the op again (vmap).
  virtual array apply(const array& a, const array& b) const = 0;
};

#define EMBER_BINARY_PRIMITIVE(Name)                                                      \
  class EMBER_API Name : public BinaryElementwise {                                       \
   public:                                                                                \
    const char* name() const override { return #Name; }                                   \
    void eval_cpu(const std::vector<array>& inputs, array& out) override;                 \
    EMBER_GPU_KERNEL                                                                      \
    BinaryBlockFn block_fn(Dtype in) const override;                                      \
    std::pair<array, array> partials(const array& a, const array& b,                      \
                                     const array& out) const override;                    \
    array apply(const array& a, const array& b) const override;                           \
  };

EMBER_BINARY_PRIMITIVE(Add)
EMBER_BINARY_PRIMITIVE(Subtract)
EMBER_BINARY_PRIMITIVE(Multiply)
EMBER_BINARY_PRIMITIVE(Divide)
EMBER_BINARY_PRIMITIVE(FloorDivide)
EMBER_BINARY_PRIMITIVE(Remainder)
EMBER_BINARY_PRIMITIVE(Power)
EMBER_BINARY_PRIMITIVE(Maximum)
EMBER_BINARY_PRIMITIVE(Minimum)
EMBER_BINARY_PRIMITIVE(ArcTan2)
EMBER_BINARY_PRIMITIVE(LogAddExp)
EMBER_BINARY_PRIMITIVE(Equal)
EMBER_BINARY_PRIMITIVE(NotEqual)
EMBER_BINARY_PRIMITIVE(Less)
EMBER_BINARY_PRIMITIVE(LessEqual)
EMBER_BINARY_PRIMITIVE(Greater)
EMBER_BINARY_PRIMITIVE(GreaterEqual)
EMBER_BINARY_PRIMITIVE(LogicalAnd)
EMBER_BINARY_PRIMITIVE(LogicalOr)
EMBER_BINARY_PRIMITIVE(BitwiseAnd)
EMBER_BINARY_PRIMITIVE(BitwiseOr)
EMBER_BINARY_PRIMITIVE(BitwiseXor)
EMBER_BINARY_PRIMITIVE(LeftShift)
EMBER_BINARY_PRIMITIVE(RightShift)

#undef EMBER_BINARY_PRIMITIVE

/// where(cond, x, y): inputs already broadcast; x and y share a dtype.
class EMBER_API Select : public Primitive {
 public:
  const char* name() const override { return "Select"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
};

}  // namespace ember
