// Tracing a function into a recorded graph, shared by vjp, jvp and vmap.
#include "ember/transforms/trace.h"

#include "ember/errors.h"
#include "ember/graph.h"
#include "ember/ops.h"

namespace ember::detail {

void TraceInput::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.set_view(inputs[0], inputs[0].strides(), inputs[0].offset());
}
array TraceInput::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                      const std::vector<int>&, const array&) {
  return tangents[0];
}
std::vector<array> TraceInput::vjp(const std::vector<array>&, const array& cotangent,
                                   const std::vector<int>&, const array&) {
  return {cotangent};
}
std::pair<array, int> TraceInput::vmap(const std::vector<array>& inputs,
                                       const std::vector<BatchAxis>& axes) {
  return {inputs[0], *axes[0]};
}

array trace_input(const array& primal) {
  return make_node<TraceInput>(primal.shape(), primal.dtype(), {primal});
}

std::vector<Step> dependent_steps(const std::vector<array>& outputs,
                                  const std::unordered_set<uintptr_t>& roots) {
  // Do not walk into the roots: what lies beyond them belongs to the caller.
  auto order = topological_order(outputs, [&](const array& a) {
    return a.has_primitive() && !roots.count(a.id());
  });
  std::unordered_set<uintptr_t> depends(roots.begin(), roots.end());
  std::vector<Step> steps;
  for (auto& a : order) {
    if (roots.count(a.id()) || !a.has_primitive()) continue;
    bool dep = false;
    for (auto& in : a.inputs()) {
      if (depends.count(in.id())) {
        dep = true;
        break;
      }
    }
    if (!dep) continue;
    depends.insert(a.id());
    steps.push_back(Step{a, a.primitive_ptr(), a.inputs()});
  }
  return steps;
}

Trace trace_function(const ArrayFn& fun, const std::vector<array>& primals, const char* op) {
  Trace t;
  for (auto& p : primals) {
    if (!p.valid()) throw std::invalid_argument(msg("[", op, "] Got an empty array handle."));
    t.inputs.push_back(trace_input(p));
  }
  {
    TracingScope scope;  // eval inside fun must keep the graph we are about to walk
    t.outputs = fun(t.inputs);
  }
  for (auto& o : t.outputs) {
    if (!o.valid()) throw std::invalid_argument(msg("[", op, "] The function returned an empty array."));
  }
  std::unordered_set<uintptr_t> roots;
  for (auto& in : t.inputs) roots.insert(in.id());
  t.steps = dependent_steps(t.outputs, roots);
  return t;
}

std::vector<array> backward(const Trace& trace, const std::vector<array>& output_cotangents) {
  std::unordered_map<uintptr_t, array> ct;
  auto accumulate = [&](const array& node, const array& c) {
    auto it = ct.find(node.id());
    if (it == ct.end()) ct.emplace(node.id(), c);
    else it->second = add(it->second, c);
  };
  for (size_t i = 0; i < trace.outputs.size(); ++i) {
    if (output_cotangents[i].valid()) accumulate(trace.outputs[i], output_cotangents[i]);
  }
  // Which nodes carry gradient: inputs and dependent steps of inexact dtype.
  std::unordered_set<uintptr_t> carries;
  for (auto& in : trace.inputs) {
    if (is_inexact(in.dtype())) carries.insert(in.id());
  }
  for (auto& s : trace.steps) {
    if (is_inexact(s.node.dtype())) carries.insert(s.node.id());
  }
  for (auto it = trace.steps.rbegin(); it != trace.steps.rend(); ++it) {
    auto found = ct.find(it->node.id());
    if (found == ct.end()) continue;
    array cot = found->second;
    ct.erase(found);  // consumed: free it as early as possible
    if (!carries.count(it->node.id())) continue;
    std::vector<int> argnums;
    for (int i = 0; i < int(it->inputs.size()); ++i) {
      if (carries.count(it->inputs[i].id())) argnums.push_back(i);
    }
    if (argnums.empty()) continue;
    auto grads = it->primitive->vjp(it->inputs, cot, argnums, it->node);
    for (size_t k = 0; k < argnums.size(); ++k) {
      const array& in = it->inputs[argnums[k]];
      array g = grads[k];
      if (!g.valid()) continue;
      if (g.dtype() != in.dtype()) g = astype(g, in.dtype());
      if (g.shape() != in.shape()) g = broadcast_to(g, in.shape());
      accumulate(in, g);
    }
  }
  std::vector<array> result;
  for (auto& in : trace.inputs) {
    auto it = ct.find(in.id());
    result.push_back(it != ct.end() ? it->second : zeros(in.shape(), in.dtype()));
  }
  return result;
}

}  // namespace ember::detail
