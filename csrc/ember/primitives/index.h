// Index primitives: Gather / Scatter (integer-array indexing over leading
// axes) and the sorting family (Sort, ArgSort, ArgPartition).
#pragma once

#include <string>

#include "ember/ops/index.h"
#include "ember/primitives/primitive.h"

namespace ember {

/// The declarations every index primitive shares: the kernel and all three rules,
/// plus equality and printing of its parameters.
#define EMBER_INDEX_RULES                                     \
  EMBER_PRIMITIVE_RULES                                       \
  EMBER_GPU_KERNEL                                            \
  bool is_equivalent(const Primitive& other) const override; \
  void print(std::ostream& os) const override;                \
  void serialize(ExportFields& fields) const override;

/// out[i..., r...] = a[idx0[i...], ..., idx{k-1}[i...], r...]: inputs are
/// {a, idx0, ..., idx{k-1}}, the indices integer arrays of one (broadcast)
/// shape. `op` and `axes` (the user's axis of each index array) only name
/// things in the error an out-of-range index raises.
class EMBER_API Gather : public Primitive {
 public:
  explicit Gather(std::string op = "gather", std::vector<int> axes = {})
      : op_(std::move(op)), axes_(std::move(axes)) {}
  const char* name() const override { return "Gather"; }
  EMBER_INDEX_RULES

 private:
  std::string op_;
  std::vector<int> axes_;
};

/// A copy of a with updates combined (ScatterMode) at the gathered
/// positions: inputs are {a, updates, idx0, ..., idx{k-1}}, updates shaped
/// idx.shape + a.shape[k:] and typed like a. With repeated indices, `write`
/// keeps the last update in row-major order; the other modes fold them all.
class EMBER_API Scatter : public Primitive {
 public:
  explicit Scatter(ScatterMode mode, std::string op = "scatter", std::vector<int> axes = {})
      : mode_(mode), op_(std::move(op)), axes_(std::move(axes)) {}
  explicit Scatter(bool add, std::string op = "scatter", std::vector<int> axes = {})
      : Scatter(add ? ScatterMode::add : ScatterMode::write, std::move(op), std::move(axes)) {}
  const char* name() const override;
  EMBER_INDEX_RULES

 private:
  ScatterMode mode_;
  std::string op_;
  std::vector<int> axes_;
};

/// Sorts along axis (NaNs last, as numpy).
class EMBER_API Sort : public Primitive {
 public:
  explicit Sort(int axis) : axis_(axis) {}
  const char* name() const override { return "Sort"; }
  EMBER_INDEX_RULES

 private:
  int axis_;
};

/// Stable argsort along axis (uint32 indices; NaNs last).
class EMBER_API ArgSort : public Primitive {
 public:
  explicit ArgSort(int axis) : axis_(axis) {}
  const char* name() const override { return "ArgSort"; }
  EMBER_INDEX_RULES

 private:
  int axis_;
};

/// Indices (uint32) that put element kth in its sorted place along axis,
/// smaller-or-equal elements before it and larger-or-equal after.
class EMBER_API ArgPartition : public Primitive {
 public:
  ArgPartition(int kth, int axis) : kth_(kth), axis_(axis) {}
  const char* name() const override { return "ArgPartition"; }
  EMBER_INDEX_RULES

 private:
  int kth_;
  int axis_;
};

/// Insertion indices (uint32) of inputs[1] (values) into inputs[0] (sorted along
/// its last axis; its leading axes match the values' leading axes), by binary
/// search. NaNs sort last, as in sort.
class EMBER_API SearchSorted : public Primitive {
 public:
  explicit SearchSorted(bool right) : right_(right) {}
  const char* name() const override { return "SearchSorted"; }
  EMBER_INDEX_RULES

 private:
  bool right_;
};

#undef EMBER_INDEX_RULES

}  // namespace ember
