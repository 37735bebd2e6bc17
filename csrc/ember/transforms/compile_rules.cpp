// The transform rules of a fused chain (Compiled): jvp and vjp expand the chain into
// its ops and run their rules; vmap re-applies the chain to the batched inputs.
#include <sstream>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/transforms/compile.h"

namespace ember::detail {

Trace Compiled::expand(const std::vector<array>& inputs, const Shape& out_shape) const {
  const FusedGraph& g = *graph_;
  const Shape& shape = g.reduce ? g.elementwise_shape : out_shape;
  Trace t;
  std::vector<array> values;
  std::unordered_set<uintptr_t> roots;
  // Fresh identity nodes: the same array passed as two inputs still gets two cotangents.
  for (auto& x : inputs) {
    t.inputs.push_back(trace_input(x));
    roots.insert(t.inputs.back().id());
    values.push_back(broadcast_to(t.inputs.back(), shape));
  }
  for (auto& op : g.ops) {
    std::vector<array> args;
    for (int a : op.args) args.push_back(values[a]);
    values.emplace_back(shape, op.dtype, op.primitive, std::move(args));
  }
  if (g.reduce) values.emplace_back(out_shape, g.ops.back().dtype, g.reduce, std::vector<array>{values.back()});
  t.outputs = {values.back()};
  t.steps = dependent_steps(t.outputs, roots);
  return t;
}

// Forward mode through the expanded chain.
array Compiled::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                    const std::vector<int>& argnums, const array& out) {
  Trace t = expand(primals, out.shape());
  std::vector<array> ts(primals.size());
  for (size_t k = 0; k < argnums.size(); ++k) ts[argnums[k]] = tangents[k];
  return forward(t, ts)[0];
}

// Reverse mode through the expanded chain.
std::vector<array> Compiled::vjp(const std::vector<array>& primals, const array& cotangent,
                                 const std::vector<int>& argnums, const array& out) {
  Trace t = expand(primals, out.shape());
  auto all = backward(t, {cotangent});
  std::vector<array> grads;
  for (int a : argnums) grads.push_back(all[a]);
  return grads;
}

// The chain is elementwise with broadcasting inputs: give every input the batch axis in
// front (size 1 when unbatched) and the full rank, and apply the same chain.
std::pair<array, int> Compiled::vmap(const std::vector<array>& inputs,
                                     const std::vector<BatchAxis>& axes) {
  if (graph_->reduce) {
    // The sum's axes move with the batch axis: batch the expanded chain instead.
    ArrayFn expanded = [this](const std::vector<array>& xs) {
      return expand(xs, graph_->reduced_shape).outputs;
    };
    return {vmap_apply(expanded, inputs, axes, [](size_t) {
              return std::vector<std::optional<int>>{0};
            })[0],
            0};
  }
  Shape core;
  int64_t batch = 1;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Shape s = inputs[i].shape();
    if (axes[i]) {
      batch = s[*axes[i]];
      s.erase(s.begin() + *axes[i]);
    }
    core = broadcast_shapes("compile", core, s);
    shapes.push_back(std::move(s));
  }
  std::vector<array> xs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    array x = axes[i] ? moveaxis(inputs[i], *axes[i], 0) : inputs[i];
    Shape s(core.size() + 1 - shapes[i].size(), 1);
    if (axes[i]) s[0] = batch;
    s.insert(s.end(), shapes[i].begin(), shapes[i].end());
    xs.push_back(reshape(x, s));
  }
  Shape out_shape = core;
  out_shape.insert(out_shape.begin(), batch);
  return {array(out_shape, graph_->ops.back().dtype, std::make_shared<Compiled>(graph_), xs), 0};
}

bool Compiled::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Compiled*>(&other);
  return o && o->graph_ == graph_;
}

void Compiled::print(std::ostream& os) const {
  os << "Compiled(";
  for (size_t k = 0; k < graph_->ops.size(); ++k) os << (k ? ", " : "") << graph_->ops[k].primitive->name();
  if (graph_->reduce) os << ", " << graph_->reduce->name();
  os << ")";
}

}  // namespace ember::detail
