// The templates behind the CPU kernels of Reduce and ArgReduce (see reduce.cpp for the
// loops they run). They are instantiated in three files, reduce_arith.cpp (sum, prod),
// reduce_logic.cpp (max, min, all, any) and reduce_arg.cpp (argmax, argmin), so that the
// heaviest part of the build compiles in parallel.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "ember/backend/cpu/elementwise.h"
#include "ember/backend/cpu/reduce_ops.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/reduce.h"

namespace ember::cpu::reduce_kernels {

using namespace cpu::reduce_ops;

constexpr int64_t kGrain = cpu::kParallelGrain;
// 32 lanes: GCC vectorizes the lane loop as a loop (16 gets unrolled first,
// and the unrolled max / min selects then stay scalar).
constexpr int kLanes = 32;
// Elements per lane block in `run`, and rows per block in `rows`: float lanes
// add at most 32 values before they are folded into the wide accumulator.
constexpr int64_t kBlock = 32 * kLanes;
constexpr int64_t kRowBlock = 32;
// Outputs per tile of the rows loop. Wide tiles read long stretches of each
// row (a tile of 512 floats per 16 KB row stride starves the prefetcher and the
// TLB); the accumulators (on the heap: 16-64 KB each) stay in L2.
constexpr int64_t kTile = 4096;

// Dimensions (size, stride) with size-1 dims dropped and mergeable neighbours
// merged. Never empty: a lone (1, 0) stands for "no dims".
struct Dims {
  Shape shape;
  Strides strides;
  void push(int64_t n, int64_t st) {
    if (n == 1) return;
    if (!shape.empty() && strides.back() == st * n) {
      shape.back() *= n;
      strides.back() = st;
      return;
    }
    shape.push_back(n);
    strides.push_back(st);
  }
  void finish() {
    if (shape.empty()) {
      shape.push_back(1);
      strides.push_back(0);
    }
  }
  int64_t size() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  int ndim() const { return int(shape.size()); }
  // All but the innermost dim.
  Dims outer() const {
    Dims d;
    for (int i = 0; i + 1 < ndim(); ++i) d.push(shape[i], strides[i]);
    d.finish();
    return d;
  }
};

// Element offsets of Dims in row-major order, from a start position on,
// advanced without divisions. The index lives inline for up to 8 dims, so
// making one per output costs no allocation.
class Cursor {
 public:
  Cursor(const Dims& dims, int64_t start) : d_(dims) {
    const int nd = d_.ndim();
    if (nd > kInline) {
      big_.resize(nd);
      idx_ = big_.data();
    }
    for (int i = nd - 1; i >= 0; --i) {
      idx_[i] = start % d_.shape[i];
      start /= d_.shape[i];
      off += idx_[i] * d_.strides[i];
    }
  }
  Cursor(const Cursor&) = delete;
  void next() {
    for (int i = d_.ndim() - 1; i >= 0; --i) {
      off += d_.strides[i];
      if (++idx_[i] < d_.shape[i]) return;
      off -= d_.strides[i] * d_.shape[i];
      idx_[i] = 0;
    }
  }
  int64_t off = 0;

 private:
  static constexpr int kInline = 8;
  const Dims& d_;
  int64_t small_[kInline];
  std::vector<int64_t> big_;
  int64_t* idx_ = small_;
};

// Reduces x[0], x[s], ..., x[(n-1) s] into w. kContig makes s == 1 known to
// the compiler. The lanes are combined as a tree (pairwise for sums).
template <typename Op, bool kContig, typename T>
typename Op::W run(const T* x, int64_t n, int64_t s, typename Op::W w) {
  using L = typename Op::L;
  using W = typename Op::W;
  auto at = [&](int64_t i) { return kContig ? x[i] : x[i * s]; };
  if (n < 2 * kLanes) {
    L l = Op::init();
    for (int64_t i = 0; i < n; ++i) l = Op::step(l, at(i));
    return Op::combine(w, W(l));
  }
  const int64_t block = kWidens<Op> ? kBlock : n;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t e = b + std::min(block, n - b);
    L lane[kLanes];
    for (int j = 0; j < kLanes; ++j) lane[j] = Op::init();
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes) {
      for (int j = 0; j < kLanes; ++j) lane[j] = Op::step(lane[j], at(i + j));
    }
    for (; i < e; ++i) lane[0] = Op::step(lane[0], at(i));
    for (int h = kLanes / 2; h > 0; h /= 2) {
      for (int j = 0; j < h; ++j) lane[j] = Op::combine(lane[j], lane[j + h]);
    }
    w = Op::combine(w, W(lane[0]));
  }
  return w;
}

template <typename Op, typename T, typename O>
class Reducer {
  using L = typename Op::L;
  using W = typename Op::W;

 public:
  Reducer(const array& in, array& out, const std::vector<int>& axes)
      : x_(in.data<T>()), y_(out.data<O>()), n_out_(out.size()) {
    for (int i = 0; i < in.ndim(); ++i) {
      bool r = std::find(axes.begin(), axes.end(), i) != axes.end();
      (r ? red_ : kept_).push(in.shape(i), in.strides()[i]);
    }
    red_.finish();
    kept_.finish();
    n_red_ = red_.size();
  }

  void operator()() {
    if (n_out_ == 0) return;
    if (n_red_ == 0) {
      std::fill(y_, y_ + n_out_, Op::out(W(Op::init())));
      return;
    }
    const int64_t run_len = red_.shape.back(), ks = kept_.strides.back();
    const bool long_runs = red_.strides.back() == 1 && run_len >= 2 * kLanes;
    const bool many_outputs = kept_.shape.back() >= 16;
    if (ks == 1 && kept_.shape.back() > 1 && !long_runs) {
      rows<true>();
    } else if (many_outputs && run_len < 16) {
      rows<false>();
    } else if (red_.strides.back() == 1) {
      runs<true>();
    } else {
      runs<false>();
    }
  }

 private:
  // ---- runs: each output reduces runs along the innermost reduced axis ----
  // Reduces the flat reduced elements [lo, hi) of the output at `base`.
  template <bool kContig>
  W reduce_range(int64_t base, int64_t lo, int64_t hi, const Dims& outer) const {
    const int64_t len = red_.shape.back(), s = red_.strides.back();
    W w = W(Op::init());
    int64_t i = lo % len;
    Cursor c(outer, lo / len);
    while (lo < hi) {
      int64_t n = std::min(len - i, hi - lo);
      w = run<Op, kContig>(x_ + base + c.off + i * s, n, s, w);
      lo += n;
      i = 0;
      c.next();
    }
    return w;
  }

  template <bool kContig>
  void runs() {
    const Dims outer = red_.outer();
    const int threads = get_num_threads();
    if (n_out_ < threads && n_red_ >= 2 * kGrain) {
      // Few outputs: split each one's elements among the threads.
      std::unique_ptr<W[]> part(new W[threads]);
      for (int64_t o = 0; o < n_out_; ++o) {
        const int64_t base = Cursor(kept_, o).off;
        cpu::parallel_for(threads, 1, [&](int64_t b, int64_t e) {
          for (int64_t c = b; c < e; ++c) {
            part[c] = reduce_range<kContig>(base, n_red_ * c / threads,
                                            n_red_ * (c + 1) / threads, outer);
          }
        });
        W w = part[0];
        for (int c = 1; c < threads; ++c) w = Op::combine(w, part[c]);
        y_[o] = Op::out(w);
      }
      return;
    }
    const bool one_run = outer.size() == 1;
    const int64_t len = red_.shape.back(), s = red_.strides.back();
    cpu::parallel_for(n_out_, std::max<int64_t>(1, kGrain / n_red_), [&](int64_t b, int64_t e) {
      Cursor k(kept_, b);
      for (int64_t o = b; o < e; ++o, k.next()) {
        W w = one_run ? run<Op, kContig>(x_ + k.off, len, s, W(Op::init()))
                      : reduce_range<kContig>(k.off, 0, n_red_, outer);
        y_[o] = Op::out(w);
      }
    });
  }

  // ---- rows: accumulate rows of the input into a tile of outputs ----
  // Reduces rows [r_lo, r_hi) of the tile [j0, j0 + len) at `base` into w;
  // kContig: the kept axis has stride 1.
  template <bool kContig>
  void row_tile(int64_t base, int64_t j0, int64_t len, int64_t r_lo, int64_t r_hi, L* acc,
                W* w) const {
    const int64_t ks = kContig ? 1 : kept_.strides.back();
    std::fill(acc, acc + len, Op::init());
    for (int64_t j = 0; j < len; ++j) w[j] = W(Op::init());
    Cursor c(red_, r_lo);
    int64_t since_fold = 0;
    for (int64_t r = r_lo; r < r_hi; ++r, c.next()) {
      const T* p = x_ + base + c.off + j0 * ks;
      if constexpr (kContig) {
        for (int64_t j = 0; j < len; ++j) acc[j] = Op::step(acc[j], p[j]);
      } else {
        for (int64_t j = 0; j < len; ++j) acc[j] = Op::step(acc[j], p[j * ks]);
      }
      if constexpr (kWidens<Op>) {
        if (++since_fold == kRowBlock) {
          for (int64_t j = 0; j < len; ++j) {
            w[j] = Op::combine(w[j], W(acc[j]));
            acc[j] = Op::init();
          }
          since_fold = 0;
        }
      }
    }
    for (int64_t j = 0; j < len; ++j) w[j] = Op::combine(w[j], W(acc[j]));
  }

  // Rows of length m that lie back to back (the innermost reduced axis has
  // stride m): G = kTile / m of them form one contiguous run of G * m values,
  // accumulated like a single wide row and folded over the G groups at the end.
  void grouped_tile(int64_t base, int64_t r_lo, int64_t r_hi, L* acc, W* wide, W* w) const {
    const int64_t m = kept_.shape.back(), G = kTile / m, gm = G * m, R0 = red_.shape.back();
    const Dims outer = red_.outer();
    std::fill(acc, acc + gm, Op::init());
    std::fill(wide, wide + gm, W(Op::init()));
    int64_t since_fold = 0;
    auto fold = [&] {
      for (int64_t j = 0; j < gm; ++j) {
        wide[j] = Op::combine(wide[j], W(acc[j]));
        acc[j] = Op::init();
      }
      since_fold = 0;
    };
    for (int64_t r = r_lo; r < r_hi;) {
      const int64_t i = r % R0, n = std::min(R0 - i, r_hi - r);
      const T* p = x_ + base + Cursor(outer, r / R0).off + i * m;
      int64_t k = 0;
      for (; k + G <= n; k += G, p += gm) {
        for (int64_t j = 0; j < gm; ++j) acc[j] = Op::step(acc[j], p[j]);
        if (kWidens<Op> && ++since_fold == kRowBlock) fold();
      }
      for (; k < n; ++k, p += m) {
        for (int64_t j = 0; j < m; ++j) acc[j] = Op::step(acc[j], p[j]);
        if (kWidens<Op> && ++since_fold == kRowBlock) fold();
      }
      r += n;
    }
    fold();
    for (int64_t j = 0; j < m; ++j) {
      W v = wide[j];
      for (int64_t g = 1; g < G; ++g) v = Op::combine(v, wide[g * m + j]);
      w[j] = v;
    }
  }

  template <bool kContig>
  void rows() {
    const int64_t m = kept_.shape.back();
    const Dims kouter = kept_.outer();
    const int64_t tiles = (m + kTile - 1) / kTile;
    const int64_t units = kouter.size() * tiles;
    const int threads = get_num_threads();
    // Few tiles and many rows: each thread takes a share of the rows of every tile.
    const int64_t split =
        (units < threads && n_red_ * std::min(m, kTile) >= 2 * kGrain) ? threads : 1;
    // (std::vector<bool> packs bits, so partial results live in a plain array.)
    std::unique_ptr<W[]> part(new W[split > 1 ? split * n_out_ : 0]);
    const int64_t work = n_red_ * std::min(m, kTile);
    // Short rows that lie back to back are taken several at a time.
    const bool grouped = kContig && 2 * m <= kTile && red_.strides.back() == m;
    const int64_t grain = std::max<int64_t>(1, kGrain / work);
    cpu::parallel_for(units * split, grain, [&](int64_t b, int64_t e) {
      std::unique_ptr<L[]> acc(new L[kTile]);
      std::unique_ptr<W[]> w(new W[kTile]), wide(new W[grouped ? kTile : 0]);
      for (int64_t u = b; u < e; ++u) {
        const int64_t unit = u / split, c = u % split;
        const int64_t ko = unit / tiles, j0 = (unit % tiles) * kTile;
        const int64_t len = std::min(kTile, m - j0);
        const int64_t base = Cursor(kouter, ko).off;
        const int64_t r_lo = n_red_ * c / split, r_hi = n_red_ * (c + 1) / split;
        if (grouped) {
          grouped_tile(base, r_lo, r_hi, acc.get(), wide.get(), w.get());
        } else {
          row_tile<kContig>(base, j0, len, r_lo, r_hi, acc.get(), w.get());
        }
        const int64_t o = ko * m + j0;
        if (split == 1) {
          for (int64_t j = 0; j < len; ++j) y_[o + j] = Op::out(w[j]);
        } else {
          std::copy(w.get(), w.get() + len, part.get() + c * n_out_ + o);
        }
      }
    });
    if (split > 1) {
      for (int64_t o = 0; o < n_out_; ++o) {
        W w = part[o];
        for (int64_t c = 1; c < split; ++c) w = Op::combine(w, part[c * n_out_ + o]);
        y_[o] = Op::out(w);
      }
    }
  }

  const T* x_;
  O* y_;
  int64_t n_out_;
  int64_t n_red_ = 0;
  Dims kept_, red_;
};

template <template <typename, typename> class Op, typename T, typename O>
void reduce_with(const array& in, array& out, const std::vector<int>& axes) {
  Reducer<Op<T, O>, T, O>(in, out, axes)();
}

// Sums and products give the natural dtype (SumOut) or float32 (mean of ints and halves).
template <template <typename, typename> class Op>
void reduce_arith(const char* name, const array& in, array& out, const std::vector<int>& axes) {
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    if (out.dtype() == dtype_of<SumOut<T>>) {
      reduce_with<Op, T, SumOut<T>>(in, out, axes);
    } else if constexpr (!std::is_same_v<T, complex64_t> && !std::is_same_v<T, double>) {
      if (out.dtype() != Dtype::float32) {
        throw std::logic_error(msg("[", name, "] no kernel for ", dtype_name(in.dtype()), " -> ",
                                   dtype_name(out.dtype()), "."));
      }
      reduce_with<Op, T, float>(in, out, axes);
    } else {
      throw std::logic_error(msg("[", name, "] no kernel for ", dtype_name(in.dtype()), "."));
    }
  });
}

template <template <typename, typename> class Op, bool kBoolOut>
void reduce_logic(const char* name, const array& in, array& out, const std::vector<int>& axes) {
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    if constexpr (!kBoolOut && std::is_same_v<T, complex64_t>) {
      throw type_error(msg("[", name, "] Not supported for complex64."));
    } else {
      using O = std::conditional_t<kBoolOut, bool, T>;
      reduce_with<Op, T, O>(in, out, axes);
    }
  });
}

// ---- ArgReduce ----
// Whether x should replace the best value so far: larger (smaller) or the
// first NaN, which numpy reports as the extremum.
template <bool kMax, typename R>
inline bool better(R x, R best) {
  if constexpr (std::is_floating_point_v<R>) {
    return (kMax ? x > best : x < best) | ((x != x) & (best == best));
  } else {
    return kMax ? x > best : x < best;
  }
}

template <bool kMax, typename T>
void arg_reduce(const array& in, array& out, int axis) {
  using R = Real<T>;
  Dims kept;
  for (int i = 0; i < in.ndim(); ++i) {
    if (i != axis) kept.push(in.shape(i), in.strides()[i]);
  }
  kept.finish();
  const int64_t n = in.shape(axis), s = in.strides()[axis];
  const T* x = in.data<T>();
  uint32_t* y = out.data<uint32_t>();
  const int64_t n_out = out.size();
  if (n_out == 0 || n == 0) return;
  const int64_t m = kept.shape.back();
  if (kept.strides.back() == 1 && m > 1 && s != 1) {
    // Rows: track the best value and its index for a tile of outputs at once.
    const Dims kouter = kept.outer();
    const int64_t tiles = (m + kTile - 1) / kTile;
    auto tile_rows = [&](int64_t b, int64_t e) {
      std::unique_ptr<R[]> best(new R[kTile]);
      std::unique_ptr<uint32_t[]> idx(new uint32_t[kTile]);
      for (int64_t u = b; u < e; ++u) {
        const int64_t ko = u / tiles, j0 = (u % tiles) * kTile, len = std::min(kTile, m - j0);
        const T* p = x + Cursor(kouter, ko).off + j0;
        for (int64_t j = 0; j < len; ++j) {
          best[j] = load<R>(p[j]);
          idx[j] = 0;
        }
        for (int64_t i = 1; i < n; ++i) {
          const T* q = p + i * s;
          for (int64_t j = 0; j < len; ++j) {
            R v = load<R>(q[j]);
            bool take = better<kMax>(v, best[j]);
            best[j] = take ? v : best[j];
            idx[j] = take ? uint32_t(i) : idx[j];
          }
        }
        std::copy(idx.get(), idx.get() + len, y + ko * m + j0);
      }
    };
    cpu::parallel_for(kouter.size() * tiles, std::max<int64_t>(1, kGrain / (n * std::min(m, kTile))),
                      tile_rows);
    return;
  }
  using Ext = std::conditional_t<kMax, Max<T, T>, Min<T, T>>;
  cpu::parallel_for(n_out, std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
    Cursor k(kept, b);
    for (int64_t o = b; o < e; ++o, k.next()) {
      const T* p = x + k.off;
      int64_t best_i = 0;
      if (s == 1 && n >= 4 * kLanes) {
        // Two passes, both fast: the extremum by the vectorized reduction, then
        // the first position holding it (or the first NaN).
        R ext = run<Ext, true>(p, n, 1, Ext::init());
        if (ext != ext) {
          while (!(load<R>(p[best_i]) != load<R>(p[best_i]))) ++best_i;
        } else {
          while (!(load<R>(p[best_i]) == ext)) ++best_i;
        }
      } else {
        R best = load<R>(p[0]);
        for (int64_t i = 1; i < n; ++i) {
          R v = load<R>(p[i * s]);
          if (better<kMax>(v, best)) {
            best = v;
            best_i = i;
          }
        }
      }
      y[o] = uint32_t(best_i);
    }
  });
}


}  // namespace ember::cpu::reduce_kernels
