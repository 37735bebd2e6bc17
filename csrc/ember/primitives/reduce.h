// Reduction primitives: Reduce (sum, prod, max, min, all, any over a set of
// axes), ArgReduce (argmax / argmin along one axis) and Scan (cumulative sum,
// product, max, min). Each keeps the reduced axes as size-1 dimensions (the op
// squeezes them when keepdims is false), so the rules never re-insert axes: a
// vjp broadcasts the cotangent straight back, and vmap only shifts axes.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

enum class ReduceKind { sum, prod, max, min, all, any };

/// sum / prod / max / min / all / any over `axes` (sorted, normalized). The
/// output dtype is a parameter so that mean can sum ints and halves straight
/// into float32.
class EMBER_API Reduce : public Primitive {
 public:
  Reduce(ReduceKind kind, std::vector<int> axes, Dtype dtype)
      : kind_(kind), axes_(std::move(axes)), dtype_(dtype) {}
  const char* name() const override;
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  bool is_equivalent(const Primitive& other) const override;
  void print(std::ostream& os) const override;
  void serialize(ExportFields& fields) const override;

  ReduceKind kind() const { return kind_; }
  const std::vector<int>& axes() const { return axes_; }

 private:
  ReduceKind kind_;
  std::vector<int> axes_;
  Dtype dtype_;
};

/// Index (uint32) of the first max or min along one axis (kept as size 1);
/// a NaN counts as the extremum, as in numpy.
class EMBER_API ArgReduce : public Primitive {
 public:
  ArgReduce(bool is_max, int axis) : is_max_(is_max), axis_(axis) {}
  const char* name() const override { return is_max_ ? "ArgMax" : "ArgMin"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  bool is_equivalent(const Primitive& other) const override;
  void print(std::ostream& os) const override;
  void serialize(ExportFields& fields) const override;

 private:
  bool is_max_;
  int axis_;
};

enum class ScanKind { sum, prod, max, min, logaddexp };

/// Cumulative sum / product / max / min / logaddexp along one axis; `reverse` scans from
/// the end, and an exclusive scan leaves out each position's own element.
class EMBER_API Scan : public Primitive {
 public:
  Scan(ScanKind kind, int axis, bool reverse, bool inclusive)
      : kind_(kind), axis_(axis), reverse_(reverse), inclusive_(inclusive) {}
  const char* name() const override;
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  bool is_equivalent(const Primitive& other) const override;
  void print(std::ostream& os) const override;
  void serialize(ExportFields& fields) const override;

 private:
  ScanKind kind_;
  int axis_;
  bool reverse_, inclusive_;
};

}  // namespace ember
