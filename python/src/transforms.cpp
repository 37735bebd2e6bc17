// Low-level bindings of the transforms over flat lists of arrays. The Python
// layer (ember/_transforms.py) handles trees, argnums and the user-facing API.
#include <nanobind/stl/function.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <map>
#include <sstream>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"
#include "ember/graph.h"
#include "ember/transforms/compile.h"
#include "ember/transforms/trace.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

// A Python object that a C++ closure may outlive the call with: primitives
// holding user rules are destroyed by eval, which runs without the GIL, so the
// last reference is dropped under a freshly acquired GIL.
std::shared_ptr<nb::object> keep(nb::object obj) {
  return std::shared_ptr<nb::object>(new nb::object(std::move(obj)), [](nb::object* o) {
    nb::gil_scoped_acquire gil;
    delete o;
  });
}

// Wraps a Python callable (list of arrays -> list of arrays) as an ArrayFn.
ArrayFn wrap(nb::callable fun) {
  return [f = keep(fun)](const std::vector<array>& xs) {
    nb::object r = (*f)(nb::cast(xs));
    return nb::cast<std::vector<array>>(r);
  };
}

std::vector<std::optional<int>> to_opt_axes(nb::handle axes) {
  std::vector<std::optional<int>> out;
  for (auto a : axes) out.push_back(a.is_none() ? std::nullopt : std::optional<int>(nb::cast<int>(a)));
  return out;
}

/// A recorded trace for the guide's `outputs, vjp_fn = vjp(f, x)` form: the
/// backward pass can run several times over the same graph.
struct VjpTrace {
  detail::Trace trace;
  std::vector<array> backward(const std::vector<array>& cotangents) const {
    if (cotangents.size() != trace.outputs.size()) {
      throw std::invalid_argument(msg("[vjp] Got ", cotangents.size(), " cotangents for ",
                                      trace.outputs.size(), " outputs."));
    }
    std::vector<array> cts;
    for (size_t i = 0; i < cotangents.size(); ++i) {
      if (cotangents[i].shape() != trace.outputs[i].shape() ||
          cotangents[i].dtype() != trace.outputs[i].dtype()) {
        throw std::invalid_argument(msg("[vjp] Cotangent ", i, " has shape ", cotangents[i].shape(),
                                        " and dtype ", dtype_name(cotangents[i].dtype()), " but output ",
                                        i, " has shape ", trace.outputs[i].shape(), " and dtype ",
                                        dtype_name(trace.outputs[i].dtype()), "."));
      }
      cts.push_back(astype(cotangents[i], trace.outputs[i].dtype()));
    }
    return detail::backward(trace, cts);
  }
};

/// The cache of a compiled function for its common case, looked up without Python
/// code: positional array arguments only, keyed by each one's dtype and shape (rank only
/// when shapeless). A miss returns None and the Python layer traces (and adds the trace
/// here when its call fits this case).
struct CompileCache {
  explicit CompileCache(bool s) : shapeless(s) {}
  bool shapeless = false;
  struct Entry {
    std::shared_ptr<detail::Tape> tape;
    nb::object rebuild;  // None: the function returned one array
  };
  std::map<std::vector<int64_t>, Entry> entries;

  bool key_of(nb::handle args, std::vector<int64_t>& key, std::vector<array>* xs) const {
    for (nb::handle h : args) {
      if (!nb::isinstance<array>(h)) return false;
      const array& a = nb::cast<const array&>(h);
      key.push_back(int64_t(a.dtype()));
      key.push_back(a.ndim());
      if (!shapeless) key.insert(key.end(), a.shape().begin(), a.shape().end());
      if (xs) xs->push_back(a);
    }
    return true;
  }

  nb::object call(const nb::args& args) const {
    if (!compile_enabled() || entries.empty()) return nb::none();
    std::vector<int64_t> key;
    std::vector<array> xs;
    xs.reserve(args.size());
    if (!key_of(args, key, &xs)) return nb::none();
    auto it = entries.find(key);
    if (it == entries.end()) return nb::none();
    auto outs = detail::compile_replay(*it->second.tape, xs, shapeless);
    if (it->second.rebuild.is_none()) return nb::cast(std::move(outs[0]));
    return it->second.rebuild(nb::cast(std::move(outs)));
  }
};

}  // namespace

void init_transforms(nb::module_& m) {
  m.def("_vjp", [](nb::callable fun, std::vector<array> primals, std::vector<array> cotangents,
                   const char* op) { return vjp(wrap(fun), primals, cotangents, op); },
        "fun"_a, "primals"_a, "cotangents"_a, "op"_a = "vjp");
  m.def("_jvp", [](nb::callable fun, std::vector<array> primals, std::vector<array> tangents,
                   const char* op) { return jvp(wrap(fun), primals, tangents, op); },
        "fun"_a, "primals"_a, "tangents"_a, "op"_a = "jvp");
  m.def("_vmap", [](nb::callable fun, std::vector<array> inputs, nb::handle in_axes,
                    nb::callable out_axes_for) {
          return detail::vmap_apply(wrap(fun), inputs, to_opt_axes(in_axes), [&](size_t n) {
            return to_opt_axes(out_axes_for(n));
          });
        },
        "fun"_a, "inputs"_a, "in_axes"_a, "out_axes_for"_a);
  m.def("_value_and_grad", [](nb::callable fun, std::vector<array> primals, const char* op) {
    // The first output is the scalar loss; the others are auxiliary values.
    return detail::value_and_grad_trace(wrap(fun), primals, op);
  }, "fun"_a, "primals"_a, "op"_a = "value_and_grad");
  // custom_function over flat lists; None for a rule means "use fun's graph".
  m.def("_custom_function", [](nb::callable fun, nb::object vjp_fn, nb::object jvp_fn,
                               nb::object vmap_fn, std::vector<array> inputs) {
    CustomVjpFn v;
    CustomJvpFn j;
    CustomVmapFn b;
    if (!vjp_fn.is_none()) {
      v = [f = keep(vjp_fn)](const std::vector<array>& xs, const std::vector<array>& cts,
                             const std::vector<array>& ys) {
        return nb::cast<std::vector<array>>((*f)(nb::cast(xs), nb::cast(cts), nb::cast(ys)));
      };
    }
    if (!jvp_fn.is_none()) {
      j = [f = keep(jvp_fn)](const std::vector<array>& xs, const std::vector<array>& ts) {
        return nb::cast<std::vector<array>>((*f)(nb::cast(xs), nb::cast(ts)));
      };
    }
    if (!vmap_fn.is_none()) {
      b = [f = keep(vmap_fn)](const std::vector<array>& xs,
                              const std::vector<std::optional<int>>& axes) {
        nb::list ax;
        for (auto& a : axes) ax.append(a ? nb::cast(*a) : nb::none());
        nb::tuple r = nb::cast<nb::tuple>((*f)(nb::cast(xs), ax));
        return std::make_pair(nb::cast<std::vector<array>>(r[0]), nb::cast<std::vector<int>>(r[1]));
      };
    }
    return custom_function(wrap(fun), v, j, b)(inputs);
  }, "fun"_a, "vjp"_a.none(), "jvp"_a.none(), "vmap"_a.none(), "inputs"_a);
  m.def("_checkpoint", [](nb::callable fun, std::vector<array> inputs) {
    return checkpoint(wrap(fun))(inputs);
  }, "fun"_a, "inputs"_a);
  m.def("_primitive_names", [](std::vector<array> outputs) {
    // Names of the primitives in the (unevaluated) graph of outputs: used by
    // tools/rule_coverage.py to tabulate which rules the op table exercises.
    std::vector<std::string> names;
    detail::GraphReadLock lock;  // the nodes found are read below (ember/graph.h)
    for (auto& a : detail::topological_order(outputs)) {
      if (a.has_primitive()) names.push_back(a.primitive().name());
    }
    return names;
  }, "outputs"_a);
  nb::class_<VjpTrace>(m, "_VjpTrace")
      .def("backward", &VjpTrace::backward)
      .def_prop_ro("outputs", [](const VjpTrace& t) { return t.trace.outputs; });
  m.def("_vjp_trace", [](nb::callable fun, std::vector<array> primals, const char* op) {
    return VjpTrace{detail::trace_function(wrap(fun), primals, op)};
  }, "fun"_a, "primals"_a, "op"_a = "vjp");

  // compile: the Python layer (ember/_compile.py) keeps the cache, keyed by the
  // argument trees; C++ traces into a tape and replays it.
  nb::class_<detail::Tape>(m, "_CompiledTape")
      .def("__call__", [](const detail::Tape& t, std::vector<array> inputs, bool shapeless) {
        return detail::compile_replay(t, inputs, shapeless);
      }, "inputs"_a, "shapeless"_a = false)
      .def_prop_ro("steps", [](const detail::Tape& t) {
        // Each step's primitive as printed (fused chains as Compiled(Exp, Add, ...)).
        std::vector<std::string> out;
        for (auto& s : t.steps) {
          std::ostringstream os;
          if (s.primitive) s.primitive->print(os);
          else os << "Output[" << s.position << "]";
          out.push_back(os.str());
        }
        return out;
      })
      .def_prop_ro("traced_steps", [](const detail::Tape& t) { return t.traced_steps; })
      .def_prop_ro("num_constants", [](const detail::Tape& t) { return t.constants.size(); })
      .def_prop_ro("shapeless_blocker", [](const detail::Tape& t) { return t.shapeless_blocker; });
  nb::class_<CompileCache>(m, "_CompileCache")
      .def(nb::init<bool>(), "shapeless"_a)
      .def("__call__", [](const CompileCache& c, nb::args args) { return c.call(args); })
      .def("add", [](CompileCache& c, nb::tuple args, std::shared_ptr<detail::Tape> tape,
                     nb::object rebuild) {
        std::vector<int64_t> key;
        if (c.key_of(args, key, nullptr)) c.entries[key] = {std::move(tape), std::move(rebuild)};
      }, "args"_a, "tape"_a, "rebuild"_a.none())
      .def("clear", [](CompileCache& c) { c.entries.clear(); });
  m.def("_compile_trace", [](nb::callable fun, std::vector<array> inputs, bool shapeless, bool fuse) {
    return detail::compile_trace(wrap(fun), inputs, {shapeless, fuse});
  }, "fun"_a, "inputs"_a, "shapeless"_a = false, "fuse"_a = true);
  m.def("disable_compile", &disable_compile,
        "Makes compiled functions run uncompiled (their Python code runs on every call).\n\n"
        "The environment variable ``EMBER_DISABLE_COMPILE=1`` does the same from the start.");
  m.def("enable_compile", &enable_compile, "Turns compile back on after disable_compile.");
  m.def("_compile_enabled", &compile_enabled);
}
