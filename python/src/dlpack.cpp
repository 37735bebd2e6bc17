// DLPack for arrays in GPU memory: export without a copy (torch.from_dlpack(x),
// jax.dlpack.from_dlpack, cupy.from_dlpack take ember GPU arrays as they are), and import of
// another library's CUDA arrays (copied into ember's memory). Host arrays go through numpy
// (python/ember/_interop.py).
#include <nanobind/ndarray.h>

#include "bindings.h"
#include "convert.h"
#include "ember/array.h"
#include "ember/backend/gpu/gpu.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

nb::dlpack::dtype dlpack_dtype(Dtype t) {
  using nb::dlpack::dtype_code;
  const uint8_t bits = uint8_t(size_of(t) * 8);
  switch (kind_of(t)) {
    case DtypeKind::boolean: return {uint8_t(dtype_code::Bool), 8, 1};
    case DtypeKind::unsigned_int: return {uint8_t(dtype_code::UInt), bits, 1};
    case DtypeKind::signed_int: return {uint8_t(dtype_code::Int), bits, 1};
    case DtypeKind::complex: return {uint8_t(dtype_code::Complex), bits, 1};
    case DtypeKind::floating:
      return {uint8_t(t == Dtype::bfloat16 ? dtype_code::Bfloat : dtype_code::Float), bits, 1};
  }
  return {uint8_t(dtype_code::Float), 32, 1};
}

Dtype ember_dtype(const nb::dlpack::dtype& d) {
  using nb::dlpack::dtype_code;
  const int bytes = d.bits / 8;
  switch (dtype_code(d.code)) {
    case dtype_code::Bool: return Dtype::bool_;
    case dtype_code::UInt:
      if (bytes == 1) return Dtype::uint8;
      if (bytes == 2) return Dtype::uint16;
      if (bytes == 4) return Dtype::uint32;
      if (bytes == 8) return Dtype::uint64;
      break;
    case dtype_code::Int:
      if (bytes == 1) return Dtype::int8;
      if (bytes == 2) return Dtype::int16;
      if (bytes == 4) return Dtype::int32;
      if (bytes == 8) return Dtype::int64;
      break;
    case dtype_code::Float:
      if (bytes == 2) return Dtype::float16;
      if (bytes == 4) return Dtype::float32;
      if (bytes == 8) return Dtype::float64;
      break;
    case dtype_code::Bfloat:
      if (bytes == 2) return Dtype::bfloat16;
      break;
    case dtype_code::Complex:
      if (bytes == 8) return Dtype::complex64;
      break;
    default: break;
  }
  throw type_error(msg("[from_dlpack] No ember dtype for DLPack type code ", int(d.code), " with ",
                       int(d.bits), " bits."));
}

}  // namespace

void init_dlpack(nb::module_& m) {
  m.def(
      "_gpu_device",
      [](array a) -> int {
        without_gil([&] { a.eval(); });
        const BufferPtr& b = a.buffer();
        return b ? b->device() : -1;
      },
      "a"_a, "The index of the GPU whose memory holds the evaluated array's data, or -1.");
  m.def(
      "_dlpack_gpu",
      [](array a) {
        without_gil([&] {
          a.eval();
          const BufferPtr& b = a.buffer();
          // The data is ready once the stream that writes it has finished its queued work.
          synchronize(Stream(b->stream_index(), Device(DeviceType::gpu, b->device())));
        });
        const BufferPtr& b = a.buffer();
        if (!b || b->device() < 0) {
          throw std::invalid_argument("[__dlpack__] The array is not in GPU memory.");
        }
        auto* keep = new array(a);
        nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<array*>(p); });
        std::vector<size_t> shape(a.shape().begin(), a.shape().end());
        std::vector<int64_t> strides(a.strides().begin(), a.strides().end());
        void* data = static_cast<char*>(b->home()) + a.offset() * int64_t(a.itemsize());
        return nb::ndarray<>(data, size_t(a.ndim()), shape.data(), owner, strides.data(),
                             dlpack_dtype(a.dtype()), nb::device::cuda::value, b->device());
      },
      "a"_a, "A DLPack capsule of a GPU array's memory (no copy).");
  m.def(
      "_from_dlpack_gpu",
      [](nb::ndarray<nb::device::cuda, nb::c_contig> x) {
        Shape shape;
        for (size_t i = 0; i < x.ndim(); ++i) shape.push_back(int64_t(x.shape(i)));
        const Dtype dt = ember_dtype(x.dtype());
        array out;
        without_gil([&] { out = gpu::copy_from_device(x.data(), shape, dt, int(x.device_id())); });
        return out;
      },
      "x"_a, "An ember GPU array holding a copy of a row-contiguous CUDA array.");
}
