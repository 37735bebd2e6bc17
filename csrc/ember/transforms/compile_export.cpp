// export_function for fused chains: a Compiled node stores its graph's ops as nested
// primitives, and its loader rebuilds each op through its own loader on stand-ins of the
// fused shape, checking that the result is the elementwise chain the CPU kernel can run.
#include "ember/errors.h"
#include "ember/export/fields.h"
#include "ember/primitives/binary.h"
#include "ember/primitives/reduce.h"
#include "ember/primitives/unary.h"
#include "ember/transforms/compile.h"

namespace ember::detail {

void Compiled::serialize(ExportFields& f) const {
  const FusedGraph& g = *graph_;
  f.add_int(g.num_inputs());
  for (Dtype t : g.input_dtypes) f.add_dtype(t);
  f.add_int(int64_t(g.ops.size()));
  for (auto& op : g.ops) {
    f.add_primitive(*op.primitive);
    f.add_ints(op.args);
    f.add_dtype(op.dtype);
  }
  f.add_bool(g.reduce != nullptr);
  if (g.reduce) {
    f.add_primitive(*g.reduce);
    f.add_ints(g.elementwise_shape);
    f.add_ints(g.reduced_shape);
  }
}

namespace {

bool is_elementwise(const Primitive& p) {
  return dynamic_cast<const UnaryElementwise*>(&p) || dynamic_cast<const BinaryElementwise*>(&p) ||
         dynamic_cast<const Select*>(&p);
}

std::vector<array> load_compiled(ExportFields::Reader& f, const std::vector<array>& in,
                                 const std::vector<ExportSpec>& outs) {
  if (outs.size() != 1) throw std::invalid_argument("a fused chain has one output");
  const ExportSpec& out = outs[0];
  auto graph = std::make_shared<FusedGraph>();
  const int64_t ni = f.integer("num_inputs", 0, int64_t(in.size()));
  detail::expect_inputs(in, size_t(ni));
  for (int64_t k = 0; k < ni; ++k) {
    Dtype t = f.dtype("input dtype");
    if (t != in[k].dtype()) {
      throw std::invalid_argument(msg("fused input ", k, " is ", dtype_name(in[k].dtype()),
                                      ", the chain reads ", dtype_name(t)));
    }
    graph->input_dtypes.push_back(t);
  }
  // The chain's ops read and write whole blocks; the fuser never makes long chains, and a
  // count beyond the parameters present is a corrupt file.
  const int64_t num_ops = f.integer("num_ops", 1, 1 << 20);
  struct PendingOp {
    const ExportFields::Nested* primitive;
    std::vector<int> args;
    Dtype dtype;
  };
  std::vector<PendingOp> pending;
  for (int64_t k = 0; k < num_ops; ++k) {
    const auto& p = f.primitive("op");
    std::vector<int> args = f.ints("args");
    Dtype t = f.dtype("dtype");
    pending.push_back({&p, std::move(args), t});
  }
  const bool has_reduce = f.boolean("has_reduce");
  const ExportFields::Nested* reduce = nullptr;
  Shape shape = out.shape;  // every value of the chain has it (inputs broadcast to it)
  if (has_reduce) {
    reduce = &f.primitive("reduce");
    shape = f.integers("elementwise_shape");
    if (f.integers("reduced_shape") != out.shape) {
      throw std::invalid_argument("the fused sum's shape is not the output's");
    }
    graph->elementwise_shape = shape;
    graph->reduced_shape = out.shape;
  }
  shape_size(shape, "import_function");
  std::vector<array> values;
  for (int64_t k = 0; k < ni; ++k) {
    if (broadcast_shapes("import_function", in[k].shape(), shape) != shape) {
      throw std::invalid_argument(msg("fused input ", k, " of shape ", in[k].shape(),
                                      " does not broadcast to ", shape));
    }
    values.push_back(array::placeholder(shape, in[k].dtype()));
  }
  for (auto& op : pending) {
    std::vector<array> args;
    for (int a : op.args) {
      if (a < 0 || a >= int(values.size())) {
        throw std::invalid_argument(msg("a fused op reads value ", a, " of ", values.size()));
      }
      args.push_back(values[a]);
    }
    std::vector<array> made;
    try {
      made = load_primitive(op.primitive->name, op.primitive->fields, args, {{shape, op.dtype}});
    } catch (const std::exception& e) {
      throw std::invalid_argument(msg("fused op ", op.primitive->name, ": ", e.what()));
    }
    if (!is_elementwise(made[0].primitive())) {
      throw std::invalid_argument(msg(op.primitive->name, " is not elementwise; it cannot be fused"));
    }
    graph->ops.push_back({made[0].primitive_ptr(), op.args, op.dtype});
    values.push_back(made[0]);
  }
  if (reduce) {
    std::vector<array> made;
    try {
      made = load_primitive(reduce->name, reduce->fields, {values.back()}, {out});
    } catch (const std::exception& e) {
      throw std::invalid_argument(msg("fused ", reduce->name, ": ", e.what()));
    }
    auto* red = dynamic_cast<const Reduce*>(&made[0].primitive());
    const int nd = int(shape.size());
    bool ok = red && red->kind() == ReduceKind::sum && out.dtype == graph->ops.back().dtype &&
              (out.dtype == Dtype::float32 || out.dtype == Dtype::float64);
    for (size_t k = 0; ok && k < red->axes().size(); ++k) {
      ok = red->axes()[k] == nd - int(red->axes().size()) + int(k);
    }
    if (!ok) throw std::invalid_argument("only a float sum over trailing axes can end a chain");
    graph->reduce = made[0].primitive_ptr();
  } else if (graph->ops.back().dtype != out.dtype) {
    throw std::invalid_argument("the chain's last op does not give the output's dtype");
  }
  return {array(out.shape, out.dtype, std::make_shared<Compiled>(graph), in)};
}

const RegisterLoaders kLoaders{{"Compiled", load_compiled}};

}  // namespace
}  // namespace ember::detail
