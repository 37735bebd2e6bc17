// Transform rules of the creation family.
#include "ember/primitives/creation.h"

#include "ember/ops.h"

namespace ember {

bool Arange::is_equivalent(const Primitive& other) const {
  auto& o = static_cast<const Arange&>(other);
  return Primitive::is_equivalent(other) && o.start_ == start_ && o.step_ == step_;
}

// copy is the identity on values: tangents and cotangents pass through.
array Copy::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                const std::vector<int>&, const array&) {
  return tangents[0];
}
std::vector<array> Copy::vjp(const std::vector<array>&, const array& cotangent,
                             const std::vector<int>&, const array&) {
  return {cotangent};
}
std::pair<array, int> Copy::vmap(const std::vector<array>& inputs,
                                 const std::vector<BatchAxis>& axes) {
  return {copy(inputs[0]), *axes[0]};
}

}  // namespace ember
