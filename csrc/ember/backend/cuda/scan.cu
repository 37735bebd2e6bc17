// CUDA kernels of Scan (cumsum, cumprod, cummax, cummin, logcumsumexp; reverse, exclusive).
// Lines along a contiguous axis are scanned one block per line, 256 elements at a time with a
// block-wide scan (CUB) and a running carry; lines along any other axis are scanned one thread
// per line, so that the threads of a warp read neighbouring elements. Accumulators are the
// reduce family's (reduce_ops.cuh): float sums and products run in double, as on the CPU.
#include <cub/block/block_scan.cuh>

#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/backend/cuda/reduce_ops.cuh"
#include "ember/primitives/reduce.h"

namespace ember::cuda {

using namespace reduce_ops;

namespace {

constexpr int kScanBlock = 256;

template <typename Op>
struct Combine {
  template <typename A>
  __device__ __forceinline__ A operator()(const A& a, const A& b) const {
    return Op::combine(a, b);
  }
};

// One block per line; lines are indexed through `lines` (offsets of x and y per line).
template <typename Op, typename T, typename O>
__global__ void scan_contiguous(const T* __restrict__ x, O* __restrict__ y, long long n,
                                Dims<2> lines, bool reverse, bool inclusive) {
  using A = typename Op::A;
  using BlockScan = cub::BlockScan<A, kScanBlock>;
  __shared__ typename BlockScan::TempStorage temp;
  long long off[2];
  offsets_of((long long)blockIdx.x, lines, off);
  const T* px = x + off[0];
  O* py = y + off[1];
  A carry = Op::init();
  for (long long base = 0; base < n; base += kScanBlock) {
    const long long j = base + threadIdx.x;
    const long long at = reverse ? n - 1 - j : j;
    const A v = j < n ? Op::step(Op::init(), px[at]) : Op::init();
    A r, total;
    if (inclusive) BlockScan(temp).InclusiveScan(v, r, Combine<Op>(), total);
    else BlockScan(temp).ExclusiveScan(v, r, Op::init(), Combine<Op>(), total);
    if (j < n) py[at] = Op::out(Op::combine(carry, r));
    carry = Op::combine(carry, total);
    __syncthreads();  // temp is reused by the next chunk
  }
}

// One thread per line: element k of line l is at x[off_x(l) + k * sx].
template <typename Op, typename T, typename O>
__global__ void scan_lines(const T* __restrict__ x, O* __restrict__ y, long long n_lines,
                           long long n, long long sx, long long sy, Dims<2> lines, bool reverse,
                           bool inclusive) {
  using A = typename Op::A;
  for (long long l = (long long)blockIdx.x * blockDim.x + threadIdx.x; l < n_lines;
       l += (long long)gridDim.x * blockDim.x) {
    long long off[2];
    offsets_of(l, lines, off);
    const T* px = x + off[0];
    O* py = y + off[1];
    A acc = Op::init();
    for (long long k = 0; k < n; ++k) {
      const long long i = reverse ? n - 1 - k : k;
      const A v = Op::step(Op::init(), px[i * sx]);
      if (inclusive) acc = Op::combine(acc, v);
      py[i * sy] = Op::out(acc);
      if (!inclusive) acc = Op::combine(acc, v);
    }
  }
}

template <typename Op, typename T, typename O>
void scan_typed(const array& in_arg, array& out, int axis, bool reverse, bool inclusive) {
  const Stream s = out.stream();
  O* y = out_ptr<O>(out);
  if (out.size() == 0) return;
  cudaStream_t cs = stream_of(s);
  array src = in_arg;
  const int64_t n = src.shape(axis);
  auto lines_of = [&](const array& x, Dims<2>& d, int64_t& n_lines) {
    Shape shape;
    Strides sin, sout;
    for (int i = 0; i < x.ndim(); ++i) {
      if (i == axis) continue;
      shape.push_back(x.shape(i));
      sin.push_back(x.strides()[i]);
      sout.push_back(out.strides()[i]);
    }
    n_lines = 1;
    for (auto v : shape) n_lines *= v;
    bool fits32;
    return make_dims<2>(shape, {&sin, &sout}, d, fits32);
  };
  Dims<2> d;
  int64_t n_lines;
  if (!lines_of(src, d, n_lines)) {
    src = contiguous_copy(src, s);
    lines_of(src, d, n_lines);
  }
  const T* x = in<T>(src, s);
  const int64_t sx = src.strides()[axis], sy = out.strides()[axis];
  if (sx == 1 && sy == 1 && n > 1) {
    if (n_lines > (int64_t(1) << 31) - 1) throw std::invalid_argument("[scan] Too many lines.");
    scan_contiguous<Op, T, O><<<unsigned(n_lines), kScanBlock, 0, cs>>>(x, y, n, d, reverse, inclusive);
  } else {
    scan_lines<Op, T, O><<<strided_grid(n_lines), kBlock, 0, cs>>>(x, y, n_lines, n, sx, sy, d,
                                                                    reverse, inclusive);
  }
  check_launch("scan");
}

}  // namespace

}  // namespace ember::cuda

namespace ember {

using namespace ember::cuda;

void Scan::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  dispatch(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using S = SumOut<T>;
    if (kind_ == ScanKind::sum) return scan_typed<Sum<T, S>, T, S>(in, out, axis_, reverse_, inclusive_);
    if (kind_ == ScanKind::prod) return scan_typed<Prod<T, S>, T, S>(in, out, axis_, reverse_, inclusive_);
    if constexpr (is_complex_v<T>) {
      throw type_error(msg("[", name(), "] Not supported for complex64."));
    } else if (kind_ == ScanKind::logaddexp) {
      if constexpr (cstd::is_floating_point_v<compute_t<T>>) {
        scan_typed<LogAddExp<T>, T, T>(in, out, axis_, reverse_, inclusive_);
      } else {
        throw type_error(msg("[logcumsumexp] Needs a floating-point input, got ",
                             dtype_name(in.dtype()), "."));
      }
    } else if (kind_ == ScanKind::max) {
      scan_typed<Max<T>, T, T>(in, out, axis_, reverse_, inclusive_);
    } else {
      scan_typed<Min<T>, T, T>(in, out, axis_, reverse_, inclusive_);
    }
  });
}

}  // namespace ember
