// CUDA kernel of Matmul: cuBLASLt for float32, float16, bfloat16, float64 and complex64.
// ember's matrices are row-major; cuBLASLt's are column-major, so C = A B is computed as
// C^T = B^T A^T, which reads both operands in place: a row-major matrix is a column-major one
// transposed, and a column-major operand (a transposed view) becomes a transpose flag, never a
// copy. Broadcast batches are batch strides of 0; batch dims that do not merge into one stride
// run as one strided-batched call per leading index. float32 uses full-precision FP32 unless
// EMBER_CUDA_TF32=1 allows TF32 tensor cores. Integer and bool products run on the host.
#include <cublasLt.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "ember/backend/common/strided.h"
#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/cuda.h"
#include "ember/backend/gpu/gpu.h"
#include "ember/errors.h"
#include "ember/primitives/linalg.h"

namespace ember::cuda {

namespace {

// cuBLASLt is loaded when the first product runs (dlopen), so that a CUDA build imports and
// runs where the library is missing (a machine without a GPU, or without the cuda13 extra).
struct Lt {
#define EMBER_LT_FN(name) decltype(&::name) name = nullptr;
  EMBER_LT_FN(cublasLtCreate)
  EMBER_LT_FN(cublasLtMatmulDescCreate)
  EMBER_LT_FN(cublasLtMatmulDescSetAttribute)
  EMBER_LT_FN(cublasLtMatmulDescDestroy)
  EMBER_LT_FN(cublasLtMatrixLayoutCreate)
  EMBER_LT_FN(cublasLtMatrixLayoutSetAttribute)
  EMBER_LT_FN(cublasLtMatrixLayoutDestroy)
  EMBER_LT_FN(cublasLtMatmulPreferenceCreate)
  EMBER_LT_FN(cublasLtMatmulPreferenceSetAttribute)
  EMBER_LT_FN(cublasLtMatmulPreferenceDestroy)
  EMBER_LT_FN(cublasLtMatmulAlgoGetHeuristic)
  EMBER_LT_FN(cublasLtMatmul)
#undef EMBER_LT_FN
  bool ok = false;
  Lt() {
    void* h = nullptr;
    for (const char* name : {"libcublasLt.so.13", "libcublasLt.so"}) {
      if ((h = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    }
    if (!h) return;
    ok = true;
#define EMBER_LT_LOAD(name)                                            \
  name = reinterpret_cast<decltype(name)>(dlsym(h, #name));          \
  ok = ok && name != nullptr;
    EMBER_LT_LOAD(cublasLtCreate)
    EMBER_LT_LOAD(cublasLtMatmulDescCreate)
    EMBER_LT_LOAD(cublasLtMatmulDescSetAttribute)
    EMBER_LT_LOAD(cublasLtMatmulDescDestroy)
    EMBER_LT_LOAD(cublasLtMatrixLayoutCreate)
    EMBER_LT_LOAD(cublasLtMatrixLayoutSetAttribute)
    EMBER_LT_LOAD(cublasLtMatrixLayoutDestroy)
    EMBER_LT_LOAD(cublasLtMatmulPreferenceCreate)
    EMBER_LT_LOAD(cublasLtMatmulPreferenceSetAttribute)
    EMBER_LT_LOAD(cublasLtMatmulPreferenceDestroy)
    EMBER_LT_LOAD(cublasLtMatmulAlgoGetHeuristic)
    EMBER_LT_LOAD(cublasLtMatmul)
#undef EMBER_LT_LOAD
  }
};
const Lt& lt() {
  static const Lt* l = new Lt();
  if (!l->ok) {
    throw std::runtime_error(
        "[matmul] cuBLASLt (libcublasLt.so.13) could not be loaded: install it with "
        "`pip install nvidia-cublas` (the cuda13 extra) or a CUDA toolkit.");
  }
  return *l;
}

void check_blas(cublasStatus_t st, const char* what) {
  if (st == CUBLAS_STATUS_SUCCESS) return;
  if (st == CUBLAS_STATUS_ALLOC_FAILED) throw memory_error(msg("[matmul] cuBLASLt could not allocate (", what, ")."));
  throw std::runtime_error(msg("[matmul] cuBLASLt ", what, " failed with status ", int(st), "."));
}
#define EMBER_BLAS_CHECK(call) check_blas((call), #call)

cublasLtHandle_t handle(int device) {
  static std::mutex mu;
  static std::map<int, cublasLtHandle_t> handles;
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  set_device(device);
  cublasLtHandle_t h;
  EMBER_BLAS_CHECK(lt().cublasLtCreate(&h));
  handles[device] = h;
  return h;
}

// Read at every product, so that a program can switch it (os.environ in Python).
bool tf32_allowed() {
  const char* v = std::getenv("EMBER_CUDA_TF32");
  return v && *v && std::strcmp(v, "0") != 0;
}

// How cuBLAS reads one operand's matrices (rows x cols, element strides sr, sc): row-major
// (ld = sr) or column-major (ld = sc); none for other strides.
struct Layout {
  bool col_major;
  int64_t ld;
};
std::optional<Layout> layout_of(int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
  const int64_t r = std::max<int64_t>(rows, 1), c = std::max<int64_t>(cols, 1);
  const int64_t row_sc = cols <= 1 ? 1 : sc, row_sr = rows <= 1 ? c : sr;
  if (row_sc == 1 && row_sr >= c) return Layout{false, row_sr};
  const int64_t col_sr = rows <= 1 ? 1 : sr, col_sc = cols <= 1 ? r : sc;
  if (col_sr == 1 && col_sc >= r) return Layout{true, col_sc};
  return std::nullopt;
}

int alignment_of(const void* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  int align = 256;
  while (align > 1 && (a % uintptr_t(align)) != 0) align >>= 1;
  return align;
}

struct Types {
  cudaDataType_t data;
  cublasComputeType_t compute;
  cudaDataType_t scale;
};
std::optional<Types> types_of(Dtype t) {
  switch (t) {
    case Dtype::float32:
      return Types{CUDA_R_32F, tf32_allowed() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F};
    case Dtype::float16: return Types{CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F};
    case Dtype::bfloat16: return Types{CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F};
    case Dtype::float64: return Types{CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F};
    case Dtype::complex64: return Types{CUDA_C_32F, CUBLAS_COMPUTE_32F, CUDA_C_32F};
    default: return std::nullopt;
  }
}

// The algorithm cuBLASLt's heuristic picks, cached per problem.
using PlanKey = std::tuple<int, int, int, int64_t, int64_t, int64_t, bool, bool, int64_t, int64_t,
                           int64_t, int64_t, int64_t, int64_t, int, int, int>;
struct Plan {
  cublasLtMatmulAlgo_t algo;
  size_t workspace;
};
std::mutex& plans_mu() {
  static std::mutex m;
  return m;
}
std::map<PlanKey, Plan>& plans() {
  static std::map<PlanKey, Plan> p;
  return p;
}

constexpr size_t kWorkspace = size_t(32) << 20;

struct Desc {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  ~Desc() {
    if (op) lt().cublasLtMatmulDescDestroy(op);
    if (a) lt().cublasLtMatrixLayoutDestroy(a);
    if (b) lt().cublasLtMatrixLayoutDestroy(b);
    if (c) lt().cublasLtMatrixLayoutDestroy(c);
  }
};

void set_batch(cublasLtMatrixLayout_t l, int count, int64_t stride) {
  EMBER_BLAS_CHECK(lt().cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
  EMBER_BLAS_CHECK(lt().cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
}

// One strided-batched product, row-major: C (M x N, ldc = N) = A (M x K) B (K x N), `count`
// times with element strides between batches (0: shared).
void gemm(const Stream& s, Dtype dtype, int64_t M, int64_t N, int64_t K, const void* A, Layout la,
          int64_t stride_a, const void* B, Layout lb, int64_t stride_b, void* C, int64_t stride_c,
          int count) {
  const Types t = *types_of(dtype);
  const int device = s.device.index;
  cublasLtHandle_t h = handle(device);
  cudaStream_t cs = stream_of(s);
  // Column-major view: C^T (N x M) = B^T (N x K) * A^T (K x M).
  // B row-major (K x N, ld) is column-major (N x K) as stored: op N. Column-major B is stored
  // (K x N): op T. Likewise for A with (K x M).
  Desc d;
  const cublasOperation_t op_b = lb.col_major ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = la.col_major ? CUBLAS_OP_T : CUBLAS_OP_N;
  EMBER_BLAS_CHECK(lt().cublasLtMatmulDescCreate(&d.op, t.compute, t.scale));
  EMBER_BLAS_CHECK(lt().cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_b, sizeof(op_b)));
  EMBER_BLAS_CHECK(lt().cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_a, sizeof(op_a)));
  // Stored shapes: first operand (B^T): N x K when op N, K x N when op T.
  EMBER_BLAS_CHECK(lt().cublasLtMatrixLayoutCreate(&d.a, t.data, lb.col_major ? K : N, lb.col_major ? N : K, lb.ld));
  EMBER_BLAS_CHECK(lt().cublasLtMatrixLayoutCreate(&d.b, t.data, la.col_major ? M : K, la.col_major ? K : M, la.ld));
  EMBER_BLAS_CHECK(lt().cublasLtMatrixLayoutCreate(&d.c, t.data, N, M, N));
  if (count > 1) {
    set_batch(d.a, count, stride_b);
    set_batch(d.b, count, stride_a);
    set_batch(d.c, count, stride_c);
  }
  const PlanKey key{device, int(dtype), int(t.compute), M, N, K, la.col_major, lb.col_major, la.ld, lb.ld,
                    stride_a, stride_b, stride_c, count, alignment_of(A), alignment_of(B),
                    alignment_of(C)};
  Plan plan;
  bool have = false;
  {
    std::lock_guard<std::mutex> lock(plans_mu());
    auto it = plans().find(key);
    if (it != plans().end()) {
      plan = it->second;
      have = true;
    }
  }
  if (!have) {
    cublasLtMatmulPreference_t pref;
    EMBER_BLAS_CHECK(lt().cublasLtMatmulPreferenceCreate(&pref));
    size_t ws = kWorkspace;
    EMBER_BLAS_CHECK(lt().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    uint32_t al_b = uint32_t(alignment_of(B)), al_a = uint32_t(alignment_of(A)), al_c = uint32_t(alignment_of(C));
    lt().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_b, sizeof(al_b));
    lt().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_a, sizeof(al_a));
    lt().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof(al_c));
    lt().cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, sizeof(al_c));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    cublasStatus_t st = lt().cublasLtMatmulAlgoGetHeuristic(h, d.op, d.a, d.b, d.c, d.c, pref, 1, &result, &found);
    lt().cublasLtMatmulPreferenceDestroy(pref);
    if (st != CUBLAS_STATUS_SUCCESS || found == 0) {
      throw std::runtime_error(msg("[matmul] cuBLASLt has no algorithm for ", dtype_name(dtype), " (", M,
                                   " x ", K, ") @ (", K, " x ", N, ")."));
    }
    plan = Plan{result.algo, result.workspaceSize};
    std::lock_guard<std::mutex> lock(plans_mu());
    plans()[key] = plan;
  }
  Scratch workspace(std::max<size_t>(plan.workspace, 1), s);
  float one_f = 1.f, zero_f = 0.f;
  double one_d = 1.0, zero_d = 0.0;
  float one_c[2] = {1.f, 0.f}, zero_c[2] = {0.f, 0.f};
  const void* alpha = t.scale == CUDA_R_64F ? static_cast<const void*>(&one_d)
                      : t.scale == CUDA_C_32F ? static_cast<const void*>(one_c) : &one_f;
  const void* beta = t.scale == CUDA_R_64F ? static_cast<const void*>(&zero_d)
                     : t.scale == CUDA_C_32F ? static_cast<const void*>(zero_c) : &zero_f;
  EMBER_BLAS_CHECK(lt().cublasLtMatmul(h, d.op, alpha, B, d.a, A, d.b, beta, C, d.c, C, d.c, &plan.algo,
                                  workspace.get(), plan.workspace, cs));
}

}  // namespace

}  // namespace ember::cuda

namespace ember {

using namespace ember::cuda;

void Matmul::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& a_in = inputs[0];
  const array& b_in = inputs[1];
  if (!types_of(out.dtype())) {
    // Integer and bool products: the CPU kernel, on the host.
    std::vector<array> outs{out};
    return gpu::eval_on_host(*this, inputs, outs);
  }
  const Stream s = out.stream();
  void* y = output_ptr(out);
  if (out.size() == 0) return;
  const int64_t M = out.shape(-2), N = out.shape(-1), K = a_in.shape(-1);
  const size_t item = out.itemsize();
  cudaStream_t cs = stream_of(s);
  if (K == 0) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(y, 0, out.nbytes(), cs));
    return;
  }
  auto matrix_layout = [&](const array& x, int64_t r, int64_t c) {
    return layout_of(r, c, x.strides()[x.ndim() - 2], x.strides()[x.ndim() - 1]);
  };
  array a = a_in, b = b_in;
  auto la = matrix_layout(a, M, K);
  if (!la) {
    a = contiguous_copy(a_in, s);
    la = matrix_layout(a, M, K);
  }
  auto lb = matrix_layout(b, K, N);
  if (!lb) {
    b = contiguous_copy(b_in, s);
    lb = matrix_layout(b, K, N);
  }
  // Batch strides of each operand over the output's batch dims (0 where broadcast), merged.
  Shape batch(out.shape().begin(), out.shape().end() - 2);
  auto batch_strides = [&](const array& x) {
    const int nb = int(batch.size()), xb = x.ndim() - 2;
    Strides st(nb, 0);
    for (int d = 0; d < xb; ++d) {
      if (x.shape(d) != 1) st[nb - xb + d] = x.strides()[d];
    }
    return st;
  };
  Strides sa = batch_strides(a), sb = batch_strides(b), sc = row_major_strides(out.shape());
  sc.resize(batch.size());
  auto L = detail::collapse<3>(batch, {&sa, &sb, &sc});
  // The last merged batch dim is one strided-batched call; the others loop here.
  const int nd = int(L.shape.size());
  const int64_t count = L.shape[nd - 1];
  if (count > INT32_MAX) throw std::invalid_argument("[matmul] Batch too large for cuBLASLt.");
  int64_t outer = 1;
  for (int i = 0; i + 1 < nd; ++i) outer *= L.shape[i];
  const char* pa = static_cast<const char*>(input_ptr(a, s));
  const char* pb = static_cast<const char*>(input_ptr(b, s));
  char* pc = static_cast<char*>(y);
  std::vector<int64_t> idx(size_t(std::max(nd - 1, 0)), 0);
  for (int64_t o = 0; o < outer; ++o) {
    int64_t oa = 0, ob = 0, oc = 0;
    for (int i = 0; i + 1 < nd; ++i) {
      oa += idx[i] * L.strides[0][i];
      ob += idx[i] * L.strides[1][i];
      oc += idx[i] * L.strides[2][i];
    }
    const int64_t sa_b = L.strides[0][nd - 1], sb_b = L.strides[1][nd - 1], sc_b = L.strides[2][nd - 1];
    const char *a0 = pa + oa * int64_t(item), *b0 = pb + ob * int64_t(item);
    char* c0 = pc + oc * int64_t(item);
    if (count == 1 || (sa_b != 0 && sb_b != 0)) {
      gemm(s, out.dtype(), M, N, K, a0, *la, sa_b, b0, *lb, sb_b, c0, sc_b, int(count));
    } else if (sb_b == 0 && !la->col_major && sa_b == M * la->ld && sc_b == M * N) {
      // One shared B under a batch of row-major A (x @ W): one product of count * M rows.
      gemm(s, out.dtype(), count * M, N, K, a0, *la, 0, b0, *lb, 0, c0, 0, 1);
    } else {
      // A shared operand otherwise: one product per batch (no reliance on a stride of 0).
      for (int64_t i = 0; i < count; ++i) {
        gemm(s, out.dtype(), M, N, K, a0 + i * sa_b * int64_t(item), *la, 0,
             b0 + i * sb_b * int64_t(item), *lb, 0, c0 + i * sc_b * int64_t(item), 0, 1);
      }
    }
    for (int i = nd - 2; i >= 0; --i) {
      if (++idx[i] < L.shape[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace ember
