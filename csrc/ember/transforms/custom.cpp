// custom_function and checkpoint: a primitive that stands for one output of a
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

// Inputs are the function's inputs followed by its outputs (computed by the
// function's own graph); the node is a view of output `index_`. Transforms
// without a user rule flow through that output's graph.
class CustomTransforms : public Primitive {
 public:
  CustomTransforms(std::shared_ptr<CustomRules> rules, size_t index)
      : rules_(std::move(rules)), index_(index) {}
  const char* name() const override { return "CustomTransforms"; }
  // Two nodes are the same only for the same call's same output (compile's CSE asks).
  bool is_equivalent(const Primitive& other) const override {
    auto* o = dynamic_cast<const CustomTransforms*>(&other);
    return o && o->rules_ == rules_ && o->index_ == index_;
  }

  void eval_cpu(const std::vector<array>& inputs, array& out) override {
    const array& y = inputs[rules_->num_inputs + index_];
    out.set_view(y, y.strides(), y.offset());
  }

  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override {
    size_t n = rules_->num_inputs;
    if (!rules_->jvp) {
      for (size_t i = 0; i < argnums.size(); ++i) {
        if (size_t(argnums[i]) == n + index_) return tangents[i];
      }
      return array();
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
    if (!any) return array();
    auto outs = rules_->jvp(xs, ts);
    if (outs.size() != rules_->num_outputs) {
      throw std::invalid_argument(msg("[custom_function] The jvp rule returned ", outs.size(),
                                      " tangents for ", rules_->num_outputs, " outputs."));
    }
    return outs[index_];
  }

  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override {
    size_t n = rules_->num_inputs;
    std::vector<array> grads(argnums.size());
    if (!rules_->vjp) {
      for (size_t i = 0; i < argnums.size(); ++i) {
        if (size_t(argnums[i]) == n + index_) grads[i] = cotangent;
      }
      return grads;
    }
    std::vector<array> xs(primals.begin(), primals.begin() + n);
    std::vector<array> ys(primals.begin() + n, primals.end());
    std::vector<array> cts;
    for (size_t j = 0; j < ys.size(); ++j) cts.push_back(j == index_ ? cotangent : zeros_like(ys[j]));
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

  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override {
    size_t n = rules_->num_inputs;
    if (rules_->vmap) {
      std::vector<array> xs(inputs.begin(), inputs.begin() + n);
      std::vector<BatchAxis> ax(axes.begin(), axes.begin() + n);
      auto [outs, out_axes] = rules_->vmap(xs, ax);
      return {outs.at(index_), out_axes.at(index_)};
    }
    size_t k = n + index_;
    if (axes[k]) return {inputs[k], *axes[k]};
    // The output does not depend on the batch: repeat it (a broadcast view).
    int64_t batch = 0;
    for (size_t i = 0; i < axes.size(); ++i) {
      if (axes[i]) batch = inputs[i].shape(*axes[i]);
    }
    Shape s = inputs[k].shape();
    s.insert(s.begin(), batch);
    return {broadcast_to(expand_dims(inputs[k], {0}), s), 0};
  }

 private:
  std::shared_ptr<CustomRules> rules_;
  size_t index_;
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
    std::vector<array> wrapped;
    for (size_t k = 0; k < outputs.size(); ++k) {
      wrapped.push_back(make_node<CustomTransforms>(outputs[k].shape(), outputs[k].dtype(), node_inputs,
                                                    r, k));
    }
    return wrapped;
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
