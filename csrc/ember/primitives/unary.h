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
  /// Applies the op again (vmap calls it on the batched input; import_function's loader too).
  virtual array apply(const array& x) const = 0;
  EMBER_NO_EXPORT_FIELDS
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

/// The regular unary primitives, one X(Name) each: declared below, their export loaders
/// registered in primitives/unary.cpp.
#define EMBER_UNARY_PRIMITIVES(X) \
  X(Abs) X(Negative) X(Sign) X(Square) X(Sqrt) X(Rsqrt) X(Reciprocal) X(Exp) X(Expm1) X(Log) \
  X(Log1p) X(Log2) X(Log10) X(Sin) X(Cos) X(Tan) X(ArcSin) X(ArcCos) X(ArcTan) X(Sinh) X(Cosh) \
  X(Tanh) X(ArcSinh) X(ArcCosh) X(ArcTanh) X(Sigmoid) X(Erf) X(ErfInv) X(Floor) X(Ceil) \
  X(Round) X(LogicalNot) X(IsNan) X(IsInf) X(BitwiseInvert)

EMBER_UNARY_PRIMITIVES(EMBER_UNARY_PRIMITIVE)

#undef EMBER_UNARY_PRIMITIVE

/// Identity on values that blocks gradients: jvp and vjp give zeros.
class EMBER_API StopGradient : public Primitive {
 public:
  const char* name() const override { return "StopGradient"; }
  EMBER_VIEW_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
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
  void serialize(ExportFields& fields) const override;

 private:
  Dtype dtype_;
};

}  // namespace ember
