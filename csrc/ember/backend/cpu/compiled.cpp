// CPU kernel of a fused chain (Compiled): a blocked interpreter. The output is cut into
// blocks that fit in cache; each op of the chain runs its own (vectorized) kernel on
// the block, so intermediate values stay in cache and never reach memory.
#include <algorithm>
#include <cstring>

#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/transforms/compile.h"

namespace ember::detail {

namespace {

// Bytes per value block: a few blocks live at once (inputs of the current op, its
// output), which stays in L1/L2 while long enough runs amortize each kernel call.
constexpr int64_t kBlockBytes = 16 * 1024;

// How one input of the chain is read: a dense run of the output's order, one
// repeated element, or gathered through strides (broadcasts, transposes).
struct InputPlan {
  enum Kind { dense, scalar, strided } kind = dense;
  Shape shape;  // collapsed, for strided
  Strides strides;
};

InputPlan plan_input(const array& x, const Shape& out_shape) {
  // x's strides against the output's shape (numpy broadcasting: right-aligned, 0 on
  // broadcast dimensions).
  const int nd = int(out_shape.size());
  const int off = nd - x.ndim();
  Strides st(nd, 0);
  for (int d = 0; d < x.ndim(); ++d) {
    if (x.shape(d) != 1) st[off + d] = x.strides()[d];
  }
  auto L = collapse<1>(out_shape, {&st});
  InputPlan p;
  bool all_zero = true;
  for (auto s : L.strides[0]) all_zero = all_zero && s == 0;
  if (all_zero) p.kind = InputPlan::scalar;
  else if (L.shape.size() == 1 && L.strides[0][0] == 1) p.kind = InputPlan::dense;
  else p.kind = InputPlan::strided;
  p.shape = std::move(L.shape);
  p.strides = std::move(L.strides[0]);
  return p;
}

// Copies elements [s, s + m) (row-major over the collapsed shape) of a strided operand.
template <typename T>
void gather(const T* src, const InputPlan& p, int64_t s, int64_t m, T* dst) {
  const int nd = int(p.shape.size());
  int64_t idx[16] = {0};
  int64_t off = 0;
  for (int d = nd - 1; d >= 0; --d) {
    idx[d] = s % p.shape[d];
    s /= p.shape[d];
    off += idx[d] * p.strides[d];
  }
  const int64_t inner = p.shape[nd - 1], st = p.strides[nd - 1];
  while (m > 0) {
    const int64_t run = std::min(m, inner - idx[nd - 1]);
    const T* q = src + off;
    if (st == 0) std::fill(dst, dst + run, *q);
    else if (st == 1) std::copy(q, q + run, dst);
    else for (int64_t i = 0; i < run; ++i) dst[i] = q[i * st];
    dst += run;
    m -= run;
    off += run * st;
    idx[nd - 1] += run;
    if (idx[nd - 1] == inner) {
      off -= inner * st;
      idx[nd - 1] = 0;
      for (int d = nd - 2; d >= 0; --d) {
        off += p.strides[d];
        if (++idx[d] < p.shape[d]) break;
        off -= p.strides[d] * p.shape[d];
        idx[d] = 0;
      }
    }
  }
}

void gather_bytes(const array& x, const InputPlan& p, int64_t s, int64_t m, void* dst) {
  switch (x.itemsize()) {
    case 1: return gather(x.data<uint8_t>(), p, s, m, static_cast<uint8_t*>(dst));
    case 2: return gather(x.data<uint16_t>(), p, s, m, static_cast<uint16_t*>(dst));
    case 4: return gather(x.data<uint32_t>(), p, s, m, static_cast<uint32_t*>(dst));
    default: return gather(x.data<uint64_t>(), p, s, m, static_cast<uint64_t*>(dst));
  }
}

// The arrays of one block size: a view (or gather buffer) per input, an output per op,
// and each op's argument list. Reused for every block of that size, so a block costs
// one kernel call per op and nothing else.
struct BlockRunner {
  const FusedGraph& g;
  const std::vector<array>& inputs;
  const std::vector<InputPlan>& plans;
  int64_t m;
  std::vector<array> values;
  std::vector<array> gather_buffers;
  std::vector<std::vector<array>> args;

  BlockRunner(const FusedGraph& graph, const std::vector<array>& in,
              const std::vector<InputPlan>& p, int64_t block)
      : g(graph), inputs(in), plans(p), m(block) {
    const int ni = g.num_inputs();
    gather_buffers.resize(ni);
    for (int i = 0; i < ni; ++i) {
      values.push_back(array::placeholder({m}, inputs[i].dtype()));
      if (plans[i].kind == InputPlan::scalar) {
        values[i].set_view(inputs[i], {0}, inputs[i].offset());
      } else if (plans[i].kind == InputPlan::strided) {
        gather_buffers[i] = array::placeholder({m}, inputs[i].dtype());
        gather_buffers[i].allocate_row_contiguous();
        values[i].set_view(gather_buffers[i], {1}, 0);
      }
    }
    for (auto& op : g.ops) values.push_back(array::placeholder({m}, op.dtype));
    for (auto& op : g.ops) {
      std::vector<array> a;
      for (int k : op.args) a.push_back(values[k]);
      args.push_back(std::move(a));
    }
  }

  // Computes output elements [s, s + m) into out.
  void run(int64_t s, array& out) {
    const int ni = g.num_inputs();
    for (int i = 0; i < ni; ++i) {
      if (plans[i].kind == InputPlan::dense) {
        values[i].set_view(inputs[i], {1}, inputs[i].offset() + s);
      } else if (plans[i].kind == InputPlan::strided) {
        gather_bytes(inputs[i], plans[i], s, m, gather_buffers[i].raw_data());
      }
    }
    for (size_t k = 0; k < g.ops.size(); ++k) {
      g.ops[k].primitive->eval_cpu(args[k], values[ni + k]);
    }
    const array& y = values.back();
    if (y.flags().row_contiguous) {
      std::memcpy(static_cast<char*>(out.raw_data()) + s * int64_t(out.itemsize()), y.raw_data(),
                  size_t(m) * out.itemsize());
    } else {
      cpu::copy_into(y, out, {1}, s);
    }
  }
};

}  // namespace

void Compiled::eval_cpu(const std::vector<array>& inputs, array& out) {
  const FusedGraph& g = *graph_;
  out.allocate_row_contiguous();
  const int64_t n = out.size();
  if (n == 0) return;
  std::vector<InputPlan> plans;
  size_t widest = out.itemsize();
  for (auto& x : inputs) {
    plans.push_back(plan_input(x, out.shape()));
    widest = std::max(widest, x.itemsize());
  }
  for (auto& op : g.ops) widest = std::max(widest, size_of(op.dtype));
  const int64_t block = std::max<int64_t>(64, kBlockBytes / int64_t(widest));
  const int64_t blocks = (n + block - 1) / block;
  const int64_t full = n / block;
  // Threads pay once the whole chain costs about as much as one large cheap op.
  const int64_t work_per_block = block * int64_t(g.ops.size());
  const int64_t grain = std::max<int64_t>(1, cpu::kParallelGrain / work_per_block);
  cpu::parallel_for(blocks, grain, [&](int64_t b, int64_t e) {
    const int64_t e_full = std::min(e, full);
    if (b < e_full) {
      BlockRunner r(g, inputs, plans, block);
      for (int64_t k = b; k < e_full; ++k) r.run(k * block, out);
    }
    if (e > full) {  // the short last block
      BlockRunner r(g, inputs, plans, n - full * block);
      r.run(full * block, out);
    }
  });
}

}  // namespace ember::detail
