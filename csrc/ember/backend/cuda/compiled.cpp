// The GPU kernel of a fused chain (Compiled): one generated kernel (fused.cpp) when NVRTC is
// there and the generator knows every op; otherwise the chain's ops run one GPU kernel each
// (the family kernels of unary.cu / binary.cu / copy.cu) on temporaries that live until the
// stream's work is done, then the trailing sum if the graph has one.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/fused.h"
#include "ember/transforms/compile.h"

namespace ember::detail {

void Compiled::eval_gpu(const std::vector<array>& inputs, array& out) {
  const FusedGraph& g = *graph_;
  const Stream s = out.stream();
  const Shape& shape = g.reduce ? g.elementwise_shape : out.shape();
  if (out.size() == 0) {
    cuda::output_ptr(out);
    return;
  }
  if (cuda::fused_available() && shape.size() <= 8 && int(inputs.size()) <= cuda::kMaxFusedInputs) {
    std::vector<cuda::InputKind> kinds;
    cuda::FusedParams p;
    std::memset(&p, 0, sizeof(p));
    p.ndim = int(shape.size());
    for (int d = 0; d < p.ndim; ++d) p.shape[d] = shape[size_t(d)];
    for (size_t k = 0; k < inputs.size(); ++k) {
      const int ls = cuda::linear_stride(inputs[k], shape);
      kinds.push_back(ls == 1 ? cuda::InputKind::dense
                      : ls == 0 ? cuda::InputKind::scalar : cuda::InputKind::strided);
      const Strides st = cuda::broadcast_strides(inputs[k], shape);
      for (int d = 0; d < p.ndim; ++d) p.strides[k][d] = st[size_t(d)];
    }
    const std::string src = cuda::fused_source(g, kinds, out.dtype());
    if (!src.empty()) {
      for (size_t k = 0; k < inputs.size(); ++k) p.in[k] = cuda::input_ptr(inputs[k], s);
      p.out = cuda::output_ptr(out);
      if (g.reduce) {
        p.n = out.size();
        p.row = shape_size(shape) / out.size();
      } else {
        p.n = out.size();
      }
      // Four elements' size (at most 16 bytes): the vector accesses' alignment.
      auto aligned = [](const void* ptr, size_t itemsize) {
        return reinterpret_cast<uintptr_t>(ptr) % std::min<size_t>(4 * itemsize, 16) == 0;
      };
      bool all_aligned = aligned(p.out, out.itemsize());
      for (size_t k = 0; k < inputs.size(); ++k) {
        if (kinds[k] == cuda::InputKind::dense) all_aligned &= aligned(p.in[k], inputs[k].itemsize());
      }
      if (cuda::launch_fused(src, p, bool(g.reduce), all_aligned, s)) return;
    }
  }
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
