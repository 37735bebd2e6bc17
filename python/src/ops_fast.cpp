// The ember.core.fast submodule (mlx.core.fast's names and signatures): fused
// normalizations, rope, attention, cross entropy, the gated delta rule, and the factories
// of user-written GPU kernels.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <limits>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

std::optional<array> opt_array(nb::handle a) {
  if (a.is_none()) return std::nullopt;
  return to_array(a);
}

// A (x, y, z) launch size.
std::tuple<int, int, int> launch3(const char* op, const char* what, nb::handle t) {
  if (!nb::isinstance<nb::tuple>(t) && !nb::isinstance<nb::list>(t)) {
    throw nb::type_error(msg("[", op, "] ", what, " must be a tuple of 3 ints.").c_str());
  }
  auto v = nb::cast<std::vector<int>>(t);
  if (v.size() != 3) {
    throw std::invalid_argument(msg("[", op, "] ", what, " must have 3 entries, got ", v.size(), "."));
  }
  return {v[0], v[1], v[2]};
}

std::vector<Shape> shapes_arg(nb::handle shapes) {
  std::vector<Shape> out;
  for (auto s : shapes) out.push_back(to_shape_arg(s));
  return out;
}

// template=[("T", mx.float32), ("N", 4), ("flag", True)]
std::vector<std::pair<std::string, fast::TemplateArg>> template_arg(const char* op, nb::handle t) {
  std::vector<std::pair<std::string, fast::TemplateArg>> out;
  if (t.is_none()) return out;
  for (auto item : t) {
    if (!nb::isinstance<nb::tuple>(item) || nb::len(item) != 2) {
      throw nb::type_error(msg("[", op, "] template entries must be (name, value) pairs.").c_str());
    }
    std::string name = nb::cast<std::string>(item[0]);
    nb::handle v = item[1];
    if (nb::isinstance<nb::bool_>(v)) out.emplace_back(name, nb::cast<bool>(v));
    else if (nb::isinstance<nb::int_>(v)) out.emplace_back(name, nb::cast<int>(v));
    else if (nb::isinstance<Dtype>(v)) out.emplace_back(name, nb::cast<Dtype>(v));
    else throw nb::type_error(msg("[", op, "] The template value of '", name,
                                  "' must be an int, a bool or a Dtype.").c_str());
  }
  return out;
}

// What fast.cuda_kernel / fast.metal_kernel return: the kernel's source and names, called
// with inputs and launch parameters to build its outputs (lazily, like any op).
struct KernelFunction {
  fast::KernelSpec spec;
  const char* op() const { return spec.backend == "metal" ? "metal_kernel" : "cuda_kernel"; }
};

std::vector<array> call_kernel(const KernelFunction& k, nb::handle inputs, nb::handle output_shapes,
                               const std::vector<Dtype>& output_dtypes, nb::handle grid,
                               nb::handle threadgroup, nb::handle templ,
                               std::optional<float> init_value, bool verbose,
                               const StreamOrDevice& s) {
  std::vector<array> in;
  for (auto a : inputs) in.push_back(to_array(a));
  auto shapes = shapes_arg(output_shapes);
  auto targs = template_arg(k.op(), templ);
  auto g = launch3(k.op(), "grid", grid), tg = launch3(k.op(), "threadgroup", threadgroup);
  if (verbose) {
    nb::print(nb::str(msg("[", k.op(), "] kernel '", k.spec.name, "'\n", k.spec.header, "\n",
                          k.spec.source).c_str()));
  }
  std::optional<StreamScope> scope;
  if (s) scope.emplace(to_stream(*s, k.op()));
  return fast::custom_kernel(k.spec, in, shapes, output_dtypes, g, tg, targs, init_value);
}

fast::KernelSpec source_spec(const char* backend, const std::string& name,
                             const std::vector<std::string>& input_names,
                             const std::vector<std::string>& output_names, const std::string& source,
                             const std::string& header, bool ensure_row_contiguous) {
  fast::KernelSpec spec;
  spec.backend = backend;
  spec.name = name;
  spec.input_names = input_names;
  spec.output_names = output_names;
  spec.source = source;
  spec.header = header;
  spec.ensure_row_contiguous = ensure_row_contiguous;
  return spec;
}

constexpr const char* kKernelCallDoc =
    "Builds the kernel's outputs from inputs (lazily, like any op).\n\n"
    "Args:\n"
    "    inputs: The input arrays, in the order of input_names.\n"
    "    output_shapes: One shape per output.\n"
    "    output_dtypes: One Dtype per output.\n"
    "    grid: Threads in the launch grid (x, y, z).\n"
    "    threadgroup: Threads per block (x, y, z).\n"
    "    template: (name, value) template arguments: ints, bools or Dtypes.\n"
    "    init_value: A value to fill the outputs with before the kernel runs.\n"
    "    verbose: Print the kernel's source.\n\n"
    "Returns:\n"
    "    The output arrays. Evaluating them needs the backend the kernel is written for:\n"
    "    this CPU build raises a ValueError.";

}  // namespace

void init_fast(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("fast", "Fused kernels (mlx.core.fast).");

  def_op(m, "rms_norm", [](ArrayArg x, ArrayArg weight, float eps) {
    return fast::rms_norm(to_array(x), opt_array(weight), eps);
  }, "x"_a, "weight"_a.none(), "eps"_a,
        nb::sig("def rms_norm(x: ember.core.array, weight: ember.core.array | None, eps: float, "
                "*, " EMBER_STREAM_PARAM ") -> ember.core.array"),
        "Root mean square normalization over the last axis, in one fused kernel.\n\n"
        "Computes x / sqrt(mean(x^2) + eps) * weight, accumulating in float32 (float64 for\n"
        "float64 inputs).\n\n"
        "Args:\n"
        "    x: Input array (at least 1-D, floating point).\n"
        "    weight: A (D,) scale (D the last axis' size), or None for no scaling.\n"
        "    eps: Added to the mean of squares.\n\n"
        "Returns:\n"
        "    The normalized array, in the promoted dtype of x and weight.");

  def_op(m, "layer_norm", [](ArrayArg x, ArrayArg weight, ArrayArg bias, float eps) {
    return fast::layer_norm(to_array(x), opt_array(weight), opt_array(bias), eps);
  }, "x"_a, "weight"_a.none(), "bias"_a.none(), "eps"_a,
        nb::sig("def layer_norm(x: ember.core.array, weight: ember.core.array | None, "
                "bias: ember.core.array | None, eps: float, *, "
                EMBER_STREAM_PARAM ") -> ember.core.array"),
        "Layer normalization over the last axis, in one fused kernel.\n\n"
        "Computes (x - mean) / sqrt(var + eps) * weight + bias, accumulating in float32.\n\n"
        "Args:\n"
        "    x: Input array (at least 1-D, floating point).\n"
        "    weight: A (D,) scale, or None.\n"
        "    bias: A (D,) offset, or None (it takes the output's dtype).\n"
        "    eps: Added to the variance.\n\n"
        "Returns:\n"
        "    The normalized array, in the promoted dtype of x and weight.");

  def_op(m, "rope", [](ArrayArg a, int dims, bool traditional, std::optional<double> base,
                       double scale, ArrayArg offset, ArrayArg freqs) {
    array x = to_array(a);
    if (nb::isinstance<nb::bool_>(offset) || offset.is_none()) {
      throw nb::type_error("[rope] offset must be an int or an integer array.");
    }
    // An int (or anything with __index__, such as numpy's ints) is a plain offset.
    if (!nb::isinstance<array>(offset) && PyIndex_Check(offset.ptr())) {
      int64_t o = nb::cast<int64_t>(offset);
      if (o < std::numeric_limits<int32_t>::min() || o > std::numeric_limits<int32_t>::max()) {
        throw std::invalid_argument(msg("[rope] offset ", o, " does not fit in int32."));
      }
      return fast::rope(x, dims, traditional, base, scale, int(o), opt_array(freqs));
    }
    return fast::rope(x, dims, traditional, base, scale, to_array(offset), opt_array(freqs));
  }, "a"_a, "dims"_a, nb::kw_only(), "traditional"_a, "base"_a.none(), "scale"_a, "offset"_a,
        "freqs"_a = nb::none(),
        nb::sig("def rope(a: ember.core.array, dims: int, *, traditional: bool, "
                "base: float | None, scale: float, offset: int | ember.core.array, "
                "freqs: ember.core.array | None = None, "
                EMBER_STREAM_PARAM ") -> ember.core.array"),
        "Rotary positional encoding of an input (B, *, T, D).\n\n"
        "The first dims features at position t turn by the angles (offset + t) * scale * f_i,\n"
        "f_i = base^(-2i / dims) (or 1 / freqs[i]); pairs are (x_2i, x_2i+1) when traditional,\n"
        "else (x_i, x_i+dims/2). The angles are computed in float64, the rotation in float32.\n\n"
        "Args:\n"
        "    a: Input with at least 3 dimensions.\n"
        "    dims: Number of features to rotate (even, at most D); the rest pass unchanged.\n"
        "    traditional: Rotate consecutive pairs.\n"
        "    base: The frequencies' base; exactly one of base and freqs is given.\n"
        "    scale: Scales the positions.\n"
        "    offset: The first position: an int, an integer scalar array, or a (B,) array of\n"
        "        per-example offsets.\n"
        "    freqs: (dims / 2,) frequencies (periods) to use instead of base.\n\n"
        "Returns:\n"
        "    The rotated array.");

  def_op(m, "scaled_dot_product_attention",
         [](ArrayArg q, ArrayArg k, ArrayArg v, double scale, ArrayArg mask, ArrayArg sinks,
            bool force_fused) {
           (void)force_fused;  // every call runs the fused kernel
           std::string mode;
           std::optional<array> marr;
           if (nb::isinstance<nb::str>(mask)) mode = nb::cast<std::string>(mask);
           else marr = opt_array(mask);
           return fast::scaled_dot_product_attention(to_array(q), to_array(k), to_array(v), scale, mode,
                                                     marr, opt_array(sinks));
         },
         "q"_a, "k"_a, "v"_a, nb::kw_only(), "scale"_a, "mask"_a = nb::none(), "sinks"_a = nb::none(),
         "force_fused"_a = false,
         nb::sig("def scaled_dot_product_attention(q: ember.core.array, k: ember.core.array, "
                 "v: ember.core.array, *, scale: float, "
                 "mask: None | str | ember.core.array = None, "
                 "sinks: ember.core.array | None = None, force_fused: bool = False, "
                 EMBER_STREAM_PARAM ") -> ember.core.array"),
         "Attention softmax(q @ k.T * scale + mask) @ v, tiled with an online softmax.\n\n"
         "The (T_q, T_kv) score matrix is never stored, in the forward or the backward pass; the\n"
         "softmax runs in float32 whatever the inputs' precision.\n\n"
         "Args:\n"
         "    q: Queries (B, N_q, T_q, D).\n"
         "    k: Keys (B, N_kv, T_kv, D); N_q must be a multiple of N_kv (grouped-query and\n"
         "        multi-query attention: do not tile k and v to N_q heads).\n"
         "    v: Values (B, N_kv, T_kv, D_v).\n"
         "    scale: Multiplies the scores (typically 1 / sqrt(D)).\n"
         "    mask: None, \"causal\" (lower-right aligned: the last query sees every key), or an\n"
         "        array broadcastable to (B, N_q, T_q, T_kv): boolean (True keeps) or additive.\n"
         "        A query that sees no key gets the mean of v, as in MLX.\n"
         "    sinks: (N_q,) attention sinks: one extra logit per head that takes probability\n"
         "        mass but adds no value.\n"
         "    force_fused: Accepted for MLX compatibility; ember always runs the fused kernel.\n\n"
         "Returns:\n"
         "    The attention output (B, N_q, T_q, D_v).");

  def_op(m, "cross_entropy", [](ArrayArg logits, ArrayArg targets) {
    return fast::cross_entropy(to_array(logits), to_array(targets));
  }, "logits"_a, "targets"_a,
        nb::sig("def cross_entropy(logits: ember.core.array, targets: ember.core.array, *, "
                EMBER_STREAM_PARAM ") -> ember.core.array"),
        "Cross entropy with class indices as targets, in one fused kernel.\n\n"
        "Computes logsumexp(logits, axis=-1) - logits[..., target] with float32 accumulation.\n"
        "A negative target counts from the end; one outside [-C, C) contributes 0.\n\n"
        "Args:\n"
        "    logits: Unnormalized logits, classes on the last axis.\n"
        "    targets: Integer class indices, shaped like logits without the last axis.\n\n"
        "Returns:\n"
        "    The per-element loss in float32 (float64 for float64 logits: ember keeps that\n"
        "    precision where MLX has no float64), shaped like targets.");

  m.def("gated_delta_update",
        [](ArrayArg q, ArrayArg k, ArrayArg v, ArrayArg gamma, ArrayArg beta,
           ArrayArg initial_state, ArrayArg mask, StreamOrDevice s) {
          std::optional<StreamScope> scope;
          if (s) scope.emplace(to_stream(*s, "gated_delta_update"));
          return fast::gated_delta_update(to_array(q), to_array(k), to_array(v), to_array(gamma),
                                          to_array(beta), opt_array(initial_state), opt_array(mask));
        },
        "q"_a, "k"_a, "v"_a, "gamma"_a, "beta"_a, "initial_state"_a = nb::none(),
        "mask"_a = nb::none(), "stream"_a = nb::none(),
        nb::sig("def gated_delta_update(q: ember.core.array, k: ember.core.array, "
                "v: ember.core.array, gamma: ember.core.array, beta: ember.core.array, "
                "initial_state: ember.core.array | None = None, "
                "mask: ember.core.array | None = None, "
                EMBER_STREAM_PARAM ") -> list[ember.core.array]"),
        "The gated delta rule (Gated DeltaNet's recurrence), in one fused kernel.\n\n"
        "For each step t and value head h with state S (Dv, Dk): S <- gamma_t S, then\n"
        "S <- S + beta_t (v_t - S k_t) k_t^T, and y_t = S q_t. Value head h reads query / key\n"
        "head h // (Hv / Hk).\n\n"
        "Args:\n"
        "    q: Queries (B, T, Hk, Dk).\n"
        "    k: Keys (B, T, Hk, Dk).\n"
        "    v: Values (B, T, Hv, Dv); Hv a multiple of Hk.\n"
        "    gamma: Decay rates in linear space, (B, T, Hv) or per key feature (B, T, Hv, Dk).\n"
        "    beta: Update rates (B, T, Hv).\n"
        "    initial_state: The state (B, Hv, Dv, Dk) before the first step (default zeros).\n"
        "    mask: (B, T) booleans: a False step leaves the state and outputs zeros.\n\n"
        "Returns:\n"
        "    [y (B, T, Hv, Dv) in the inputs' dtype, the final state (B, Hv, Dv, Dk) in float32].");

  nb::class_<KernelFunction>(m, "_CustomKernel",
                             "A user-written GPU kernel made by cuda_kernel or metal_kernel; call it "
                             "to build its outputs.")
      .def("__call__",
           [](const KernelFunction& k, ArraysArg inputs, ShapesArg output_shapes,
              const std::vector<Dtype>& output_dtypes, nb::handle grid, nb::handle threadgroup,
              nb::handle templ, std::optional<float> init_value, bool verbose, StreamOrDevice s) {
             return call_kernel(k, inputs, output_shapes, output_dtypes, grid, threadgroup, templ,
                                init_value, verbose, s);
           },
           nb::kw_only(), "inputs"_a, "output_shapes"_a, "output_dtypes"_a, "grid"_a, "threadgroup"_a,
           "template"_a = nb::none(), "init_value"_a = nb::none(), "verbose"_a = false,
           "stream"_a = nb::none(),
           nb::sig("def __call__(self, *, inputs: collections.abc.Sequence[ember.core.array], "
                   "output_shapes: collections.abc.Sequence[collections.abc.Sequence[int]], "
                   "output_dtypes: collections.abc.Sequence[ember.core.Dtype], grid: tuple[int, "
                   "int, int], threadgroup: tuple[int, int, int], "
                   "template: collections.abc.Sequence[tuple[str, "
                   "bool | int | ember.core.Dtype]] | None = None, "
                   "init_value: float | None = None, verbose: bool = False, "
                   EMBER_STREAM_PARAM ") -> list[ember.core.array]"),
           kKernelCallDoc)
      .def_prop_ro("name", [](const KernelFunction& k) { return k.spec.name; }, "The kernel's name.")
      .def_prop_ro("source", [](const KernelFunction& k) { return k.spec.source; },
                   "The kernel's body, as given.")
      .def("__repr__", [](const KernelFunction& k) {
        return msg("<", k.op(), " '", k.spec.name, "'>");
      });

  m.def("cuda_kernel",
        [](const std::string& name, const std::vector<std::string>& input_names,
           const std::vector<std::string>& output_names, const std::string& source,
           const std::string& header, bool ensure_row_contiguous, int shared_memory)
            -> TypedObject<arg_type::Kernel> {
          if (shared_memory < 0) {
            throw std::invalid_argument("[cuda_kernel] shared_memory must be non-negative.");
          }
          auto spec = source_spec("cuda", name, input_names, output_names, source, header,
                                  ensure_row_contiguous);
          spec.shared_memory = shared_memory;
          return nb::cast(KernelFunction{spec});
        },
        "name"_a, "input_names"_a, "output_names"_a, "source"_a, "header"_a = "",
        "ensure_row_contiguous"_a = true, "shared_memory"_a = 0,
        "A custom CUDA kernel from the body of its function (the signature is generated from\n"
        "input_names, output_names and the inputs' dtypes when it is called).\n\n"
        "Args:\n"
        "    name: The kernel's name.\n"
        "    input_names: Parameter names of the inputs.\n"
        "    output_names: Parameter names of the outputs.\n"
        "    source: The function body.\n"
        "    header: Code placed before the function (helpers, includes).\n"
        "    ensure_row_contiguous: Copy inputs to row-contiguous layout first.\n"
        "    shared_memory: Dynamic shared memory to request, in bytes.\n\n"
        "Returns:\n"
        "    A callable kernel object. Its outputs need ember's CUDA backend: evaluating them in\n"
        "    this build raises a ValueError.");

  m.def("metal_kernel",
        [](const std::string& name, const std::vector<std::string>& input_names,
           const std::vector<std::string>& output_names, const std::string& source,
           const std::string& header, bool ensure_row_contiguous, bool atomic_outputs,
           MappingArg compile_options) {
          if (!compile_options.is_none() && !nb::isinstance<nb::dict>(compile_options)) {
            throw nb::type_error("[metal_kernel] compile_options must be a dict or None.");
          }
          auto spec = source_spec("metal", name, input_names, output_names, source, header,
                                  ensure_row_contiguous);
          spec.atomic_outputs = atomic_outputs;
          return KernelFunction{spec};
        },
        "name"_a, "input_names"_a, "output_names"_a, "source"_a, "header"_a = "",
        "ensure_row_contiguous"_a = true, "atomic_outputs"_a = false, "compile_options"_a = nb::none(),
        nb::sig("def metal_kernel(name: str, input_names: collections.abc.Sequence[str], "
                "output_names: collections.abc.Sequence[str], source: str, header: str = '', "
                "ensure_row_contiguous: bool = True, atomic_outputs: bool = False, "
                "compile_options: collections.abc.Mapping[str, "
                "typing.Any] | None = None) -> collections.abc.Callable[..., "
                "list[ember.core.array]]"),
        "A custom Metal kernel from the body of its function (MLX's API).\n\n"
        "Metal is not supported by ember: the kernel object is made and can be called, but\n"
        "evaluating its outputs raises a ValueError.");

  m.def("precompiled_cuda_kernel",
        [](const std::string& name, nb::bytes compiled_source, ArraysArg inputs,
           ShapesArg output_shapes, const std::vector<Dtype>& output_dtypes, nb::handle scalars,
           nb::handle grid, nb::handle threadgroup, int shared_memory, std::optional<float> init_value,
           bool ensure_row_contiguous, StreamOrDevice s) {
          const char* op = "precompiled_cuda_kernel";
          fast::KernelSpec spec;
          spec.backend = "cuda_precompiled";
          spec.name = name;
          spec.compiled_source = std::string(compiled_source.c_str(), compiled_source.size());
          spec.ensure_row_contiguous = ensure_row_contiguous;
          spec.shared_memory = shared_memory;
          std::vector<array> in;
          for (auto a : inputs) in.push_back(to_array(a));
          std::vector<std::variant<bool, int64_t, double>> sc;
          for (auto v : scalars) {
            if (nb::isinstance<nb::bool_>(v)) sc.emplace_back(nb::cast<bool>(v));
            else if (nb::isinstance<nb::int_>(v)) sc.emplace_back(nb::cast<int64_t>(v));
            else if (nb::isinstance<nb::float_>(v)) sc.emplace_back(nb::cast<double>(v));
            else throw nb::type_error("[precompiled_cuda_kernel] scalars must be bools, ints or floats.");
          }
          std::optional<StreamScope> scope;
          if (s) scope.emplace(to_stream(*s, op));
          return fast::custom_kernel(spec, in, shapes_arg(output_shapes), output_dtypes,
                                     launch3(op, "grid", grid), launch3(op, "threadgroup", threadgroup),
                                     {}, init_value, sc);
        },
        nb::kw_only(), "name"_a, "compiled_source"_a, "inputs"_a, "output_shapes"_a, "output_dtypes"_a,
        "scalars"_a, "grid"_a, "threadgroup"_a, "shared_memory"_a = 0, "init_value"_a = nb::none(),
        "ensure_row_contiguous"_a = false, "stream"_a = nb::none(),
        nb::sig("def precompiled_cuda_kernel(*, name: str, compiled_source: bytes, "
                "inputs: collections.abc.Sequence[ember.core.array], "
                "output_shapes: collections.abc.Sequence[tuple[int, ...]], "
                "output_dtypes: collections.abc.Sequence[ember.core.Dtype], "
                "scalars: collections.abc.Sequence[object], grid: tuple[int, int, int], "
                "threadgroup: tuple[int, int, int], shared_memory: int = 0, "
                "init_value: float | None = None, ensure_row_contiguous: bool = False, "
                EMBER_STREAM_PARAM ") -> list[ember.core.array]"),
        "Runs a precompiled CUDA kernel (PTX or cubin bytes) with inputs and scalar arguments.\n\n"
        "Returns:\n"
        "    The output arrays. Evaluating them needs ember's CUDA backend: this build raises a\n"
        "    ValueError.");
}
