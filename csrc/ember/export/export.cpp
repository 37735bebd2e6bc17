// export_function / exporter / import_function: compile's tape of a traced function, written
// to a file with each primitive's parameters (Primitive::serialize) and the captured arrays,
// and read back through each primitive's loader (export/fields.h).
//
// The file (little-endian):
//   "EMBERFN\0", u32 format version, u8 shapeless, u64-length metadata string,
//   u32 constants: each u8 dtype, u32 rank, i64 dims, then the row-major bytes,
//   u32 traces: each
//     u32 positional args, u32 keyword names (u32-length strings), u32-length structure,
//     u32 inputs: each u8 dtype, u32 rank, i64 dims,
//     u32 nodes: each u32-length primitive name, its parameters, u32 args (u32 slots),
//                u32 outputs (dtype, rank, dims),
//     u32 outputs (u32 slots),
//   "END\0".
// A trace's slots are its inputs, then every constant of the file, then each node's outputs
// in order. A parameter list is a u32 count of values, each a tag byte and its value: 1 an
// i64, 2 an f64, 3 a string, 4 a u32 count of i64, 5 a dtype byte, 6 a nested primitive
// (name and parameters).
#include "ember/export.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "ember/errors.h"
#include "ember/export/fields.h"
#include "ember/graph.h"
#include "ember/io/internal.h"
#include "ember/ops.h"
#include "ember/ops/reduce_internal.h"
#include "ember/primitives/binary.h"
#include "ember/primitives/primitive.h"
#include "ember/primitives/reduce.h"
#include "ember/primitives/unary.h"
#include "ember/transforms/compile.h"
#include "ember/version.h"

namespace ember {

namespace {

constexpr char kMagic[8] = {'E', 'M', 'B', 'E', 'R', 'F', 'N', '\0'};
constexpr char kEnd[4] = {'E', 'N', 'D', '\0'};
constexpr int kMaxNesting = 4;  // primitives inside parameters (a fused chain's ops)
const char* const kOp = "import_function";

enum Tag : uint8_t { tag_int = 1, tag_float, tag_string, tag_ints, tag_dtype, tag_primitive };

// ---------------------------------------------------------------------------------------
// Writing

class Out {
 public:
  explicit Out(io::Writer& w) : w_(w) {}
  template <typename T>
  void put(T v) {
    w_.write(&v, sizeof(T));
  }
  void bytes(const void* p, size_t n) { w_.write(p, n); }
  void str(const std::string& s) {
    put(uint32_t(s.size()));
    bytes(s.data(), s.size());
  }
  void spec(const Shape& shape, Dtype t) {
    put(uint8_t(t));
    put(uint32_t(shape.size()));
    for (int64_t d : shape) put(d);
  }
  void fields(const ExportFields& f) {
    put(uint32_t(f.values().size()));
    for (auto& v : f.values()) {
      std::visit(
          [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              put(uint8_t(tag_int));
              put(x);
            } else if constexpr (std::is_same_v<T, double>) {
              put(uint8_t(tag_float));
              put(x);
            } else if constexpr (std::is_same_v<T, std::string>) {
              put(uint8_t(tag_string));
              str(x);
            } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
              put(uint8_t(tag_ints));
              put(uint32_t(x.size()));
              for (int64_t i : x) put(i);
            } else if constexpr (std::is_same_v<T, Dtype>) {
              put(uint8_t(tag_dtype));
              put(uint8_t(x));
            } else {
              put(uint8_t(tag_primitive));
              str(x->name);
              fields(x->fields);
            }
          },
          v);
    }
  }

 private:
  io::Writer& w_;
};

}  // namespace

namespace detail {

/// One exported trace: compile's tape, and where its constants are in the file.
struct StoredTrace {
  ExportSignature signature;
  std::vector<ExportSpec> inputs;
  std::shared_ptr<Tape> tape;
  std::vector<int> constant_index;  // tape constant k is file constant constant_index[k]
};

struct ExportState {
  std::mutex mu;
  std::string path;
  KwargsFn fun;
  bool shapeless = false;
  std::string metadata;
  bool closed = false;
  std::vector<StoredTrace> traces;
  std::vector<array> constants;                         // evaluated, row-contiguous
  std::unordered_map<uintptr_t, int> constant_by_node;  // the same array captured again
  std::unordered_multimap<size_t, int> constant_by_hash;
};

}  // namespace detail

namespace {

using detail::ExportState;
using detail::StoredTrace;
using detail::Tape;

// The index of constant c in the file, storing it the first time its node or its contents
// are seen (a model's parameters captured by several traces are written once).
int add_constant(ExportState& s, const array& c) {
  auto it = s.constant_by_node.find(c.id());
  if (it != s.constant_by_node.end()) return it->second;
  array x = io::detail::contiguous(c);
  const char* data = static_cast<const char*>(x.raw_data());
  const std::string_view bytes(data, x.nbytes());
  size_t h = std::hash<std::string_view>()(bytes) ^ (size_t(x.dtype()) * 0x9E3779B97F4A7C15ull);
  for (int64_t d : x.shape()) h = h * 1000003u + size_t(d);
  auto range = s.constant_by_hash.equal_range(h);
  for (auto i = range.first; i != range.second; ++i) {
    const array& y = s.constants[i->second];
    if (y.dtype() == x.dtype() && y.shape() == x.shape() &&
        std::memcmp(y.raw_data(), x.raw_data(), x.nbytes()) == 0) {
      s.constant_by_node.emplace(c.id(), i->second);
      return i->second;
    }
  }
  int k = int(s.constants.size());
  s.constants.push_back(x);
  s.constant_by_node.emplace(c.id(), k);
  s.constant_by_hash.emplace(h, k);
  return k;
}

void write_trace(Out& out, const StoredTrace& t, int num_constants) {
  const Tape& tape = *t.tape;
  out.put(uint32_t(t.signature.num_args));
  out.put(uint32_t(t.signature.kwarg_names.size()));
  for (auto& n : t.signature.kwarg_names) out.str(n);
  out.str(t.signature.structure);
  out.put(uint32_t(t.inputs.size()));
  for (auto& in : t.inputs) out.spec(in.shape, in.dtype);
  // Tape slots: inputs, the tape's constants, steps. File slots: inputs, the file's
  // constants, steps (one slot per output, as in the tape).
  const int ni = tape.num_inputs, nc = int(tape.constants.size());
  auto slot = [&](int s) -> uint32_t {
    if (s < ni) return uint32_t(s);
    if (s < ni + nc) return uint32_t(ni + t.constant_index[s - ni]);
    return uint32_t(ni + num_constants + (s - ni - nc));
  };
  uint32_t nodes = 0;
  for (auto& s : tape.steps) nodes += s.position == 0;
  out.put(nodes);
  for (size_t k = 0; k < tape.steps.size(); k += tape.steps[k].group_size) {
    const Tape::Step& s = tape.steps[k];
    ExportFields fields;
    s.primitive->serialize(fields);
    out.str(s.primitive->name());
    out.fields(fields);
    out.put(uint32_t(s.args.size()));
    for (int a : s.args) out.put(slot(a));
    out.put(uint32_t(s.group_size));
    for (int j = 0; j < s.group_size; ++j) out.spec(tape.steps[k + j].shape, tape.steps[k + j].dtype);
  }
  out.put(uint32_t(tape.outputs.size()));
  for (int o : tape.outputs) out.put(slot(o));
}

void write_file(const ExportState& s) {
  // Every parameter is asked for before the file is touched, so a primitive that cannot be
  // exported leaves any earlier file as it was.
  for (auto& t : s.traces) {
    for (auto& step : t.tape->steps) {
      ExportFields f;
      step.primitive->serialize(f);
    }
  }
  auto w = io::file_writer(s.path, "export_function");
  Out out(*w);
  out.bytes(kMagic, sizeof(kMagic));
  out.put(kExportFormatVersion);
  out.put(uint8_t(s.shapeless));
  out.put(uint64_t(s.metadata.size()));
  out.bytes(s.metadata.data(), s.metadata.size());
  out.put(uint32_t(s.constants.size()));
  for (auto& c : s.constants) {
    out.spec(c.shape(), c.dtype());
    out.bytes(c.raw_data(), c.nbytes());
  }
  out.put(uint32_t(s.traces.size()));
  for (auto& t : s.traces) write_trace(out, t, int(s.constants.size()));
  out.bytes(kEnd, sizeof(kEnd));
  w->commit();
}

std::string describe(const ExportSignature& sig, const std::vector<ExportSpec>& inputs) {
  std::ostringstream os;
  os << sig.num_args << " positional and " << sig.kwarg_names.size() << " keyword argument(s)";
  if (!sig.structure.empty()) os << " (trees " << sig.structure << ")";
  os << ":";
  size_t positional = inputs.size() - (sig.structure.empty() ? sig.kwarg_names.size() : 0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    os << (i ? ", " : " ");
    if (sig.structure.empty() && i >= positional) os << sig.kwarg_names[i - positional] << "=";
    os << inputs[i].shape << " " << dtype_name(inputs[i].dtype);
  }
  return os.str();
}

// A, B, ..., Z, AA, AB, ...
std::string letters(size_t k) {
  std::string s;
  for (++k; k > 0; k = (k - 1) / 26) s += char('A' + (k - 1) % 26);
  return std::string(s.rbegin(), s.rend());
}

std::vector<ExportSpec> specs_of(const std::vector<array>& xs) {
  std::vector<ExportSpec> out;
  for (auto& x : xs) out.push_back({x.shape(), x.dtype()});
  return out;
}

// Whether a trace of `inputs` would serve a call of `call` (same dtypes; same shapes, or
// same ranks when shapeless).
bool matches(const std::vector<ExportSpec>& inputs, const std::vector<ExportSpec>& call,
             bool shapeless) {
  if (inputs.size() != call.size()) return false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype != call[i].dtype) return false;
    if (shapeless ? inputs[i].shape.size() != call[i].shape.size() : inputs[i].shape != call[i].shape) {
      return false;
    }
  }
  return true;
}

// The flat layout of a C++ call: positional arrays, then keyword arrays in name order.
std::pair<std::vector<array>, ExportSignature> flatten_call(const Args& args, const Kwargs& kwargs) {
  std::vector<array> flat = args;
  ExportSignature sig;
  sig.num_args = int(args.size());
  for (auto& [name, a] : kwargs) {
    sig.kwarg_names.push_back(name);
    flat.push_back(a);
  }
  return {std::move(flat), std::move(sig)};
}

}  // namespace

// ---- exporting ----

void FunctionExporter::add(const FlatFn& fun, const std::vector<array>& inputs,
                           const ExportSignature& signature) {
  ExportState& s = *state_;
  for (auto& x : inputs) {
    if (!x.valid()) throw std::invalid_argument("[export_function] Got an empty array handle.");
  }
  auto specs = specs_of(inputs);
  auto check = [&] {  // under s.mu
    if (s.closed) {
      throw std::invalid_argument("[export_function] This exporter is closed; make a new one.");
    }
    for (auto& t : s.traces) {
      if (t.signature == signature && matches(t.inputs, specs, s.shapeless)) {
        throw std::invalid_argument(msg("[export_function] A trace with this signature (",
                                        describe(signature, specs),
                                        ") is already exported to this file."));
      }
    }
  };
  {
    std::lock_guard<std::mutex> lock(s.mu);
    check();
  }
  // The trace runs the user's function: not under the lock (it may be Python, which another
  // thread calling this exporter could be waiting to run).
  std::shared_ptr<Tape> tape;
  try {
    tape = detail::compile_trace(fun, inputs, {s.shapeless, true});
  } catch (const std::invalid_argument& e) {
    // compile's tracing errors speak of compile; the user called export_function.
    std::string what = e.what();
    if (what.rfind("[compile]", 0) == 0) what = "[export_function]" + what.substr(9);
    throw std::invalid_argument(what);
  }
  // Asks every primitive for its parameters now, so an unexportable one fails this call.
  for (auto& step : tape->steps) {
    ExportFields f;
    step.primitive->serialize(f);
  }
  if (!tape->constants.empty()) eval(tape->constants);
  std::lock_guard<std::mutex> lock(s.mu);
  check();
  StoredTrace t{signature, specs, tape, {}};
  for (auto& c : tape->constants) t.constant_index.push_back(add_constant(s, c));
  s.traces.push_back(std::move(t));
  try {
    write_file(s);
  } catch (...) {
    s.traces.pop_back();
    throw;
  }
}

void FunctionExporter::operator()(const Args& args, const Kwargs& kwargs) {
  if (!state_->fun) throw std::invalid_argument("[export_function] This exporter has no function.");
  auto [flat, sig] = flatten_call(args, kwargs);
  const size_t n = args.size();
  const auto names = sig.kwarg_names;
  KwargsFn fun = state_->fun;
  add(
      [fun, n, names](const std::vector<array>& xs) {
        Args a(xs.begin(), xs.begin() + n);
        Kwargs k;
        for (size_t i = 0; i < names.size(); ++i) k.emplace(names[i], xs[n + i]);
        return fun(a, k);
      },
      flat, sig);
}

void FunctionExporter::close() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->closed = true;
}

FunctionExporter exporter(const std::string& path, KwargsFn fun, bool shapeless, std::string metadata) {
  auto s = std::make_shared<ExportState>();
  s->path = path;
  s->fun = std::move(fun);
  s->shapeless = shapeless;
  s->metadata = std::move(metadata);
  return FunctionExporter(std::move(s));
}

void export_function(const std::string& path, const KwargsFn& fun, const Args& args,
                     const Kwargs& kwargs, bool shapeless, std::string metadata) {
  auto e = exporter(path, fun, shapeless, std::move(metadata));
  e(args, kwargs);
  e.close();
}

ExportedGraph export_graph(const FlatFn& fun, const std::vector<array>& inputs,
                           const ExportSignature& signature, bool shapeless) {
  auto tape = detail::compile_trace(fun, inputs, {shapeless, true});
  if (!tape->constants.empty()) eval(tape->constants);
  ExportedGraph g;
  g.signature = signature;
  const int ni = tape->num_inputs, nc = int(tape->constants.size());
  std::vector<ExportedGraph::Value> slots;
  auto value = [&](const Shape& shape, Dtype t) {
    slots.push_back({letters(slots.size()), shape, t});
    return slots.back();
  };
  for (int i = 0; i < ni; ++i) g.inputs.push_back(value(inputs[i].shape(), inputs[i].dtype()));
  for (int k = 0; k < nc; ++k) {
    const array& c = tape->constants[k];
    g.constants.emplace_back(value(c.shape(), c.dtype()).name, c);
  }
  for (size_t k = 0; k < tape->steps.size(); k += tape->steps[k].group_size) {
    const Tape::Step& s = tape->steps[k];
    ExportedGraph::Node node{s.primitive->name(), {}, {}, {}};
    s.primitive->serialize(node.fields);
    for (int a : s.args) node.inputs.push_back(slots[a]);
    for (int j = 0; j < s.group_size; ++j) {
      node.outputs.push_back(value(tape->steps[k + j].shape, tape->steps[k + j].dtype));
    }
    g.nodes.push_back(std::move(node));
  }
  for (int o : tape->outputs) g.outputs.push_back(slots[o]);
  return g;
}

// ---- importing ----

namespace detail {

struct ImportedState {
  std::string path;
  std::string metadata;
  bool shapeless = false;
  /// A node as stored (what a shapeless call rebuilds on inputs of new shapes).
  struct Node {
    std::string name;
    ExportFields fields;
    std::vector<ExportSpec> outputs;
  };
  struct Trace {
    ExportSignature signature;
    std::vector<ExportSpec> inputs;
    Tape tape;
    std::vector<Node> nodes;  // shapeless files only; node k starts at a step of position 0
  };
  std::vector<Trace> traces;
};

}  // namespace detail

namespace {

using io::detail::fail;

// Reads the file front to back; every count is checked against the bytes left before
// anything of that size is made.
class In {
 public:
  explicit In(const io::Reader& r) : r_(r) {}
  [[noreturn]] void bad(const std::string& what) const { fail(kOp, r_, what); }
  uint64_t left() const { return r_.size() - pos_; }
  template <typename T>
  T get(const char* what) {
    if (left() < sizeof(T)) bad(msg("the file ends inside ", what, " (truncated)."));
    T v = io::detail::read_le<T>(r_, pos_);
    pos_ += sizeof(T);
    return v;
  }
  void bytes(void* dst, uint64_t n, const char* what) {
    if (left() < n) bad(msg("the file ends inside ", what, " (truncated)."));
    r_.read(pos_, dst, size_t(n));
    pos_ += n;
  }
  /// A count of items that each take at least `min_bytes` of what follows.
  uint32_t count(const char* what, uint64_t min_bytes) {
    uint32_t n = get<uint32_t>(what);
    if (min_bytes > 0 && uint64_t(n) > left() / min_bytes) {
      bad(msg("it declares ", n, " ", what, ", more than its remaining ", left(),
              " bytes can hold (truncated or corrupt)."));
    }
    return n;
  }
  std::string str(const char* what, uint64_t length) {
    if (length > left()) bad(msg("the file ends inside ", what, " (truncated)."));
    std::string s(size_t(length), '\0');
    bytes(s.data(), length, what);
    io::detail::check_utf8(kOp, r_, s, what);
    return s;
  }
  std::string str(const char* what) { return str(what, get<uint32_t>(what)); }
  Dtype dtype(const char* what) {
    uint8_t t = get<uint8_t>(what);
    if (t >= kNumDtypes) bad(msg(what, " has dtype code ", int(t), ", which ember does not know."));
    return Dtype(t);
  }
  ExportSpec spec(const char* what) {
    Dtype t = dtype(what);
    uint32_t rank = count(what, 8);
    Shape shape(rank);
    for (auto& d : shape) d = get<int64_t>(what);
    try {
      shape_size(shape, kOp);
    } catch (const std::invalid_argument&) {
      bad(msg(what, " has shape ", shape, ", which no array can have."));
    }
    return {std::move(shape), t};
  }
  ExportFields fields(int depth) {
    if (depth > kMaxNesting) bad("its primitive parameters nest too deeply (corrupt).");
    ExportFields f;
    const uint32_t n = count("parameters", 2);
    for (uint32_t i = 0; i < n; ++i) {
      switch (get<uint8_t>("a parameter")) {
        case tag_int: f.add_int(get<int64_t>("a parameter")); break;
        case tag_float: f.add_float(get<double>("a parameter")); break;
        case tag_string: f.add_string(str("a parameter")); break;
        case tag_ints: {
          std::vector<int64_t> v(count("a parameter's integers", 8));
          for (auto& x : v) x = get<int64_t>("a parameter");
          f.add_ints(std::move(v));
          break;
        }
        case tag_dtype: f.add_dtype(dtype("a parameter")); break;
        case tag_primitive: {
          auto nested = std::make_shared<ExportFields::Nested>();
          nested->name = str("a primitive name");
          nested->fields = fields(depth + 1);
          f.values().emplace_back(std::shared_ptr<const ExportFields::Nested>(std::move(nested)));
          break;
        }
        default: bad("a primitive parameter has an unknown kind (corrupt).");
      }
    }
    return f;
  }
  const io::Reader& reader() const { return r_; }

 private:
  const io::Reader& r_;
  uint64_t pos_ = 0;
};

detail::ImportedState::Trace read_trace(In& in, const std::vector<array>& constants, size_t index,
                                        bool shapeless) {
  detail::ImportedState::Trace t;
  const uint32_t num_args = in.get<uint32_t>("positional arguments");
  if (num_args > (1u << 30)) in.bad(msg("trace ", index, " declares ", num_args, " arguments (corrupt)."));
  t.signature.num_args = int(num_args);
  const uint32_t nk = in.count("keyword arguments", 4);
  for (uint32_t i = 0; i < nk; ++i) t.signature.kwarg_names.push_back(in.str("a keyword name"));
  if (!std::is_sorted(t.signature.kwarg_names.begin(), t.signature.kwarg_names.end())) {
    in.bad("its keyword names are not sorted (corrupt).");
  }
  t.signature.structure = in.str("an argument structure");
  const uint32_t ni = in.count("inputs", 5);
  if (t.signature.structure.empty() && ni != t.signature.num_args + nk) {
    in.bad(msg("trace ", index, " has ", ni, " inputs for ", t.signature.num_args,
               " positional and ", nk, " keyword arguments (corrupt)."));
  }
  Tape& tape = t.tape;
  tape.num_inputs = int(ni);
  tape.constants = constants;
  // The values the trace's slots name, rebuilt as nodes so each step is checked by its op.
  std::vector<array> slots;
  for (uint32_t i = 0; i < ni; ++i) {
    t.inputs.push_back(in.spec("an input"));
    tape.input_shapes.push_back(t.inputs.back().shape);
    slots.push_back(array::placeholder(t.inputs.back().shape, t.inputs.back().dtype));
  }
  slots.insert(slots.end(), constants.begin(), constants.end());
  const uint32_t nodes = in.count("graph nodes", 13);
  for (uint32_t k = 0; k < nodes; ++k) {
    std::string name = in.str("a primitive name");
    ExportFields fields = in.fields(0);
    std::vector<int> args;
    std::vector<array> inputs;
    const uint32_t na = in.count("node arguments", 4);
    for (uint32_t i = 0; i < na; ++i) {
      uint32_t a = in.get<uint32_t>("a node argument");
      if (a >= slots.size()) {
        in.bad(msg("node ", k, " (", name, ") of trace ", index, " reads value ", a, " before it "
                   "exists (corrupt)."));
      }
      args.push_back(int(a));
      inputs.push_back(slots[a]);
    }
    const uint32_t no = in.count("node outputs", 5);
    std::vector<ExportSpec> outs;
    for (uint32_t j = 0; j < no; ++j) outs.push_back(in.spec("a node output"));
    std::vector<array> made;
    try {
      made = detail::load_primitive(name, fields, inputs, outs);
    } catch (const std::exception& e) {
      in.bad(msg("node ", k, " (", io::detail::printable(name), ") of trace ", index,
                 " cannot be rebuilt: ", e.what(), "."));
    }
    if (shapeless) t.nodes.push_back({name, fields, outs});
    for (uint32_t j = 0; j < no; ++j) {
      Tape::Step s{made[j].primitive_ptr(), args, outs[j].shape, outs[j].dtype};
      s.position = int(j);
      s.group_size = int(no);
      tape.steps.push_back(std::move(s));
      slots.push_back(made[j]);
    }
  }
  const uint32_t no = in.count("outputs", 4);
  for (uint32_t i = 0; i < no; ++i) {
    uint32_t o = in.get<uint32_t>("an output");
    if (o >= slots.size()) in.bad(msg("trace ", index, " returns value ", o, ", which it lacks (corrupt)."));
    tape.outputs.push_back(int(o));
  }
  return t;
}

}  // namespace

ImportedFunction import_function(const std::string& path) {
  auto reader = io::file_reader(path, kOp);
  In in(*reader);
  char magic[sizeof(kMagic)];
  if (reader->size() < sizeof(kMagic)) in.bad("not an ember function file (too short).");
  in.bytes(magic, sizeof(magic), "the header");
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) {
    in.bad("not an ember function file (export_function writes those).");
  }
  const uint32_t version = in.get<uint32_t>("the header");
  if (version == 0 || version > kExportFormatVersion) {
    in.bad(msg("it was written in format version ", version, "; this ember (", EMBER_VERSION,
               ") reads versions 1 to ", kExportFormatVersion, ". Export it again, or update ember."));
  }
  auto state = std::make_shared<detail::ImportedState>();
  state->path = path;
  const uint8_t shapeless = in.get<uint8_t>("the header");
  if (shapeless > 1) in.bad("its header is corrupt.");
  state->shapeless = shapeless;
  const uint64_t meta = in.get<uint64_t>("the metadata");
  state->metadata = in.str("the metadata", meta);
  std::vector<array> constants;
  const uint32_t nc = in.count("constants", 6);  // a 0-d constant of one byte takes 6
  for (uint32_t k = 0; k < nc; ++k) {
    ExportSpec s = in.spec("a constant");
    const uint64_t nbytes = uint64_t(shape_size(s.shape)) * size_of(s.dtype);
    if (nbytes > in.left()) in.bad(msg("the file ends inside constant ", k, " (truncated)."));
    array c = array::placeholder(s.shape, s.dtype);
    c.allocate_row_contiguous();
    in.bytes(c.raw_data(), nbytes, "a constant");
    constants.push_back(c);
  }
  const uint32_t nt = in.count("traces", 16);
  for (uint32_t k = 0; k < nt; ++k) {
    state->traces.push_back(read_trace(in, constants, k, state->shapeless));
    if (state->shapeless) detail::check_shapeless(state->traces.back().tape);
  }
  char end[sizeof(kEnd)];
  in.bytes(end, sizeof(end), "the end marker");
  if (std::memcmp(end, kEnd, sizeof(kEnd)) != 0 || in.left() != 0) {
    in.bad("it has bytes after its last trace (corrupt).");
  }
  return ImportedFunction(std::move(state));
}

const std::string& ImportedFunction::metadata() const { return state_->metadata; }
bool ImportedFunction::shapeless() const { return state_->shapeless; }

std::vector<array> ImportedFunction::operator()(const Args& args, const Kwargs& kwargs) const {
  auto [flat, sig] = flatten_call(args, kwargs);
  return call(flat, sig);
}

namespace {

bool is_elementwise(const Primitive& p) {
  return dynamic_cast<const UnaryElementwise*>(&p) || dynamic_cast<const BinaryElementwise*>(&p) ||
         dynamic_cast<const Select*>(&p);
}

// The shape slot s had when the trace was exported.
const Shape& stored_shape(const Tape& t, int s) {
  if (s < t.num_inputs) return t.input_shapes[s];
  if (s < t.num_inputs + int(t.constants.size())) return t.constants[s - t.num_inputs].shape();
  return t.steps[s - t.num_inputs - t.constants.size()].shape;
}

// A fused chain ending in a sum, as its ops one by one (their ops broadcast the arguments,
// and the sum keeps its trailing axes whatever their sizes).
array unfused(const detail::Compiled& c, const std::vector<array>& args) {
  const detail::FusedGraph& g = c.graph();
  std::vector<array> values(args);
  for (auto& op : g.ops) {
    std::vector<array> a;
    for (int i : op.args) a.push_back(values[i]);
    const Primitive& p = *op.primitive;
    if (auto* u = dynamic_cast<const UnaryElementwise*>(&p)) {
      values.push_back(u->apply(a[0]));
    } else if (auto* b = dynamic_cast<const BinaryElementwise*>(&p)) {
      values.push_back(b->apply(a[0], a[1]));
    } else {
      values.push_back(where(a[0], a[1], a[2]));
    }
  }
  const auto& sum = static_cast<const Reduce&>(*g.reduce);
  return detail::reduce_keepdims(values.back(), ReduceKind::sum, sum.axes(), g.ops.back().dtype);
}

// A reshape that only drops or inserts axes of size 1 (squeeze, expand_dims, a reduction
// without keepdims) keeps doing that on an input of another shape of the same rank; any other
// reshape fixes the shape.
std::optional<Shape> unit_axes_reshape(const Shape& from, const Shape& to, const Shape& now) {
  std::vector<int64_t> kept_from, kept_to;
  for (int64_t d : from) if (d != 1) kept_from.push_back(d);
  for (int64_t d : to) if (d != 1) kept_to.push_back(d);
  if (kept_from != kept_to || now.size() != from.size()) return std::nullopt;
  std::vector<int64_t> kept;
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i] != 1) kept.push_back(now[i]);
    else if (now[i] != 1) return std::nullopt;  // a dropped axis must still have size 1
  }
  Shape out;
  size_t next = 0;
  for (int64_t d : to) out.push_back(d == 1 ? 1 : kept[next++]);
  return out;
}

// Replays a shapeless trace on inputs of other shapes: each node is rebuilt from its stored
// parameters by its loader (its op infers the new shapes), except the elementwise ones, which
// broadcast their arguments as compile's shapeless replay does, the broadcasts that only line
// up an elementwise op's operands (it broadcasts anyway), and unit-axis reshapes.
std::vector<array> replay_shapeless(const detail::ImportedState::Trace& t,
                                    const std::vector<array>& inputs) {
  const Tape& tape = t.tape;
  std::vector<array> slots(inputs);
  slots.insert(slots.end(), tape.constants.begin(), tape.constants.end());
  size_t step = 0;
  for (size_t k = 0; k < t.nodes.size(); ++k) {
    const auto& node = t.nodes[k];
    const Tape::Step& s = tape.steps[step];
    std::vector<array> args;
    for (int a : s.args) args.push_back(slots[a]);
    std::vector<array> outs;
    const auto* compiled = dynamic_cast<const detail::Compiled*>(s.primitive.get());
    try {
      if (s.implicit_broadcast) {
        outs = {args[0]};
      } else if (is_elementwise(*s.primitive) || (compiled && !compiled->graph().reduce)) {
        Shape shape;
        for (auto& a : args) shape = broadcast_shapes(node.name.c_str(), shape, a.shape());
        if (!compiled) {
          for (auto& a : args) a = broadcast_to(a, shape);
        }
        outs = {array(shape, s.dtype, s.primitive, args)};
      } else if (node.name == "Reshape") {
        auto to = unit_axes_reshape(stored_shape(tape, s.args[0]), s.shape, args[0].shape());
        if (!to) {
          throw std::invalid_argument(msg("it reshapes ", stored_shape(tape, s.args[0]),
                                          " to ", s.shape, ", which fixes the shape"));
        }
        outs = {reshape(args[0], *to)};
      } else if (compiled) {
        // A fused sum keeps its shapes: run its ops one by one through their loaders.
        outs = {unfused(*compiled, args)};
      } else {
        outs = detail::rebuild_primitive(node.name, node.fields, args, node.outputs);
      }
    } catch (const std::exception& e) {
      throw std::invalid_argument(msg(
          "[import_function] The function was exported with shapeless=True, but its ", node.name,
          " (node ", k, ") cannot take the new input shapes: ", e.what(), ". Call it with the "
          "exported shapes (", describe(t.signature, t.inputs), ") or export a trace per shape."));
    }
    for (auto& o : outs) slots.push_back(o);
    step += size_t(s.group_size);
  }
  std::vector<array> out;
  for (int o : tape.outputs) out.push_back(slots[o]);
  return out;
}

}  // namespace

std::vector<array> ImportedFunction::call(const std::vector<array>& inputs,
                                          const ExportSignature& signature) const {
  const auto& s = *state_;
  for (auto& x : inputs) {
    if (!x.valid()) throw std::invalid_argument("[import_function] Got an empty array handle.");
  }
  auto specs = specs_of(inputs);
  for (auto& t : s.traces) {
    if (!(t.signature == signature) || !matches(t.inputs, specs, s.shapeless)) continue;
    bool same = true;
    for (size_t i = 0; i < specs.size(); ++i) same = same && specs[i].shape == t.inputs[i].shape;
    if (same || t.tape.shapeless_blocker.empty()) return detail::compile_replay(t.tape, inputs, !same);
    return replay_shapeless(t, inputs);
  }
  std::ostringstream os;
  os << "[import_function] No exported trace matches the call with "
     << describe(signature, specs) << ". The file '" << s.path << "' has "
     << s.traces.size() << " trace(s)" << (s.shapeless ? " (shapeless: ranks must match)" : "")
     << ":";
  for (size_t k = 0; k < s.traces.size(); ++k) {
    os << "\n  " << k + 1 << ". " << describe(s.traces[k].signature, s.traces[k].inputs);
  }
  throw std::invalid_argument(os.str());
}

// ---- dot ----

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

void export_to_dot(std::ostream& os, const std::vector<array>& outputs,
                   const std::vector<std::pair<std::string, array>>& names) {
  for (auto& o : outputs) {
    if (!o.valid()) throw std::invalid_argument("[export_to_dot] Got an empty array handle.");
  }
  std::unordered_map<uintptr_t, std::string> given;
  for (auto& [name, a] : names) {
    if (a.valid()) given.emplace(a.id(), name);
  }
  detail::GraphReadLock lock;  // the nodes found are read below (graph.h)
  auto computed = [](const array& a) { return !a.has_primitive() || a.is_evaluated(); };
  auto order = detail::topological_order(outputs, [&](const array& a) { return !computed(a); });
  std::unordered_map<uintptr_t, std::string> array_ids;  // node id -> dot id
  size_t unnamed = 0;
  auto array_node = [&](const array& a) -> const std::string& {
    auto it = array_ids.find(a.id());
    if (it != array_ids.end()) return it->second;
    std::string id = msg("a", array_ids.size());
    auto g = given.find(a.id());
    std::string label = g != given.end() ? g->second : letters(unnamed++);
    std::ostringstream l;
    l << label << "\n" << a.shape() << " " << dtype_name(a.dtype());
    os << "  " << id << " [label=" << quoted(l.str()) << ", shape=ellipse];\n";
    return array_ids.emplace(a.id(), id).first->second;
  };
  std::unordered_set<uintptr_t> outs;
  for (auto& o : outputs) outs.insert(o.id());
  std::vector<std::string> sources, sinks;
  std::unordered_set<uintptr_t> done_groups;
  os << "digraph ember {\n  rankdir=TB;\n";
  size_t prims = 0;
  for (auto& a : order) {
    if (computed(a)) {
      sources.push_back(array_node(a));
      continue;
    }
    if (!done_groups.insert(a.group_id()).second) continue;  // a sibling drew this node
    std::string pid = msg("p", prims++);
    std::ostringstream label;
    a.primitive().print(label);
    os << "  " << pid << " [label=" << quoted(label.str()) << ", shape=box];\n";
    for (auto& in : a.inputs()) os << "  " << array_node(in) << " -> " << pid << ";\n";
    for (auto& o : a.num_siblings() > 1 ? a.siblings() : std::vector<array>{a}) {
      const std::string& oid = array_node(o);
      os << "  " << pid << " -> " << oid << ";\n";
      if (outs.count(o.id())) sinks.push_back(oid);
    }
  }
  auto rank = [&](const char* which, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    os << "  { rank=" << which << ";";
    for (auto& id : ids) os << " " << id << ";";
    os << " }\n";
  };
  rank("source", sources);
  rank("sink", sinks);
  os << "}\n";
}

}  // namespace ember
