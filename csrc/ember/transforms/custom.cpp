// custom_function and checkpoint: a multi-output primitive that stands for the outputs of a
// user function and answers transforms with the user's rules.
#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/transforms/trace.h"

namespace ember {

namespace {

struct CustomRules {
  size_t num_inputs = 0;
  size_t num_outputs = 0;
  CustomVjpFn vjp;
  CustomJvpFn jvp;
  CustomVmapFn vmap;
};

// One node for all of the function's outputs: its inputs are the function's inputs followed
// by its outputs (computed by the function's own graph), and output k is a view of the
// function's output k. Each rule is called once for all outputs; transforms without a user
// rule flow through the function's own graph.
class CustomTransforms : public Primitive {
 public:
  explicit CustomTransforms(std::shared_ptr<CustomRules> rules) : rules_(std::move(rules)) {}
  const char* name() const override { return "CustomTransforms"; }
  // Two nodes are the same only for the same call (compile's CSE asks).
  bool is_equivalent(const Primitive& other) const override {
    auto* o = dynamic_cast<const CustomTransforms*>(&other);
    return o && o->rules_ == rules_;
  }

  void eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) override {
    views(inputs, outputs);
  }
  void eval_gpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) override {
    views(inputs, outputs);
  }

  std::vector<array> jvp_multi(const std::vector<array>& primals,
                               const std::vector<array>& tangents,
                               const std::vector<int>& argnums,
                               const std::vector<array>&) override {
    size_t n = rules_->num_inputs;
    std::vector<array> result(rules_->num_outputs);
    if (!rules_->jvp) {
      for (size_t i = 0; i < argnums.size(); ++i) {
        if (size_t(argnums[i]) >= n) result[argnums[i] - n] = tangents[i];
      }
      return result;
    }
    std::vector<array> xs(primals.begin(), primals.begin() + n);
    std::vector<array> ts;
    for (size_t j = 0; j < n; ++j) ts.push_back(zeros_like(xs[j]));
    bool any = false;
    for (size_t i = 0; i < argnums.size(); ++i) {
      if (size_t(argnums[i]) < n) {
        ts[argnums[i]] = tangents[i];
        any = true;
      }
    }
    if (!any) return result;
    auto outs = rules_->jvp(xs, ts);
    if (outs.size() != rules_->num_outputs) {
      throw std::invalid_argument(msg("[custom_function] The jvp rule returned ", outs.size(),
                                      " tangents for ", rules_->num_outputs, " outputs."));
    }
    return outs;
  }

  std::vector<array> vjp_multi(const std::vector<array>& primals,
                               const std::vector<array>& cotangents,
                               const std::vector<int>& argnums,
                               const std::vector<array>&) override {
    size_t n = rules_->num_inputs;
    std::vector<array> grads(argnums.size());
    if (!rules_->vjp) {
      for (size_t i = 0; i < argnums.size(); ++i) {
        if (size_t(argnums[i]) >= n) grads[i] = cotangents[argnums[i] - n];
      }
      return grads;
    }
    std::vector<array> xs(primals.begin(), primals.begin() + n);
    std::vector<array> ys(primals.begin() + n, primals.end());
    std::vector<array> cts;
    for (size_t j = 0; j < ys.size(); ++j) {
      cts.push_back(cotangents[j].valid() ? cotangents[j] : zeros_like(ys[j]));
    }
    auto gx = rules_->vjp(xs, cts, ys);
    if (gx.size() != n) {
      throw std::invalid_argument(msg("[custom_function] The vjp rule returned ", gx.size(),
                                      " cotangents for ", n, " inputs."));
    }
    for (size_t i = 0; i < argnums.size(); ++i) {
      if (size_t(argnums[i]) < n) grads[i] = gx[argnums[i]];
    }
    return grads;
  }

  std::pair<std::vector<array>, std::vector<int>> vmap_multi(
      const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) override {
    size_t n = rules_->num_inputs;
    if (rules_->vmap) {
      std::vector<array> xs(inputs.begin(), inputs.begin() + n);
      std::vector<BatchAxis> ax(axes.begin(), axes.begin() + n);
      auto result = rules_->vmap(xs, ax);
      if (result.first.size() != rules_->num_outputs ||
          result.second.size() != rules_->num_outputs) {
        throw std::invalid_argument(msg("[custom_function] The vmap rule returned ",
                                        result.first.size(), " outputs and ",
                                        result.second.size(), " axes for ",
                                        rules_->num_outputs, " outputs."));
      }
      return result;
    }
    int64_t batch = 0;
    for (size_t i = 0; i < axes.size(); ++i) {
      if (axes[i]) batch = inputs[i].shape(*axes[i]);
    }
    std::vector<array> outs;
    std::vector<int> out_axes;
    for (size_t k = n; k < inputs.size(); ++k) {
      if (axes[k]) {
        outs.push_back(inputs[k]);
        out_axes.push_back(*axes[k]);
        continue;
      }
      // This output does not depend on the batch: repeat it (a broadcast view).
      Shape s = inputs[k].shape();
      s.insert(s.begin(), batch);
      outs.push_back(broadcast_to(expand_dims(inputs[k], {0}), s));
      out_axes.push_back(0);
    }
    return {outs, out_axes};
  }

 private:
  void views(const std::vector<array>& inputs, std::vector<array>& outputs) const {
    for (size_t k = 0; k < outputs.size(); ++k) {
      const array& y = inputs[rules_->num_inputs + k];
      outputs[k].set_view(y, y.strides(), y.offset());
    }
  }

  std::shared_ptr<CustomRules> rules_;
};

}  // namespace

ArrayFn custom_function(ArrayFn fun, CustomVjpFn vjp, CustomJvpFn jvp, CustomVmapFn vmap) {
  auto rules = std::make_shared<CustomRules>();
  rules->vjp = std::move(vjp);
  rules->jvp = std::move(jvp);
  rules->vmap = std::move(vmap);
  return [fun = std::move(fun), rules](const std::vector<array>& inputs) {
    std::vector<array> outputs = fun(inputs);
    auto r = std::make_shared<CustomRules>(*rules);
    r->num_inputs = inputs.size();
    r->num_outputs = outputs.size();
    std::vector<array> node_inputs = inputs;
    node_inputs.insert(node_inputs.end(), outputs.begin(), outputs.end());
    if (outputs.empty()) return outputs;
    std::vector<Shape> shapes;
    std::vector<Dtype> dtypes;
    for (auto& o : outputs) {
      shapes.push_back(o.shape());
      dtypes.push_back(o.dtype());
    }
    return make_nodes<CustomTransforms>(std::move(shapes), std::move(dtypes),
                                        std::move(node_inputs), r);
  };
}

ArrayFn checkpoint(ArrayFn fun) {
  // The vjp rule traces fun again from the primals: the original forward's
  // intermediates are then referenced by nothing in the backward graph.
  CustomVjpFn recompute = [fun](const std::vector<array>& primals, const std::vector<array>& cts,
                                const std::vector<array>&) {
    return ember::vjp(fun, primals, cts, "checkpoint").second;
  };
  return custom_function(std::move(fun), recompute);
}

}  // namespace ember
