// TODO(#2): placeholders for index ops not written yet; each throws.
#include "ember/ops.h"
#include <stdexcept>
namespace ember {
#define TODO(name) throw std::logic_error("[" name "] not implemented yet")
array take(const array&, const array&, std::optional<int>) { TODO("take"); }
array take_along_axis(const array&, const array&, std::optional<int>) { TODO("take_along_axis"); }
array put_along_axis(const array&, const array&, const array&, std::optional<int>) { TODO("put_along_axis"); }
array scatter_add_along_axis(const array&, const array&, const array&, std::optional<int>) { TODO("scatter_add_along_axis"); }
array gather(const array&, const std::vector<array>&) { TODO("gather"); }
array scatter(const array&, const std::vector<array>&, const array&, bool) { TODO("scatter"); }
array sort(const array&, std::optional<int>) { TODO("sort"); }
array argsort(const array&, std::optional<int>) { TODO("argsort"); }
array partition(const array&, int, std::optional<int>) { TODO("partition"); }
array argpartition(const array&, int, std::optional<int>) { TODO("argpartition"); }
array topk(const array&, int, std::optional<int>) { TODO("topk"); }
}  // namespace ember
