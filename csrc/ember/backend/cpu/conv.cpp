// CPU kernel of Convolution. One of four plans per call:
//  * rows (implicit im2col): a tile of output rows gathers its input patches into a small
//    buffer (rows x taps * channels) and one BLAS gemm with the weight gives those rows;
//  * pointwise (1x1 kernel, unit stride, no padding or dilation): the input's rows times the
//    weight, one gemm per group, without a copy;
//  * depthwise (one input channel per group): a direct loop over the taps, vectorized over
//    the channels, without BLAS;
//  * dual: when the input's batch axis is its contiguous one (the weight gradient's
//    convolution, whose "batch" is x's channels), the patch matrix is gathered with the batch
//    innermost; its rows are then the reduction, and tiles of them accumulate into the output.
// With input dilation (transposed convolutions, the input gradient of a strided one), the
// rows and dual plans work through one class of outputs at a time (Phase), gathering only the
// taps that land on input points, so the zeros between them cost nothing.
// Tiles are spread over ember's pool, each with a single-threaded gemm on its own buffer, so
// the workspace is a few hundred KiB per thread whatever the problem's size (and no BLAS
// threads wait on a busy machine). float16 and bfloat16 are converted to float32 as tiles are
// gathered and rounded once at the end.
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

// Bytes of gathered patches per tile (measured on a 1 MiB L2: the rows plan gains from
// longer tiles, which repack the weight less often; the dual plan's sums do not).
constexpr int64_t kRowsTileBytes = 1 << 20;
constexpr int64_t kDualTileBytes = 512 << 10;
// Rows per tile at least min(C_out / groups, this): BLAS repacks the weight for every call,
// which costs 1 / rows of the tile's work (a large weight does not stay in cache).
constexpr int64_t kMinTileRows = 256;
// The most columns (taps x channels) one gemm reduces over; longer rows are split.
constexpr int64_t kMaxReduce = 4608;
// Multiply-adds per parallel_for item below which the depthwise loop stays on one thread.
constexpr int64_t kDirectGrain = 1 << 15;
// Plans that split a reduction give each thread this many slots (each with its own partial
// sums), so a thread the OS delays leaves its slots to the others.
constexpr int64_t kSlotsPerThread = 4;
// Marks a tap that reads a zero (padding, or between the points of a dilated input).
constexpr int64_t kNone = INT64_MIN;

// Largest per-thread buffer kept from one call to the next.
constexpr int64_t kKeepBytes = 8 << 20;

// A buffer of n values of V for the calling thread. Up to kKeepBytes it is the thread's own
// (slot 0-3), reused by later calls, so they neither page-fault fresh memory nor zero it;
// larger ones are allocated in `fresh`. Contents are not initialized.
template <typename V>
V* buffer(int slot, int64_t n, std::vector<V>& fresh) {
  thread_local std::vector<V> kept[4];
  if (n * int64_t(sizeof(V)) > kKeepBytes) {
    fresh.resize(size_t(n));
    return fresh.data();
  }
  if (kept[slot].size() < size_t(n)) kept[slot].resize(size_t(n));
  return kept[slot].data();
}

// float16 / bfloat16 compute in float32, float32 and float64 in themselves.
template <typename T>
using acc_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

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

// The one stride that steps through dims (sizes, strides) in row-major order, if there is
// one (size-1 dims may have any stride; `fallback` when every dim has size 1), else -1.
int64_t uniform_stride(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                       int64_t fallback) {
  bool found = false;
  int64_t step = fallback, expect = 0;
  for (int i = int(sizes.size()) - 1; i >= 0; --i) {
    if (sizes[i] == 1) continue;
    if (!found) step = strides[i];
    else if (strides[i] != expect) return -1;
    found = true;
    expect = strides[i] * sizes[i];
  }
  return step;
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

// A row-major multi-index over `shape` that counts up from a flat start.
class Odometer {
 public:
  Odometer(const std::vector<int64_t>& shape, int64_t flat) : shape_(shape) {
    const int n = int(shape.size());
    if (n > kInline) heap_.resize(size_t(n));
    idx = n > kInline ? heap_.data() : inline_;
    for (int i = n - 1; i >= 0; --i) {
      idx[i] = shape[i] ? flat % shape[i] : 0;
      flat = shape[i] ? flat / shape[i] : 0;
    }
  }
  Odometer(const Odometer&) = delete;
  Odometer& operator=(const Odometer&) = delete;

  /// Advances by one; false when it wraps around to all zeros.
  bool next() {
    for (int i = int(shape_.size()) - 1; i >= 0; --i) {
      if (++idx[i] < shape_[i]) return true;
      idx[i] = 0;
    }
    return false;
  }

  int64_t* idx;

 private:
  static constexpr int kInline = 6;  // axes held without a heap allocation
  const std::vector<int64_t>& shape_;
  int64_t inline_[kInline] = {};
  std::vector<int64_t> heap_;
};

// A class of output positions and the kernel taps that can read nonzeros for them: per axis,
// a list of output indices and one of the weight's tap indices. With input dilation d along an
// axis, the outputs fall into d classes by where they land between the input's points, and
// each class reads only every d-th tap: a plan that gathers just those skips the zeros (a
// transposed convolution with stride 2 does a quarter of the work in 2-D).
struct Phase {
  std::vector<std::vector<int64_t>> outs, taps;
  std::vector<int64_t> out_sizes, tap_sizes;  // the lists' lengths
  int64_t P = 1, Q = 1;
  bool all = true;  // every output and every tap: the whole convolution in one phase

  void add_axis(std::vector<int64_t> o, std::vector<int64_t> t) {
    P *= int64_t(o.size());
    Q *= int64_t(t.size());
    out_sizes.push_back(int64_t(o.size()));
    tap_sizes.push_back(int64_t(t.size()));
    outs.push_back(std::move(o));
    taps.push_back(std::move(t));
  }
};

std::vector<int64_t> iota_list(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

// Every output with every tap.
Phase whole(const Geometry& g) {
  Phase ph;
  for (int i = 0; i < g.nd; ++i) ph.add_axis(iota_list(g.out[i]), iota_list(g.k[i]));
  return ph;
}

// The flat output position (within an image) of the phase's output at multi-index j.
int64_t out_index(const Geometry& g, const Phase& ph, const int64_t* j) {
  int64_t p = 0;
  for (int i = 0; i < g.nd; ++i) p = p * g.out[i] + ph.outs[i][j[i]];
  return p;
}

// The classes of output positions under input dilation (just `whole` without any).
std::vector<Phase> phases(const Geometry& g) {
  if (std::all_of(g.idil.begin(), g.idil.end(), [](int64_t d) { return d == 1; })) {
    return {whole(g)};
  }
  // Per axis: (outputs, taps) for each residue of o * stride - lo modulo the dilation.
  std::vector<std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>> axes;
  for (int i = 0; i < g.nd; ++i) {
    const int64_t d = g.idil[i];
    std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> classes;
    for (int64_t rho = 0; rho < d; ++rho) {
      std::vector<int64_t> outs, taps;
      for (int64_t o = 0; o < g.out[i]; ++o) {
        if (((o * g.stride[i] - g.lo[i]) % d + d) % d == rho) outs.push_back(o);
      }
      if (outs.empty()) continue;
      for (int64_t kk = 0; kk < g.k[i]; ++kk) {
        const int64_t t = g.flip ? g.k[i] - 1 - kk : kk;
        if ((rho + t * g.kdil[i]) % d == 0) taps.push_back(kk);
      }
      classes.emplace_back(std::move(outs), std::move(taps));
    }
    axes.push_back(std::move(classes));
  }
  std::vector<Phase> out;
  std::vector<int64_t> counts;
  for (auto& a : axes) counts.push_back(int64_t(a.size()));
  Odometer pick(counts, 0);
  do {
    Phase ph;
    ph.all = false;
    for (int i = 0; i < g.nd; ++i) {
      const auto& c = axes[i][pick.idx[i]];
      ph.add_axis(c.first, c.second);
    }
    out.push_back(std::move(ph));
  } while (pick.next());
  return out;
}

// x's element offsets (relative to an image and a channel) that one output position reads at
// every tap, or that one tap reads at every output position: built per axis (source times
// stride), then combined over the axes in row-major order, kNone where any axis reads a zero.
class Offsets {
 public:
  Offsets(const Geometry& g, const Phase& ph) : g_(g), ph_(ph) {}

  /// out[t] for every tap t < ph.Q, for the output at index j of the phase's lists.
  void over_taps(const int64_t* j, int64_t* out) { combine(j, true, out); }
  /// out[p] for every output p < ph.P, for the tap at index v of the phase's lists.
  void over_outputs(const int64_t* v, int64_t* out) { combine(v, false, out); }

 private:
  void combine(const int64_t* fixed, bool over_taps, int64_t* out) {
    out[0] = 0;
    int64_t n = 1;
    for (int d = 0; d < g_.nd; ++d) {
      const std::vector<int64_t>& list = over_taps ? ph_.taps[d] : ph_.outs[d];
      const int64_t at = over_taps ? ph_.outs[d][fixed[d]] : ph_.taps[d][fixed[d]];
      const int64_t m = int64_t(list.size());
      axis_.resize(size_t(m));
      for (int64_t v = 0; v < m; ++v) {
        const int64_t s = over_taps ? g_.source(d, at, list[v]) : g_.source(d, list[v], at);
        axis_[v] = s < 0 ? kNone : s * g_.xs[d];
      }
      // Expand in place from the back: entry i * m + v = entry i + axis_[v].
      for (int64_t i = n - 1; i >= 0; --i) {
        const int64_t base = out[i];
        for (int64_t v = m - 1; v >= 0; --v) {
          out[i * m + v] = (base == kNone || axis_[v] == kNone) ? kNone : base + axis_[v];
        }
      }
      n *= m;
    }
  }

  const Geometry& g_;
  const Phase& ph_;
  std::vector<int64_t> axis_;
};

// The offsets of every tap for every output position (P x Q, the same for every image),
// built once per call when that table is small; otherwise each row's are built as needed.
class TapTable {
 public:
  static constexpr int64_t kMaxEntries = int64_t(1) << 20;

  TapTable(const Geometry& g, const Phase& ph) : ph_(ph) {
    if (ph.P * ph.Q > kMaxEntries) return;
    table_.resize(size_t(ph.P * ph.Q));
    Offsets offsets(g, ph);
    Odometer j(ph.out_sizes, 0);
    for (int64_t p = 0; p < ph.P; ++p, j.next()) {
      offsets.over_taps(j.idx, table_.data() + p * ph.Q);
    }
  }

  /// The Q offsets of the phase's output p (multi-index j); `scratch` (Q entries) is used when
  /// the table was too large to build.
  const int64_t* row(int64_t p, const int64_t* j, Offsets& offsets, int64_t* scratch) const {
    if (!table_.empty()) return table_.data() + p * ph_.Q;
    offsets.over_taps(j, scratch);
    return scratch;
  }

 private:
  const Phase& ph_;
  std::vector<int64_t> table_;
};

// The weight as float / double rows (C_out, taps * C_in / groups), row-major.
template <typename T, typename A>
const A* packed_weight(const array& w, array& holder) {
  if constexpr (std::is_same_v<T, A>) {
    if (w.flags().row_contiguous) return w.data<A>();
  }
  const Dtype dtype = std::is_same_v<A, double> ? Dtype::float64 : Dtype::float32;
  holder = array::placeholder(w.shape(), dtype);
  holder.allocate_row_contiguous();
  cpu::copy_cast(w, holder);
  return holder.data<A>();
}

// sums[i] += sums[s * n + i] for every slot s > 0: the per-slot partial sums of the dual and
// the depthwise plans added into the first.
template <typename A>
void add_slots(A* sums, int slots, int64_t n) {
  for (int s = 1; s < slots; ++s) {
    const A* part = sums + s * n;
    for (int64_t i = 0; i < n; ++i) sums[i] += part[i];
  }
}

// ---- rows: out rows = patches (rows x taps * Cg) @ weight^T, per group and tile ----

// One row of gathered patches: for each of the n offsets, `unit` values read with `stride`
// from base + offs[t] into dst + t * unit, zeros where the offset is kNone. Offsets that follow
// on contiguously (neighbours along the last spatial axis) are copied as one run.
template <typename T, typename A>
void gather_row(const int64_t* offs, int64_t n, int64_t unit, int64_t stride, const T* base,
                A* dst) {
  for (int64_t t = 0; t < n;) {
    if (offs[t] == kNone) {
      std::fill_n(dst + t * unit, unit, A(0));
      ++t;
      continue;
    }
    int64_t u = t + 1;
    if (stride == 1) {
      while (u < n && offs[u] != kNone && offs[u] == offs[u - 1] + unit) ++u;
      load_run<T, A>(base + offs[t], 1, dst + t * unit, (u - t) * unit);
    } else {
      load_run<T, A>(base + offs[t], stride, dst + t * unit, unit);
    }
    t = u;
  }
}

// The weight's columns for a phase's taps, (C_out, taps * Cg) row-major, as A; the weight
// itself when the phase has every tap and the layout fits.
template <typename T, typename A>
const A* phase_weight(const Geometry& g, const Phase& ph, const array& w, array& holder,
                      std::vector<A>& packed) {
  if (ph.all) return packed_weight<T, A>(w, holder);
  packed.resize(size_t(g.co * ph.Q * g.cg));
  const T* pw = w.data<T>();
  for (int64_t c = 0; c < g.co; ++c) {
    Odometer v(ph.tap_sizes, 0);
    for (int64_t t = 0; t < ph.Q; ++t, v.next()) {
      int64_t off = c * g.wo;
      for (int i = 0; i < g.nd; ++i) off += ph.taps[i][v.idx[i]] * g.ws[i];
      load_run<T, A>(pw + off, g.wc, packed.data() + (c * ph.Q + t) * g.cg, g.cg);
    }
  }
  return packed.data();
}

// Output rows of one phase: row r is image r / ph.P at the phase's output r % ph.P.
template <typename T, typename A>
void rows_of_phase(const Geometry& g, const Phase& ph, const array& x, const array& w,
                   array& y) {
  T* py = y.data<T>();
  // y's row of the phase's row r (the phase's outputs are y's when it is whole).
  auto y_row = [&](int64_t r, const int64_t* j) { return (r / ph.P) * g.P + out_index(g, ph, j); };
  const int64_t rows = g.batch * ph.P;
  if (ph.Q == 0) {  // a class that reads only zeros
    Odometer j(ph.out_sizes, 0);
    for (int64_t r = 0; r < rows; ++r) {
      std::fill_n(py + y_row(r, j.idx) * g.co, g.co, T(0.0f));
      j.next();
    }
    return;
  }
  array holder;
  std::vector<A> packed;
  const A* wp = phase_weight<T, A>(g, ph, w, holder, packed);
  const int64_t cols = ph.Q * g.cg;  // a weight row
  // Taps per gemm: all of them unless a row would be longer than kMaxReduce.
  const int64_t taps = std::clamp<int64_t>(kMaxReduce / std::max<int64_t>(g.cg, 1), 1, ph.Q);
  const int64_t width = taps * g.cg;
  int64_t tile = std::clamp<int64_t>(kRowsTileBytes / int64_t(sizeof(A) * width), 8, 1024);
  tile = std::max(tile, std::min(g.og, kMinTileRows));
  // Each tile may keep every tap's offset for its rows: at most 2^21 of them.
  tile = std::clamp<int64_t>((int64_t(1) << 21) / ph.Q, 1, std::min(tile, rows));
  const int64_t n_tiles = (rows + tile - 1) / tile;
  // The gemm writes y's rows itself when they are consecutive and need no conversion.
  const bool direct_out = std::is_same_v<T, A> && ph.all;
  const T* px = x.data<T>();
  const TapTable taps_of(g, ph);
  cpu::BlasThreads blas_threads(0);  // gemm_serial in the tasks below
  cpu::parallel_for(n_tiles * g.groups, 1, [&](int64_t begin, int64_t end) {
    std::vector<A> fresh_a[2];
    std::vector<int64_t> fresh_offs;
    A* patches = buffer<A>(0, tile * width, fresh_a[0]);
    A* result = direct_out ? nullptr : buffer<A>(1, tile * g.og, fresh_a[1]);
    int64_t* scratch = buffer<int64_t>(0, tile * ph.Q, fresh_offs);
    std::vector<const int64_t*> offs(static_cast<size_t>(tile));
    std::vector<int64_t> dst(static_cast<size_t>(tile));
    Offsets offsets(g, ph);
    for (int64_t item = begin; item < end; ++item) {
      const int64_t grp = item % g.groups, r0 = (item / g.groups) * tile;
      const int64_t nr = std::min(tile, rows - r0);
      A* c = direct_out ? reinterpret_cast<A*>(py) + r0 * g.co + grp * g.og : result;
      const int64_t ldc = direct_out ? g.co : g.og;
      Odometer j(ph.out_sizes, r0 % ph.P);
      for (int64_t r = 0; r < nr; ++r, j.next()) {
        offs[r] = taps_of.row((r0 + r) % ph.P, j.idx, offsets, scratch + r * ph.Q);
        dst[r] = y_row(r0 + r, j.idx);
      }
      for (int64_t q0 = 0; q0 < ph.Q; q0 += taps) {
        const int64_t nq = std::min(taps, ph.Q - q0), nc = nq * g.cg;
        // patches[r, (q - q0) * Cg + i] = x[n, source(o, q), grp * Cg + i]
        for (int64_t r = 0; r < nr; ++r) {
          const int64_t n = (r0 + r) / ph.P;
          gather_row<T, A>(offs[r] + q0, nq, g.cg, g.xc, px + n * g.xb + grp * g.cg * g.xc,
                           patches + r * nc);
        }
        cpu::gemm_serial(false, true, int(nr), int(g.og), int(nc), A(1), patches, int(nc),
                         wp + grp * g.og * cols + q0 * g.cg, int(cols), A(q0 ? 1 : 0), c,
                         int(ldc));
      }
      if (!direct_out) {
        for (int64_t r = 0; r < nr; ++r) {
          store_run<T, A>(result + r * g.og, py + dst[r] * g.co + grp * g.og, g.og);
        }
      }
    }
  });
}

template <typename T, typename A>
void by_rows(const Geometry& g, const array& x, const array& w, array& y) {
  for (const Phase& ph : phases(g)) rows_of_phase<T, A>(g, ph, x, w, y);
}

// ---- pointwise: out (rows, C_out) = x (rows, C_in) @ w^T per group, read in place ----
// Tiles of rows are spread over the pool like the other plans' (one BLAS call each).
// Returns false when x's rows are not evenly spaced or too far apart for BLAS.
template <typename A>
bool pointwise(const Geometry& g, const array& x, const array& w, array& y) {
  if (g.xc != 1) return false;
  std::vector<int64_t> sizes = {g.batch}, strides = {g.xb};
  sizes.insert(sizes.end(), g.in.begin(), g.in.end());
  strides.insert(strides.end(), g.xs.begin(), g.xs.end());
  const int64_t step = uniform_stride(sizes, strides, g.ci);
  if (step < g.ci || step > INT_MAX) return false;
  array holder;
  const A* wp = packed_weight<A, A>(w, holder);
  const A* px = x.data<A>();
  A* py = y.data<A>();
  const int64_t rows = g.batch * g.P;
  const int64_t tile = std::clamp<int64_t>(kRowsTileBytes / int64_t(sizeof(A) * g.cg),
                                           kMinTileRows, 4096);
  const int64_t n_tiles = (rows + tile - 1) / tile;
  cpu::BlasThreads blas_threads(0);  // gemm_serial in the tasks below
  cpu::parallel_for(n_tiles * g.groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t grp = item % g.groups, r0 = (item / g.groups) * tile;
      const int64_t nr = std::min(tile, rows - r0);
      cpu::gemm_serial(false, true, int(nr), int(g.og), int(g.cg), A(1),
                       px + r0 * step + grp * g.cg, int(step), wp + grp * g.og * g.cg,
                       int(g.cg), A(0), py + r0 * g.co + grp * g.og, int(g.co));
    }
  });
  return true;
}

// ---- depthwise: out[n, o, g * m + j] = sum_q x[n, source(o, q), g] w[g * m + j, q] ----
// (one input channel per group, m = C_out / groups outputs each.)

// 64 bytes of A as one value: one AVX-512 register, two AVX2 or four SSE ones, depending on
// what the function using it is built for.
template <typename A>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(64)));
};

// acc[c] (+)= sum over the n taps t of xs[t][c / mult] * ws[t][c], c < co: one output
// position; acc's old values are added to when `add`, else overwritten.
template <typename A>
[[gnu::always_inline]] inline void depthwise_acc_impl(A* __restrict acc, const A* const* xs,
                                                      const A* const* ws, int64_t n, int64_t co,
                                                      int64_t mult, bool add) {
  using V = typename Vec<A>::type;
  constexpr int64_t kLanes = int64_t(sizeof(V) / sizeof(A));
  if (!add && (mult != 1 || co % kLanes != 0)) {
    std::fill_n(acc, co, A(0));
    add = true;
  }
  if (mult != 1) {
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t c = 0; c < co; ++c) acc[c] += xs[t][c / mult] * ws[t][c];
    }
    return;
  }
  // Unaligned vector loads and stores are memcpy's of a V.
  int64_t c0 = 0;
  for (; c0 + 2 * kLanes <= co; c0 += 2 * kLanes) {
    V a0 = {}, a1 = {}, x0, x1, w0, w1;
    if (add) {
      std::memcpy(&a0, acc + c0, sizeof(V));
      std::memcpy(&a1, acc + c0 + kLanes, sizeof(V));
    }
    for (int64_t t = 0; t < n; ++t) {
      std::memcpy(&x0, xs[t] + c0, sizeof(V));
      std::memcpy(&x1, xs[t] + c0 + kLanes, sizeof(V));
      std::memcpy(&w0, ws[t] + c0, sizeof(V));
      std::memcpy(&w1, ws[t] + c0 + kLanes, sizeof(V));
      a0 += x0 * w0;
      a1 += x1 * w1;
    }
    std::memcpy(acc + c0, &a0, sizeof(V));
    std::memcpy(acc + c0 + kLanes, &a1, sizeof(V));
  }
  for (; c0 + kLanes <= co; c0 += kLanes) {
    V a0 = {}, x0, w0;
    if (add) std::memcpy(&a0, acc + c0, sizeof(V));
    for (int64_t t = 0; t < n; ++t) {
      std::memcpy(&x0, xs[t] + c0, sizeof(V));
      std::memcpy(&w0, ws[t] + c0, sizeof(V));
      a0 += x0 * w0;
    }
    std::memcpy(acc + c0, &a0, sizeof(V));
  }
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t c = c0; c < co; ++c) acc[c] += xs[t][c] * ws[t][c];
  }
}

// This loop, not BLAS, is the whole of a depthwise convolution's work, so on x86-64 Linux it
// is also built for AVX2 and AVX-512 and the CPU's best is chosen when the library loads.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define EMBER_CONV_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EMBER_CONV_CLONES
#endif

EMBER_CONV_CLONES void depthwise_acc(float* acc, const float* const* xs, const float* const* ws,
                                     int64_t n, int64_t co, int64_t mult, bool add) {
  depthwise_acc_impl(acc, xs, ws, n, co, mult, add);
}
EMBER_CONV_CLONES void depthwise_acc(double* acc, const double* const* xs,
                                     const double* const* ws, int64_t n, int64_t co,
                                     int64_t mult, bool add) {
  depthwise_acc_impl(acc, xs, ws, n, co, mult, add);
}

// Two loop orders. Usually each output position sums its few taps (rows split over threads).
// With few outputs and long sums (the weight gradient of a depthwise convolution: its
// "kernel" is the cotangent, its outputs the taps), the taps are split instead, each thread
// adding its share into private sums for every output.
template <typename T, typename A>
void depthwise(const Geometry& g, const array& x, const array& w, array& y) {
  // The weight as rows of C_out values, one per tap: in place when it is laid out so.
  const int64_t in_place_ld = uniform_stride(g.k, g.ws, g.co);
  std::vector<A> packed;
  const A* wq = nullptr;
  int64_t wld = g.co;
  if constexpr (std::is_same_v<T, A>) {
    if ((g.wo == 1 || g.co == 1) && in_place_ld >= g.co) {
      wq = w.data<A>();
      wld = in_place_ld;
    }
  }
  if (!wq) {
    packed.resize(size_t(g.Q * g.co));
    Odometer q(g.k, 0);
    for (int64_t t = 0; t < g.Q; ++t, q.next()) {
      int64_t off = 0;
      for (int i = 0; i < g.nd; ++i) off += q.idx[i] * g.ws[i];
      load_run<T, A>(w.data<T>() + off, g.wo, packed.data() + t * g.co, g.co);
    }
    wq = packed.data();
  }
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t rows = g.batch * g.P, co = g.co, ci = g.ci;
  const bool convert = !std::is_same_v<T, A> || g.xc != 1;
  // The x row (ci channels) at offset off of image n, as A values (converted into buf).
  auto x_row = [&](int64_t n, int64_t off, A* buf) -> const A* {
    const T* src = px + n * g.xb + off;
    if (!convert) return reinterpret_cast<const A*>(src);
    load_run<T, A>(src, g.xc, buf, ci);
    return buf;
  };
  const bool by_taps = rows * co <= (int64_t(1) << 16) && g.Q >= 8 * rows;
  const Phase all = whole(g);
  if (!by_taps) {
    const TapTable taps_of(g, all);
    const int64_t grain = std::max<int64_t>(1, kDirectGrain / std::max<int64_t>(g.Q * co, 1));
    cpu::parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
      Offsets offsets(g, all);
      std::vector<int64_t> fresh_offs;
      std::vector<const A*> fresh_ptrs[2];
      std::vector<A> fresh_a[2];
      int64_t* scratch = buffer<int64_t>(0, g.Q, fresh_offs);
      const A** xs = buffer<const A*>(0, g.Q, fresh_ptrs[0]);
      const A** ws = buffer<const A*>(1, g.Q, fresh_ptrs[1]);
      A* acc = buffer<A>(0, co, fresh_a[0]);
      A* xbuf = convert ? buffer<A>(1, g.Q * ci, fresh_a[1]) : nullptr;
      Odometer o(g.out, begin % g.P);
      for (int64_t r = begin; r < end; ++r, o.next()) {
        const int64_t* offs = taps_of.row(r % g.P, o.idx, offsets, scratch);
        int64_t n = 0;
        for (int64_t t = 0; t < g.Q; ++t) {
          if (offs[t] == kNone) continue;
          xs[n] = x_row(r / g.P, offs[t], xbuf + n * ci);
          ws[n++] = wq + t * wld;
        }
        if constexpr (std::is_same_v<T, A>) {
          depthwise_acc(py + r * co, xs, ws, n, co, g.og, false);
        } else {
          depthwise_acc(acc, xs, ws, n, co, g.og, false);
          store_run<T, A>(acc, py + r * co, co);
        }
      }
    });
    return;
  }
  constexpr int64_t kBlock = 256;  // taps per pass over the outputs
  const int64_t n_blocks = (g.Q + kBlock - 1) / kBlock;
  const int slots = int(std::min<int64_t>(kSlotsPerThread * get_num_threads(), n_blocks));
  std::vector<A> fresh_sums;
  A* sums = buffer<A>(2, slots * rows * co, fresh_sums);
  cpu::parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
    Offsets offsets(g, all);
    std::vector<int64_t> fresh_offs[2];
    std::vector<const A*> fresh_ptrs[2];
    std::vector<A> fresh_a;
    int64_t* offs = buffer<int64_t>(0, g.P, fresh_offs[0]);
    int64_t* count = buffer<int64_t>(1, rows, fresh_offs[1]);
    const A** xs = buffer<const A*>(0, rows * kBlock, fresh_ptrs[0]);
    const A** ws = buffer<const A*>(1, rows * kBlock, fresh_ptrs[1]);
    A* xbuf = convert ? buffer<A>(1, rows * kBlock * ci, fresh_a) : nullptr;
    for (int64_t s = s0; s < s1; ++s) {
      A* sum = sums + s * rows * co;
      std::fill_n(sum, rows * co, A(0));
      for (int64_t b = n_blocks * s / slots; b < n_blocks * (s + 1) / slots; ++b) {
        const int64_t t0 = b * kBlock, t1 = std::min(g.Q, t0 + kBlock);
        std::fill_n(count, rows, 0);
        Odometer q(g.k, t0);
        for (int64_t t = t0; t < t1; ++t, q.next()) {
          offsets.over_outputs(q.idx, offs);
          for (int64_t r = 0; r < rows; ++r) {
            const int64_t off = offs[r % g.P];
            if (off == kNone) continue;
            const int64_t i = r * kBlock + count[r]++;
            xs[i] = x_row(r / g.P, off, xbuf + i * ci);
            ws[i] = wq + t * wld;
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          depthwise_acc(sum + r * co, xs + r * kBlock, ws + r * kBlock, count[r], co, g.og, true);
        }
      }
    }
  });
  add_slots(sums, slots, rows * co);
  store_run<T, A>(sums, py, rows * co);
}

// ---- dual: out[(o, n), c] = sum over rows (j, q) of D[(j, q), (o, n)] * W[(j, q), c] ----
// D[(j, q), (o, n)] = x[n, source(o, q), grp * Cg + j] is gathered with n innermost (x's
// batch is its contiguous axis here); W[(j, q), c] = w[grp * og + c, q, j]. Each thread
// accumulates its share of the rows into its own (P * N, og) sum.
template <typename T, typename A>
void dual_of_phase(const Geometry& g, const Phase& ph, const array& x, const array& w,
                   array& y) {
  T* py = y.data<T>();
  const int64_t width = ph.P * g.batch;  // a row of D
  const int64_t red = g.cg * ph.Q;       // rows of D per group
  if (red == 0) {  // a class that reads only zeros
    Odometer j(ph.out_sizes, 0);
    for (int64_t p = 0; p < ph.P; ++p, j.next()) {
      const int64_t at = out_index(g, ph, j.idx);
      for (int64_t n = 0; n < g.batch; ++n) std::fill_n(py + (n * g.P + at) * g.co, g.co, T(0.0f));
    }
    return;
  }
  const int64_t tile = std::clamp<int64_t>(kDualTileBytes / int64_t(sizeof(A) * width), 8, 1024);
  const int64_t n_tiles = (red + tile - 1) / tile;
  const int slots = int(std::min<int64_t>(kSlotsPerThread * get_num_threads(), n_tiles));
  std::vector<A> fresh_sums;
  A* sums = buffer<A>(2, slots * width * g.og, fresh_sums);
  const T* px = x.data<T>();
  const T* pw = w.data<T>();
  // W's rows (j, q...) are used in place when they are evenly spaced with unit column stride
  // (the weight gradient's: the cotangent itself); else each tile's rows are copied.
  std::vector<int64_t> row_sizes = {g.cg}, row_strides = {g.wc};
  row_sizes.insert(row_sizes.end(), g.k.begin(), g.k.end());
  row_strides.insert(row_strides.end(), g.ws.begin(), g.ws.end());
  const int64_t wrow = uniform_stride(row_sizes, row_strides, g.og);
  const bool w_in_place = std::is_same_v<T, A> && ph.all && (g.wo == 1 || g.og == 1) &&
                          wrow >= g.og && wrow <= INT_MAX;
  cpu::BlasThreads blas_threads(0);  // gemm_serial in the tasks below
  for (int64_t grp = 0; grp < g.groups; ++grp) {
    cpu::parallel_for(slots, 1, [&](int64_t s0, int64_t s1) {
      std::vector<A> fresh_a[2];
      std::vector<int64_t> fresh_offs;
      A* rows = buffer<A>(0, tile * width, fresh_a[0]);
      A* wrows = w_in_place ? nullptr : buffer<A>(1, tile * g.og, fresh_a[1]);
      int64_t* offs = buffer<int64_t>(0, ph.P, fresh_offs);
      Offsets offsets(g, ph);
      for (int64_t s = s0; s < s1; ++s) {
        A* sum = sums + s * width * g.og;
        std::fill_n(sum, width * g.og, A(0));
        for (int64_t t = n_tiles * s / slots; t < n_tiles * (s + 1) / slots; ++t) {
          const int64_t m0 = t * tile, nm = std::min(tile, red - m0);
          Odometer q(ph.tap_sizes, m0 % ph.Q);
          int64_t j = m0 / ph.Q;
          for (int64_t m = 0; m < nm; ++m) {
            offsets.over_outputs(q.idx, offs);
            gather_row<T, A>(offs, ph.P, g.batch, g.xb, px + (grp * g.cg + j) * g.xc,
                             rows + m * width);
            if (!w_in_place) {
              int64_t woff = (grp * g.og) * g.wo + j * g.wc;
              for (int i = 0; i < g.nd; ++i) woff += ph.taps[i][q.idx[i]] * g.ws[i];
              load_run<T, A>(pw + woff, g.wo, wrows + m * g.og, g.og);
            }
            if (!q.next()) ++j;
          }
          const A* b = w_in_place ? reinterpret_cast<const A*>(pw) + grp * g.og * g.wo + m0 * wrow
                                  : wrows;
          cpu::gemm_serial(true, false, int(width), int(g.og), int(nm), A(1), rows, int(width),
                           b, int(w_in_place ? wrow : g.og), A(1), sum, int(g.og));
        }
      }
    });
    add_slots(sums, slots, width * g.og);
    // y[n, o, grp * og + c] = sum[(o, n), c] for the phase's outputs o
    Odometer j(ph.out_sizes, 0);
    for (int64_t p = 0; p < ph.P; ++p, j.next()) {
      const int64_t at = out_index(g, ph, j.idx);
      for (int64_t n = 0; n < g.batch; ++n) {
        store_run<T, A>(sums + (p * g.batch + n) * g.og,
                        py + (n * g.P + at) * g.co + grp * g.og, g.og);
      }
    }
  }
}

template <typename T, typename A>
void dual(const Geometry& g, const array& x, const array& w, array& y) {
  for (const Phase& ph : phases(g)) dual_of_phase<T, A>(g, ph, x, w, y);
}

template <typename T>
void convolve(const Geometry& g, const array& x, const array& w, array& y) {
  using A = acc_t<T>;
  // The dual plan when x's batch is the contiguous axis (the weight gradient's convolution)
  // and the sums it keeps per thread stay small.
  if (g.batch > 1 && g.xb == 1 && (g.xc != 1 || g.ci == 1) &&
      g.P * g.batch * g.og <= (int64_t(1) << 22)) {
    return dual<T, A>(g, x, w, y);
  }
  if (g.cg == 1 && (g.xc == 1 || g.ci == 1)) return depthwise<T, A>(g, x, w, y);
  bool unit = g.Q == 1;
  for (int i = 0; i < g.nd; ++i) {
    unit = unit && g.stride[i] == 1 && g.idil[i] == 1 && g.lo[i] == 0 && g.out[i] == g.in[i];
  }
  if constexpr (std::is_same_v<T, A>) {
    if (unit && pointwise<A>(g, x, w, y)) return;
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
