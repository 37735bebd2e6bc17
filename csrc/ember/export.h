// Exporting functions: export_function traces a function on example arrays (with compile's
// tracing and graph passes) and writes its graph, with the arrays it captured, to a file;
// import_function reads the file, here or in another process, and returns a function that
// replays the graph without the original code. exporter writes several traces (input
// signatures) of one function to one file; export_to_dot writes a Graphviz picture of a graph.
//
// A file is checked in full when it is imported: every size, count and dtype against the
// bytes present (io::Reader), and every step of every graph by the op that makes it (each
// primitive's loader, export/fields.h), so a truncated, corrupt or hostile file is a
// std::invalid_argument (Python: ValueError) naming the file, never a crash.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ember/api.h"
#include "ember/array.h"
#include "ember/export/fields.h"

namespace ember {

using Args = std::vector<array>;
using Kwargs = std::map<std::string, array>;
/// A function of positional and keyword arrays returning arrays (what export takes).
using KwargsFn = std::function<std::vector<array>(const Args&, const Kwargs&)>;
/// A function of one flat list of arrays (what is traced).
using FlatFn = std::function<std::vector<array>(const std::vector<array>&)>;

/// How a call lays out its arrays: `num_args` positional arguments and keyword arguments
/// `kwarg_names` (sorted); the flat list holds the positional arrays, then the keyword ones
/// in name order. `structure` describes arguments that are trees of arrays (the Python layer
/// writes and compares it); it is empty when every argument is one array.
struct ExportSignature {
  int num_args = 0;
  std::vector<std::string> kwarg_names;
  std::string structure;
  bool operator==(const ExportSignature& o) const {
    return num_args == o.num_args && kwarg_names == o.kwarg_names && structure == o.structure;
  }
};

/// The version of the file format this ember writes; it reads this one and older ones.
inline constexpr uint32_t kExportFormatVersion = 1;

namespace detail {
struct ExportState;
struct ImportedState;
}  // namespace detail

/// Writes traces of one function to one file (made by `exporter`). Each call traces the
/// function on new example arrays and rewrites the file atomically, so the file always holds
/// every trace so far; arrays the traces capture are stored once.
class EMBER_API FunctionExporter {
 public:
  explicit FunctionExporter(std::shared_ptr<detail::ExportState> state) : state_(std::move(state)) {}
  /// Adds the trace of the function on these arrays (a signature already exported, or a call
  /// after close, is std::invalid_argument).
  void operator()(const Args& args, const Kwargs& kwargs = {});
  /// The general form: `fun` takes the flat list `inputs`, laid out as `signature` says.
  void add(const FlatFn& fun, const std::vector<array>& inputs, const ExportSignature& signature);
  /// No more traces.
  void close();

 private:
  std::shared_ptr<detail::ExportState> state_;
};

/// An exporter for `fun` writing to `path`. shapeless: the imported function accepts inputs
/// of other shapes (same ranks and dtypes) where the graph allows, as compile's shapeless.
/// metadata: a string stored with the function (import_function gives it back).
EMBER_API FunctionExporter exporter(const std::string& path, KwargsFn fun, bool shapeless = false,
                                    std::string metadata = {});

/// Exports one trace of fun on these example arrays (only their shapes and dtypes matter).
EMBER_API void export_function(const std::string& path, const KwargsFn& fun, const Args& args,
                               const Kwargs& kwargs = {}, bool shapeless = false,
                               std::string metadata = {});

/// A function read from a file: calling it replays the exported graph of the trace whose
/// signature (arguments, dtypes, shapes or, when shapeless, ranks) matches the call.
class EMBER_API ImportedFunction {
 public:
  explicit ImportedFunction(std::shared_ptr<const detail::ImportedState> state)
      : state_(std::move(state)) {}
  std::vector<array> operator()(const Args& args, const Kwargs& kwargs = {}) const;
  /// The general form (see ExportSignature).
  std::vector<array> call(const std::vector<array>& inputs, const ExportSignature& signature) const;
  /// The metadata string stored with the function ("" if none).
  const std::string& metadata() const;
  /// Whether the function was exported with shapeless=True.
  bool shapeless() const;

 private:
  std::shared_ptr<const detail::ImportedState> state_;
};

/// Reads a function written by export_function or an exporter.
EMBER_API ImportedFunction import_function(const std::string& path);

/// One trace described value by value, for a callback instead of a file (mlx.core's
/// export_function(callback, ...)): values are named A, B, ..., Z, AA, ...
struct ExportedGraph {
  struct Value {
    std::string name;
    Shape shape;
    Dtype dtype;
  };
  struct Node {
    std::string primitive;
    ExportFields fields;  // what serialize() gives
    std::vector<Value> inputs, outputs;
  };
  std::vector<Value> inputs;  // positional, then keyword (see ExportSignature)
  ExportSignature signature;
  std::vector<std::pair<std::string, array>> constants;
  std::vector<Node> nodes;  // in order
  std::vector<Value> outputs;
};

/// Traces fun on `inputs` as export_function does and describes the graph.
EMBER_API ExportedGraph export_graph(const FlatFn& fun, const std::vector<array>& inputs,
                                     const ExportSignature& signature, bool shapeless = false);

/// Writes the graph that computes `outputs` in Graphviz's dot language: one box per
/// primitive (with its parameters) and one ellipse per array, down to arrays already
/// computed; `names` label some arrays (unnamed ones get A, B, ...).
EMBER_API void export_to_dot(std::ostream& os, const std::vector<array>& outputs,
                             const std::vector<std::pair<std::string, array>>& names = {});

}  // namespace ember
