// CPU kernels of the unary family: one dispatch over dtypes, then the shared
// elementwise loop with the op's functor from unary_ops.h.
#include "ember/backend/common/convert.h"
#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/backend/cpu/simd.h"
#include "ember/backend/cpu/simd_half.h"
#include "ember/backend/cpu/unary_ops.h"
#include "ember/errors.h"
#include "ember/primitives/unary.h"

namespace ember {

namespace {

// The vectorized float32 loop of each op that has one (simd.h), and how many elements a
// thread should get at least: transcendentals cost ~10x a memory-bound op per element (the
// libm calls of other dtypes more, but a smaller grain would not pay on float32).
template <typename Op>
constexpr int kSimdUnary = -1;
#define EMBER_SIMD_UNARY(Name) \
  template <>              \
  constexpr int kSimdUnary<cpu::ops::Name> = int(cpu::simd::Unary::Name);
EMBER_SIMD_UNARY(Exp)
EMBER_SIMD_UNARY(Log)
EMBER_SIMD_UNARY(Tanh)
EMBER_SIMD_UNARY(Sigmoid)
EMBER_SIMD_UNARY(Erf)
EMBER_SIMD_UNARY(Sin)
EMBER_SIMD_UNARY(Cos)
EMBER_SIMD_UNARY(Abs)
EMBER_SIMD_UNARY(Negative)
EMBER_SIMD_UNARY(Square)
EMBER_SIMD_UNARY(Sqrt)
EMBER_SIMD_UNARY(Reciprocal)
#undef EMBER_SIMD_UNARY

template <typename Op>
constexpr bool kCheapUnary =
    std::is_same_v<Op, cpu::ops::Abs> || std::is_same_v<Op, cpu::ops::Negative> ||
    std::is_same_v<Op, cpu::ops::Square> || std::is_same_v<Op, cpu::ops::Sqrt> ||
    std::is_same_v<Op, cpu::ops::Reciprocal> || std::is_same_v<Op, cpu::ops::Floor> ||
    std::is_same_v<Op, cpu::ops::Ceil> || std::is_same_v<Op, cpu::ops::Round> ||
    std::is_same_v<Op, cpu::ops::LogicalNot> || std::is_same_v<Op, cpu::ops::IsNan> ||
    std::is_same_v<Op, cpu::ops::IsInf> || std::is_same_v<Op, cpu::ops::BitwiseInvert> ||
    std::is_same_v<Op, cpu::ops::Sign>;
template <typename Op>
constexpr int64_t kUnaryGrain = kCheapUnary<Op> ? cpu::kParallelGrain : cpu::kParallelGrainCostly;

// Runs op over every element. The output dtype is the functor's result type
// (bool for predicates, float32 for |complex|); halves compute through float.
template <typename Op>
void unary_eval(const char* name, const array& in, array& out, Op op = Op{}) {
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    if constexpr (detail::is_half_v<T>) {
      if constexpr (std::is_invocable_v<Op, float>) {
        using R = std::invoke_result_t<Op, float>;
        using Out = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
        auto scalar = [op](T x) { return Out(op(float(x))); };
        if constexpr (std::is_same_v<R, float> && kSimdUnary<Op> >= 0) {
          // Through the float kernel, a block at a time (simd_half.h).
          const cpu::simd::HalfUnary<T> run{cpu::simd::unary_fn(cpu::simd::Unary(kSimdUnary<Op>))};
          cpu::unary_kernel<T, Out>(in, out, scalar, run, kUnaryGrain<Op>);
        } else {
          cpu::unary_kernel<T, Out>(in, out, scalar, nullptr, kUnaryGrain<Op>);
        }
        return;
      }
    } else if constexpr (std::is_invocable_v<Op, T>) {
      using R = std::invoke_result_t<Op, T>;
      cpu::UnaryRun<T, R> run = nullptr;
      if constexpr (std::is_same_v<T, float> && std::is_same_v<R, float> &&
                    kSimdUnary<Op> >= 0) {
        run = cpu::simd::unary_fn(cpu::simd::Unary(kSimdUnary<Op>));
      }
      cpu::unary_kernel<T, R>(in, out, op, run, kUnaryGrain<Op>);
      return;
    }
    throw type_error(msg("[", name, "] Not supported for dtype ", dtype_name(in.dtype()), "."));
  });
}

// The block loop of a fused kernel (compile): same functors and vectorized runs as
// unary_eval, on raw contiguous blocks; a stride-0 input is one value repeated.
template <typename Op>
UnaryBlockFn unary_block(Dtype in) {
  return dispatch_dtype(in, [](auto v) -> UnaryBlockFn {
    using T = decltype(v);
    if constexpr (detail::is_half_v<T>) {
      if constexpr (std::is_invocable_v<Op, float>) {
        return [](const void* xv, int64_t sx, void* yv, int64_t n) {
          using R = std::invoke_result_t<Op, float>;
          using Out = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
          const T* x = static_cast<const T*>(xv);
          Out* y = static_cast<Out*>(yv);
          if constexpr (std::is_same_v<R, float> && kSimdUnary<Op> >= 0) {
            if (sx == 1) {
              cpu::simd::HalfUnary<T>{cpu::simd::unary_fn(cpu::simd::Unary(kSimdUnary<Op>))}(x, y, n);
              return;
            }
          }
          Op op;
          if (sx == 0) {
            std::fill_n(y, n, Out(op(float(x[0]))));
            return;
          }
          for (int64_t i = 0; i < n; ++i) y[i] = Out(op(float(x[i])));
        };
      }
    } else if constexpr (std::is_invocable_v<Op, T>) {
      return [](const void* xv, int64_t sx, void* yv, int64_t n) {
        using R = std::invoke_result_t<Op, T>;
        const T* x = static_cast<const T*>(xv);
        R* y = static_cast<R*>(yv);
        if constexpr (std::is_same_v<T, float> && std::is_same_v<R, float> && kSimdUnary<Op> >= 0) {
          if (sx == 1) return cpu::simd::unary_fn(cpu::simd::Unary(kSimdUnary<Op>))(x, y, n);
        }
        Op op;
        if (sx == 0) {
            std::fill_n(y, n, R(op(x[0])));
            return;
          }
        for (int64_t i = 0; i < n; ++i) y[i] = op(x[i]);
      };
    }
    return nullptr;
  });
}

}  // namespace

#define EMBER_UNARY_EVAL(Name)                                           \
  void Name::eval_cpu(const std::vector<array>& inputs, array& out) {    \
    unary_eval<cpu::ops::Name>(#Name, inputs[0], out);                   \
  }                                                                      \
  UnaryBlockFn Name::block_fn(Dtype in) const { return unary_block<cpu::ops::Name>(in); }

EMBER_UNARY_EVAL(Abs)
EMBER_UNARY_EVAL(Negative)
EMBER_UNARY_EVAL(Sign)
EMBER_UNARY_EVAL(Square)
EMBER_UNARY_EVAL(Sqrt)
EMBER_UNARY_EVAL(Rsqrt)
EMBER_UNARY_EVAL(Reciprocal)
EMBER_UNARY_EVAL(Exp)
EMBER_UNARY_EVAL(Expm1)
EMBER_UNARY_EVAL(Log)
EMBER_UNARY_EVAL(Log1p)
EMBER_UNARY_EVAL(Log2)
EMBER_UNARY_EVAL(Log10)
EMBER_UNARY_EVAL(Sin)
EMBER_UNARY_EVAL(Cos)
EMBER_UNARY_EVAL(Tan)
EMBER_UNARY_EVAL(ArcSin)
EMBER_UNARY_EVAL(ArcCos)
EMBER_UNARY_EVAL(ArcTan)
EMBER_UNARY_EVAL(Sinh)
EMBER_UNARY_EVAL(Cosh)
EMBER_UNARY_EVAL(Tanh)
EMBER_UNARY_EVAL(ArcSinh)
EMBER_UNARY_EVAL(ArcCosh)
EMBER_UNARY_EVAL(ArcTanh)
EMBER_UNARY_EVAL(Sigmoid)
EMBER_UNARY_EVAL(Erf)
EMBER_UNARY_EVAL(ErfInv)
EMBER_UNARY_EVAL(Floor)
EMBER_UNARY_EVAL(Ceil)
EMBER_UNARY_EVAL(Round)
EMBER_UNARY_EVAL(LogicalNot)
EMBER_UNARY_EVAL(IsNan)
EMBER_UNARY_EVAL(IsInf)
EMBER_UNARY_EVAL(BitwiseInvert)
#undef EMBER_UNARY_EVAL

// Identity kernels share the input's buffer: values are immutable.
void AsType::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  cpu::copy_cast(inputs[0], out);
}

}  // namespace ember
