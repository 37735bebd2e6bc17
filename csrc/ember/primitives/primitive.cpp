// Defaults of the Primitive interface: a missing rule raises a clear error.
#include "ember/primitives/primitive.h"

#include <typeinfo>

#include "ember/backend/gpu/gpu.h"
#include "ember/errors.h"
#include "ember/ops.h"

namespace ember {

void Primitive::eval_cpu(const std::vector<array>&, array&) {
  throw std::logic_error(msg("[", name(), "] has no single-output CPU kernel."));
}

// Without a kernel of its own on the GPU, a primitive's CPU kernel runs on the host
// (backend/gpu/gpu.h, eval_on_host).
void Primitive::eval_gpu(const std::vector<array>& inputs, array& out) {
  std::vector<array> outs{out};
  gpu::eval_on_host(*this, inputs, outs);
}

void Primitive::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  eval_cpu(inputs, outputs[0]);
}

void Primitive::eval_gpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  if (outputs.size() == 1) eval_gpu(inputs, outputs[0]);
  else gpu::eval_on_host(*this, inputs, outputs);
}

std::vector<array> Primitive::jvp_multi(const std::vector<array>& primals,
                                        const std::vector<array>& tangents,
                                        const std::vector<int>& argnums,
                                        const std::vector<array>& outputs) {
  return {jvp(primals, tangents, argnums, outputs[0])};
}

std::vector<array> Primitive::vjp_multi(const std::vector<array>& primals,
                                        const std::vector<array>& cotangents,
                                        const std::vector<int>& argnums,
                                        const std::vector<array>& outputs) {
  if (!cotangents[0].valid()) return std::vector<array>(argnums.size());
  return vjp(primals, cotangents[0], argnums, outputs[0]);
}

std::pair<std::vector<array>, std::vector<int>> Primitive::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  auto [y, ax] = vmap(inputs, axes);
  return {{std::move(y)}, {ax}};
}

array Primitive::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                     const array&) {
  throw std::invalid_argument(msg("Primitive's jvp not implemented. [primitive: ", name(), "]"));
}

std::vector<array> Primitive::vjp(const std::vector<array>&, const array&, const std::vector<int>&,
                                  const array&) {
  throw std::invalid_argument(msg("Primitive's vjp not implemented. [primitive: ", name(), "]"));
}

std::pair<array, int> Primitive::vmap(const std::vector<array>&, const std::vector<BatchAxis>&) {
  throw std::invalid_argument(msg("Primitive's vmap not implemented. [primitive: ", name(), "]"));
}

bool Primitive::is_equivalent(const Primitive& other) const {
  return typeid(*this) == typeid(other);
}

void Primitive::serialize(ExportFields&) const {
  throw std::invalid_argument(msg("[export_function] ", name(), " cannot be exported yet."));
}

namespace detail {

std::vector<array> batch_to_front(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes,
                                  bool expand_unbatched) {
  std::vector<array> out;
  out.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i]) out.push_back(moveaxis(inputs[i], *axes[i], 0));
    else out.push_back(expand_unbatched ? expand_dims(inputs[i], {0}) : inputs[i]);
  }
  return out;
}

}  // namespace detail
}  // namespace ember
