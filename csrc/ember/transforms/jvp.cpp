// Forward mode: trace the function, then walk the trace forwards pushing
// tangents through each primitive's jvp rule.
#include <unordered_map>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/transforms/trace.h"

namespace ember {

std::vector<array> detail::forward(const Trace& trace, const std::vector<array>& input_tangents) {
  std::unordered_map<uintptr_t, array> tan;
  for (size_t i = 0; i < trace.inputs.size(); ++i) {
    if (input_tangents[i].valid()) tan.emplace(trace.inputs[i].id(), input_tangents[i]);
  }
  for (auto& s : trace.steps) {
    bool inexact = false;  // integer / bool values carry no tangent
    for (auto& o : s.outputs) inexact = inexact || is_inexact(o.dtype());
    if (!inexact) continue;
    std::vector<int> argnums;
    std::vector<array> ts;
    for (int i = 0; i < int(s.inputs.size()); ++i) {
      auto it = tan.find(s.inputs[i].id());
      if (it != tan.end()) {
        argnums.push_back(i);
        ts.push_back(it->second);
      }
    }
    if (argnums.empty()) continue;
    auto outs_t = s.primitive->jvp_multi(s.inputs, ts, argnums, s.outputs);
    for (size_t k = 0; k < s.outputs.size() && k < outs_t.size(); ++k) {
      const array& o = s.outputs[k];
      array t = outs_t[k];
      if (!t.valid() || !is_inexact(o.dtype())) continue;
      if (t.dtype() != o.dtype()) t = astype(t, o.dtype());
      if (t.shape() != o.shape()) t = broadcast_to(t, o.shape());
      tan.emplace(o.id(), t);
    }
  }
  std::vector<array> out;
  for (auto& o : trace.outputs) {
    auto it = tan.find(o.id());
    out.push_back(it != tan.end() ? it->second : array());
  }
  return out;
}

std::pair<std::vector<array>, std::vector<array>> jvp(const ArrayFn& fun,
                                                      const std::vector<array>& primals,
                                                      const std::vector<array>& tangents,
                                                      const char* op) {
  if (tangents.size() != primals.size()) {
    throw std::invalid_argument(msg("[", op, "] Got ", tangents.size(), " tangents for ",
                                    primals.size(), " primals."));
  }
  for (size_t i = 0; i < primals.size(); ++i) {
    if (tangents[i].shape() != primals[i].shape()) {
      throw std::invalid_argument(msg("[", op, "] Tangent ", i, " has shape ", tangents[i].shape(),
                                      " but primal ", i, " has shape ", primals[i].shape(), "."));
    }
  }
  auto trace = detail::trace_function(fun, primals, op);
  std::vector<array> ts(primals.size());
  for (size_t i = 0; i < primals.size(); ++i) {
    if (is_inexact(primals[i].dtype())) ts[i] = astype(tangents[i], primals[i].dtype());
  }
  std::vector<array> out_tangents = detail::forward(trace, ts);
  for (size_t j = 0; j < out_tangents.size(); ++j) {
    const array& o = trace.outputs[j];
    if (!out_tangents[j].valid()) out_tangents[j] = zeros(o.shape(), o.dtype());
  }
  return {trace.outputs, out_tangents};
}

}  // namespace ember
