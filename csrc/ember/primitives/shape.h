// Shape primitives. BroadcastTo, Reshape (when it can), Transpose and Slice are
// views: eval_cpu points the output at the input's buffer with new strides, so
// they cost no copy. SliceUpdate, Concatenate and Pad write a fresh output.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

/// Broadcasts to a shape (stride 0 on the broadcast axes).
class EMBER_API BroadcastTo : public Primitive {
 public:
  explicit BroadcastTo(Shape shape) : shape_(std::move(shape)) {}
  const char* name() const override { return "BroadcastTo"; }
  EMBER_VIEW_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  Shape shape_;
};

/// Reshape: a view of row-contiguous inputs, a copy otherwise.
class EMBER_API Reshape : public Primitive {
 public:
  explicit Reshape(Shape shape) : shape_(std::move(shape)) {}
  const char* name() const override { return "Reshape"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  Shape shape_;
};

/// Permutes axes (a view).
class EMBER_API Transpose : public Primitive {
 public:
  explicit Transpose(std::vector<int> perm) : perm_(std::move(perm)) {}
  const char* name() const override { return "Transpose"; }
  EMBER_VIEW_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  std::vector<int> perm_;
};

/// The common declarations of a shape primitive with all four rules.
#define EMBER_SHAPE_RULES                                                                  \
  void eval_cpu(const std::vector<array>& inputs, array& out) override;                    \
  EMBER_GPU_KERNEL                                                                         \
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,         \
            const std::vector<int>& argnums, const array& out) override;                   \
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,        \
                         const std::vector<int>& argnums, const array& out) override;      \
  std::pair<array, int> vmap(const std::vector<array>& inputs,                             \
                             const std::vector<BatchAxis>& axes) override;                 \
  bool is_equivalent(const Primitive& other) const override;                               \
  void print(std::ostream& os) const override;                                             \
  void serialize(ExportFields& fields) const override;

/// Strided window a[start:stop:step] per axis (a view; strides may become
/// negative). start/stop are as Python's slice.indices(dim) gives them.
class EMBER_API Slice : public Primitive {
 public:
  Slice(std::vector<int64_t> start, std::vector<int64_t> stop, std::vector<int64_t> step)
      : start_(std::move(start)), stop_(std::move(stop)), step_(std::move(step)) {}
  const char* name() const override { return "Slice"; }
  EMBER_VIEW_PRIMITIVE_RULES
  bool is_equivalent(const Primitive& other) const override;
  void print(std::ostream& os) const override;
  void serialize(ExportFields& fields) const override;

 private:
  std::vector<int64_t> start_, stop_, step_;
};

/// Splits inputs[0] along `axis` into consecutive pieces [bounds[k], bounds[k + 1]): one
/// multi-output node whose outputs are views (a kernel shared by every backend).
class EMBER_API Split : public Primitive {
 public:
  Split(int axis, std::vector<int64_t> bounds) : axis_(axis), bounds_(std::move(bounds)) {}
  const char* name() const override { return "Split"; }
  // Views: one kernel (backend/common/views.cpp) for every backend.
  void eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) override {
    eval_view_multi(inputs, outputs);
  }
  void eval_gpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) override {
    eval_view_multi(inputs, outputs);
  }
  void eval_view_multi(const std::vector<array>& inputs, std::vector<array>& outputs);
  std::vector<array> jvp_multi(const std::vector<array>& primals,
                               const std::vector<array>& tangents,
                               const std::vector<int>& argnums,
                               const std::vector<array>& outputs) override;
  std::vector<array> vjp_multi(const std::vector<array>& primals,
                               const std::vector<array>& cotangents,
                               const std::vector<int>& argnums,
                               const std::vector<array>& outputs) override;
  std::pair<std::vector<array>, std::vector<int>> vmap_multi(
      const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) override;
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  int axis_;
  std::vector<int64_t> bounds_;
};

/// A copy of inputs[0] with inputs[1] (already shaped and typed like the
/// window) written into the window a[start:stop:step].
class EMBER_API SliceUpdate : public Primitive {
 public:
  SliceUpdate(std::vector<int64_t> start, std::vector<int64_t> stop, std::vector<int64_t> step)
      : start_(std::move(start)), stop_(std::move(stop)), step_(std::move(step)) {}
  const char* name() const override { return "SliceUpdate"; }
  EMBER_SHAPE_RULES

 private:
  std::vector<int64_t> start_, stop_, step_;
};

/// Joins inputs (one dtype, equal shapes except along axis) along axis.
class EMBER_API Concatenate : public Primitive {
 public:
  explicit Concatenate(int axis) : axis_(axis) {}
  const char* name() const override { return "Concatenate"; }
  EMBER_SHAPE_RULES

 private:
  int axis_;
};

/// Constant padding: inputs = {a, value (0-d, a's dtype)}; widths_[i] is
/// (before, after) for axis i.
class EMBER_API Pad : public Primitive {
 public:
  explicit Pad(std::vector<std::pair<int64_t, int64_t>> widths) : widths_(std::move(widths)) {}
  const char* name() const override { return "Pad"; }
  EMBER_SHAPE_RULES

 private:
  std::vector<std::pair<int64_t, int64_t>> widths_;
};

/// inputs[0] unchanged (a view), with inputs[1:] as dependencies: they are
/// evaluated first, and get no cotangent.
class EMBER_API Depends : public Primitive {
 public:
  const char* name() const override { return "Depends"; }
  EMBER_VIEW_PRIMITIVE_RULES
  EMBER_NO_EXPORT_FIELDS
};

/// The bytes of inputs[0] read as another dtype (numpy's view): the last axis
/// scales by the ratio of item sizes. Not differentiable (bits, not values):
/// its jvp and vjp are zeros.
class EMBER_API View : public Primitive {
 public:
  explicit View(Dtype dtype) : dtype_(dtype) {}
  const char* name() const override { return "View"; }
  EMBER_SHAPE_RULES

 private:
  Dtype dtype_;
};

#undef EMBER_SHAPE_RULES

}  // namespace ember
