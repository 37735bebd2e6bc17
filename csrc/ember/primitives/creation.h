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
  EMBER_GPU_KERNEL
  bool is_equivalent(const Primitive& other) const override;
  void serialize(ExportFields& fields) const override;

 private:
  double start_, step_;
};

/// A row-contiguous copy of the input (turns broadcasts and views into data).
class EMBER_API Copy : public Primitive {
 public:
  const char* name() const override { return "Copy"; }
  EMBER_PRIMITIVE_RULES
  EMBER_GPU_KERNEL
  EMBER_NO_EXPORT_FIELDS
};

}  // namespace ember
