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
  /// Applies the op again (vmap; import_function's loader).
  virtual array apply(const array& a, const array& b) const = 0;
  EMBER_NO_EXPORT_FIELDS
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

/// The regular binary primitives, one X(Name) each: declared below, their export loaders
/// registered in primitives/binary.cpp.
#define EMBER_BINARY_PRIMITIVES(X) \
  X(Add) X(Subtract) X(Multiply) X(Divide) X(FloorDivide) X(Remainder) X(Power) X(Maximum) \
  X(Minimum) X(ArcTan2) X(LogAddExp) X(Equal) X(NotEqual) X(Less) X(LessEqual) X(Greater) \
  X(GreaterEqual) X(LogicalAnd) X(LogicalOr) X(BitwiseAnd) X(BitwiseOr) X(BitwiseXor) \
  X(LeftShift) X(RightShift)

EMBER_BINARY_PRIMITIVES(EMBER_BINARY_PRIMITIVE)

#undef EMBER_BINARY_PRIMITIVE

/// where(cond, x, y): inputs already broadcast; x and y share a dtype.
class EMBER_API Select : public Primitive {
 public:
  const char* name() const override { return "Select"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  EMBER_NO_EXPORT_FIELDS
};

}  // namespace ember
