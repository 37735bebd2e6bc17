// Creation primitives: arange (no inputs) and copy (materialize a value).
#pragma once

#include "ember/primitives/primitive.h"

namespace ember {

/// start + i * step for i in [0, size); no inputs, so no transform rules needed.
class EMBER_API Arange : public Primitive {
 public:
  Arange(double start, double step) : start_(start), step_(step) {}
  const char* name() const override { return "Arange"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  bool is_equivalent(const Primitive& other) const override;

 private:
  double start_, step_;
};

/// A row-contiguous copy of the input (turns broadcasts and views into data).
class EMBER_API Copy : public Primitive {
 public:
  const char* name() const override { return "Copy"; }
  void eval_cpu(const std::vector<array>& inputs, array& out) override;
  array jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
            const std::vector<int>& argnums, const array& out) override;
  std::vector<array> vjp(const std::vector<array>& primals, const array& cotangent,
                         const std::vector<int>& argnums, const array& out) override;
  std::pair<array, int> vmap(const std::vector<array>& inputs,
                             const std::vector<BatchAxis>& axes) override;
};

}  // namespace ember
