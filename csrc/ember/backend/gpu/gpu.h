// What a GPU backend (backend/cuda/, later backend/metal/) provides to the device-independent
// engine. A CPU-only build links backend/no_gpu/, which reports no device and refuses the rest;
// CMake picks exactly one implementation (EMBER_CUDA=ON: backend/cuda/).
//
// Kernels themselves are Primitive::eval_gpu overrides (declared with EMBER_GPU_KERNEL in the
// primitive's header, defined in the backend's family files, backend/cuda/<family>.cu); a
// primitive without one runs its CPU kernel on the host through eval_on_host below. Buffers of
// GPU nodes come from the backend's allocator (allocator.h says where data lives).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "ember/api.h"
#include "ember/device.h"
#include "ember/dtype.h"
#include "ember/shape.h"

namespace ember {
class array;
class Buffer;
class Primitive;
}  // namespace ember

namespace ember::gpu {

// ---- devices and streams ----
/// True when a GPU backend is built in and at least one device is present.
EMBER_API bool is_available();
/// Number of GPUs visible to the backend (0 without one).
EMBER_API int device_count();
/// Facts about GPU `index` (name, architecture, memory size), as key/value text.
EMBER_API std::vector<std::pair<std::string, std::string>> device_info(int index);
/// Creates the backend's queue for a new stream on a GPU device.
EMBER_API void new_stream(const Stream& s);
/// Waits until the work enqueued on GPU stream `s` has finished. An error a kernel reported
/// (an out-of-bounds index found on the device) marks the results it spoiled: the failing
/// op's output and what was computed from it; reading one raises the error (IndexError).
EMBER_API void synchronize(const Stream& s);
/// synchronize() for every GPU stream.
EMBER_API void synchronize_all();
/// Raises the error of a result a kernel's error spoiled (see synchronize), if `a` is one.
EMBER_API void check_result(const array& a);
/// The backend's name ("cuda", "metal") or "" without one.
EMBER_API const char* backend_name();

// ---- the scheduler's hooks ----
/// Called after the kernels of a node on GPU stream `s` are queued. Device memory is stream
/// ordered: a freed block goes back to the cache of the stream that made it and is reused only
/// by later work of that stream, which runs after every kernel queued so far. So the backend
/// keeps alive (until the device has finished with them) only the buffers of `inputs` and
/// `outputs` that belong to another stream or to the host; a queued kernel never sees its
/// memory reused under it.
EMBER_API void retain(const Stream& s, const std::vector<array>& inputs,
                      const std::vector<array>& outputs);
/// The host fallback for a primitive without a GPU kernel (Primitive::eval_gpu's default):
/// runs its CPU kernel on the host, reading host copies of its inputs (made once, see
/// allocator.h) and writing host memory, which GPU kernels then copy to the device on first use.
EMBER_API void eval_on_host(Primitive& p, const std::vector<array>& inputs,
                            std::vector<array>& outputs);

// ---- memory (used by allocator.cpp, which counts every block and applies the limits) ----
/// A block of at least `capacity` bytes (rounded up in place) of GPU `device`'s memory for
/// work of GPU stream `stream`, from that stream's cache or the driver; std::bad_alloc (with
/// a message) if the device has none.
EMBER_API void* alloc(size_t& capacity, int device, int stream);
/// Returns a block made for `stream` to that stream's cache (see retain), or to the driver
/// when the cache would hold more than `cache_bound` bytes with it (older blocks go first).
EMBER_API void free(void* p, size_t capacity, int device, int stream, size_t cache_bound);
/// Bytes in the backend's cache; trim_cache gives blocks back to the driver until it holds at
/// most `bound`, clear_cache all of them.
EMBER_API size_t cached_bytes();
EMBER_API void trim_cache(size_t bound);
EMBER_API void clear_cache();
/// Total memory of all GPUs (bytes), for the default memory limit.
EMBER_API size_t total_memory();
/// A new evaluated array on GPU `device` holding a copy of another library's device memory
/// (`src`: row-major data of `shape` and `dtype`, ready on the device); the copy is finished
/// when this returns. For DLPack imports.
EMBER_API array copy_from_device(const void* src, const Shape& shape, Dtype dtype, int device);

/// Copies the data of GPU buffer `b` into host memory (after the work queued on its stream)
/// and publishes it as b's mirror; returns it.
EMBER_API void* make_host_mirror(const Buffer& b);

}  // namespace ember::gpu
