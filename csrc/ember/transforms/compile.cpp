// compile: tracing into a tape, the graph passes (constant folding, common
// subexpressions, dead code, fusion of elementwise chains), replay, and the cache.
#include "ember/transforms/compile.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "ember/errors.h"
#include "ember/graph.h"
#include "ember/ops.h"
#include "ember/primitives/binary.h"
#include "ember/primitives/reduce.h"
#include "ember/primitives/shape.h"
#include "ember/primitives/unary.h"

namespace ember {

namespace {

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{[] {
    const char* e = std::getenv("EMBER_DISABLE_COMPILE");
    return !(e && *e && std::strcmp(e, "0") != 0);
  }()};
  return flag;
}

}  // namespace

void disable_compile() { enabled_flag() = false; }
void enable_compile() { enabled_flag() = true; }
bool compile_enabled() { return enabled_flag(); }

namespace detail {

namespace {

// The families whose kernels compute output element i from input elements i only:
// what fusion may chain. (Asked of the family base classes, so a new unary or binary
// primitive fuses without being listed anywhere.)
bool is_elementwise(const Primitive& p) {
  return dynamic_cast<const UnaryElementwise*>(&p) || dynamic_cast<const BinaryElementwise*>(&p) ||
         dynamic_cast<const Select*>(&p);
}
bool is_broadcast(const Primitive& p) { return dynamic_cast<const BroadcastTo*>(&p) != nullptr; }
bool is_compiled(const Primitive& p) { return dynamic_cast<const Compiled*>(&p) != nullptr; }

// The graph the passes work on: every value is an input, a constant or an op.
struct Value {
  enum Kind { input, constant, op } kind;
  array data;                            // kind == constant
  std::shared_ptr<Primitive> primitive;  // kind == op
  std::vector<int> args;
  Shape shape;
  Dtype dtype = Dtype::float32;
  // An output of a multi-output node: its outputs are consecutive values, computed together.
  int position = 0;
  int group_size = 1;
};

struct Graph {
  std::vector<Value> values;  // inputs first, then in topological order
  std::vector<int> outputs;
};

// Records the part of the traced graph between the placeholders and the outputs.
// Values that do not depend on a placeholder are constants of the tape.
Graph record(const std::vector<array>& placeholders, const std::vector<array>& outputs) {
  GraphReadLock lock;  // the nodes found are read below (graph.h)
  Graph g;
  std::unordered_map<uintptr_t, int> index;
  for (auto& p : placeholders) {
    index.emplace(p.id(), int(g.values.size()));
    g.values.push_back(Value{Value::input, {}, nullptr, {}, p.shape(), p.dtype()});
  }
  auto order = topological_order(outputs, [&](const array& a) {
    return a.has_primitive() && !a.is_evaluated() && !index.count(a.id());
  });
  std::unordered_set<uintptr_t> depends;
  for (auto& p : placeholders) depends.insert(p.id());
  // A broadcast of a constant (the scalar of `x + 1.0`) stays a step of the tape: fusion
  // absorbs it, and shapeless replay can re-derive its shape.
  std::function<int(const array&)> value_of = [&](const array& a) {
    auto it = index.find(a.id());
    if (it != index.end()) return it->second;
    Value v{Value::constant, a, nullptr, {}, a.shape(), a.dtype()};
    if (a.has_primitive() && !a.is_evaluated() && is_broadcast(a.primitive())) {
      v = Value{Value::op, {}, a.primitive_ptr(), {value_of(a.inputs()[0])}, a.shape(), a.dtype()};
    }
    int k = int(g.values.size());
    index.emplace(a.id(), k);
    g.values.push_back(std::move(v));
    return k;
  };
  for (auto& a : order) {
    if (index.count(a.id()) || !a.has_primitive() || a.is_evaluated()) continue;
    bool dep = false;
    for (auto& in : a.inputs()) dep = dep || depends.count(in.id());
    if (!dep) continue;
    depends.insert(a.id());
    if (dynamic_cast<const TraceInput*>(&a.primitive())) {
      // The stand-in of a transform traced inside the function: an identity once that
      // transform is done, so it is its input.
      index.emplace(a.id(), value_of(a.inputs()[0]));
      continue;
    }
    Value v{Value::op, {}, a.primitive_ptr(), {}, a.shape(), a.dtype()};
    for (auto& in : a.inputs()) v.args.push_back(value_of(in));
    if (a.group_id() != a.id()) {
      // Every output of a multi-output node, in order, as consecutive values.
      auto sibs = a.siblings();
      for (size_t j = 0; j < sibs.size(); ++j) {
        Value w = v;
        w.shape = sibs[j].shape();
        w.dtype = sibs[j].dtype();
        w.position = int(j);
        w.group_size = int(sibs.size());
        index.emplace(sibs[j].id(), int(g.values.size()));
        depends.insert(sibs[j].id());
        g.values.push_back(std::move(w));
      }
      continue;
    }
    index.emplace(a.id(), int(g.values.size()));
    g.values.push_back(std::move(v));
  }
  for (auto& o : outputs) g.outputs.push_back(value_of(o));
  return g;
}

// Constant folding: constants computed inside the function (mx.array(2.0) * 3, zeros,
// arange ...) are evaluated once now, so a replay only points at their buffers.
// Constants that hang off another transform's placeholder stay lazy.
void fold_constants(Graph& g) {
  std::vector<array> todo;
  {
    GraphReadLock lock;  // released before eval (graph.h)
    for (auto& v : g.values) {
      if (v.kind != Value::constant || v.data.is_evaluated() || !v.data.has_primitive()) continue;
      bool free = true;
      for (auto& a : topological_order(std::vector<array>{v.data}, [](const array& a) {
             return a.has_primitive() && !a.is_evaluated();
           })) {
        if (a.is_placeholder()) {
          free = false;
          break;
        }
      }
      if (free) todo.push_back(v.data);
    }
  }
  if (!todo.empty()) eval(todo);
}

// Common subexpressions: an op whose primitive is equivalent to an earlier one's and
// whose arguments are the same values is that value. Equal evaluated scalar constants
// merge first, so `x * 2 + y * 2` shares one broadcast of 2.
void eliminate_common(Graph& g) {
  std::vector<int> canon(g.values.size());
  for (size_t i = 0; i < canon.size(); ++i) canon[i] = int(i);
  std::map<std::pair<int, std::string>, int> scalars;  // (dtype, bytes) -> value
  std::unordered_map<size_t, std::vector<int>> seen;   // hash of (name, args) -> values
  for (size_t i = 0; i < g.values.size(); ++i) {
    Value& v = g.values[i];
    if (v.kind == Value::constant) {
      const array& c = v.data;
      if (c.is_evaluated() && c.size() == 1 && c.ndim() == 0) {
        std::string bytes(static_cast<const char*>(c.raw_data()), c.itemsize());
        auto [it, fresh] = scalars.emplace(std::make_pair(int(c.dtype()), bytes), int(i));
        if (!fresh) canon[i] = it->second;
      }
      continue;
    }
    if (v.kind != Value::op) continue;
    for (auto& a : v.args) a = canon[a];
    if (v.group_size > 1) continue;  // outputs of one multi-output node stay apart
    size_t h = std::hash<std::string>()(v.primitive->name());
    for (int a : v.args) h = h * 1000003u + size_t(a);
    auto& bucket = seen[h];
    for (int j : bucket) {
      const Value& w = g.values[j];
      if (w.args == v.args && w.shape == v.shape && w.dtype == v.dtype &&
          std::strcmp(w.primitive->name(), v.primitive->name()) == 0 &&
          v.primitive->is_equivalent(*w.primitive)) {
        canon[i] = j;
        break;
      }
    }
    if (canon[i] == int(i)) bucket.push_back(int(i));
  }
  for (auto& o : g.outputs) o = canon[o];
}

// Which values the outputs need (dead code is everything else).
std::vector<char> live_values(const Graph& g) {
  std::vector<char> live(g.values.size(), 0);
  for (int o : g.outputs) live[o] = 1;
  for (int i = int(g.values.size()) - 1; i >= 0; --i) {
    if (!live[i]) continue;
    const Value& v = g.values[i];
    // A multi-output node computes all its outputs: one live output keeps them all.
    for (int j = i - v.position; j < i - v.position + v.group_size; ++j) live[j] = 1;
    for (int a : v.args) live[a] = 1;
  }
  return live;
}

// Fusion: a maximal set of elementwise ops of one shape whose intermediate values are
// used only inside the set becomes one Compiled op (with broadcasts of its inputs
// absorbed: the kernel broadcasts). Grown from the last op backwards, so each chain is
// taken whole from its final consumer.
void fuse(Graph& g) {
  const int n = int(g.values.size());
  auto live = live_values(g);
  std::vector<std::vector<int>> users(n);
  std::vector<char> is_output(n, 0);
  for (int o : g.outputs) is_output[o] = 1;
  for (int i = 0; i < n; ++i) {
    if (!live[i]) continue;
    for (int a : g.values[i].args) users[a].push_back(i);
  }
  std::vector<int> group(n, -1);
  int next_group = 0;
  for (int root = n - 1; root >= 0; --root) {
    Value& r = g.values[root];
    if (!live[root] || r.kind != Value::op || group[root] != -1 || !is_elementwise(*r.primitive)) continue;
    const int gid = next_group++;
    std::vector<int> members{root};
    group[root] = gid;
    auto absorbable = [&](int a) {
      const Value& v = g.values[a];
      if (v.kind != Value::op || group[a] != -1 || is_output[a] || v.shape != r.shape) return false;
      if (!is_elementwise(*v.primitive) && !is_broadcast(*v.primitive)) return false;
      for (int u : users[a]) {
        if (group[u] != gid) return false;
      }
      return true;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t k = 0; k < members.size(); ++k) {
        const Value& m = g.values[members[k]];
        if (is_broadcast(*m.primitive)) continue;  // its source is an input of the group
        for (int a : m.args) {
          if (absorbable(a)) {
            group[a] = gid;
            members.push_back(a);
            changed = true;
          }
        }
      }
    }
    int ops = 0;
    for (int m : members) ops += !is_broadcast(*g.values[m].primitive);
    // A sum over trailing axes as the chain's only consumer joins it (sum(exp(x - m))).
    int reduce_node = -1;
    if (!is_output[root] && users[root].size() == 1) {
      const int u = users[root][0];
      const Value& uv = g.values[u];
      auto* red = dynamic_cast<const Reduce*>(uv.primitive.get());
      bool ok = red && red->kind() == ReduceKind::sum && uv.dtype == r.dtype &&
                (r.dtype == Dtype::float32 || r.dtype == Dtype::float64);
      const int nd = int(r.shape.size());
      if (ok) {
        const auto& axes = red->axes();
        for (size_t k = 0; k < axes.size(); ++k) ok = ok && axes[k] == nd - int(axes.size()) + int(k);
      }
      if (ok) reduce_node = u;
    }
    if (ops < 2 && !(ops == 1 && reduce_node >= 0)) {  // nothing to gain; leave the op (and its arguments) to other groups
      for (int m : members) group[m] = m == root ? -2 : -1;
      continue;
    }
    std::sort(members.begin(), members.end());  // value order is topological
    auto graph = std::make_shared<FusedGraph>();
    std::vector<int> inputs;                 // graph input k is value inputs[k]
    std::unordered_map<int, int> local;      // value -> graph value index
    auto input_of = [&](int v) {
      auto it = local.find(v);
      if (it != local.end()) return it->second;
      int k = int(inputs.size());
      inputs.push_back(v);
      graph->input_dtypes.push_back(g.values[v].dtype);
      local.emplace(v, k);
      return k;
    };
    // Inputs are numbered first; op values come after all inputs, so collect ops first.
    std::vector<std::pair<int, std::vector<int>>> op_args;  // member, args (as values)
    std::unordered_map<int, int> source;                      // absorbed broadcast -> its source
    for (int m : members) {
      const Value& v = g.values[m];
      if (is_broadcast(*v.primitive)) source.emplace(m, v.args[0]);
    }
    for (int m : members) {
      const Value& v = g.values[m];
      if (is_broadcast(*v.primitive)) continue;
      for (int a : v.args) {
        int s = source.count(a) ? source[a] : a;
        if (group[s] != gid) input_of(s);
      }
      op_args.emplace_back(m, v.args);
    }
    const int ni = graph->num_inputs();
    std::unordered_map<int, int> op_index;
    for (auto& [m, args] : op_args) {
      FusedGraph::Op op{g.values[m].primitive, {}, g.values[m].dtype};
      for (int a : args) {
        int s = source.count(a) ? source[a] : a;
        op.args.push_back(group[s] == gid ? ni + op_index.at(s) : local.at(s));
      }
      op_index.emplace(m, int(graph->ops.size()));
      graph->ops.push_back(std::move(op));
    }
    if (reduce_node >= 0) {
      Value& u = g.values[reduce_node];
      graph->reduce = u.primitive;
      graph->elementwise_shape = r.shape;
      graph->reduced_shape = u.shape;
      u.primitive = std::make_shared<Compiled>(graph);
      u.args = inputs;
      continue;  // the root is now dead
    }
    r.primitive = std::make_shared<Compiled>(graph);
    r.args = inputs;
  }
}

// Emits the tape: inputs, then the live constants, then the live ops.
std::shared_ptr<Tape> emit(const Graph& g, int num_inputs) {
  auto tape = std::make_shared<Tape>();
  tape->num_inputs = num_inputs;
  auto live = live_values(g);
  std::vector<int> slot(g.values.size(), -1);
  for (int i = 0; i < num_inputs; ++i) {
    slot[i] = i;
    tape->input_shapes.push_back(g.values[i].shape);
  }
  int next = num_inputs;
  for (size_t i = 0; i < g.values.size(); ++i) {
    if (live[i] && g.values[i].kind == Value::constant) {
      slot[i] = next++;
      tape->constants.push_back(g.values[i].data);
    }
  }
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    if (!live[i] || v.kind != Value::op) continue;
    Tape::Step s{v.primitive, {}, v.shape, v.dtype};
    s.position = v.position;
    s.group_size = v.group_size;
    for (int a : v.args) s.args.push_back(slot[a]);
    slot[i] = next++;
    tape->steps.push_back(std::move(s));
  }
  for (int o : g.outputs) tape->outputs.push_back(slot[o]);
  return tape;
}

const Shape& slot_shape(const Tape& t, int s) {
  if (s < t.num_inputs) return t.input_shapes[s];
  if (s < t.num_inputs + int(t.constants.size())) return t.constants[s - t.num_inputs].shape();
  return t.steps[s - t.num_inputs - t.constants.size()].shape;
}

}  // namespace

// Shapeless replay re-derives each step's shape from its arguments' shapes. That works
// for elementwise steps and for the broadcasts that only line up their operands (the
// consumer's shape does not change without them); anything else fixes a shape.
void check_shapeless(Tape& t) {
  const int base = t.num_inputs + int(t.constants.size());
  std::vector<std::vector<int>> users(base + t.steps.size());
  for (size_t k = 0; k < t.steps.size(); ++k) {
    for (int a : t.steps[k].args) users[a].push_back(base + int(k));
  }
  std::unordered_set<int> outputs(t.outputs.begin(), t.outputs.end());
  auto derived_shape = [&](const Tape::Step& s, int replaced, const Shape& with) {
    Shape r;
    for (int a : s.args) r = broadcast_shapes("compile", r, a == replaced ? with : slot_shape(t, a));
    return r;
  };
  // The shape an elementwise step computes at (a fused sum's input shape, for one with a sum).
  auto elementwise_shape = [](const Tape::Step& s) -> const Shape& {
    if (is_compiled(*s.primitive)) {
      const FusedGraph& g = static_cast<const Compiled&>(*s.primitive).graph();
      if (g.reduce) return g.elementwise_shape;
    }
    return s.shape;
  };
  // Every broadcast is classified (import_function's shapeless replay reads the flags past the
  // first blocker); the blocker is the first step that fixes a shape.
  auto block = [&](const char* name) {
    if (t.shapeless_blocker.empty()) t.shapeless_blocker = name;
  };
  for (size_t k = 0; k < t.steps.size(); ++k) {
    Tape::Step& s = t.steps[k];
    const int self = base + int(k);
    if (is_elementwise(*s.primitive) || is_compiled(*s.primitive)) {
      if (derived_shape(s, -1, {}) != elementwise_shape(s)) block(s.primitive->name());
      if (is_compiled(*s.primitive) && static_cast<const Compiled&>(*s.primitive).graph().reduce) {
        block("Sum");  // compile's replay keeps a fused sum's shapes
      }
      continue;
    }
    if (is_broadcast(*s.primitive) && !outputs.count(self)) {
      bool implicit = !users[self].empty();
      const Shape& src = slot_shape(t, s.args[0]);
      for (int u : users[self]) {
        const Tape::Step& c = t.steps[u - base];
        implicit = implicit && (is_elementwise(*c.primitive) || is_compiled(*c.primitive)) &&
                   derived_shape(c, self, src) == elementwise_shape(c);
      }
      if (implicit) {
        s.implicit_broadcast = true;
        continue;
      }
    }
    block(s.primitive->name());
  }
}

std::shared_ptr<Tape> compile_trace(const ArrayFn& fun, const std::vector<array>& inputs,
                                    const CompileOptions& options) {
  std::vector<array> placeholders;
  for (auto& x : inputs) {
    if (!x.valid()) throw std::invalid_argument("[compile] Got an empty array handle.");
    placeholders.push_back(array::placeholder(x.shape(), x.dtype()));
  }
  std::vector<array> outputs;
  {
    TracingScope scope;
    outputs = fun(placeholders);
  }
  for (auto& o : outputs) {
    if (!o.valid()) throw std::invalid_argument("[compile] The function returned an empty array.");
  }
  Graph g = record(placeholders, outputs);
  int traced = 0;
  for (auto& v : g.values) traced += v.kind == Value::op;
  fold_constants(g);
  eliminate_common(g);
  if (options.fuse) fuse(g);
  auto tape = emit(g, int(inputs.size()));
  tape->traced_steps = traced;
  if (options.shapeless) check_shapeless(*tape);
  return tape;
}

std::vector<array> compile_replay(const Tape& t, const std::vector<array>& inputs, bool shapeless) {
  if (int(inputs.size()) != t.num_inputs) {
    throw std::invalid_argument(msg("[compile] The compiled function got ", inputs.size(),
                                    " arrays but was traced with ", t.num_inputs, "."));
  }
  bool same = true;
  for (int i = 0; i < t.num_inputs; ++i) same = same && inputs[i].shape() == t.input_shapes[i];
  if (!same && !shapeless) {
    throw std::invalid_argument("[compile] Input shapes differ from the traced ones.");
  }
  if (!same && !t.shapeless_blocker.empty()) {
    for (int i = 0; i < t.num_inputs; ++i) {
      if (inputs[i].shape() != t.input_shapes[i]) {
        throw std::invalid_argument(msg(
            "[compile] shapeless=True cannot reuse the trace for input ", i, " of shape ",
            inputs[i].shape(), " (traced with shape ", t.input_shapes[i], "): the function contains ",
            t.shapeless_blocker, ", whose output shape was fixed when it was traced. Compile it "
            "without shapeless (one trace per input shape)."));
      }
    }
  }
  std::vector<array> slots;
  slots.reserve(t.num_inputs + t.constants.size() + t.steps.size());
  slots.insert(slots.end(), inputs.begin(), inputs.end());
  slots.insert(slots.end(), t.constants.begin(), t.constants.end());
  std::vector<array> args;
  std::vector<array> group;  // the outputs of the multi-output node being replayed
  for (size_t k = 0; k < t.steps.size(); ++k) {
    const auto& s = t.steps[k];
    if (s.group_size > 1) {
      if (s.position == 0) {
        args.clear();
        for (int a : s.args) args.push_back(slots[a]);
        std::vector<Shape> shapes;
        std::vector<Dtype> dtypes;
        for (int j = 0; j < s.group_size; ++j) {
          shapes.push_back(t.steps[k + j].shape);
          dtypes.push_back(t.steps[k + j].dtype);
        }
        group = array::make_siblings(std::move(shapes), std::move(dtypes), s.primitive,
                                     std::move(args));
        args = {};
      }
      slots.push_back(group[s.position]);
      continue;
    }
    args.clear();
    for (int a : s.args) args.push_back(slots[a]);
    if (same) {
      slots.emplace_back(s.shape, s.dtype, s.primitive, std::move(args));
      args = {};
      continue;
    }
    if (s.implicit_broadcast) {  // its consumer broadcasts
      slots.push_back(args[0]);
      continue;
    }
    Shape shape;
    for (auto& a : args) shape = broadcast_shapes("compile", shape, a.shape());
    if (!is_compiled(*s.primitive)) {
      for (auto& a : args) a = broadcast_to(a, shape);
    }
    slots.emplace_back(shape, s.dtype, s.primitive, std::move(args));
    args = {};
  }
  std::vector<array> out;
  for (int o : t.outputs) out.push_back(slots[o]);
  return out;
}

}  // namespace detail

ArrayFn compile(ArrayFn fun, bool shapeless) {
  // Traces by input signature: (shape, or only the rank when shapeless; dtype) per input.
  struct Cache {
    std::mutex mu;
    std::map<std::vector<std::pair<Shape, int>>, std::shared_ptr<detail::Tape>> tapes;
  };
  auto cache = std::make_shared<Cache>();
  return [fun = std::move(fun), cache, shapeless](const std::vector<array>& inputs) {
    if (!compile_enabled()) return fun(inputs);
    std::vector<std::pair<Shape, int>> key;
    for (auto& x : inputs) {
      key.emplace_back(shapeless ? Shape(x.ndim(), -1) : x.shape(), int(x.dtype()));
    }
    std::shared_ptr<detail::Tape> tape;
    {
      std::lock_guard<std::mutex> lock(cache->mu);
      auto it = cache->tapes.find(key);
      if (it != cache->tapes.end()) tape = it->second;
    }
    if (!tape) {
      tape = detail::compile_trace(fun, inputs, {shapeless, true});
      std::lock_guard<std::mutex> lock(cache->mu);
      cache->tapes.emplace(key, tape);
    }
    return detail::compile_replay(*tape, inputs, shapeless);
  };
}

}  // namespace ember
