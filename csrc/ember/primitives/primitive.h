// The Primitive interface: each node of the lazy graph records one primitive,
// which knows how to compute its output (eval_cpu) and how to transform itself
// (jvp, vjp, vmap). Rules are written with ops, so they are differentiable
// and batchable in turn, which is what lets transforms nest.
#pragma once

#include <optional>
#include <ostream>
#include <utility>
#include <vector>

#include "ember/api.h"
#include "ember/array.h"
#include "ember/config.h"

namespace ember {

class ExportFields;

/// Where the batch dimension of a vmapped value lives; nullopt: not batched.
using BatchAxis = std::optional<int>;

/// A primitive computes one output (most) or several at once (a multi-output node, made with
/// array::make_siblings: split, divmod, factorizations, custom functions with several
/// outputs). Single-output primitives override the single forms below; multi-output ones
/// override the `_multi` forms (EMBER_MULTI_PRIMITIVE_RULES). A node built by make_node runs
/// the single forms; the outputs of make_nodes run the `_multi` forms, whose defaults forward
/// to the single forms. The transforms always call the `_multi` forms.
///
/// Kernels: eval_cpu runs on the CPU backend (backend/cpu/); eval_gpu is defined by a GPU
/// backend (backend/cuda/...) for the primitives it has kernels for; the default says there
/// is none. Kernels that do not depend on the device (views, identities) are written once,
/// with one `eval_view` (EMBER_VIEW_PRIMITIVE_RULES) that serves every backend
/// (backend/common/views.cpp).
class EMBER_API Primitive {
 public:
  virtual ~Primitive() = default;

  /// The class name, e.g. "Add"; shown in errors and graph prints.
  virtual const char* name() const = 0;

  /// Computes `out` from evaluated `inputs`; `out` has its shape and dtype set.
  virtual void eval_cpu(const std::vector<array>& inputs, array& out);
  /// GPU kernel; the default runs eval_cpu on the host (see EMBER_GPU_KERNEL below).
  virtual void eval_gpu(const std::vector<array>& inputs, array& out);

  // ---- every output at once (what the engine and the transforms call) ----
  virtual void eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs);
  virtual void eval_gpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs);
  /// One tangent per output (an invalid array: zero).
  virtual std::vector<array> jvp_multi(const std::vector<array>& primals,
                                       const std::vector<array>& tangents,
                                       const std::vector<int>& argnums,
                                       const std::vector<array>& outputs);
  /// One cotangent per output in, invalid where that output gets none; one per argnum out.
  virtual std::vector<array> vjp_multi(const std::vector<array>& primals,
                                       const std::vector<array>& cotangents,
                                       const std::vector<int>& argnums,
                                       const std::vector<array>& outputs);
  /// The batched outputs and where each one's batch axis is.
  virtual std::pair<std::vector<array>, std::vector<int>> vmap_multi(
      const std::vector<array>& inputs, const std::vector<BatchAxis>& axes);

  /// Forward mode: the output tangent, given tangents[i] for primals[argnums[i]]
  /// (inputs not listed have zero tangent). `out` is the primal output.
  virtual array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                    const std::vector<int>& argnums, const array& out);

  /// Reverse mode: one cotangent per entry of argnums, each shaped like that
  /// input, given the output's cotangent. An empty (invalid) array means the
  /// input gets no cotangent from this node (cheaper than zeros).
  virtual std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                                 const std::vector<int>& argnums, const array& out);

  /// Batching: inputs carry an extra batch dimension at axes[i] (or none).
  /// Returns the batched output and where its batch dimension is.
  virtual std::pair<array, int> vmap(const std::vector<array>& inputs,
                                     const std::vector<BatchAxis>& axes);

  /// True when `other` would compute the same thing from the same inputs.
  virtual bool is_equivalent(const Primitive& other) const;

  /// Name and parameters, for printing graphs.
  virtual void print(std::ostream& os) const { os << name(); }

  /// Adds the parameters that export_function stores; the loader registered under name()
  /// rebuilds the primitive from them (export/fields.h). The default raises "cannot be
  /// exported yet": a primitive is exportable once it says what it needs (nothing, for one
  /// without parameters).
  virtual void serialize(ExportFields& fields) const;
};

/// Declares serialize() for a primitive without parameters.
#define EMBER_NO_EXPORT_FIELDS \
  void serialize(ExportFields&) const override {}

namespace detail {
/// vmap helper: moves each batched input's batch axis to 0 and gives each
/// unbatched input a leading size-1 axis, so ops that broadcast line up.
EMBER_API std::vector<array> batch_to_front(const std::vector<array>& inputs,
                                            const std::vector<BatchAxis>& axes,
                                            bool expand_unbatched = true);
}  // namespace detail

/// The GPU kernel slot. Primitive::eval_gpu's default runs the CPU kernel on the host (the
/// GPU backend's explicit fallback: it waits for the inputs and copies them to host memory
/// once); a primitive with a kernel of its own on the GPU declares EMBER_GPU_KERNEL (or
/// EMBER_GPU_KERNEL_MULTI) and the GPU backend defines it in its family file
/// (backend/cuda/<family>.cu). Without a GPU backend (EMBER_GPU_KERNELS unset, see
/// ember/config.h) these expand to nothing.
#if defined(EMBER_GPU_KERNELS)
#define EMBER_GPU_KERNEL void eval_gpu(const std::vector<array>& inputs, array& out) override;
#define EMBER_GPU_KERNEL_MULTI \
  void eval_gpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) override;
#else
#define EMBER_GPU_KERNEL
#define EMBER_GPU_KERNEL_MULTI
#endif

/// Declares a primitive's CPU kernel and its three transform rules (the usual set of
/// overrides; a primitive that keeps a default leaves it out and declares the rest).
#define EMBER_PRIMITIVE_RULES                                                               \
  void eval_cpu(const std::vector<array>& inputs, array& out) override;                      \
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,           \
            const std::vector<int>& argnums, const array& out) override;                     \
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,          \
                         const std::vector<int>& argnums, const array& out) override;        \
  std::pair<array, int> vmap(const std::vector<array>& inputs,                               \
                             const std::vector<BatchAxis>& axes) override;

/// The same set for a primitive whose kernel does not depend on the device (a view or an
/// identity): one `eval_view`, defined in backend/common/views.cpp, is its kernel on every
/// backend.
#define EMBER_VIEW_PRIMITIVE_RULES                                                          \
  void eval_cpu(const std::vector<array>& inputs, array& out) override {                    \
    eval_view(inputs, out);                                                                 \
  }                                                                                         \
  void eval_gpu(const std::vector<array>& inputs, array& out) override {                    \
    eval_view(inputs, out);                                                                 \
  }                                                                                         \
  void eval_view(const std::vector<array>& inputs, array& out);                             \
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,           \
            const std::vector<int>& argnums, const array& out) override;                     \
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,          \
                         const std::vector<int>& argnums, const array& out) override;        \
  std::pair<array, int> vmap(const std::vector<array>& inputs,                               \
                             const std::vector<BatchAxis>& axes) override;

/// The same set for a multi-output primitive.
#define EMBER_MULTI_PRIMITIVE_RULES                                                          \
  void eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) override; \
  std::vector<array> jvp_multi(const std::vector<array>& primals,                            \
                               const std::vector<array>& tangents,                           \
                               const std::vector<int>& argnums,                              \
                               const std::vector<array>& outputs) override;                  \
  std::vector<array> vjp_multi(const std::vector<array>& primals,                            \
                               const std::vector<array>& cotangents,                         \
                               const std::vector<int>& argnums,                              \
                               const std::vector<array>& outputs) override;                  \
  std::pair<std::vector<array>, std::vector<int>> vmap_multi(                                \
      const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) override;

/// Builds the outputs of a multi-output primitive (siblings of one node).
template <typename P, typename... Args>
std::vector<array> make_nodes(std::vector<Shape> shapes, std::vector<Dtype> dtypes,
                              std::vector<array> inputs, Args&&... args) {
  return array::make_siblings(std::move(shapes), std::move(dtypes),
                              std::make_shared<P>(std::forward<Args>(args)...), std::move(inputs));
}

/// Builds the lazy output node of a primitive.
template <typename P, typename... Args>
array make_node(Shape shape, Dtype dtype, std::vector<array> inputs, Args&&... args) {
  return array(std::move(shape), dtype, std::make_shared<P>(std::forward<Args>(args)...),
               std::move(inputs));
}

}  // namespace ember
