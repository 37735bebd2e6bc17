// Tracing a function into a recorded graph, shared by vjp, jvp and vmap.
#include "ember/transforms/trace.h"

#include "ember/errors.h"
#include "ember/graph.h"
#include "ember/ops.h"

namespace ember::detail {

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
  GraphReadLock lock;  // the nodes found are read below (graph.h)
  // Do not walk into the roots: what lies beyond them belongs to the caller.
  auto order = topological_order(outputs, [&](const array& a) {
    return a.has_primitive() && !roots.count(a.id());
  });
  std::unordered_set<uintptr_t> depends(roots.begin(), roots.end());
  std::unordered_set<uintptr_t> groups;  // multi-output nodes already recorded
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
    if (a.num_siblings() == 1) {
      depends.insert(a.id());
      steps.push_back(Step{{a}, a.primitive_ptr(), a.inputs()});
      continue;
    }
    // All outputs of a multi-output node form one step, placed where the first of them is
    // met: each sibling's users come after it, so forward and reverse passes both see the
    // step at a valid point.
    if (!groups.insert(a.group_id()).second) continue;
    std::vector<array> outs = a.siblings();
    for (auto& o : outs) depends.insert(o.id());
    steps.push_back(Step{std::move(outs), a.primitive_ptr(), a.inputs()});
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
    for (auto& o : s.outputs) {
      if (is_inexact(o.dtype())) carries.insert(o.id());
    }
  }
  for (auto it = trace.steps.rbegin(); it != trace.steps.rend(); ++it) {
    std::vector<array> cots(it->outputs.size());
    bool any = false;
    for (size_t k = 0; k < cots.size(); ++k) {
      const array& o = it->outputs[k];
      auto found = ct.find(o.id());
      if (found == ct.end()) continue;
      if (carries.count(o.id())) {
        cots[k] = std::move(found->second);
        any = true;
      }
      ct.erase(found);  // consumed: free it as early as possible
    }
    if (!any) continue;
    std::vector<int> argnums;
    for (int i = 0; i < int(it->inputs.size()); ++i) {
      if (carries.count(it->inputs[i].id())) argnums.push_back(i);
    }
    if (argnums.empty()) continue;
    auto grads = it->primitive->vjp_multi(it->inputs, cots, argnums, it->outputs);
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
