// The GPU kernel of a fused chain (Compiled). Today it runs the chain's ops one GPU kernel each
// (the family kernels of unary.cu / binary.cu / copy.cu), on temporaries that live until the
// stream's work is done, then the trailing sum if the graph has one: the same values as the
// CPU's blocked interpreter, all on the device, though not yet one generated kernel.
#include "ember/backend/cuda/copy.h"
#include "ember/transforms/compile.h"

namespace ember::detail {

void Compiled::eval_gpu(const std::vector<array>& inputs, array& out) {
  const FusedGraph& g = *graph_;
  const Stream s = out.stream();
  const Shape& shape = g.reduce ? g.elementwise_shape : out.shape();
  // Nodes made here run on s (their buffers are device memory of s).
  StreamScope scope(s);
  std::vector<array> values;
  values.reserve(inputs.size() + g.ops.size());
  for (const array& x : inputs) {
    // Each input as a view broadcast to the chain's shape.
    array v = array::placeholder(shape, x.dtype());
    v.set_view(x, cuda::broadcast_strides(x, shape), x.offset());
    values.push_back(std::move(v));
  }
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const auto& op = g.ops[k];
    const bool last = k + 1 == g.ops.size();
    std::vector<array> args;
    for (int a : op.args) args.push_back(values[size_t(a)]);
    if (last && !g.reduce) {
      op.primitive->eval_gpu(args, out);
      return;
    }
    array tmp(shape, op.dtype, op.primitive, {});
    op.primitive->eval_gpu(args, tmp);
    cuda::keep_until_done(s, tmp.buffer());
    values.push_back(std::move(tmp));
  }
  // The trailing sum over the last axes.
  g.reduce->eval_gpu({values.back()}, out);
}

}  // namespace ember::detail
