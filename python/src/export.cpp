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

}  // namespace

void init_export(nb::module_& m) {
  nb::class_<FunctionExporter>(m, "_FunctionExporter")
      .def(
          "add",
          [](FunctionExporter& e, nb::callable fun, std::vector<array> inputs, int num_args,
             std::vector<std::string> kwarg_names, std::string structure) {
            // fun runs now, during the trace, on this thread (the GIL is held).
            FlatFn flat = [&fun](const std::vector<array>& xs) {
              return nb::cast<std::vector<array>>(fun(nb::cast(xs)));
            };
            e.add(flat, inputs, signature(num_args, std::move(kwarg_names), std::move(structure)));
          },
          "fun"_a, "inputs"_a, "num_args"_a, "kwarg_names"_a, "structure"_a)
      .def("close", &FunctionExporter::close);
  m.def(
      "_exporter",
      [](std::string path, bool shapeless, std::string metadata) {
        return exporter(path, nullptr, shapeless, std::move(metadata));
      },
      "path"_a, "shapeless"_a, "metadata"_a);

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
