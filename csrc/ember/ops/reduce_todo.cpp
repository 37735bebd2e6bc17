// TODO(#2): placeholders for reduce ops not written yet; each throws.
#include "ember/ops.h"
#include <stdexcept>
namespace ember {
#define TODO(name) throw std::logic_error("[" name "] not implemented yet")
array sum(const array&, const Axes&, bool) { TODO("sum"); }
array prod(const array&, const Axes&, bool) { TODO("prod"); }
array mean(const array&, const Axes&, bool) { TODO("mean"); }
array var(const array&, const Axes&, bool, int) { TODO("var"); }
array std(const array&, const Axes&, bool, int) { TODO("std"); }
array max(const array&, const Axes&, bool) { TODO("max"); }
array min(const array&, const Axes&, bool) { TODO("min"); }
array argmax(const array&, std::optional<int>, bool) { TODO("argmax"); }
array argmin(const array&, std::optional<int>, bool) { TODO("argmin"); }
array logsumexp(const array&, const Axes&, bool) { TODO("logsumexp"); }
array all(const array&, const Axes&, bool) { TODO("all"); }
array any(const array&, const Axes&, bool) { TODO("any"); }
array softmax(const array&, const Axes&) { TODO("softmax"); }
array cumsum(const array&, std::optional<int>, bool, bool) { TODO("cumsum"); }
array cumprod(const array&, std::optional<int>, bool, bool) { TODO("cumprod"); }
}  // namespace ember
