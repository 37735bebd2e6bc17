// What export_function stores of a primitive: its parameters as a short list of typed values
// (Primitive::serialize writes them), and the loaders that rebuild the primitive from them.
// A loader is registered next to its family's rules (primitives/<family>.cpp) and rebuilds the
// node through the op that makes it, so a file is checked by the same code as a user's call:
// a corrupt or hostile file gets the op's ValueError, never a kernel run on inconsistent
// shapes or dtypes.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ember/api.h"
#include "ember/array.h"

namespace ember {

class Primitive;

/// A primitive's parameters, in the order its serialize() adds them.
class EMBER_API ExportFields {
 public:
  /// A primitive inside the parameters (the ops of a fused graph).
  struct Nested;
  using Value = std::variant<int64_t, double, std::string, std::vector<int64_t>, Dtype,
                             std::shared_ptr<const Nested>>;

  void add_int(int64_t v) { values_.emplace_back(v); }
  void add_bool(bool v) { values_.emplace_back(int64_t(v)); }
  void add_float(double v) { values_.emplace_back(v); }
  void add_string(std::string v) { values_.emplace_back(std::move(v)); }
  void add_ints(std::vector<int64_t> v) { values_.emplace_back(std::move(v)); }
  void add_ints(const std::vector<int>& v) {
    values_.emplace_back(std::vector<int64_t>(v.begin(), v.end()));
  }
  void add_dtype(Dtype t) { values_.emplace_back(t); }
  /// Adds p's name and parameters (std::invalid_argument if p cannot be exported).
  void add_primitive(const Primitive& p);

  const std::vector<Value>& values() const { return values_; }
  std::vector<Value>& values() { return values_; }

  /// Reads the values back in order. A value of another kind than asked, a missing one, or
  /// one out of the range asked is std::invalid_argument (the loader's caller adds where).
  class EMBER_API Reader {
   public:
    explicit Reader(const ExportFields& fields) : fields_(fields) {}
    int64_t integer(const char* what);
    /// An integer in [lo, hi].
    int64_t integer(const char* what, int64_t lo, int64_t hi);
    int axis(const char* what) { return int(integer(what, -(int64_t(1) << 30), int64_t(1) << 30)); }
    bool boolean(const char* what) { return integer(what, 0, 1) != 0; }
    double real(const char* what);
    std::string string(const char* what);
    std::vector<int64_t> integers(const char* what);
    /// A list of values that each fit an int.
    std::vector<int> ints(const char* what);
    Dtype dtype(const char* what);
    const Nested& primitive(const char* what);
    /// std::invalid_argument if values are left over.
    void finish() const;

   private:
    const ExportFields::Value& next(const char* what);
    const ExportFields& fields_;
    size_t pos_ = 0;
  };

 private:
  std::vector<Value> values_;
};

struct ExportFields::Nested {
  std::string name;
  ExportFields fields;
};

/// The shape and dtype of a value of an exported graph.
struct ExportSpec {
  Shape shape;
  Dtype dtype;
};

/// Rebuilds a primitive's node from its parameters and inputs (placeholders with the stored
/// shapes and dtypes) by calling its op; `outputs` are the stored output specs, for the few
/// primitives whose op needs them (arange's length). Returns the node's outputs (any one of a
/// multi-output node will do).
using PrimitiveLoader = std::function<std::vector<array>(
    ExportFields::Reader& fields, const std::vector<array>& inputs,
    const std::vector<ExportSpec>& outputs)>;

namespace detail {

/// Registers loaders by primitive name (Primitive::name() of what they rebuild). Each family
/// file holds one static instance for its primitives.
struct EMBER_API RegisterLoaders {
  RegisterLoaders(std::initializer_list<std::pair<const char*, PrimitiveLoader>> loaders);
};

/// Rebuilds the stored primitive `name` on `inputs` and checks that the loader made exactly
/// that: a node of the primitive named `name` on these inputs, with the stored output shapes
/// and dtypes. Returns every output. std::invalid_argument otherwise (an unknown name too).
EMBER_API std::vector<array> load_primitive(const std::string& name, const ExportFields& fields,
                                            const std::vector<array>& inputs,
                                            const std::vector<ExportSpec>& outputs);

/// load_primitive for inputs of new shapes (a shapeless call): the loader's op infers the
/// output shapes, so only the dtypes are checked against the stored outputs.
EMBER_API std::vector<array> rebuild_primitive(const std::string& name, const ExportFields& fields,
                                               const std::vector<array>& inputs,
                                               const std::vector<ExportSpec>& outputs);

/// For loaders: std::invalid_argument unless there are n inputs (at least n when at_least).
EMBER_API void expect_inputs(const std::vector<array>& inputs, size_t n, bool at_least = false);

}  // namespace detail
}  // namespace ember
