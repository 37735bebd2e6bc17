// compile: trace a function once per input signature into a tape of primitives,
// simplify the tape (common subexpressions, dead code, constant folding), fuse
// elementwise chains into one Compiled primitive, and replay the tape on new inputs.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ember/primitives/primitive.h"
#include "ember/transforms.h"
#include "ember/transforms/trace.h"

namespace ember {

/// Returns fun compiled: the first call with a given list of input shapes and dtypes
/// traces fun; later calls replay the simplified, fused graph without calling fun.
/// With shapeless, one trace serves every shape of the same ranks where the graph
/// allows (elementwise graphs); otherwise a call with new shapes raises ValueError.
EMBER_API ArrayFn compile(ArrayFn fun, bool shapeless = false);
/// Makes compiled functions call fun directly (enable_compile undoes it). The
/// environment variable EMBER_DISABLE_COMPILE=1 starts a process with compile off.
EMBER_API void disable_compile();
EMBER_API void enable_compile();
EMBER_API bool compile_enabled();

namespace detail {

/// A fused elementwise graph, independent of the backend. Every value has the output's
/// shape: values [0, num_inputs) are the inputs (broadcast to the output shape with
/// numpy's rules), value num_inputs + k is the result of ops[k], and the last op gives
/// the output. The CPU runs it a cache-sized block at a time through each op's own
/// kernel; a GPU backend can emit one kernel from the same list (primitive names,
/// argument indices and dtypes are all it needs).
struct FusedGraph {
  struct Op {
    std::shared_ptr<Primitive> primitive;  // elementwise (unary, binary, where)
    std::vector<int> args;                 // value indices
    Dtype dtype;                           // dtype of the result
  };
  std::vector<Dtype> input_dtypes;
  std::vector<Op> ops;
  /// Optional: a sum of the last op's value over its trailing axes (a Reduce, float32 or
  /// float64), computed in the same pass (sum(exp(x - m))). The output then has
  /// reduced_shape; elementwise_shape is the shape the ops run at.
  std::shared_ptr<Primitive> reduce;
  Shape elementwise_shape, reduced_shape;
  int num_inputs() const { return int(input_dtypes.size()); }
};

/// The primitive of a fused chain. Its inputs broadcast to its output shape. Its
/// transform rules expand the chain back into its ops and apply their rules; vmap
/// re-applies the same graph to the batched inputs (it is elementwise).
class EMBER_API Compiled : public Primitive {
 public:
  explicit Compiled(std::shared_ptr<const FusedGraph> graph) : graph_(std::move(graph)) {}
  const char* name() const override { return "Compiled"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  bool is_equivalent(const Primitive& other) const override;
  void print(std::ostream& os) const override;
  /// The fused graph's ops as nested primitives (export; transforms/compile_export.cpp).
  void serialize(ExportFields& fields) const override;
  const FusedGraph& graph() const { return *graph_; }
  /// The unfused ops applied to `inputs`, recorded as a trace whose output has `shape`.
  Trace expand(const std::vector<array>& inputs, const Shape& shape) const;

 private:
  std::shared_ptr<const FusedGraph> graph_;
  // What the CPU kernel derives from the graph once (its per-op loops).
  mutable std::once_flag cpu_once_;
  mutable std::shared_ptr<const void> cpu_plan_;
};

/// A traced function after the passes, ready to be replayed. Slots [0, num_inputs) are
/// the inputs, then one per constant, then one per step.
struct Tape {
  struct Step {
    std::shared_ptr<Primitive> primitive;
    std::vector<int> args;  // slots
    Shape shape;
    Dtype dtype;
    bool implicit_broadcast = false;  // a BroadcastTo that shapeless replay can re-derive
    // Output `position` of a multi-output node of `group_size` outputs: its steps are
    // consecutive, and replay builds them together (array::make_siblings).
    int position = 0;
    int group_size = 1;
  };
  int num_inputs = 0;
  std::vector<Shape> input_shapes;  // as traced
  std::vector<array> constants;     // values that do not depend on the inputs
  std::vector<Step> steps;
  std::vector<int> outputs;
  int traced_steps = 0;           // dependent nodes the trace recorded, before the passes
  std::string shapeless_blocker;  // the primitive that fixes shapes ("" if none)
};

struct CompileOptions {
  bool shapeless = false;
  bool fuse = true;  // off: only the graph passes (benchmarks compare both)
};

/// Traces fun on placeholders shaped like `inputs` and runs the passes.
EMBER_API std::shared_ptr<Tape> compile_trace(const ArrayFn& fun, const std::vector<array>& inputs,
                                              const CompileOptions& options);
/// Marks what shapeless replay can re-derive (implicit broadcasts) and names the first step
/// that fixes a shape (shapeless_blocker); compile_trace runs it when shapeless.
EMBER_API void check_shapeless(Tape& tape);
/// Builds the tape's outputs from new inputs (no call of the traced function).
EMBER_API std::vector<array> compile_replay(const Tape& tape, const std::vector<array>& inputs,
                                            bool shapeless = false);

}  // namespace detail
}  // namespace ember
