// CUDA kernels of Reduce (sum, prod, max, min, all, any over a set of axes) and ArgReduce.
// The input's kept and reduced dimensions are each collapsed; then one of two kernels runs:
//  * rows: the reduced elements of an output are contiguous (the innermost dims are reduced):
//    a block reduces one row, and when there are fewer rows than the GPU has room for, each
//    row is cut into segments whose partial results a second pass combines;
//  * columns: the innermost input dim is kept and contiguous (the leading dims are reduced):
//    each thread accumulates one output down its column, so a warp reads 32 neighbours at
//    once; the reduced extent is split over blocks when the outputs are few, again with a
//    second pass.
// Other layouts are first copied so that the reduced dims come last (a transpose), then rows.
#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/backend/cuda/reduce_ops.cuh"
#include "ember/backend/gpu/gpu.h"
#include "ember/primitives/reduce.h"

namespace ember::cuda {

using namespace reduce_ops;

namespace {

constexpr int kRowBlock = 256;
constexpr int kColBlock = 256;

// One row segment per block: rows index the kept dims (kept), each row's reduced elements
// start at its kept offset and are walked through `red` (fast path: one dim of stride 1).
// Block (row, seg) reduces elements [seg * seg_len, min(len, (seg + 1) * seg_len)) of its row
// into out[row] (segments == 1) or partial[seg * rows + row].
template <typename Op, typename T, typename O>
__global__ void row_reduce(const T* __restrict__ x, long long rows, long long len, Dims<1> kept,
                           Dims<1> red, bool red_dense, long long seg_len, O* __restrict__ out,
                           typename Op::A* __restrict__ partial) {
  using A = typename Op::A;
  const long long row = blockIdx.x;
  const long long seg = blockIdx.y;
  long long koff[1];
  offsets_of(row, kept, koff);
  const T* p = x + koff[0];
  const long long begin = seg * seg_len;
  const long long end = begin + seg_len < len ? begin + seg_len : len;
  A acc = Op::init();
  if (red_dense) {
    for (long long j = begin + threadIdx.x; j < end; j += blockDim.x) acc = Op::step(acc, p[j]);
  } else {
    for (long long j = begin + threadIdx.x; j < end; j += blockDim.x) {
      long long roff[1];
      offsets_of(j, red, roff);
      acc = Op::step(acc, p[roff[0]]);
    }
  }
  acc = block_reduce<Op>(acc);
  if (threadIdx.x == 0) {
    if (partial) partial[seg * rows + row] = acc;
    else out[row] = Op::out(acc);
  }
}

// Combines the partial results of the segments: out[i] = fold(partial[s * n + i] over s).
template <typename Op, typename O>
__global__ void combine_partials(const typename Op::A* __restrict__ partial, long long n,
                                 long long segments, O* __restrict__ out) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    typename Op::A acc = partial[i];
    for (long long s = 1; s < segments; ++s) acc = Op::combine(acc, partial[s * n + i]);
    out[i] = Op::out(acc);
  }
}

// Columns: thread (c, outer) of split `seg` folds x[outer_off + c + red_off(j)] for j in its
// part of the reduced extent. Outputs are laid out [outer][c].
template <typename Op, typename T, typename O>
__global__ void col_reduce(const T* __restrict__ x, long long m, long long n_outer, Dims<1> outer,
                           long long len, Dims<1> red, long long seg_len, O* __restrict__ out,
                           typename Op::A* __restrict__ partial) {
  using A = typename Op::A;
  const long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  const long long o = blockIdx.y;
  const long long seg = blockIdx.z;
  if (c >= m) return;
  long long ooff[1];
  offsets_of(o, outer, ooff);
  const T* p = x + ooff[0] + c;
  const long long begin = seg * seg_len;
  const long long end = begin + seg_len < len ? begin + seg_len : len;
  A acc = Op::init();
  if (red.ndim == 1) {
    const long long st = red.strides[0][0];
    for (long long j = begin; j < end; ++j) acc = Op::step(acc, p[j * st]);
  } else {
    for (long long j = begin; j < end; ++j) {
      long long roff[1];
      offsets_of(j, red, roff);
      acc = Op::step(acc, p[roff[0]]);
    }
  }
  const long long i = o * m + c;
  if (partial) partial[seg * (n_outer * m) + i] = acc;
  else out[i] = Op::out(acc);
}

template <typename Op, typename T, typename O>
__global__ void fill_identity(O* __restrict__ out, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    out[i] = Op::out(Op::init());
  }
}

// A collapsed group of dims: shape and strides of one operand.
struct Group {
  Shape shape;
  Strides strides;
  int64_t size() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

Group collapse_group(const Shape& shape, const Strides& strides) {
  auto L = detail::collapse<1>(shape, {&strides});
  return Group{L.shape, L.strides[0]};
}

Dims<1> dims_of(const Group& g) {
  Dims<1> d{};
  d.ndim = int(g.shape.size());
  for (int i = 0; i < d.ndim; ++i) {
    d.shape[i] = g.shape[i];
    d.strides[0][i] = g.strides[i];
  }
  return d;
}

template <typename Op, typename T, typename O>
void reduce_typed(const array& in_arg, array& out, const std::vector<int>& axes) {
  using A = typename Op::A;
  const Stream s = out.stream();
  O* y = out_ptr<O>(out);
  const int64_t n_out = out.size();
  if (n_out == 0) return;
  cudaStream_t cs = stream_of(s);
  array src = in_arg;
  Group kept, red;
  {
    Shape ks, rs;
    Strides kst, rst;
    for (int i = 0; i < src.ndim(); ++i) {
      const bool r = std::find(axes.begin(), axes.end(), i) != axes.end();
      (r ? rs : ks).push_back(src.shape(i));
      (r ? rst : kst).push_back(src.strides()[i]);
    }
    kept = collapse_group(ks, kst);
    red = collapse_group(rs, rst);
  }
  const int64_t len = red.size();
  if (len == 0) {
    fill_identity<Op, T, O><<<strided_grid(n_out), kBlock, 0, cs>>>(y, n_out);
    return check_launch("reduce");
  }
  const int sms = sm_count();
  const bool red_dense = red.shape.size() == 1 && red.strides[0] == 1;
  // Columns: the innermost input dim is kept and contiguous, the reduced dims are not.
  if (kept.strides.back() == 1 && kept.shape.back() > 1 && !red_dense &&
      int(red.shape.size()) <= kMaxDims && int(kept.shape.size()) <= kMaxDims) {
    const int64_t m = kept.shape.back();
    Group outer{Shape(kept.shape.begin(), kept.shape.end() - 1),
                Strides(kept.strides.begin(), kept.strides.end() - 1)};
    if (outer.shape.empty()) {
      outer.shape.push_back(1);
      outer.strides.push_back(0);
    }
    const int64_t n_outer = outer.size();
    if (n_outer <= 65535) {
      const int64_t col_blocks = (m + kColBlock - 1) / kColBlock;
      // Enough blocks to fill the GPU, with segments of at least 32 reduced elements.
      int64_t segments = 1;
      const int64_t want = int64_t(sms) * 8;
      if (col_blocks * n_outer < want) {
        segments = std::min<int64_t>({(want + col_blocks * n_outer - 1) / (col_blocks * n_outer),
                                      (len + 31) / 32, 65535});
      }
      const int64_t seg_len = (len + segments - 1) / segments;
      segments = (len + seg_len - 1) / seg_len;
      const dim3 grid(static_cast<unsigned>(col_blocks), static_cast<unsigned>(n_outer), static_cast<unsigned>(segments));
      const T* x = in<T>(src, s);
      if (segments == 1) {
        col_reduce<Op, T, O><<<grid, kColBlock, 0, cs>>>(x, m, n_outer, dims_of(outer), len,
                                                          dims_of(red), seg_len, y, nullptr);
      } else {
        Scratch part(size_t(segments * n_out) * sizeof(A), s);
        col_reduce<Op, T, O><<<grid, kColBlock, 0, cs>>>(x, m, n_outer, dims_of(outer), len,
                                                          dims_of(red), seg_len, y, part.as<A>());
        combine_partials<Op, O><<<strided_grid(n_out), kBlock, 0, cs>>>(part.as<A>(), n_out,
                                                                         segments, y);
      }
      return check_launch("reduce");
    }
  }
  if (int(kept.shape.size()) > kMaxDims || int(red.shape.size()) > kMaxDims) {
    // Copy so that the reduced dims come last and everything is dense.
    Shape shape;
    Strides st;
    for (int i = 0; i < src.ndim(); ++i) {
      if (std::find(axes.begin(), axes.end(), i) == axes.end()) {
        shape.push_back(src.shape(i));
        st.push_back(src.strides()[i]);
      }
    }
    for (int a : axes) {
      shape.push_back(src.shape(a));
      st.push_back(src.strides()[a]);
    }
    src = contiguous_copy(src, shape, st, s);
    kept = Group{Shape{n_out}, Strides{len}};
    red = Group{Shape{len}, Strides{1}};
  }
  const bool dense = red.shape.size() == 1 && red.strides[0] == 1;
  // Rows: segments per row when the rows alone would leave the GPU idle.
  int64_t segments = 1;
  const int64_t want = int64_t(sms) * 4;
  if (n_out < want && len >= 8192) {
    segments = std::min<int64_t>({(want + n_out - 1) / n_out, (len + 4095) / 4096, 65535});
  }
  const int64_t seg_len = (len + segments - 1) / segments;
  segments = (len + seg_len - 1) / seg_len;
  if (n_out > (int64_t(1) << 31) - 1) {
    throw std::invalid_argument("[reduce] Too many outputs for one GPU kernel.");
  }
  const T* x = in<T>(src, s);
  const dim3 grid(static_cast<unsigned>(n_out), static_cast<unsigned>(segments));
  if (segments == 1) {
    row_reduce<Op, T, O><<<grid, kRowBlock, 0, cs>>>(x, n_out, len, dims_of(kept), dims_of(red),
                                                      dense, seg_len, y, nullptr);
  } else {
    Scratch part(size_t(segments * n_out) * sizeof(A), s);
    row_reduce<Op, T, O><<<grid, kRowBlock, 0, cs>>>(x, n_out, len, dims_of(kept), dims_of(red),
                                                      dense, seg_len, y, part.as<A>());
    combine_partials<Op, O><<<strided_grid(n_out), kBlock, 0, cs>>>(part.as<A>(), n_out, segments,
                                                                     y);
  }
  check_launch("reduce");
}

// The output dtype of a sum or product of T: the natural one, or float32 (mean of ints and
// halves). (One dispatch per function: in a lambda nested in another, nvcc's host pass reads
// the outer lambda's element type as a reference, so the host would launch kernel instances
// the device code does not have.)
template <template <typename, typename> class Op, typename T>
void reduce_arith_to(const char* name, const array& in, array& out, const std::vector<int>& axes) {
  using S = SumOut<T>;
  dispatch(out.dtype(), [&](auto otag) {
    using O = decltype(otag);
    if constexpr (cstd::is_same_v<O, S> || (cstd::is_same_v<O, float> && !is_complex_v<T> &&
                                            !cstd::is_same_v<T, double>)) {
      reduce_typed<Op<T, O>, T, O>(in, out, axes);
    } else {
      throw std::logic_error(msg("[", name, "] no GPU kernel for ", dtype_name(in.dtype()),
                                 " -> ", dtype_name(out.dtype()), "."));
    }
  });
}

template <template <typename, typename> class Op>
void reduce_arith(const char* name, const array& in, array& out, const std::vector<int>& axes) {
  dispatch(in.dtype(), [&](auto tag) {
    reduce_arith_to<Op, decltype(tag)>(name, in, out, axes);
  });
}

template <template <typename, typename> class Op, bool kBoolOut>
void reduce_logic(const char* name, const array& in, array& out, const std::vector<int>& axes) {
  dispatch(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!kBoolOut && is_complex_v<T>) {
      throw type_error(msg("[", name, "] Not supported for complex64."));
    } else {
      using O = cstd::conditional_t<kBoolOut, bool, T>;
      reduce_typed<Op<T, O>, T, O>(in, out, axes);
    }
  });
}

// ---- ArgReduce: the index of the first max / min along one axis (a NaN wins) ----
template <bool kMax, typename R>
__device__ __forceinline__ bool better(R v, R best) {
  if constexpr (cstd::is_floating_point_v<R>) {
    return (kMax ? v > best : v < best) || (v != v && best == best);
  } else {
    return kMax ? v > best : v < best;
  }
}

// Of two candidates, the better one; ties (and two NaNs) keep the lower index.
template <bool kMax, typename R>
__device__ __forceinline__ void pick(R& v, unsigned& i, R v2, unsigned i2) {
  if (better<kMax>(v2, v) || (!better<kMax>(v, v2) && i2 < i)) {
    v = v2;
    i = i2;
  }
}

// One warp per output when the axis is contiguous; one thread per output otherwise.
template <bool kMax, typename T>
__global__ void arg_reduce_warp(const T* __restrict__ x, long long n_out, Dims<1> kept,
                                long long len, uint32_t* __restrict__ y) {
  using R = compute_t<T>;
  const long long o = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (o >= n_out) return;
  long long koff[1];
  offsets_of(o, kept, koff);
  const T* p = x + koff[0];
  R best = load(p[lane < len ? lane : 0]);
  unsigned bi = lane < len ? lane : 0;
  for (long long j = lane + 32; j < len; j += 32) {
    R v = load(p[j]);
    if (better<kMax>(v, best)) {
      best = v;
      bi = unsigned(j);
    }
  }
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) {
    R v2 = reduce_ops::shfl_down(best, d);
    unsigned i2 = __shfl_down_sync(0xffffffffu, bi, d);
    pick<kMax>(best, bi, v2, i2);
  }
  if (lane == 0) y[o] = bi;
}

template <bool kMax, typename T>
__global__ void arg_reduce_thread(const T* __restrict__ x, long long n_out, Dims<1> kept,
                                  long long len, long long stride, uint32_t* __restrict__ y) {
  using R = compute_t<T>;
  for (long long o = (long long)blockIdx.x * blockDim.x + threadIdx.x; o < n_out;
       o += (long long)gridDim.x * blockDim.x) {
    long long koff[1];
    offsets_of(o, kept, koff);
    const T* p = x + koff[0];
    R best = load(p[0]);
    unsigned bi = 0;
    for (long long j = 1; j < len; ++j) {
      R v = load(p[j * stride]);
      if (better<kMax>(v, best)) {
        best = v;
        bi = unsigned(j);
      }
    }
    y[o] = bi;
  }
}

}  // namespace

}  // namespace ember::cuda

namespace ember {

using namespace ember::cuda;

void Reduce::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  switch (kind_) {
    case ReduceKind::sum: reduce_arith<Sum>("sum", in, out, axes_); break;
    case ReduceKind::prod: reduce_arith<Prod>("prod", in, out, axes_); break;
    case ReduceKind::max: reduce_logic<Max, false>("max", in, out, axes_); break;
    case ReduceKind::min: reduce_logic<Min, false>("min", in, out, axes_); break;
    case ReduceKind::all: reduce_logic<All, true>("all", in, out, axes_); break;
    case ReduceKind::any: reduce_logic<Any, true>("any", in, out, axes_); break;
  }
}

void ArgReduce::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (is_complex(in.dtype())) {
    std::vector<array> outs{out};
    return gpu::eval_on_host(*this, inputs, outs);
  }
  const Stream s = out.stream();
  uint32_t* y = out_ptr<uint32_t>(out);
  const int64_t n_out = out.size(), len = in.shape(axis_), stride = in.strides()[axis_];
  if (n_out == 0 || len == 0) return;
  Shape ks;
  Strides kst;
  for (int i = 0; i < in.ndim(); ++i) {
    if (i == axis_) continue;
    ks.push_back(in.shape(i));
    kst.push_back(in.strides()[i]);
  }
  array x = in;
  auto kept = detail::collapse<1>(ks, {&kst});
  if (int(kept.shape.size()) > kMaxDims) {
    // Too many dims: a dense copy with the axis last.
    ks.push_back(len);
    kst.push_back(stride);
    x = contiguous_copy(in, ks, kst, s);
    const Strides rows{len};
    kept = detail::collapse<1>(Shape{n_out}, {&rows});
  }
  Dims<1> kd{};
  kd.ndim = int(kept.shape.size());
  for (int i = 0; i < kd.ndim; ++i) {
    kd.shape[i] = kept.shape[i];
    kd.strides[0][i] = kept.strides[0][i];
  }
  const int64_t st = x.is_same(in) ? stride : 1;
  cudaStream_t cs = stream_of(s);
  dispatch(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!is_complex_v<T>) {
      const T* px = cuda::in<T>(x, s);
      if (st == 1 && len >= 32) {
        const unsigned blocks = blocks_for(n_out * 32, kBlock, 1 << 30);
        if (is_max_) arg_reduce_warp<true, T><<<blocks, kBlock, 0, cs>>>(px, n_out, kd, len, y);
        else arg_reduce_warp<false, T><<<blocks, kBlock, 0, cs>>>(px, n_out, kd, len, y);
      } else {
        if (is_max_) {
          arg_reduce_thread<true, T><<<strided_grid(n_out), kBlock, 0, cs>>>(px, n_out, kd, len, st, y);
        } else {
          arg_reduce_thread<false, T><<<strided_grid(n_out), kBlock, 0, cs>>>(px, n_out, kd, len, st, y);
        }
      }
    }
  });
  check_launch(is_max_ ? "argmax" : "argmin");
}

}  // namespace ember
