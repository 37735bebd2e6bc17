// Shape primitives. Most are views: eval_cpu points the output at the
// input's buffer with new strides, so they cost no copy.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

/// Broadcasts to a shape (stride 0 on the broadcast axes).
class EMBER_API BroadcastTo : public Primitive {
 public:
  explicit BroadcastTo(Shape shape) : shape_(std::move(shape)) {}
  const char* name() const override { return "BroadcastTo"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  Shape shape_;
};

/// Reshape: a view of row-contiguous inputs, a copy otherwise.
class EMBER_API Reshape : public Primitive {
 public:
  explicit Reshape(Shape shape) : shape_(std::move(shape)) {}
  const char* name() const override { return "Reshape"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  Shape shape_;
};

/// Permutes axes (a view).
class EMBER_API Transpose : public Primitive {
 public:
  explicit Transpose(std::vector<int> perm) : perm_(std::move(perm)) {}
  const char* name() const override { return "Transpose"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  std::vector<int> perm_;
};

}  // namespace ember
