// Buffer allocation with a cache of freed buffers, reused so that large elementwise ops do
// not pay page faults on every call. The cache holds at most the limit, and at most the peak
// memory the program ever had live (or 64 MiB); older blocks are freed first. Thread-safe.
// Memory statistics for users: active, peak, cache.
#pragma once

#include <cstddef>
#include <memory>

#include "ember/api.h"

namespace ember {

/// A block of bytes owned by the allocator; freed (or cached) on destruction.
class EMBER_API Buffer {
 public:
  explicit Buffer(size_t nbytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() const { return ptr_; }
  size_t nbytes() const { return nbytes_; }

 private:
  void* ptr_;
  size_t nbytes_;
  size_t capacity_;
};

using BufferPtr = std::shared_ptr<Buffer>;
inline BufferPtr allocate(size_t nbytes) { return std::make_shared<Buffer>(nbytes); }

/// Bytes held by live buffers.
EMBER_API size_t get_active_memory();
/// Highest get_active_memory() since start or reset_peak_memory().
EMBER_API size_t get_peak_memory();
EMBER_API void reset_peak_memory();
/// Bytes kept in the reuse cache.
EMBER_API size_t get_cache_memory();
/// Frees every cached buffer.
EMBER_API void clear_cache();
/// Caps the reuse cache (bytes), freeing cached blocks above it; returns the previous cap.
EMBER_API size_t set_cache_limit(size_t limit);
/// Caps the bytes live buffers may hold (default: 80% of physical memory); returns the old
/// limit. An allocation past it first empties the cache, then throws std::bad_alloc with a
/// message (Python: MemoryError).
EMBER_API size_t set_memory_limit(size_t limit);
EMBER_API size_t get_memory_limit();
/// The wired-memory limit is a Metal notion; it is recorded and returned, nothing more.
EMBER_API size_t set_wired_limit(size_t limit);

}  // namespace ember
