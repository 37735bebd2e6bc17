// One generated CUDA kernel per fused chain (compile's Compiled nodes): the chain's ops are
// written as C expressions over registers, compiled at run time with NVRTC for the GPU in use
// (a cubin, so no PTX is left for the driver to compile), loaded with the runtime's library
// API and cached by source. Each thread reads its inputs once and writes the result once:
// intermediates never reach memory. A chain ending in a sum over trailing axes becomes a
// reduction of the chain's values (blocks over segments of each row, then a fixed-order sum of
// the segments), accumulated in double as the eager sum is.
//
// The expressions compute what the eager kernels compute (ops.cuh): the same CUDA math
// functions, halves computed in float and rounded back after every op, the same NaN rules.
// A chain with an op or dtype this generator does not know (complex numbers), or a machine
// without NVRTC (libnvrtc.so.13, from nvidia-cuda-nvrtc or a CUDA toolkit), runs op by op
// instead (compiled.cpp).
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <mutex>
#include <sstream>
#include <string>

#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/cuda.h"
#include "ember/backend/cuda/fused.h"
#include "ember/errors.h"

namespace ember::cuda {

namespace {

// ---- NVRTC, loaded when first needed ----
using nvrtcResult = int;
using nvrtcProgram = struct _nvrtcProgram*;
struct Nvrtc {
  bool ok = false;
  nvrtcResult (*create)(nvrtcProgram*, const char*, const char*, int, const char* const*,
                        const char* const*) = nullptr;
  nvrtcResult (*compile)(nvrtcProgram, int, const char* const*) = nullptr;
  nvrtcResult (*log_size)(nvrtcProgram, size_t*) = nullptr;
  nvrtcResult (*log)(nvrtcProgram, char*) = nullptr;
  nvrtcResult (*cubin_size)(nvrtcProgram, size_t*) = nullptr;
  nvrtcResult (*cubin)(nvrtcProgram, char*) = nullptr;
  nvrtcResult (*destroy)(nvrtcProgram*) = nullptr;
  Nvrtc() {
    void* h = nullptr;
    for (const char* name : {"libnvrtc.so.13", "libnvrtc.so"}) {
      if ((h = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    }
    if (!h) return;
    create = reinterpret_cast<decltype(create)>(dlsym(h, "nvrtcCreateProgram"));
    compile = reinterpret_cast<decltype(compile)>(dlsym(h, "nvrtcCompileProgram"));
    log_size = reinterpret_cast<decltype(log_size)>(dlsym(h, "nvrtcGetProgramLogSize"));
    log = reinterpret_cast<decltype(log)>(dlsym(h, "nvrtcGetProgramLog"));
    cubin_size = reinterpret_cast<decltype(cubin_size)>(dlsym(h, "nvrtcGetCUBINSize"));
    cubin = reinterpret_cast<decltype(cubin)>(dlsym(h, "nvrtcGetCUBIN"));
    destroy = reinterpret_cast<decltype(destroy)>(dlsym(h, "nvrtcDestroyProgram"));
    ok = create && compile && log_size && log && cubin_size && cubin && destroy;
  }
};
Nvrtc& nvrtc() {
  static Nvrtc* n = new Nvrtc();
  return *n;
}

// ---- the code generator ----
const char* storage_type(Dtype t) {
  switch (t) {
    case Dtype::bool_: return "bool";
    case Dtype::uint8: return "unsigned char";
    case Dtype::uint16: return "unsigned short";
    case Dtype::uint32: return "unsigned int";
    case Dtype::uint64: return "unsigned long long";
    case Dtype::int8: return "signed char";
    case Dtype::int16: return "short";
    case Dtype::int32: return "int";
    case Dtype::int64: return "long long";
    case Dtype::float16:
    case Dtype::bfloat16: return "unsigned short";
    case Dtype::float32: return "float";
    case Dtype::float64: return "double";
    default: return nullptr;
  }
}
// The type a value of dtype t lives in while the chain runs.
const char* compute_type(Dtype t) {
  if (t == Dtype::float16 || t == Dtype::bfloat16) return "float";
  return storage_type(t);
}
bool is_half(Dtype t) { return t == Dtype::float16 || t == Dtype::bfloat16; }
bool is_float_like(Dtype t) { return is_floating(t); }

constexpr const char* kPreamble = R"(
template <typename T> struct alignas(sizeof(T) * 4 < 16 ? sizeof(T) * 4 : 16) Vec4 { T x[4]; };
struct Params {
  const void* in[24];
  void* out;
  long long n;
  long long row;
  int ndim;
  long long shape[8];
  long long strides[24][8];
  long long seg_len;
  void* part;
};
__device__ __forceinline__ float h2f(unsigned short h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ unsigned short f2h(float f) { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__device__ __forceinline__ float b2f(unsigned short b) { return __uint_as_float(((unsigned int)b) << 16); }
__device__ __forceinline__ unsigned short f2b(float f) {
  unsigned int x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return (unsigned short)(x >> 16);
}
__device__ __forceinline__ float rh(float x) { return h2f(f2h(x)); }
__device__ __forceinline__ float rb(float x) { return b2f(f2b(x)); }
__device__ __forceinline__ float sigm(float x) { if (x >= 0.f) return 1.f / (1.f + expf(-x)); float e = expf(x); return e / (1.f + e); }
__device__ __forceinline__ double sigm(double x) { if (x >= 0.0) return 1.0 / (1.0 + exp(-x)); double e = exp(x); return e / (1.0 + e); }
__device__ __forceinline__ bool inf_f(float x) { return fabsf(x) == __int_as_float(0x7f800000); }
__device__ __forceinline__ bool inf_d(double x) { return fabs(x) == __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ float lae(float a, float b) { if (inf_f(a) && a == b) return a; float m = a > b ? a : b; return m + log1pf(expf(-fabsf(a - b))); }
__device__ __forceinline__ double lae(double a, double b) { if (inf_d(a) && a == b) return a; double m = a > b ? a : b; return m + log1p(exp(-fabs(a - b))); }
__device__ __forceinline__ float frem(float a, float b) { float r = fmodf(a, b); if (r != 0 && ((r < 0) != (b < 0))) r += b; return r; }
__device__ __forceinline__ double frem(double a, double b) { double r = fmod(a, b); if (r != 0 && ((r < 0) != (b < 0))) r += b; return r; }
template <typename T> __device__ __forceinline__ T ifdiv(T a, T b) {
  if (b == 0) return 0;
  if ((T)-1 < 0) { if (b == (T)-1) return (T)(-a); T q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) --q; return q; }
  return a / b;
}
template <typename T> __device__ __forceinline__ T irem(T a, T b) {
  if (b == 0) return 0;
  if ((T)-1 < 0) { if (b == (T)-1) return 0; T r = a % b; if (r != 0 && ((r < 0) != (b < 0))) r += b; return r; }
  return a % b;
}
template <typename T, typename U> __device__ __forceinline__ T ipow(T a, T b) {
  if ((T)-1 < 0 && b < 0) return a == 1 ? (T)1 : (a == (T)-1 ? ((b & 1) ? (T)-1 : (T)1) : (T)0);
  U base = (U)a, result = 1;
  for (T e = b; e > 0; e >>= 1) { if (e & 1) result = (U)(result * base); base = (U)(base * base); }
  return (T)result;
}
template <typename T, typename U> __device__ __forceinline__ T ishl(T a, T b) {
  if (b < 0 || b >= (T)(sizeof(T) * 8)) return 0; return (T)((U)a << b);
}
template <typename T> __device__ __forceinline__ T ishr(T a, T b) {
  if (b < 0 || b >= (T)(sizeof(T) * 8)) return a < 0 ? (T)-1 : (T)0; return (T)(a >> b);
}
)";

const char* unsigned_of(Dtype t) {
  switch (size_of(t)) {
    case 1: return "unsigned char";
    case 2: return "unsigned short";
    case 4: return "unsigned int";
    default: return "unsigned long long";
  }
}

// The C expression of one op over its arguments' variables; empty when unsupported.
std::string expression(const std::string& name, const std::vector<std::string>& a,
                       const std::vector<Dtype>& at, Dtype out) {
  const Dtype t = at[0];
  const bool f = is_float_like(t);
  const bool f32 = f && t != Dtype::float64;  // computed in float (halves too)
  const bool sgn = !is_unsigned(t) && t != Dtype::bool_;
  const std::string T = compute_type(t);
  const std::string x = a[0];
  auto fn = [&](const char* base) {
    return std::string(base) + (f32 ? "f(" : "(") + x + ")";
  };
  auto cast = [&](const std::string& e) { return "(" + T + ")(" + e + ")"; };
  if (a.size() == 1) {
    if (name == "AsType") {
      const std::string O = compute_type(out);
      if (out == Dtype::bool_) return "(" + x + " != 0)";
      if (t == Dtype::bool_) return "(" + O + ")(" + x + " ? 1 : 0)";
      if (f && is_unsigned(out) && size_of(out) < 8) return "(" + O + ")(long long)(" + x + ")";
      return "(" + O + ")(" + x + ")";
    }
    if (name == "Abs") return t == Dtype::bool_ || !sgn ? x : "(" + x + " < 0 ? " + cast("-" + x) + " : " + x + ")";
    if (name == "Negative") return cast("-" + x);
    if (name == "Sign") {
      if (t == Dtype::bool_) return x;
      if (!sgn) return cast(x + " != 0");
      return cast("(" + T + ")((" + T + ")0 < " + x + ") - (" + x + " < (" + T + ")0)");
    }
    if (name == "Square") return t == Dtype::bool_ ? x : cast(x + " * " + x);
    if (name == "LogicalNot") return "(!(" + x + " != 0))";
    if (name == "BitwiseInvert") return t == Dtype::bool_ ? "(!" + x + ")" : (f ? "" : cast("~" + x));
    if (name == "IsNan") return f ? "(" + x + " != " + x + ")" : "false";
    if (name == "IsInf") return f ? std::string(f32 ? "inf_f(" : "inf_d(") + x + ")" : "false";
    if (name == "Floor" || name == "Ceil" || name == "Round") {
      if (!f) return x;
      return fn(name == "Floor" ? "floor" : name == "Ceil" ? "ceil" : "rint");
    }
    if (!f) return "";
    if (name == "Sqrt") return fn("sqrt");
    if (name == "Rsqrt") return f32 ? "rsqrtf(" + x + ")" : "(1.0 / sqrt(" + x + "))";
    if (name == "Reciprocal") return "((" + T + ")1 / " + x + ")";
    if (name == "Sigmoid") return "sigm(" + x + ")";
    static const std::map<std::string, const char*> math = {
        {"Exp", "exp"},     {"Expm1", "expm1"}, {"Log", "log"},       {"Log1p", "log1p"},
        {"Log2", "log2"},   {"Log10", "log10"}, {"Sin", "sin"},       {"Cos", "cos"},
        {"Tan", "tan"},     {"ArcSin", "asin"}, {"ArcCos", "acos"},   {"ArcTan", "atan"},
        {"Sinh", "sinh"},   {"Cosh", "cosh"},   {"Tanh", "tanh"},     {"ArcSinh", "asinh"},
        {"ArcCosh", "acosh"}, {"ArcTanh", "atanh"}, {"Erf", "erf"},   {"ErfInv", "erfinv"}};
    auto it = math.find(name);
    return it == math.end() ? "" : fn(it->second);
  }
  if (a.size() == 3) {
    if (name == "Select") return "(" + a[0] + " ? " + a[1] + " : " + a[2] + ")";
    return "";
  }
  const std::string y = a[1];
  const bool b = t == Dtype::bool_;
  const std::string U = unsigned_of(t);
  const std::string S = storage_type(t);
  if (name == "Add") return b ? "(" + x + " || " + y + ")" : cast(x + " + " + y);
  if (name == "Subtract") return b ? "" : cast(x + " - " + y);
  if (name == "Multiply") return b ? "(" + x + " && " + y + ")" : cast(x + " * " + y);
  if (name == "Divide") return f ? "(" + x + " / " + y + ")" : "";
  if (name == "Maximum") {
    if (b) return "(" + x + " || " + y + ")";
    return f ? "((" + x + " > " + y + " || " + x + " != " + x + ") ? " + x + " : " + y + ")"
             : "(" + x + " > " + y + " ? " + x + " : " + y + ")";
  }
  if (name == "Minimum") {
    if (b) return "(" + x + " && " + y + ")";
    return f ? "((" + x + " < " + y + " || " + x + " != " + x + ") ? " + x + " : " + y + ")"
             : "(" + x + " < " + y + " ? " + x + " : " + y + ")";
  }
  if (name == "Equal") return "(" + x + " == " + y + ")";
  if (name == "NotEqual") return "(" + x + " != " + y + ")";
  if (name == "Less") return "(" + x + " < " + y + ")";
  if (name == "LessEqual") return "(" + x + " <= " + y + ")";
  if (name == "Greater") return "(" + x + " > " + y + ")";
  if (name == "GreaterEqual") return "(" + x + " >= " + y + ")";
  if (name == "LogicalAnd") return "((" + x + " != 0) && (" + y + " != 0))";
  if (name == "LogicalOr") return "((" + x + " != 0) || (" + y + " != 0))";
  if (f) {
    if (name == "Power") return std::string(f32 ? "powf(" : "pow(") + x + ", " + y + ")";
    if (name == "ArcTan2") return std::string(f32 ? "atan2f(" : "atan2(") + x + ", " + y + ")";
    if (name == "LogAddExp") return "lae(" + x + ", " + y + ")";
    if (name == "FloorDivide") return std::string(f32 ? "floorf(" : "floor(") + x + " / " + y + ")";
    if (name == "Remainder") return "frem(" + x + ", " + y + ")";
    return "";
  }
  if (name == "BitwiseAnd") return cast(x + " & " + y);
  if (name == "BitwiseOr") return cast(x + " | " + y);
  if (name == "BitwiseXor") return cast(x + " ^ " + y);
  if (b) return "";
  if (name == "Power") return "ipow<" + S + ", " + U + ">(" + x + ", " + y + ")";
  if (name == "FloorDivide") return "ifdiv<" + S + ">(" + x + ", " + y + ")";
  if (name == "Remainder") return "irem<" + S + ">(" + x + ", " + y + ")";
  if (name == "LeftShift") return "ishl<" + S + ", " + U + ">(" + x + ", " + y + ")";
  if (name == "RightShift") return "ishr<" + S + ">(" + x + ", " + y + ")";
  return "";
}

// A stored value `e` of dtype t as the chain computes with it.
std::string convert_expr(Dtype t, const std::string& e) {
  if (t == Dtype::float16) return "h2f(" + e + ")";
  if (t == Dtype::bfloat16) return "b2f(" + e + ")";
  return e;
}
std::string load_expr(Dtype t, const std::string& ptr, const std::string& index) {
  return convert_expr(t, "((const " + std::string(storage_type(t)) + "*)" + ptr + ")[" + index + "]");
}
std::string store_expr(Dtype t, const std::string& v) {
  if (t == Dtype::float16) return "f2h(" + v + ")";
  if (t == Dtype::bfloat16) return "f2b(" + v + ")";
  return "(" + std::string(storage_type(t)) + ")(" + v + ")";
}

}  // namespace

std::string fused_source(const detail::FusedGraph& g, const std::vector<InputKind>& kinds,
                         Dtype out_dtype) {
  if (!storage_type(out_dtype)) return "";
  for (Dtype t : g.input_dtypes) {
    if (!storage_type(t)) return "";
  }
  if (g.input_dtypes.size() > size_t(kMaxFusedInputs)) return "";
  // Inputs: v0..v{n-1}; op k: v{n + k}. `vec`: dense inputs come from the registers w{k}
  // (four consecutive elements, loaded at once), element j of each.
  const int n_in = g.num_inputs();
  bool any_strided = false;
  for (auto k : kinds) any_strided |= k == InputKind::strided;
  auto emit = [&](bool vec) -> std::string {
    std::ostringstream body;
    if (any_strided) {
      body << "      long long rest = i; long long idx[8];\n"
              "      for (int d = p.ndim - 1; d >= 0; --d) { long long q = rest / p.shape[d]; "
              "idx[d] = rest - q * p.shape[d]; rest = q; }\n";
    }
    std::vector<Dtype> dtype_of_value(g.input_dtypes);
    for (int k = 0; k < n_in; ++k) {
      const Dtype t = g.input_dtypes[size_t(k)];
      std::string value;
      if (kinds[size_t(k)] == InputKind::scalar) {
        value = load_expr(t, "p.in[" + std::to_string(k) + "]", "0");
      } else if (kinds[size_t(k)] == InputKind::strided) {
        body << "      long long o" << k << " = 0; for (int d = 0; d < p.ndim; ++d) o" << k
             << " += idx[d] * p.strides[" << k << "][d];\n";
        value = load_expr(t, "p.in[" + std::to_string(k) + "]", "o" + std::to_string(k));
      } else if (vec) {
        value = convert_expr(t, "w" + std::to_string(k) + ".x[j]");
      } else {
        value = load_expr(t, "p.in[" + std::to_string(k) + "]", "i");
      }
      body << "      const " << compute_type(t) << " v" << k << " = " << value << ";\n";
    }
    for (size_t k = 0; k < g.ops.size(); ++k) {
      const auto& op = g.ops[k];
      std::vector<std::string> args;
      std::vector<Dtype> arg_types;
      for (int a : op.args) {
        args.push_back("v" + std::to_string(a));
        arg_types.push_back(dtype_of_value[size_t(a)]);
      }
      if (!storage_type(op.dtype)) return "";
      std::string e = expression(op.primitive->name(), args, arg_types, op.dtype);
      if (e.empty()) return "";
      if (op.dtype == Dtype::float16) e = "rh(" + e + ")";
      if (op.dtype == Dtype::bfloat16) e = "rb(" + e + ")";
      body << "      const " << compute_type(op.dtype) << " v" << (n_in + int(k)) << " = " << e
           << ";\n";
      dtype_of_value.push_back(op.dtype);
    }
    return body.str();
  };
  const std::string body = emit(false);
  if (body.empty()) return "";
  const std::string last = "v" + std::to_string(n_in + int(g.ops.size()) - 1);
  std::ostringstream src;
  src << kPreamble;
  if (!g.reduce) {
    src << "extern \"C\" __global__ void ember_fused(const Params p) {\n"
           "  for (long long base = (long long)blockIdx.x * 1024 + threadIdx.x; base < p.n;\n"
           "       base += (long long)gridDim.x * 1024) {\n"
           "#pragma unroll\n"
           "    for (int j = 0; j < 4; ++j) {\n"
           "      const long long i = base + j * 256;\n"
           "      if (i >= p.n) break;\n"
        << body << "      ((" << storage_type(out_dtype) << "*)p.out)[i] = "
        << store_expr(out_dtype, last) << ";\n    }\n  }\n}\n";
    if (!any_strided) {
      // Four consecutive elements per thread, read and written with one vector access each
      // (launch_fused uses it when the pointers are aligned); the last n % 4 elements are the
      // first block's.
      const std::string So = storage_type(out_dtype);
      src << "extern \"C\" __global__ void ember_fused_vec(const Params p) {\n"
             "  const long long groups = p.n >> 2;\n"
             "  for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < groups;\n"
             "       g += (long long)gridDim.x * blockDim.x) {\n";
      for (int k = 0; k < n_in; ++k) {
        if (kinds[size_t(k)] != InputKind::dense) continue;
        const std::string S = storage_type(g.input_dtypes[size_t(k)]);
        src << "    const Vec4<" << S << "> w" << k << " = ((const Vec4<" << S << ">*)p.in[" << k
            << "])[g];\n";
      }
      src << "    Vec4<" << So << "> r;\n"
             "#pragma unroll\n"
             "    for (int j = 0; j < 4; ++j) {\n"
          << emit(true) << "      r.x[j] = " << store_expr(out_dtype, last) << ";\n    }\n"
          << "    ((Vec4<" << So << ">*)p.out)[g] = r;\n  }\n"
             "  const long long i = (groups << 2) + threadIdx.x;\n"
             "  if (blockIdx.x == 0 && i < p.n) {\n"
          << body << "      ((" << So << "*)p.out)[i] = " << store_expr(out_dtype, last)
          << ";\n  }\n}\n";
    }
  } else {
    // Block (r, b) sums segment b of row r (seg_len elements), accumulated in double; with one
    // segment per row it stores the row's result, else its partial sum, which
    // ember_fused_combine adds up per row in segment order.
    src << "extern \"C\" __global__ void ember_fused(const Params p) {\n"
           "  __shared__ double part[32];\n"
           "  const long long r = blockIdx.x;\n"
           "  const long long j0 = (long long)blockIdx.y * p.seg_len;\n"
           "  const long long j1 = j0 + p.seg_len < p.row ? j0 + p.seg_len : p.row;\n"
           "  double acc = 0.0;\n"
           "  for (long long j = j0 + threadIdx.x; j < j1; j += blockDim.x) {\n"
           "    const long long i = r * p.row + j;\n"
           "    {\n"
        << body << "      acc += (double)" << last << ";\n    }\n  }\n"
        << "  for (int d = 16; d > 0; d >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, d);\n"
           "  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = acc;\n"
           "  __syncthreads();\n"
           "  if (threadIdx.x < 32) {\n"
           "    acc = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0.0;\n"
           "    for (int d = 16; d > 0; d >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, d);\n"
           "    if (threadIdx.x == 0) {\n"
           "      if (gridDim.y == 1) ((" << storage_type(out_dtype) << "*)p.out)[r] = "
        << store_expr(out_dtype, "acc") << ";\n"
           "      else ((double*)p.part)[r * gridDim.y + blockIdx.y] = acc;\n"
           "    }\n  }\n}\n"
           "extern \"C\" __global__ void ember_fused_combine(const Params p, int segments) {\n"
           "  for (long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x; r < p.n;\n"
           "       r += (long long)gridDim.x * blockDim.x) {\n"
           "    double acc = 0.0;\n"
           "    for (int b = 0; b < segments; ++b) acc += ((const double*)p.part)[r * segments + b];\n"
           "    ((" << storage_type(out_dtype) << "*)p.out)[r] = " << store_expr(out_dtype, "acc")
        << ";\n  }\n}\n";
  }
  return src.str();
}

// ---- compile and cache ----
namespace {
struct Compiled {
  cudaLibrary_t library = nullptr;
  cudaKernel_t kernel = nullptr;
  cudaKernel_t combine = nullptr;  // sources with a trailing sum only
  cudaKernel_t vec = nullptr;      // elementwise sources without strided inputs only
  std::string error;  // non-empty: this source failed once; don't retry
};
std::mutex& cache_mu() {
  static std::mutex* m = new std::mutex();
  return *m;
}
std::map<std::pair<int, std::string>, Compiled>& cache() {
  static auto* c = new std::map<std::pair<int, std::string>, Compiled>();
  return *c;
}

Compiled build(const std::string& src, int device) {
  Compiled c;
  Nvrtc& r = nvrtc();
  cudaDeviceProp prop;
  EMBER_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  const std::string arch = msg("--gpu-architecture=sm_", prop.major, prop.minor);
  nvrtcProgram prog = nullptr;
  if (r.create(&prog, src.c_str(), "ember_fused.cu", 0, nullptr, nullptr) != 0) {
    c.error = "nvrtcCreateProgram failed";
    return c;
  }
  const char* opts[] = {arch.c_str(), "--std=c++17", "-default-device"};
  const nvrtcResult rc = r.compile(prog, 3, opts);
  if (rc != 0) {
    size_t n = 0;
    r.log_size(prog, &n);
    std::string log(n, '\0');
    if (n) r.log(prog, log.data());
    c.error = "NVRTC: " + log;
    r.destroy(&prog);
    return c;
  }
  size_t n = 0;
  r.cubin_size(prog, &n);
  std::string bin(n, '\0');
  r.cubin(prog, bin.data());
  r.destroy(&prog);
  set_device(device);
  if (cudaLibraryLoadData(&c.library, bin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0) != cudaSuccess ||
      cudaLibraryGetKernel(&c.kernel, c.library, "ember_fused") != cudaSuccess ||
      (src.find("ember_fused_combine") != std::string::npos &&
       cudaLibraryGetKernel(&c.combine, c.library, "ember_fused_combine") != cudaSuccess) ||
      (src.find("ember_fused_vec") != std::string::npos &&
       cudaLibraryGetKernel(&c.vec, c.library, "ember_fused_vec") != cudaSuccess)) {
    (void)cudaGetLastError();
    c.error = "loading the generated kernel failed";
  }
  return c;
}
}  // namespace

bool fused_available() { return nvrtc().ok && std::getenv("EMBER_DISABLE_JIT") == nullptr; }

bool launch_fused(const std::string& src, const FusedParams& params, bool reduce, bool aligned,
                  const Stream& s) {
  const int device = s.device.index;
  cudaKernel_t kernel = nullptr, combine = nullptr, vec = nullptr;
  {
    std::lock_guard<std::mutex> lock(cache_mu());
    auto key = std::make_pair(device, src);
    auto it = cache().find(key);
    if (it == cache().end()) {
      it = cache().emplace(key, build(src, device)).first;
      // EMBER_FUSED_LOG=1: why a generated kernel was not used (the chain then runs op by op).
      static const bool log = std::getenv("EMBER_FUSED_LOG") != nullptr;
      if (log && !it->second.error.empty()) {
        std::fprintf(stderr, "[ember fused] %s\n--- source ---\n%s\n", it->second.error.c_str(),
                     src.c_str());
      }
    }
    if (!it->second.error.empty()) return false;
    kernel = it->second.kernel;
    combine = it->second.combine;
    vec = it->second.vec;
  }
  cudaStream_t cs = stream_of(s);
  FusedParams p = params;
  void* args[] = {&p};
  if (!reduce && vec && aligned) {
    EMBER_CUDA_CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(vec),
                                      dim3(blocks_for(p.n / 4, 256, 1 << 20)), dim3(256), args, 0, cs));
    return true;
  }
  if (!reduce) {
    EMBER_CUDA_CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(kernel),
                                      dim3(blocks_for(p.n, 1024, 1 << 20)), dim3(256), args, 0, cs));
    return true;
  }
  if (p.n > 0x7fffffffLL) throw std::invalid_argument("[compile] Too many rows for one GPU kernel.");
  // Rows alone would leave most of the GPU idle: split each into segments of >= 8192 elements.
  long long segments = 1;
  const long long want = 4LL * sm_count();
  if (p.n < want && p.row >= 16384 && combine) {
    segments = std::min<long long>({(want + p.n - 1) / p.n, (p.row + 8191) / 8192, 65535});
  }
  p.seg_len = (p.row + segments - 1) / segments;
  segments = p.row == 0 ? 1 : (p.row + p.seg_len - 1) / p.seg_len;
  std::optional<Scratch> part;
  if (segments > 1) {
    part.emplace(size_t(p.n * segments) * sizeof(double), s);
    p.part = part->get();
  }
  EMBER_CUDA_CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(kernel),
                                    dim3(unsigned(p.n), unsigned(segments)), dim3(256), args, 0, cs));
  if (segments > 1) {
    int segs = int(segments);
    void* cargs[] = {&p, &segs};
    EMBER_CUDA_CHECK(cudaLaunchKernel(reinterpret_cast<const void*>(combine),
                                      dim3(blocks_for(p.n, 256, 1 << 16)), dim3(256), cargs, 0, cs));
  }
  return true;
}

}  // namespace ember::cuda
