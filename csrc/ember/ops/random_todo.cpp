// TODO(#2): placeholders for random ops not written yet; each throws.
#include "ember/ops.h"
#include <stdexcept>
namespace ember::random {
#define TODO(name) throw std::logic_error("[" name "] not implemented yet")
void seed(uint64_t) { TODO("seed"); }
array key(uint64_t) { TODO("key"); }
array split(const array&, int) { TODO("split"); }
array uniform(const Shape&, Dtype, const array&, const array&, const std::optional<array>&) { TODO("uniform"); }
array normal(const Shape&, Dtype, float, float, const std::optional<array>&) { TODO("normal"); }
}  // namespace ember::random
