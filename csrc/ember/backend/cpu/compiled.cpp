// CPU kernel of a fused chain (Compiled): a blocked interpreter. The output is cut into
// blocks that fit in cache; each op of the chain runs its own (vectorized) kernel on
// the block, so intermediate values stay in cache and never reach memory.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/primitives/binary.h"
#include "ember/primitives/unary.h"
#include "ember/transforms/compile.h"

namespace ember::detail {

namespace {

// Bytes per value block: a few blocks live at once (inputs of the current op, its
// output), which stays in L1/L2 while long enough runs amortize each kernel call.
const int64_t kBlockBytes = [] {
  const char* e = std::getenv("EMBER_COMPILE_BLOCK");  // TEMP: tuning
  return e ? std::atoll(e) : int64_t(16 * 1024);
}();

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

// Each op's raw loop, looked up once per Compiled node (the dtypes are fixed by the graph).
struct CpuPlan {
  std::vector<UnaryBlockFn> unary;
  std::vector<BinaryBlockFn> binary;
};

CpuPlan make_plan(const FusedGraph& g) {
  CpuPlan p;
  for (auto& op : g.ops) {
    const int a = op.args[0];
    const Dtype dt = a < g.num_inputs() ? g.input_dtypes[a] : g.ops[a - g.num_inputs()].dtype;
    UnaryBlockFn u = nullptr;
    BinaryBlockFn b = nullptr;
    if (auto* up = dynamic_cast<const UnaryElementwise*>(op.primitive.get())) u = up->block_fn(dt);
    else if (auto* bp = dynamic_cast<const BinaryElementwise*>(op.primitive.get())) b = bp->block_fn(dt);
    p.unary.push_back(u);
    p.binary.push_back(b);
  }
  return p;
}

// One op of the chain as the block loop runs it: a raw loop of its family (block_fn),
// or, for a primitive without one (casts, where), its eval_cpu on block-sized arrays.
struct BlockOp {
  UnaryBlockFn unary = nullptr;
  BinaryBlockFn binary = nullptr;
  std::vector<array> args;  // eval_cpu path only
  array out;                // eval_cpu path only
};

// Everything one block size needs, made once and reused for every block: one arena for
// the gathered inputs and every op's block, and each value's current data pointer.
struct BlockRunner {
  const FusedGraph& g;
  const std::vector<array>& inputs;
  const std::vector<InputPlan>& plans;
  int64_t m;
  array arena;
  std::vector<size_t> region;       // byte offset of each value's block in the arena
  std::vector<const char*> data;    // each value's block for the current block
  std::vector<int64_t> stride;      // 1, or 0 for a repeated scalar
  std::vector<array> views;         // arrays over values, for the eval_cpu path
  std::vector<BlockOp> ops;

  BlockRunner(const FusedGraph& graph, const CpuPlan& cpu, const std::vector<array>& in,
              const std::vector<InputPlan>& p, int64_t block)
      : g(graph), inputs(in), plans(p), m(block) {
    const int ni = g.num_inputs();
    const int nv = ni + int(g.ops.size());
    region.assign(nv, size_t(-1));
    data.assign(nv, nullptr);
    stride.assign(nv, 1);
    views.resize(nv);
    size_t total = 0;
    auto reserve = [&](int v, Dtype dt) {
      region[v] = total;
      total += (size_t(m) * size_of(dt) + 63) & ~size_t(63);
    };
    for (int i = 0; i < ni; ++i) {
      if (plans[i].kind == InputPlan::strided) reserve(i, inputs[i].dtype());
      if (plans[i].kind == InputPlan::scalar) {
        stride[i] = 0;
        data[i] = static_cast<const char*>(inputs[i].raw_data());
      }
    }
    ops.resize(g.ops.size());
    for (size_t k = 0; k < g.ops.size(); ++k) {
      ops[k].unary = cpu.unary[k];
      ops[k].binary = cpu.binary[k];
      if (ops[k].unary || ops[k].binary) reserve(ni + int(k), g.ops[k].dtype);
    }
    arena = array::placeholder({int64_t(std::max<size_t>(total, 1))}, Dtype::uint8);
    arena.allocate_row_contiguous();
    char* base = static_cast<char*>(arena.raw_data());
    for (int v = 0; v < nv; ++v) {
      if (region[v] != size_t(-1)) data[v] = base + region[v];
    }
    // The eval_cpu path needs arrays over its arguments.
    for (size_t k = 0; k < g.ops.size(); ++k) {
      if (ops[k].unary || ops[k].binary) continue;
      for (int a : g.ops[k].args) ops[k].args.push_back(view_of(a));
      ops[k].out = array::placeholder({m}, g.ops[k].dtype);
      views[ni + k] = ops[k].out;
    }
  }

  /// The last op's block (after run with to_arena).
  const void* result() const { return data.back(); }

  Dtype dtype_of_value(int v) const {
    return v < g.num_inputs() ? inputs[v].dtype() : g.ops[v - g.num_inputs()].dtype;
  }

  array view_of(int v) {
    if (views[v].valid()) return views[v];
    array a = array::placeholder({m}, dtype_of_value(v));
    if (v < g.num_inputs() && plans[v].kind == InputPlan::scalar) {
      a.set_view(inputs[v], {0}, inputs[v].offset());
    } else if (v < g.num_inputs() && plans[v].kind == InputPlan::dense) {
      a.set_view(inputs[v], {1}, inputs[v].offset());  // moved to each block in run()
    } else {
      a.set_view(arena, {1}, int64_t(region[v] / size_of(a.dtype())));
    }
    views[v] = a;
    return a;
  }

  // Computes output elements [s, s + m) into out (or, with to_arena, leaves them in
  // result() for a trailing reduction).
  void run(int64_t s, array& out, bool to_arena = false) {
    const int ni = g.num_inputs();
    for (int i = 0; i < ni; ++i) {
      if (plans[i].kind == InputPlan::dense) {
        data[i] = static_cast<const char*>(inputs[i].raw_data()) + s * int64_t(inputs[i].itemsize());
        if (views[i].valid()) views[i].set_view(inputs[i], {1}, inputs[i].offset() + s);
      } else if (plans[i].kind == InputPlan::strided) {
        gather_bytes(inputs[i], plans[i], s, m, const_cast<char*>(data[i]));
      }
    }
    char* dst = to_arena ? nullptr : static_cast<char*>(out.raw_data()) + s * int64_t(out.itemsize());
    const size_t last = g.ops.size() - 1;
    for (size_t k = 0; k <= last; ++k) {
      const auto& op = g.ops[k];
      BlockOp& x = ops[k];
      const int v = ni + int(k);
      if (x.unary || x.binary) {
        // The last op writes straight into the output.
        char* y = k == last && dst ? dst : const_cast<char*>(data[v]);
        const int a0 = op.args[0];
        if (x.unary) {
          x.unary(data[a0], stride[a0], y, m);
        } else {
          const int a1 = op.args[1];
          x.binary(data[a0], stride[a0], data[a1], stride[a1], y, m);
        }
        if (k == last && dst) return;
      } else {
        op.primitive->eval_cpu(x.args, x.out);
        data[v] = static_cast<const char*>(x.out.raw_data());
      }
    }
    if (!dst) return;
    const array& y = ops[last].out;
    if (y.flags().row_contiguous) {
      std::memcpy(dst, y.raw_data(), size_t(m) * out.itemsize());
    } else {
      cpu::copy_into(y, out, {1}, s);
    }
  }
};

}  // namespace

namespace {

// sum(chain) over trailing axes: rows of `row` elements of the elementwise result, each
// summed in double (blocks of the chain never reach memory). Threads split the flat
// range; each adds its per-row partial sums under a lock at the end.
template <typename T>
void fused_sum(const FusedGraph& g, const CpuPlan& cpu, const std::vector<array>& inputs,
               const std::vector<InputPlan>& plans, int64_t block, int64_t n, int64_t row,
               array& out) {
  const int64_t rows = out.size();
  std::vector<double> acc(size_t(rows), 0.0);
  std::mutex mu;
  const int64_t blocks = (n + block - 1) / block;
  const int64_t work_per_block = block * int64_t(g.ops.size() + 1);
  const int64_t grain = std::max<int64_t>(1, cpu::kParallelGrain / work_per_block);
  cpu::parallel_for(blocks, grain, [&](int64_t b, int64_t e) {
    const int64_t first_row = b * block / row, last_row = std::min(n, e * block) - 1;
    std::vector<double> part(size_t(last_row / row - first_row + 1), 0.0);
    auto sum_block = [&](BlockRunner& r, int64_t s, int64_t m) {
      r.run(s, out, true);
      const T* y = static_cast<const T*>(r.result());
      int64_t i = 0;
      while (i < m) {
        const int64_t rr = (s + i) / row;
        const int64_t end = std::min(m, (rr + 1) * row - s);
        double t = 0;
        for (int64_t j = i; j < end; ++j) t += double(y[j]);
        part[size_t(rr - first_row)] += t;
        i = end;
      }
    };
    const int64_t full = n / block;
    const int64_t e_full = std::min(e, full);
    if (b < e_full) {
      BlockRunner r(g, cpu, inputs, plans, block);
      for (int64_t k = b; k < e_full; ++k) sum_block(r, k * block, block);
    }
    if (e > full) {
      BlockRunner r(g, cpu, inputs, plans, n - full * block);
      sum_block(r, full * block, n - full * block);
    }
    std::lock_guard<std::mutex> lock(mu);
    for (size_t k = 0; k < part.size(); ++k) acc[size_t(first_row) + k] += part[k];
  });
  T* o = out.data<T>();
  for (int64_t k = 0; k < rows; ++k) o[k] = T(acc[size_t(k)]);
}

}  // namespace

void Compiled::eval_cpu(const std::vector<array>& inputs, array& out) {
  const FusedGraph& g = *graph_;
  std::call_once(cpu_once_, [&] { cpu_plan_ = std::make_shared<CpuPlan>(make_plan(g)); });
  const CpuPlan& cpu = *static_cast<const CpuPlan*>(cpu_plan_.get());
  out.allocate_row_contiguous();
  // The ops run at the output's shape, or at the shape before a trailing sum.
  const Shape& shape = g.reduce ? g.elementwise_shape : out.shape();
  const int64_t n = shape_size(shape);
  if (g.reduce && n == 0) {
    std::memset(out.raw_data(), 0, out.nbytes());
    return;
  }
  if (n == 0) return;
  std::vector<InputPlan> plans;
  size_t widest = out.itemsize();
  for (auto& x : inputs) {
    plans.push_back(plan_input(x, shape));
    widest = std::max(widest, x.itemsize());
  }
  for (auto& op : g.ops) widest = std::max(widest, size_of(op.dtype));
  const int64_t block = std::max<int64_t>(64, kBlockBytes / int64_t(widest));
  if (g.reduce) {
    const int64_t row = n / std::max<int64_t>(out.size(), 1);
    if (out.dtype() == Dtype::float64) return fused_sum<double>(g, cpu, inputs, plans, block, n, row, out);
    return fused_sum<float>(g, cpu, inputs, plans, block, n, row, out);
  }
  const int64_t blocks = (n + block - 1) / block;
  const int64_t full = n / block;
  // Threads pay once the whole chain costs about as much as one large cheap op.
  const int64_t work_per_block = block * int64_t(g.ops.size());
  const int64_t grain = std::max<int64_t>(1, cpu::kParallelGrain / work_per_block);
  cpu::parallel_for(blocks, grain, [&](int64_t b, int64_t e) {
    const int64_t e_full = std::min(e, full);
    if (b < e_full) {
      BlockRunner r(g, cpu, inputs, plans, block);
      for (int64_t k = b; k < e_full; ++k) r.run(k * block, out);
    }
    if (e > full) {  // the short last block
      BlockRunner r(g, cpu, inputs, plans, n - full * block);
      r.run(full * block, out);
    }
  });
}

}  // namespace ember::detail
