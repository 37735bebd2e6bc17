// CPU kernel of Scan (cumsum, cumprod, cummax, cummin). When the scanned axis
// is not the innermost one, whole rows are stepped at once (a vectorizable
// loop over a tile of running accumulators); otherwise each line is scanned
// serially. float32 and half sums run in double, like the reductions.
#include <algorithm>
#include <memory>

#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/backend/cpu/reduce_ops.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/reduce.h"

namespace ember {

namespace {

using namespace cpu::reduce_ops;

// Columns per tile of the rows loop (wide, so each row is read in long stretches).
constexpr int64_t kTile = 2048;

template <typename Op, typename T, typename O>
void scan_typed(const array& in, array& out, int axis, bool reverse, bool inclusive) {
  using W = typename Op::W;
  if (out.size() == 0) return;
  const int64_t n = in.shape(axis), sx = in.strides()[axis], sy = out.strides()[axis];
  Shape shape;
  Strides sin, sout;
  for (int i = 0; i < in.ndim(); ++i) {
    if (i == axis) continue;
    shape.push_back(in.shape(i));
    sin.push_back(in.strides()[i]);
    sout.push_back(out.strides()[i]);
  }
  auto L = detail::collapse<2>(shape, {&sin, &sout});
  const T* x = in.data<T>();
  O* y = out.data<O>();
  // One element as an accumulator value (halves to float, float sums to double).
  auto elem = [](T v) { return W(Op::step(Op::init(), v)); };
  const int64_t rows = detail::num_rows(L), m = L.shape.back();

  if (m > 1 && L.strides[0].back() == 1 && L.strides[1].back() == 1) {
    // Rows: out[i, :] = out[i - 1, :] (+) x[i, :] over tiles of columns, narrow
    // enough that every thread gets one.
    const int64_t threads = rows >= get_num_threads() ? 1 : get_num_threads();
    const int64_t tile = std::min(kTile, std::max<int64_t>(256, (m + threads - 1) / threads));
    const int64_t tiles = (m + tile - 1) / tile;
    const int64_t grain = std::max<int64_t>(1, cpu::kParallelGrain / (n * std::min(m, tile)));
    cpu::parallel_for(rows * tiles, grain, [&](int64_t b, int64_t e) {
      std::unique_ptr<W[]> buf(new W[tile]);
      W* acc = buf.get();
      for (int64_t u = b; u < e; ++u) {
        const int64_t row = u / tiles, j0 = (u % tiles) * tile, len = std::min(tile, m - j0);
        detail::for_each_row(L, row, row + 1, [&](const auto& off, int64_t, const auto&) {
          std::fill(acc, acc + len, W(Op::init()));
          for (int64_t k = 0; k < n; ++k) {
            const int64_t i = reverse ? n - 1 - k : k;
            const T* px = x + off[0] + i * sx + j0;
            O* py = y + off[1] + i * sy + j0;
            if (inclusive) {
              for (int64_t j = 0; j < len; ++j) {
                acc[j] = Op::combine(acc[j], elem(px[j]));
                py[j] = Op::out(acc[j]);
              }
            } else {
              for (int64_t j = 0; j < len; ++j) {
                py[j] = Op::out(acc[j]);
                acc[j] = Op::combine(acc[j], elem(px[j]));
              }
            }
          }
        });
      }
    });
    return;
  }

  // Lines: a serial scan along the axis for every kept position. Up to kGroup
  // lines are scanned in lockstep, so their additions overlap instead of
  // waiting on one accumulator's latency.
  constexpr int kGroup = 8;
  const int64_t first = reverse ? n - 1 : 0, dir = reverse ? -1 : 1;
  const int64_t dx = dir * sx, dy = dir * sy;
  auto scan_lines = [&](const T* const* px, O* const* py, int count) {
    W acc[kGroup];
    const T* p[kGroup];
    O* q[kGroup];
    for (int g = 0; g < count; ++g) {
      acc[g] = W(Op::init());
      p[g] = px[g] + first * sx;
      q[g] = py[g] + first * sy;
    }
    for (int64_t k = 0; k < n; ++k) {
      for (int g = 0; g < count; ++g) {
        W v = elem(*p[g]);
        if (inclusive) acc[g] = Op::combine(acc[g], v);
        *q[g] = Op::out(acc[g]);
        if (!inclusive) acc[g] = Op::combine(acc[g], v);
        p[g] += dx;
        q[g] += dy;
      }
    }
  };
  // Threads take ranges of lines (line l is position l % m of row l / m).
  const int64_t lines = rows * m;
  const int64_t grain = std::max<int64_t>(kGroup, cpu::kParallelGrain / std::max<int64_t>(n, 1));
  cpu::parallel_for(lines, grain, [&](int64_t b, int64_t e) {
    for (int64_t row = b / m; row * m < e; ++row) {
      const int64_t j_lo = std::max(b - row * m, int64_t(0)), j_hi = std::min(e - row * m, m);
      detail::for_each_row(L, row, row + 1, [&](const auto& off, int64_t, const auto& st) {
        const T* px[kGroup];
        O* py[kGroup];
        for (int64_t j = j_lo; j < j_hi; j += kGroup) {
          const int count = int(std::min<int64_t>(kGroup, j_hi - j));
          for (int g = 0; g < count; ++g) {
            px[g] = x + off[0] + (j + g) * st[0];
            py[g] = y + off[1] + (j + g) * st[1];
          }
          if (count == kGroup) {
            scan_lines(px, py, kGroup);  // a constant count lets the compiler unroll
          } else {
            scan_lines(px, py, count);
          }
        }
      });
    }
  });
}

}  // namespace

void Scan::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& in = inputs[0];
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    using S = SumOut<T>;
    if (kind_ == ScanKind::sum) {
      scan_typed<Sum<T, S>, T, S>(in, out, axis_, reverse_, inclusive_);
      return;
    }
    if (kind_ == ScanKind::prod) {
      scan_typed<Prod<T, S>, T, S>(in, out, axis_, reverse_, inclusive_);
      return;
    }
    if constexpr (std::is_same_v<T, complex64_t>) {
      throw type_error(msg("[", name(), "] Not supported for complex64."));
    } else if (kind_ == ScanKind::logaddexp) {
      if constexpr (std::is_floating_point_v<Real<T>>) {
        scan_typed<LogAddExp<T>, T, T>(in, out, axis_, reverse_, inclusive_);
      } else {
        throw type_error(msg("[logcumsumexp] Needs a floating-point input, got ", dtype_name(in.dtype()), "."));
      }
    } else if (kind_ == ScanKind::max) {
      scan_typed<Max<T>, T, T>(in, out, axis_, reverse_, inclusive_);
    } else {
      scan_typed<Min<T>, T, T>(in, out, axis_, reverse_, inclusive_);
    }
  });
}

}  // namespace ember
