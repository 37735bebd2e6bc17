// TODO(#2): placeholders for shape ops not written yet; each throws.
#include "ember/ops.h"
#include <stdexcept>
namespace ember {
#define TODO(name) throw std::logic_error("[" name "] not implemented yet")
array concatenate(const std::vector<array>&, int) { TODO("concatenate"); }
array stack(const std::vector<array>&, int) { TODO("stack"); }
std::vector<array> split(const array&, int, int) { TODO("split"); }
std::vector<array> split(const array&, const std::vector<int64_t>&, int) { TODO("split"); }
array repeat(const array&, int64_t, std::optional<int>) { TODO("repeat"); }
array tile(const array&, const std::vector<int64_t>&) { TODO("tile"); }
array pad(const array&, const std::vector<std::pair<int64_t, int64_t>>&, const array&) { TODO("pad"); }
array slice(const array&, const std::vector<int64_t>&, const std::vector<int64_t>&, const std::vector<int64_t>&) { TODO("slice"); }
array slice_update(const array&, const array&, const std::vector<int64_t>&, const std::vector<int64_t>&, const std::vector<int64_t>&) { TODO("slice_update"); }
}  // namespace ember
