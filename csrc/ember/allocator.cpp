// The caching allocator behind Buffer.
#include "ember/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>

#include "ember/errors.h"

namespace ember {

namespace {

constexpr size_t kAlign = 64;
// Small requests are rounded to 64 bytes; large ones to pages, so that a
// cached block fits requests of nearby sizes.
size_t round_capacity(size_t n) {
  if (n <= 4096) return (n + kAlign - 1) & ~(kAlign - 1);
  return (n + 4095) & ~size_t(4095);
}

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // capacity -> block
  size_t cached = 0;
  size_t active = 0;
  size_t peak = 0;
  size_t limit = size_t(4) << 30;

  void drop_all() {
    for (auto& [cap, p] : free_blocks) std::free(p);
    free_blocks.clear();
    cached = 0;
  }
  ~Cache() { drop_all(); }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: buffers may outlive statics
  return *c;
}

}  // namespace

Buffer::Buffer(size_t nbytes) : ptr_(nullptr), nbytes_(nbytes), capacity_(round_capacity(nbytes)) {
  if (capacity_ == 0) capacity_ = kAlign;
  auto& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    // Reuse a cached block of at least the capacity but not more than 2x.
    auto it = c.free_blocks.lower_bound(capacity_);
    if (it != c.free_blocks.end() && it->first <= 2 * capacity_) {
      ptr_ = it->second;
      capacity_ = it->first;
      c.cached -= it->first;
      c.free_blocks.erase(it);
    }
    if (ptr_) {
      c.active += capacity_;
      if (c.active > c.peak) c.peak = c.active;
      return;
    }
  }
  ptr_ = std::aligned_alloc(kAlign, capacity_);
  if (!ptr_) {
    clear_cache();
    ptr_ = std::aligned_alloc(kAlign, capacity_);
  }
  if (!ptr_) {
    throw std::bad_alloc();
  }
  std::lock_guard<std::mutex> lock(c.mu);
  c.active += capacity_;
  if (c.active > c.peak) c.peak = c.active;
}

Buffer::~Buffer() {
  auto& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.active -= capacity_;
  if (c.cached + capacity_ <= c.limit) {
    c.free_blocks.emplace(capacity_, ptr_);
    c.cached += capacity_;
  } else {
    std::free(ptr_);
  }
}

size_t get_active_memory() {
  std::lock_guard<std::mutex> lock(cache().mu);
  return cache().active;
}
size_t get_peak_memory() {
  std::lock_guard<std::mutex> lock(cache().mu);
  return cache().peak;
}
void reset_peak_memory() {
  std::lock_guard<std::mutex> lock(cache().mu);
  cache().peak = cache().active;
}
size_t get_cache_memory() {
  std::lock_guard<std::mutex> lock(cache().mu);
  return cache().cached;
}
void clear_cache() {
  std::lock_guard<std::mutex> lock(cache().mu);
  cache().drop_all();
}
size_t set_cache_limit(size_t limit) {
  std::lock_guard<std::mutex> lock(cache().mu);
  size_t old = cache().limit;
  cache().limit = limit;
  return old;
}

}  // namespace ember
