// Reduction primitives. Each keeps the reduced axes as size-1 dimensions (the
// op squeezes them when keepdims is false), so the rules never have to
// re-insert axes: a vjp broadcasts the cotangent straight back.
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

enum class ReduceKind { sum, prod, max, min, all, any };

/// sum / prod / max / min / all / any over `axes` (sorted, normalized).
class EMBER_API Reduce : public Primitive {
 public:
  Reduce(ReduceKind kind, std::vector<int> axes) : kind_(kind), axes_(std::move(axes)) {}
  const char* name() const override;
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  ReduceKind kind_;
  std::vector<int> axes_;
};

/// Index (uint32) of the first max or min along one axis (kept as size 1).
class EMBER_API ArgReduce : public Primitive {
 public:
  ArgReduce(bool is_max, int axis) : is_max_(is_max), axis_(axis) {}
  const char* name() const override { return is_max_ ? "ArgMax" : "ArgMin"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  bool is_max_;
  int axis_;
};

/// Cumulative sum or product along one axis.
class EMBER_API Scan : public Primitive {
 public:
  Scan(bool is_sum, int axis, bool reverse, bool inclusive)
      : is_sum_(is_sum), axis_(axis), reverse_(reverse), inclusive_(inclusive) {}
  const char* name() const override { return is_sum_ ? "CumSum" : "CumProd"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  bool is_sum_;
  int axis_;
  bool reverse_, inclusive_;
};

}  // namespace ember
