// CPU kernel of Convolution. One of four plans per call:
//  * depthwise (one input channel per group): a direct loop over taps, vectorized over the
//    channels, without BLAS;
//  * pointwise (1x1 kernel, unit stride, no padding or dilation): the input's rows times the
//    weight, one BLAS gemm per group;
//  * rows (implicit im2col): a tile of output rows gathers its input patches into a small
//    buffer (rows x taps * channels) and one gemm with the weight gives those rows;
//  * dual: when the input's batch axis is its contiguous one (the weight gradient's
//    convolution reads x with batch and channels swapped), the patch matrix is gathered with
//    the batch innermost; its rows are then the reduction, and tiles of them accumulate into
//    the output.
// Tiles are spread over ember's pool, each with a single-threaded gemm on its own buffer, so
// the workspace is a few hundred KiB per thread whatever the problem's size. float16 and
// bfloat16 are converted to float32 as tiles are gathered and rounded once at the end.
#include <algorithm>
#include <climits>
#include <cstring>
#include <type_traits>
#include <vector>

#include "ember/backend/cpu/blas.h"
#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/simd_half.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/conv.h"

namespace ember {

namespace {

// Bytes of gathered patches per tile: they, and the gemm's packed copy, stay in L2.
constexpr int64_t kTileBytes = 256 << 10;
// The most columns (taps x channels) one gemm reduces over; longer rows are split.
constexpr int64_t kMaxReduce = 4608;
// Multiply-adds per parallel_for item below which the depthwise loop stays on one thread.
constexpr int64_t kDirectGrain = 1 << 15;
// Spatial axes the kernel's index arrays hold (the op checks it).
constexpr int kMaxDims = kMaxConvDims;

// float16 / bfloat16 compute in float32, float32 and float64 in themselves.
template <typename T>
using acc_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Per-thread scratch buffers, reused across calls (each tile's size is bounded, so they stay
// small): slot 0 holds patches, 1 a gemm result, 2 packed weight rows.
template <typename A>
A* scratch(int slot, size_t n) {
  thread_local std::vector<A> buf[3];
  if (buf[slot].size() < n) buf[slot].resize(n);
  return buf[slot].data();
}

// n elements of T from src (stride s) into dst, converted to A.
template <typename T, typename A>
inline void load_run(const T* src, int64_t s, A* dst, int64_t n) {
  if constexpr (std::is_same_v<T, A>) {
    if (s == 1) {
      std::memcpy(dst, src, size_t(n) * sizeof(A));
      return;
    }
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    if (s == 1) {
      cpu::simd::HalfConvert<T>{}.load(src, dst, n);
      return;
    }
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<A>(src[i * s]);
}

// n values of A into dst (stride 1) as T.
template <typename T, typename A>
inline void store_run(const A* src, T* dst, int64_t n) {
  if constexpr (std::is_same_v<T, A>) {
    std::memcpy(dst, src, size_t(n) * sizeof(A));
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    cpu::simd::HalfConvert<T>{}.store(src, dst, n);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(src[i]);
  }
}

// Shapes, strides and parameters of one call, in elements. Spatial axes are 0..nd-1.
struct Geometry {
  int nd = 0;
  int64_t batch = 0, ci = 0, co = 0, groups = 1, cg = 0, og = 0;
  int64_t P = 1, Q = 1;  // output positions and kernel taps per image
  std::vector<int64_t> in, k, out, stride, kdil, idil, lo, limit;
  std::vector<int64_t> xs, ws;  // spatial strides of x and w
  int64_t xb = 0, xc = 0, wo = 0, wc = 0;
  bool flip = false;

  Geometry(const array& x, const array& w, const array& y, const ConvParams& p) {
    nd = p.ndim();
    batch = x.shape(0);
    ci = x.shape(-1);
    co = w.shape(0);
    cg = w.shape(-1);
    groups = p.groups;
    og = co / groups;
    xb = x.strides()[0];
    xc = x.strides()[nd + 1];
    wo = w.strides()[0];
    wc = w.strides()[nd + 1];
    flip = p.flip;
    for (int i = 0; i < nd; ++i) {
      in.push_back(x.shape(1 + i));
      k.push_back(w.shape(1 + i));
      out.push_back(y.shape(1 + i));
      xs.push_back(x.strides()[1 + i]);
      ws.push_back(w.strides()[1 + i]);
      stride.push_back(p.stride[i]);
      kdil.push_back(p.kernel_dilation[i]);
      idil.push_back(p.input_dilation[i]);
      lo.push_back(p.padding_lo[i]);
      limit.push_back(in[i] == 0 ? -1 : (in[i] - 1) * idil[i]);  // last dilated position
      P *= out[i];
      Q *= k[i];
    }
  }

  // Where tap kk of axis i (the weight's own index) reads for output position o: the input
  // index along the axis, or -1 for padding and the zeros of input dilation.
  int64_t source(int i, int64_t o, int64_t kk) const {
    const int64_t t = flip ? k[i] - 1 - kk : kk;
    const int64_t pos = o * stride[i] + t * kdil[i] - lo[i];
    if (pos < 0 || pos > limit[i]) return -1;
    if (idil[i] == 1) return pos;
    return pos % idil[i] == 0 ? pos / idil[i] : -1;
  }
};

// Marks a tap that reads a zero (padding, or between the points of a dilated input).
constexpr int64_t kNone = INT64_MIN;

// x's offsets (relative to an image and channel) read by one output position for each tap,
// or by one tap for each output position: per axis, a table of source * stride (or kNone),
// combined per entry. Built once per row of a tile, so the inner loops only look up.
class Offsets {
 public:
  explicit Offsets(const Geometry& g) : g_(g), n_(g.nd) {}

  /// Tables over the taps, for output position o.
  void for_output(const int64_t* o) { build(o, g_.k, true); }
  /// Tables over the output positions, for tap q.
  void for_tap(const int64_t* q) { build(q, g_.out, false); }

  /// The offset at multi-index i (over taps or outputs, as built), or kNone.
  int64_t at(const int64_t* i) const {
    int64_t off = 0;
    for (int d = 0; d < n_; ++d) {
      const int64_t v = table_[start_[d] + i[d]];
      if (v == kNone) return kNone;
      off += v;
    }
    return off;
  }

 private:
  void build(const int64_t* fixed, const std::vector<int64_t>& sizes, bool over_taps) {
    table_.clear();
    for (int d = 0; d < n_; ++d) {
      start_[d] = int64_t(table_.size());
      for (int64_t v = 0; v < sizes[d]; ++v) {
        const int64_t s = over_taps ? g_.source(d, fixed[d], v) : g_.source(d, v, fixed[d]);
        table_.push_back(s < 0 ? kNone : s * g_.xs[d]);
      }
    }
  }

  const Geometry& g_;
  int n_;
  int64_t start_[kMaxDims] = {};
  std::vector<int64_t> table_;
};

// A row-major multi-index over `shape` that counts up from a flat start.
struct Odometer {
  const std::vector<int64_t>& shape;
  int64_t idx[kMaxDims] = {};
  int n;

  Odometer(const std::vector<int64_t>& s, int64_t flat) : shape(s), n(int(s.size())) {
    for (int i = n - 1; i >= 0; --i) {
      idx[i] = shape[i] ? flat % shape[i] : 0;
      flat = shape[i] ? flat / shape[i] : 0;
    }
  }
  // Advances by one; returns false when it wraps around.
  bool next() {
    for (int i = n - 1; i >= 0; --i) {
      if (++idx[i] < shape[i]) return true;
      idx[i] = 0;
    }
    return false;
  }
};

// The weight as float / double rows (C_out, taps * C_in / groups), row-major.
template <typename T, typename A>
const A* packed_weight(const array& w, array& holder) {
  if constexpr (std::is_same_v<T, A>) {
    if (w.flags().row_contiguous) return w.data<A>();
  }
  holder = array::placeholder(w.shape(), std::is_same_v<A, double> ? Dtype::float64 : Dtype::float32);
  holder.allocate_row_contiguous();
  cpu::copy_cast(w, holder);
  return holder.data<A>();
}

// ---- depthwise: out[n, o, g * og + j] = sum_q x[n, o * s + q * kd, g] w[g * og + j, q] ----
template <typename T, typename A>
void depthwise(const Geometry& g, const array& x, const array& w, array& y) {
  // Taps-major copy of the weight: wq[q, c] (the inner loop runs over contiguous channels).
  std::vector<A> wq(size_t(g.Q * g.co));
  {
    Odometer q(g.k, 0);
    for (int64_t t = 0; t < g.Q; ++t, q.next()) {
      int64_t off = 0;
      for (int i = 0; i < g.nd; ++i) off += q.idx[i] * g.ws[i];
      const T* src = w.data<T>() + off;
      for (int64_t c = 0; c < g.co; ++c) wq[t * g.co + c] = static_cast<A>(src[c * g.wo]);
    }
  }
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t rows = g.batch * g.P, mult = g.og;
  const int64_t grain = std::max<int64_t>(1, kDirectGrain / std::max<int64_t>(g.Q * g.co, 1));
  cpu::parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    A* acc = scratch<A>(1, size_t(g.co));
    A* xv = scratch<A>(0, size_t(g.ci));
    Offsets offsets(g);
    Odometer o(g.out, begin % g.P);
    int64_t n = begin / g.P;
    for (int64_t r = begin; r < end; ++r) {
      std::fill_n(acc, g.co, A(0));
      offsets.for_output(o.idx);
      Odometer q(g.k, 0);
      for (int64_t t = 0; t < g.Q; ++t, q.next()) {
        const int64_t off = offsets.at(q.idx);
        if (off == kNone) continue;
        const A* wt = wq.data() + t * g.co;
        const T* src = px + n * g.xb + off;
        const A* xr = xv;
        if constexpr (std::is_same_v<T, A>) {
          if (g.xc == 1) xr = src;
          else load_run<T, A>(src, g.xc, xv, g.ci);
        } else {
          load_run<T, A>(src, g.xc, xv, g.ci);
        }
        if (mult == 1) {
          for (int64_t c = 0; c < g.co; ++c) acc[c] += xr[c] * wt[c];
        } else {
          for (int64_t c = 0; c < g.co; ++c) acc[c] += xr[c / mult] * wt[c];
        }
      }
      store_run<T, A>(acc, py + r * g.co, g.co);
      if (!o.next()) ++n;
    }
  });
}

// ---- rows: out rows = patches (rows x taps * Cg) @ weight^T, per group and tile ----
template <typename T, typename A>
void by_rows(const Geometry& g, const array& x, const array& w, array& y) {
  array holder;
  const A* wp = packed_weight<T, A>(w, holder);
  const int64_t cols = g.Q * g.cg;  // a weight row
  // Taps per gemm: all of them unless a row would be longer than kMaxReduce.
  const int64_t taps = std::clamp<int64_t>(kMaxReduce / std::max<int64_t>(g.cg, 1), 1, g.Q);
  const int64_t width = taps * g.cg;
  const int64_t rows = g.batch * g.P;
  int64_t tile = std::clamp<int64_t>(kTileBytes / int64_t(sizeof(A) * width), 8, 1024);
  tile = std::min(tile, std::max<int64_t>(rows, 1));
  const int64_t n_tiles = (rows + tile - 1) / tile;
  const bool direct_out = std::is_same_v<T, A>;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  cpu::blas_threads_for(0);
  cpu::parallel_for(n_tiles * g.groups, 1, [&](int64_t begin, int64_t end) {
    A* patches = scratch<A>(0, size_t(tile * width));
    A* result = direct_out ? nullptr : scratch<A>(1, size_t(tile * g.og));
    Offsets offsets(g);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t grp = item % g.groups, r0 = (item / g.groups) * tile;
      const int64_t nr = std::min(tile, rows - r0);
      A* c = direct_out ? reinterpret_cast<A*>(py) + r0 * g.co + grp * g.og : result;
      const int64_t ldc = direct_out ? g.co : g.og;
      for (int64_t q0 = 0; q0 < g.Q; q0 += taps) {
        const int64_t nq = std::min(taps, g.Q - q0), nc = nq * g.cg;
        // Gather: patches[r, (q - q0) * Cg + j] = x[n, source(o, q), grp * Cg + j].
        Odometer o(g.out, r0 % g.P);
        int64_t n = r0 / g.P;
        for (int64_t r = 0; r < nr; ++r) {
          A* dst = patches + r * nc;
          const T* base = px + n * g.xb + grp * g.cg * g.xc;
          offsets.for_output(o.idx);
          Odometer q(g.k, q0);
          for (int64_t t = 0; t < nq; ++t, q.next()) {
            const int64_t off = offsets.at(q.idx);
            if (off == kNone) std::fill_n(dst + t * g.cg, g.cg, A(0));
            else load_run<T, A>(base + off, g.xc, dst + t * g.cg, g.cg);
          }
          if (!o.next()) ++n;
        }
        cpu::gemm_serial(false, true, int(nr), int(g.og), int(nc), A(1), patches, int(nc),
                         wp + grp * g.og * cols + q0 * g.cg, int(cols), A(q0 ? 1 : 0), c,
                         int(ldc));
      }
      if (!direct_out) {
        for (int64_t r = 0; r < nr; ++r) {
          store_run<T, A>(result + r * g.og, py + (r0 + r) * g.co + grp * g.og, g.og);
        }
      }
    }
  });
}

// ---- dual: out[(o, n), c] = sum over rows (j, q) of D[(j, q), (o, n)] * W[(j, q), c] ----
// D[(j, q), (o, n)] = x[n, source(o, q), grp * Cg + j] is gathered with n innermost (x's
// batch is its contiguous axis here); W[(j, q), c] = w[grp * og + c, q, j]. Each thread
// accumulates its share of the rows into its own (P * N, og) sum.
template <typename T, typename A>
void dual(const Geometry& g, const array& x, const array& w, array& y) {
  const int64_t width = g.P * g.batch;  // a row of D
  const int64_t red = g.cg * g.Q;       // rows of D per group
  const int64_t tile = std::clamp<int64_t>(kTileBytes / int64_t(sizeof(A) * width), 8, 1024);
  const int64_t n_tiles = (red + tile - 1) / tile;
  const int slots = int(std::min<int64_t>(get_num_threads(), n_tiles));
  std::vector<std::vector<A>> sums(slots, std::vector<A>(size_t(width * g.og)));
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  T* py = y.data<T>();
  cpu::blas_threads_for(0);
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    cpu::parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
      A* rows = scratch<A>(0, size_t(tile * width));
      A* wrows = scratch<A>(2, size_t(tile * g.og));
      Offsets offsets(g);
      for (int64_t s = s0; s < s1; ++s) {
        A* sum = sums[s].data();
        std::fill_n(sum, width * g.og, A(0));
        const int64_t t0 = n_tiles * s / slots, t1 = n_tiles * (s + 1) / slots;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t m0 = t * tile, nm = std::min(tile, red - m0);
          Odometer q(g.k, m0 % g.Q);
          int64_t j = m0 / g.Q;
          for (int64_t m = 0; m < nm; ++m) {
            const int64_t ch = grp * g.cg + j;
            A* dst = rows + m * width;
            offsets.for_tap(q.idx);
            Odometer o(g.out, 0);
            for (int64_t p = 0; p < g.P; ++p, o.next()) {
              const int64_t off = offsets.at(o.idx);
              if (off == kNone) std::fill_n(dst + p * g.batch, g.batch, A(0));
              else load_run<T, A>(px + ch * g.xc + off, g.xb, dst + p * g.batch, g.batch);
            }
            int64_t woff = (grp * g.og) * g.wo + j * g.wc;
            for (int i = 0; i < g.nd; ++i) woff += q.idx[i] * g.ws[i];
            load_run<T, A>(pw + woff, g.wo, wrows + m * g.og, g.og);
            if (!q.next()) ++j;
          }
          cpu::gemm_serial(true, false, int(width), int(g.og), int(nm), A(1), rows, int(width),
                           wrows, int(g.og), A(1), sum, int(g.og));
        }
      }
    });
    for (int s = 1; s < slots; ++s) {
      for (int64_t i = 0; i < width * g.og; ++i) sums[0][i] += sums[s][i];
    }
    // out[n, o, grp * og + c] = sum[(o, n), c]
    for (int64_t p = 0; p < g.P; ++p) {
      for (int64_t n = 0; n < g.batch; ++n) {
        store_run<T, A>(sums[0].data() + (p * g.batch + n) * g.og,
                        py + (n * g.P + p) * g.co + grp * g.og, g.og);
      }
    }
  }
}

// ---- pointwise: out (rows, C_out) = x (rows, C_in) @ w^T per group, one BLAS call each ----
// Returns false when x's rows are not evenly spaced or too many for one call.
template <typename A>
bool pointwise(const Geometry& g, const array& x, const array& w, array& y) {
  const int64_t rows = g.batch * g.P;
  if (g.xc != 1 || rows > INT_MAX) return false;
  // Rows (n, s...) must collapse to one stride.
  int64_t step = 0, expect = -1;
  for (int i = g.nd - 1; i >= -1; --i) {
    const int64_t size = i < 0 ? g.batch : g.in[i], st = i < 0 ? g.xb : g.xs[i];
    if (size == 1) continue;
    if (expect < 0) step = st;
    else if (st != expect) return false;
    expect = st * size;
  }
  if (expect < 0) step = g.ci;
  if (step < g.ci || step > INT_MAX) return false;
  array holder;
  const A* wp = packed_weight<A, A>(w, holder);
  const A* px = x.data<A>();
  A* py = y.data<A>();
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    cpu::gemm(false, true, int(rows), int(g.og), int(g.cg), A(1), px + grp * g.cg, int(step),
              wp + grp * g.og * g.cg, int(g.cg), A(0), py + grp * g.og, int(g.co));
  }
  return true;
}

template <typename T>
void convolve(const Geometry& g, const array& x, const array& w, array& y) {
  using A = acc_t<T>;
  if (g.cg == 1 && (g.xc == 1 || g.ci == 1)) return depthwise<T, A>(g, x, w, y);
  bool unit = g.Q == 1;
  for (int i = 0; i < g.nd; ++i) {
    unit = unit && g.stride[i] == 1 && g.idil[i] == 1 && g.lo[i] == 0 && g.out[i] == g.in[i];
  }
  if constexpr (std::is_same_v<T, A>) {
    if (unit && pointwise<A>(g, x, w, y)) return;
  }
  // The dual plan when x's batch is the contiguous axis and its sums stay small.
  if (g.batch > 1 && g.xb == 1 && g.xc != 1 && g.P * g.batch * g.og <= (int64_t(1) << 22)) {
    return dual<T, A>(g, x, w, y);
  }
  by_rows<T, A>(g, x, w, y);
}

}  // namespace

void Convolution::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& x = inputs[0];
  const array& w = inputs[1];
  out.allocate_row_contiguous();
  if (out.size() == 0) return;
  Geometry g(x, w, out, params_);
  if (g.cg == 0) {
    // No input channels: every output is an empty sum.
    std::memset(out.raw_data(), 0, out.nbytes());
    return;
  }
  switch (out.dtype()) {
    case Dtype::float32: return convolve<float>(g, x, w, out);
    case Dtype::float64: return convolve<double>(g, x, w, out);
    case Dtype::float16: return convolve<float16_t>(g, x, w, out);
    case Dtype::bfloat16: return convolve<bfloat16_t>(g, x, w, out);
    default:
      throw type_error(msg("[conv] Not supported for dtype ", dtype_name(out.dtype()), "."));
  }
}

}  // namespace ember
