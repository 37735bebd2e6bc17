// Defaults of the Primitive interface: a missing rule raises a clear error.
#include "ember/primitives/primitive.h"

#include <typeinfo>

#include "ember/errors.h"
#include "ember/ops.h"

namespace ember {

void Primitive::eval_gpu(const std::vector<array>&, array&) {
  throw std::runtime_error(msg("[", name(), "] has no GPU kernel."));
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
