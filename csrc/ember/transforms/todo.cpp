// TODO(#3): placeholders for the transforms; each throws.
#include "ember/transforms.h"
#include <stdexcept>
namespace ember {
std::pair<std::vector<array>, std::vector<array>> vjp(const ArrayFn&, const std::vector<array>&, const std::vector<array>&, const char*) { throw std::logic_error("[vjp] not implemented yet"); }
std::pair<std::vector<array>, std::vector<array>> jvp(const ArrayFn&, const std::vector<array>&, const std::vector<array>&, const char*) { throw std::logic_error("[jvp] not implemented yet"); }
ArrayFn vmap(ArrayFn, std::vector<std::optional<int>>, std::vector<std::optional<int>>) { throw std::logic_error("[vmap] not implemented yet"); }
ValueAndGradFn value_and_grad(ArrayFn, std::vector<int>) { throw std::logic_error("[value_and_grad] not implemented yet"); }
std::function<std::vector<array>(const std::vector<array>&)> grad(ArrayFn, std::vector<int>) { throw std::logic_error("[grad] not implemented yet"); }
}  // namespace ember
