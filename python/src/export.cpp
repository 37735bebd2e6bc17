// Low-level bindings of exporting functions (csrc/ember/export.h) over flat lists of arrays.
// The Python layer (ember/_export.py) gives export_function, import_function, exporter and
// export_to_dot mlx.core's signatures and handles argument trees.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <sstream>

#include "bindings.h"
#include "convert.h"
#include "ember/export.h"

using namespace ember;
using namespace nb::literals;

namespace {

ExportSignature signature(int num_args, std::vector<std::string> kwarg_names, std::string structure) {
  return {num_args, std::move(kwarg_names), std::move(structure)};
}

FlatFn flat_fn(nb::callable& fun) {
  // fun runs during the trace, on this thread (the GIL is held).
  return [&fun](const std::vector<array>& xs) {
    return nb::cast<std::vector<array>>(fun(nb::cast(xs)));
  };
}

nb::list values(const std::vector<ExportedGraph::Value>& vs) {
  nb::list out;
  for (auto& v : vs) out.append(nb::make_tuple(v.name, nb::tuple(nb::cast(v.shape)), v.dtype));
  return out;
}

// A primitive's parameters as Python values: ints, floats, strings, lists of ints, dtypes,
// and {"name": ..., "arguments": [...]} for a nested primitive.
nb::list arguments(const ExportFields& fields) {
  nb::list out;
  for (auto& v : fields.values()) {
    std::visit(
        [&](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::shared_ptr<const ExportFields::Nested>>) {
            nb::dict d;
            d["name"] = x->name;
            d["arguments"] = arguments(x->fields);
            out.append(d);
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            out.append(nb::list(nb::cast(x)));
          } else {
            out.append(nb::cast(x));
          }
        },
        v);
  }
  return out;
}

}  // namespace

void init_export(nb::module_& m) {
  nb::class_<FunctionExporter>(m, "_FunctionExporter")
      .def(
          "add",
          [](FunctionExporter& e, nb::callable fun, std::vector<array> inputs, int num_args,
             std::vector<std::string> kwarg_names, std::string structure) {
            e.add(flat_fn(fun), inputs,
                  signature(num_args, std::move(kwarg_names), std::move(structure)));
          },
          "fun"_a, "inputs"_a, "num_args"_a, "kwarg_names"_a, "structure"_a)
      .def("close", &FunctionExporter::close);
  m.def(
      "_exporter",
      [](std::string path, bool shapeless, std::string metadata) {
        return exporter(path, nullptr, shapeless, std::move(metadata));
      },
      "path"_a, "shapeless"_a, "metadata"_a);

  // export_function(callback, ...): the events mlx.core's callback receives, in order.
  m.def(
      "_export_graph",
      [](nb::callable fun, std::vector<array> inputs, int num_args,
         std::vector<std::string> kwarg_names, std::string structure, bool shapeless) {
        ExportedGraph g = export_graph(flat_fn(fun), inputs,
                                       signature(num_args, kwarg_names, structure), shapeless);
        nb::list events;
        nb::dict in;
        in["type"] = "inputs";
        in["inputs"] = values(g.inputs);
        if (!structure.empty()) in["structure"] = structure;
        events.append(in);
        nb::dict kw;
        kw["type"] = "keyword_inputs";
        nb::list names;
        if (structure.empty()) {
          for (size_t i = 0; i < kwarg_names.size(); ++i) {
            names.append(nb::make_tuple(kwarg_names[i], g.inputs[num_args + i].name));
          }
        }
        kw["keywords"] = names;
        events.append(kw);
        nb::dict outs;
        outs["type"] = "outputs";
        outs["outputs"] = values(g.outputs);
        events.append(outs);
        nb::dict consts;
        consts["type"] = "constants";
        nb::list cs;
        for (auto& [name, c] : g.constants) cs.append(nb::make_tuple(name, c));
        consts["constants"] = cs;
        events.append(consts);
        for (auto& node : g.nodes) {
          nb::dict d;
          d["type"] = "primitive";
          d["name"] = node.primitive;
          d["arguments"] = arguments(node.fields);
          d["inputs"] = values(node.inputs);
          d["outputs"] = values(node.outputs);
          events.append(d);
        }
        return events;
      },
      "fun"_a, "inputs"_a, "num_args"_a, "kwarg_names"_a, "structure"_a, "shapeless"_a);

  nb::class_<ImportedFunction>(m, "_ImportedFunction")
      .def(
          "call",
          [](const ImportedFunction& f, std::vector<array> inputs, int num_args,
             std::vector<std::string> kwarg_names, std::string structure) {
            return f.call(inputs, signature(num_args, std::move(kwarg_names), std::move(structure)));
          },
          "inputs"_a, "num_args"_a, "kwarg_names"_a, "structure"_a)
      .def_prop_ro("metadata", &ImportedFunction::metadata)
      .def_prop_ro("shapeless", &ImportedFunction::shapeless);
  m.def("_import_function", [](std::string path) { return import_function(path); }, "path"_a);

  m.def(
      "_export_to_dot",
      [](std::vector<array> outputs, std::vector<std::pair<std::string, array>> names) {
        std::ostringstream os;
        export_to_dot(os, outputs, names);
        return os.str();
      },
      "outputs"_a, "names"_a);
}
