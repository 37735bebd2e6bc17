// Buffers and their allocation, with a cache of freed blocks reused so that large elementwise
// ops do not pay page faults (or, on a GPU, cudaMalloc) on every call. Thread-safe. Memory
// statistics for users: active, peak, cache, limits.
//
// Where data lives. A buffer has a home: host memory, or the memory of one GPU. An array's
// data is written once, by the kernel of the node that computes it, in the home of that node's
// device (a CPU node writes host memory, a GPU node device memory) and never changes after
// (views share the buffer; no kernel writes into an input). So when the other side needs it
// (a host read of GPU data: numpy, item, printing, a CPU kernel; a GPU kernel reading an
// array built from numpy or computed on the CPU) a copy made once stays valid for the life of
// the buffer: the buffer's *mirror*. data() is always a host pointer (making the host mirror
// of a GPU buffer on first use, after the work that writes it); GPU kernels ask the backend
// for device pointers (backend/gpu/gpu.h: device_ptr).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ember/api.h"

namespace ember {

struct Stream;

class EMBER_API Buffer {
 public:
  /// nbytes of host memory.
  explicit Buffer(size_t nbytes);
  /// nbytes in the home of stream `s`'s device, written by work queued on `s`.
  Buffer(size_t nbytes, const Stream& s);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  /// Host pointer to the data. For a GPU buffer: its host mirror, made on first use (this
  /// waits for the work queued on the buffer's stream, then copies the bytes once).
  void* data() const {
    if (device_ < 0) return ptr_;
    void* m = mirror_.load(std::memory_order_acquire);
    return m ? m : host_mirror();
  }
  size_t nbytes() const { return nbytes_; }
  /// -1 for host memory, else the index of the GPU whose memory holds the data.
  int device() const { return device_; }
  /// For a GPU buffer: the index of the stream whose work writes it.
  int stream_index() const { return stream_; }

  // ---- for GPU backends (backend/<name>/): the home pointer, and the mirror slot, which
  // holds a host copy of a GPU buffer or a device copy of a host buffer ----
  void* home() const { return ptr_; }
  void* mirror() const { return mirror_.load(std::memory_order_acquire); }
  /// Publishes a mirror made by the backend (once; the caller holds the backend's lock): a
  /// host block (detail::allocate_host_block) for a GPU buffer, a device block
  /// (detail::allocate_device_mirror) made by work on `stream` of GPU `device` for a host
  /// buffer. The buffer frees it.
  void set_mirror(void* p, size_t capacity, int stream, int device) const;
  /// The stream that made the device mirror of a host buffer (other streams wait for it).
  int mirror_stream() const { return mirror_stream_; }

 private:
  void* host_mirror() const;
  void* ptr_;
  size_t nbytes_;
  size_t capacity_;
  int device_ = -1;
  int stream_ = -1;
  mutable std::atomic<void*> mirror_{nullptr};
  mutable size_t mirror_capacity_ = 0;
  mutable int mirror_stream_ = -1;
  mutable int mirror_device_ = -1;
};

using BufferPtr = std::shared_ptr<Buffer>;
inline BufferPtr allocate(size_t nbytes) { return std::make_shared<Buffer>(nbytes); }
/// A buffer in the home of `s`'s device (host memory for CPU streams).
EMBER_API BufferPtr allocate(size_t nbytes, const Stream& s);

namespace detail {
/// While alive, allocate(nbytes, stream) gives host memory whatever the stream: the GPU
/// backend's host fallback runs CPU kernels for GPU nodes under it.
class EMBER_API HostAllocationScope {
 public:
  HostAllocationScope();
  ~HostAllocationScope();
  HostAllocationScope(const HostAllocationScope&) = delete;
  HostAllocationScope& operator=(const HostAllocationScope&) = delete;

 private:
  bool previous_;
};
/// Host memory for a mirror or a staging copy: counted like any buffer; freed with
/// free_host_block.
EMBER_API void* allocate_host_block(size_t& capacity, size_t nbytes);
EMBER_API void free_host_block(void* p, size_t capacity);
/// GPU memory for the device mirror of a host buffer, made by work on GPU stream `stream`
/// (counted; freed by the buffer).
EMBER_API void* allocate_device_mirror(size_t& capacity, size_t nbytes, int device, int stream);
}  // namespace detail

/// Bytes held by live buffers (host and GPU, mirrors included).
EMBER_API size_t get_active_memory();
/// Highest get_active_memory() since start or reset_peak_memory().
EMBER_API size_t get_peak_memory();
EMBER_API void reset_peak_memory();
/// Bytes kept in the reuse caches (host and GPU).
EMBER_API size_t get_cache_memory();
/// Frees every cached buffer.
EMBER_API void clear_cache();
/// Caps the reuse cache (bytes), freeing cached blocks above it; returns the previous cap.
EMBER_API size_t set_cache_limit(size_t limit);
/// Caps the bytes live buffers may hold (default: 80% of physical memory, plus 90% of the
/// GPUs' memory when a GPU backend has devices); returns the old limit. An allocation past
/// it first empties the caches, then throws std::bad_alloc with a message (Python:
/// MemoryError).
EMBER_API size_t set_memory_limit(size_t limit);
EMBER_API size_t get_memory_limit();
/// The wired-memory limit is a Metal notion; it is recorded and returned, nothing more.
EMBER_API size_t set_wired_limit(size_t limit);

}  // namespace ember
