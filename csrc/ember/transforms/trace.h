// Internal pieces shared by the transforms: the identity node that marks a
// traced input, and a recorded graph ("trace") that a transform interprets.
#pragma once

#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ember/primitives/primitive.h"
#include "ember/transforms.h"

namespace ember::detail {

/// The node a transform feeds to the user's function in place of a primal:
/// an identity (a view at eval) whose input is the primal, so the trace can
/// stop at it and outer transforms can still see through it.
class EMBER_API TraceInput : public Primitive {
 public:
  const char* name() const override { return "TraceInput"; }
  EMBER_VIEW_PRIMITIVE_RULES
};

array trace_input(const array& primal);

/// One recorded computation: the primitive and inputs are copied at trace time, so the
/// trace stays usable even if the nodes are evaluated (and detached) later. `outputs` holds
/// every output of the node (one, or the siblings of a multi-output node, in order).
struct Step {
  std::vector<array> outputs;
  std::shared_ptr<Primitive> primitive;
  std::vector<array> inputs;
};

/// The part of the graph between `inputs` and `outputs`, in topological order,
/// restricted to nodes that depend on an input. Nodes that do not depend on
/// any input are constants for the transform and are not listed.
struct Trace {
  std::vector<array> inputs;   // the TraceInput nodes
  std::vector<array> outputs;  // what the function returned
  std::vector<Step> steps;     // dependent nodes, inputs before users
};

/// Calls fun on trace inputs built from primals and records the trace.
/// `op` names the user-facing transform for errors.
EMBER_API Trace trace_function(const ArrayFn& fun, const std::vector<array>& primals, const char* op);

/// Walks the graph from outputs down to (not into) `stop` nodes and returns
/// the nodes that depend on any of `roots`, in topological order.
std::vector<Step> dependent_steps(const std::vector<array>& outputs,
                                  const std::unordered_set<uintptr_t>& roots);

/// Backward pass over a recorded trace: cotangents for trace.inputs given
/// cotangents for trace.outputs (an invalid array means zero).
EMBER_API std::vector<array> backward(const Trace& trace, const std::vector<array>& output_cotangents);

/// Forward pass over a recorded trace: tangents for trace.outputs given tangents for
/// trace.inputs (an invalid array means zero, in and out).
EMBER_API std::vector<array> forward(const Trace& trace, const std::vector<array>& input_tangents);

/// The core of grad / value_and_grad: traces fun, checks that its first output
/// is a floating point scalar (the others are auxiliary) and pulls a cotangent of
/// 1 back from it. Returns (outputs, one gradient per primal). `op` names the
/// transform the user called.
EMBER_API std::pair<std::vector<array>, std::vector<array>> value_and_grad_trace(
    const ArrayFn& fun, const std::vector<array>& primals, const char* op);

/// vmap with out_axes chosen once the number of outputs is known (the
/// Python layer resolves out_axes trees against the returned structure).
using OutAxesFn = std::function<std::vector<std::optional<int>>(size_t num_outputs)>;
EMBER_API std::vector<array> vmap_apply(const ArrayFn& fun, const std::vector<array>& inputs,
                                        const std::vector<std::optional<int>>& in_axes,
                                        const OutAxesFn& out_axes_for);

}  // namespace ember::detail
