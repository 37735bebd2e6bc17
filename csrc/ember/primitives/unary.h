// Unary elementwise primitives. The family base turns one derivative formula
// into jvp (t * f'(x)) and vjp (c * conj(f'(x))), and batches by keeping the
// batch axis where it is. Each primitive adds its kernel, formula and op.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

/// n results of a unary op from x (x_stride 1; or 0: one value repeated) into out, for
/// fused kernels (compile); the dtypes are those the primitive was asked for.
using UnaryBlockFn = void (*)(const void* x, int64_t x_stride, void* out, int64_t n);

class EMBER_API UnaryElementwise : public Primitive {
 public:
  /// The loop for input dtype `in`, or null (fused kernels then call eval_cpu on blocks).
  virtual UnaryBlockFn block_fn(Dtype in) const { return nullptr; }
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;

  /// d out / d x at x (y is the output, for formulas that reuse it).
  virtual array derivative(const array& x, const array& y) const = 0;
  /// Applies the op again (vmap calls it on the batched input).
  virtual array apply(const array& x) const = 0;
};

#define EMBER_UNARY_PRIMITIVE(Name)                                       \
  class EMBER_API Name : public UnaryElementwise {                        \
   public:                                                                \
    const char* name() const override { return #Name; }                   \
    void eval_cpu(const std::vector<array>& inputs, array& out) override; \
    EMBER_GPU_KERNEL                                                      \
    UnaryBlockFn block_fn(Dtype in) const override;                       \
    array derivative(const array& x, const array& y) const override;     \
    array apply(const array& x) const override;                           \
  };

EMBER_UNARY_PRIMITIVE(Abs)
EMBER_UNARY_PRIMITIVE(Negative)
EMBER_UNARY_PRIMITIVE(Sign)
EMBER_UNARY_PRIMITIVE(Square)
EMBER_UNARY_PRIMITIVE(Sqrt)
EMBER_UNARY_PRIMITIVE(Rsqrt)
EMBER_UNARY_PRIMITIVE(Reciprocal)
EMBER_UNARY_PRIMITIVE(Exp)
EMBER_UNARY_PRIMITIVE(Expm1)
EMBER_UNARY_PRIMITIVE(Log)
EMBER_UNARY_PRIMITIVE(Log1p)
EMBER_UNARY_PRIMITIVE(Log2)
EMBER_UNARY_PRIMITIVE(Log10)
EMBER_UNARY_PRIMITIVE(Sin)
EMBER_UNARY_PRIMITIVE(Cos)
EMBER_UNARY_PRIMITIVE(Tan)
EMBER_UNARY_PRIMITIVE(ArcSin)
EMBER_UNARY_PRIMITIVE(ArcCos)
EMBER_UNARY_PRIMITIVE(ArcTan)
EMBER_UNARY_PRIMITIVE(Sinh)
EMBER_UNARY_PRIMITIVE(Cosh)
EMBER_UNARY_PRIMITIVE(Tanh)
EMBER_UNARY_PRIMITIVE(ArcSinh)
EMBER_UNARY_PRIMITIVE(ArcCosh)
EMBER_UNARY_PRIMITIVE(ArcTanh)
EMBER_UNARY_PRIMITIVE(Sigmoid)
EMBER_UNARY_PRIMITIVE(Erf)
EMBER_UNARY_PRIMITIVE(ErfInv)
EMBER_UNARY_PRIMITIVE(Floor)
EMBER_UNARY_PRIMITIVE(Ceil)
EMBER_UNARY_PRIMITIVE(Round)
EMBER_UNARY_PRIMITIVE(LogicalNot)
EMBER_UNARY_PRIMITIVE(IsNan)
EMBER_UNARY_PRIMITIVE(IsInf)
EMBER_UNARY_PRIMITIVE(BitwiseInvert)

#undef EMBER_UNARY_PRIMITIVE

/// Identity on values that blocks gradients: jvp and vjp give zeros.
class EMBER_API StopGradient : public Primitive {
 public:
  const char* name() const override { return "StopGradient"; }
  EMBER_VIEW_PRIMITIVE_RULES
};

/// Converts the dtype (numpy's casting rules).
class EMBER_API AsType : public UnaryElementwise {
 public:
  explicit AsType(Dtype dtype) : dtype_(dtype) {}
  const char* name() const override { return "AsType"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  EMBER_GPU_KERNEL
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  array derivative(const array& x, const array& y) const override;
  array apply(const array& x) const override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  Dtype dtype_;
};

}  // namespace ember
