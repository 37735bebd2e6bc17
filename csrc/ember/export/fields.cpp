// Parameters of exported primitives, and the registry of their loaders (filled by each
// family's file at static initialization).
#include "ember/export/fields.h"

#include <climits>
#include <mutex>
#include <unordered_map>

#include "ember/errors.h"
#include "ember/primitives/primitive.h"

namespace ember {

void ExportFields::add_primitive(const Primitive& p) {
  auto nested = std::make_shared<Nested>();
  nested->name = p.name();
  p.serialize(nested->fields);
  values_.emplace_back(std::shared_ptr<const Nested>(std::move(nested)));
}

namespace {
const char* kind_name(size_t index) {
  static const char* names[] = {"an integer", "a float", "a string", "a list of integers",
                                "a dtype", "a primitive"};
  return names[index];
}
}  // namespace

const ExportFields::Value& ExportFields::Reader::next(const char* what) {
  if (pos_ >= fields_.values_.size()) {
    throw std::invalid_argument(msg("parameter '", what, "' is missing"));
  }
  return fields_.values_[pos_++];
}

template <typename T>
static const T& expect(const ExportFields::Value& v, const char* what, size_t index) {
  if (auto* p = std::get_if<T>(&v)) return *p;
  throw std::invalid_argument(msg("parameter '", what, "' should be ", kind_name(index),
                                  ", found ", kind_name(v.index())));
}

int64_t ExportFields::Reader::integer(const char* what) {
  return expect<int64_t>(next(what), what, 0);
}

int64_t ExportFields::Reader::integer(const char* what, int64_t lo, int64_t hi) {
  int64_t v = integer(what);
  if (v < lo || v > hi) {
    throw std::invalid_argument(msg("parameter '", what, "' is ", v, ", outside [", lo, ", ", hi, "]"));
  }
  return v;
}

double ExportFields::Reader::real(const char* what) { return expect<double>(next(what), what, 1); }

std::string ExportFields::Reader::string(const char* what) {
  return expect<std::string>(next(what), what, 2);
}

std::vector<int64_t> ExportFields::Reader::integers(const char* what) {
  return expect<std::vector<int64_t>>(next(what), what, 3);
}

std::vector<int> ExportFields::Reader::ints(const char* what) {
  std::vector<int> out;
  for (int64_t v : integers(what)) {
    if (v < INT_MIN || v > INT_MAX) {
      throw std::invalid_argument(msg("parameter '", what, "' holds ", v, ", which is not an int"));
    }
    out.push_back(int(v));
  }
  return out;
}

Dtype ExportFields::Reader::dtype(const char* what) { return expect<Dtype>(next(what), what, 4); }

const ExportFields::Nested& ExportFields::Reader::primitive(const char* what) {
  return *expect<std::shared_ptr<const Nested>>(next(what), what, 5);
}

void ExportFields::Reader::finish() const {
  if (pos_ != fields_.values_.size()) {
    throw std::invalid_argument(msg(fields_.values_.size() - pos_, " unexpected parameter(s) left"));
  }
}

namespace detail {

namespace {

struct Registry {
  std::mutex mu;
  std::unordered_map<std::string, PrimitiveLoader> loaders;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

RegisterLoaders::RegisterLoaders(
    std::initializer_list<std::pair<const char*, PrimitiveLoader>> loaders) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (auto& [name, loader] : loaders) r.loaders[name] = loader;
}

void expect_inputs(const std::vector<array>& inputs, size_t n, bool at_least) {
  if (inputs.size() < n || (!at_least && inputs.size() != n)) {
    throw std::invalid_argument(msg("it takes ", at_least ? "at least " : "", n, " input(s), got ",
                                    inputs.size()));
  }
}

namespace {

std::vector<array> load(const std::string& name, const ExportFields& fields,
                        const std::vector<array>& inputs, const std::vector<ExportSpec>& outputs,
                        bool check_shapes) {
  PrimitiveLoader loader;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.loaders.find(name);
    if (it != r.loaders.end()) loader = it->second;
  }
  if (!loader) {
    throw std::invalid_argument("this version of ember has no primitive of that name");
  }
  if (outputs.empty()) throw std::invalid_argument("it has no outputs");
  ExportFields::Reader reader(fields);
  std::vector<array> made = loader(reader, inputs, outputs);
  reader.finish();
  if (made.empty() || !made[0].valid() || !made[0].has_primitive()) {
    throw std::invalid_argument("its parameters do not make a node of it");
  }
  std::vector<array> all = made[0].num_siblings() > 1 ? made[0].siblings() : made;
  if (all.size() != outputs.size()) {
    throw std::invalid_argument(msg("it has ", all.size(), " outputs here, the file says ",
                                    outputs.size()));
  }
  for (size_t k = 0; k < all.size(); ++k) {
    const array& a = all[k];
    bool same = a.has_primitive() && name == a.primitive().name() &&
                a.inputs().size() == inputs.size();
    for (size_t i = 0; same && i < inputs.size(); ++i) same = a.inputs()[i].is_same(inputs[i]);
    if (!same) {
      throw std::invalid_argument(
          "its parameters and inputs do not make a node of it (its op would build another graph)");
    }
    if ((check_shapes && a.shape() != outputs[k].shape) || a.dtype() != outputs[k].dtype) {
      throw std::invalid_argument(msg("output ", k, " would have shape ", a.shape(), " and dtype ",
                                      dtype_name(a.dtype()), ", the file says ", outputs[k].shape,
                                      " and ", dtype_name(outputs[k].dtype)));
    }
  }
  return all;
}

}  // namespace

std::vector<array> load_primitive(const std::string& name, const ExportFields& fields,
                                  const std::vector<array>& inputs,
                                  const std::vector<ExportSpec>& outputs) {
  return load(name, fields, inputs, outputs, true);
}

std::vector<array> rebuild_primitive(const std::string& name, const ExportFields& fields,
                                     const std::vector<array>& inputs,
                                     const std::vector<ExportSpec>& outputs) {
  return load(name, fields, inputs, outputs, false);
}

}  // namespace detail
}  // namespace ember
