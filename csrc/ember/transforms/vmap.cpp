// Vectorization: trace the function on placeholders shaped like one slice of
// the batch, then rebuild the trace with each primitive's vmap rule applied
// to the real, batched inputs.
#include <unordered_map>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/transforms/trace.h"

namespace ember {

std::vector<array> detail::vmap_apply(const ArrayFn& fun, const std::vector<array>& inputs,
                                      const std::vector<std::optional<int>>& in_axes,
                                      const OutAxesFn& out_axes_for) {
  {
    if (in_axes.size() != inputs.size()) {
      throw std::invalid_argument(msg("[vmap] in_axes has ", in_axes.size(), " entries but the function got ",
                                      inputs.size(), " arguments."));
    }
    int64_t batch = -1;
    size_t batch_source = 0;
    std::vector<array> traced;
    std::unordered_set<uintptr_t> roots;
    // Batched value and batch axis of every node that depends on a mapped input.
    std::unordered_map<uintptr_t, std::pair<array, int>> batched;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const array& x = inputs[i];
      if (!in_axes[i]) {
        traced.push_back(x);
        continue;
      }
      int ax = *in_axes[i];
      if (ax < -x.ndim() || ax >= x.ndim()) {
        throw std::invalid_argument(msg("[vmap] in_axes ", ax, " is out of bounds for argument ", i,
                                        " with shape ", x.shape(), "."));
      }
      if (ax < 0) ax += x.ndim();
      int64_t n = x.shape(ax);
      if (batch >= 0 && n != batch) {
        throw std::invalid_argument(msg("[vmap] Mapped axes have different sizes: argument ", batch_source,
                                        " has size ", batch, " on its mapped axis ",
                                        *in_axes[batch_source], ", argument ", i, " has size ", n,
                                        " on its mapped axis ", *in_axes[i], "."));
      }
      if (batch < 0) {
        batch = n;
        batch_source = i;
      }
      Shape s = x.shape();
      s.erase(s.begin() + ax);
      array p = array::placeholder(s, x.dtype());
      roots.insert(p.id());
      batched.emplace(p.id(), std::make_pair(x, ax));
      traced.push_back(p);
    }
    if (batch < 0) {
      throw std::invalid_argument("[vmap] At least one argument must be mapped (in_axes is None for all).");
    }
    std::vector<array> outputs = fun(traced);
    std::vector<std::optional<int>> out_axes = out_axes_for(outputs.size());
    if (out_axes.size() != outputs.size()) {
      throw std::invalid_argument(msg("[vmap] out_axes has ", out_axes.size(),
                                      " entries but the function returned ", outputs.size(), " outputs."));
    }
    for (auto& step : detail::dependent_steps(outputs, roots)) {
      std::vector<array> ins;
      std::vector<BatchAxis> axes;
      for (auto& in : step.inputs) {
        auto it = batched.find(in.id());
        if (it != batched.end()) {
          ins.push_back(it->second.first);
          axes.push_back(it->second.second);
        } else {
          ins.push_back(in);
          axes.push_back(std::nullopt);
        }
      }
      auto [ys, ax] = step.primitive->vmap_multi(ins, axes);
      for (size_t k = 0; k < step.outputs.size(); ++k) {
        batched.emplace(step.outputs[k].id(), std::make_pair(ys.at(k), ax.at(k)));
      }
    }
    std::vector<array> results;
    for (size_t j = 0; j < outputs.size(); ++j) {
      const array& o = outputs[j];
      auto it = batched.find(o.id());
      if (!out_axes[j]) {
        if (it != batched.end()) {
          throw std::invalid_argument(msg("[vmap] out_axes is None for output ", j,
                                          ", but that output depends on the mapped inputs."));
        }
        results.push_back(o);
        continue;
      }
      int nd = o.ndim() + 1;
      int oax = *out_axes[j];
      if (oax < -nd || oax >= nd) {
        throw std::invalid_argument(msg("[vmap] out_axes ", oax, " is out of bounds for output ", j,
                                        " with ", nd, " dimensions (batch included)."));
      }
      if (oax < 0) oax += nd;
      if (it != batched.end()) {
        results.push_back(moveaxis(it->second.first, it->second.second, oax));
      } else {
        // Does not depend on the batch: repeat it along the new axis (a broadcast view).
        Shape s = o.shape();
        s.insert(s.begin() + oax, batch);
        results.push_back(broadcast_to(expand_dims(o, {oax}), s));
      }
    }
    return results;
  }
}

ArrayFn vmap(ArrayFn fun, std::vector<std::optional<int>> in_axes,
             std::vector<std::optional<int>> out_axes) {
  return [fun = std::move(fun), in_axes = std::move(in_axes),
          out_axes = std::move(out_axes)](const std::vector<array>& inputs) {
    return detail::vmap_apply(fun, inputs, in_axes, [&](size_t) { return out_axes; });
  };
}

}  // namespace ember
