// Reverse mode: trace the function, then walk the trace backwards applying
// each primitive's vjp rule. grad and value_and_grad are built on it.
#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/transforms/trace.h"

namespace ember {

namespace {

void check_cotangents(const char* op, const std::vector<array>& outputs,
                      const std::vector<array>& cotangents) {
  if (cotangents.size() != outputs.size()) {
    throw std::invalid_argument(msg("[", op, "] Got ", cotangents.size(), " cotangent",
                                    cotangents.size() == 1 ? "" : "s", " for ", outputs.size(),
                                    " output", outputs.size() == 1 ? "" : "s", "."));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (cotangents[i].shape() != outputs[i].shape() || cotangents[i].dtype() != outputs[i].dtype()) {
      throw std::invalid_argument(msg("[", op, "] Cotangent ", i, " has shape ", cotangents[i].shape(),
                                      " and dtype ", dtype_name(cotangents[i].dtype()), " but output ", i,
                                      " has shape ", outputs[i].shape(), " and dtype ",
                                      dtype_name(outputs[i].dtype()), "."));
    }
  }
}

}  // namespace

std::pair<std::vector<array>, std::vector<array>> vjp(const ArrayFn& fun,
                                                      const std::vector<array>& primals,
                                                      const std::vector<array>& cotangents,
                                                      const char* op) {
  auto trace = detail::trace_function(fun, primals, op);
  check_cotangents(op, trace.outputs, cotangents);
  std::vector<array> cts;
  for (size_t i = 0; i < cotangents.size(); ++i) {
    cts.push_back(astype(cotangents[i], trace.outputs[i].dtype()));
  }
  auto grads = detail::backward(trace, cts);
  return {trace.outputs, grads};
}

std::pair<std::vector<array>, std::vector<array>> detail::value_and_grad_trace(
    const ArrayFn& fun, const std::vector<array>& primals, const char* op) {
  auto trace = trace_function(fun, primals, op);
  if (trace.outputs.empty()) {
    throw std::invalid_argument(msg("[", op, "] The function returned no arrays."));
  }
  const array& loss = trace.outputs[0];
  if (loss.ndim() != 0) {
    throw std::invalid_argument(msg("[", op, "] The function must return a scalar (0-d array), "
                                    "but it returned shape ", loss.shape(), "."));
  }
  if (!is_inexact(loss.dtype())) {
    throw type_error(msg("[", op, "] The function must return a floating point scalar, but it "
                         "returned dtype ", dtype_name(loss.dtype()), "."));
  }
  std::vector<array> cts(trace.outputs.size());
  cts[0] = ones({}, loss.dtype());
  return {trace.outputs, backward(trace, cts)};
}

ValueAndGradFn value_and_grad(ArrayFn fun, std::vector<int> argnums) {
  if (argnums.empty()) throw std::invalid_argument("[value_and_grad] argnums must not be empty.");
  return [fun = std::move(fun), argnums](const std::vector<array>& inputs) {
    for (int a : argnums) {
      if (a < 0 || a >= int(inputs.size())) {
        throw std::invalid_argument(msg("[value_and_grad] argnums ", a, " is out of range for ",
                                        inputs.size(), " arguments."));
      }
      if (!is_inexact(inputs[a].dtype())) {
        throw type_error(msg("[value_and_grad] Argument ", a, " has dtype ",
                             dtype_name(inputs[a].dtype()),
                             "; only floating point arguments can be differentiated."));
      }
    }
    std::vector<array> primals;
    for (int a : argnums) primals.push_back(inputs[a]);
    auto partial = [&](const std::vector<array>& diff) {
      std::vector<array> all = inputs;
      for (size_t k = 0; k < argnums.size(); ++k) all[argnums[k]] = diff[k];
      return fun(all);
    };
    return detail::value_and_grad_trace(partial, primals, "value_and_grad");
  };
}

std::function<std::vector<array>(const std::vector<array>&)> grad(ArrayFn fun,
                                                                  std::vector<int> argnums) {
  auto vg = value_and_grad(std::move(fun), std::move(argnums));
  return [vg](const std::vector<array>& inputs) { return vg(inputs).second; };
}

}  // namespace ember
