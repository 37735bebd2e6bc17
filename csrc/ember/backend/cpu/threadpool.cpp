// The worker pool behind parallel_for. One job at a time: the caller publishes it with a new
// epoch, then workers and the caller claim chunks from one atomic ticket until none are left.
// Chunks are claimed, not assigned, so a worker the OS has not scheduled yet (common on a
// busy 2-core machine) costs nothing: the caller takes its share. Idle workers spin briefly
// (ops often come back to back), yielding the core between polls, and then sleep on a
// condition variable.
#include "ember/backend/cpu/threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ember/backend/cpu/blas.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define EMBER_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define EMBER_CPU_RELAX() asm volatile("yield")
#else
#define EMBER_CPU_RELAX() ((void)0)
#endif

namespace ember {
namespace {

// True on pool workers, and on a caller while it runs a job: a parallel_for inside a task
// runs inline instead of waiting on the pool it is part of.
thread_local bool in_parallel = false;

// How long an idle worker polls for the next job before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(50);

class ThreadPool {
 public:
  explicit ThreadPool(int n) { start(n); }

  int size() const { return int(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    start(n);
  }

  /// Runs fn over [0, n) in `chunks` pieces of `per` items. Only one caller at a time (the
  /// caller holds run_mu_).
  void run(const std::function<void(int64_t, int64_t)>& fn, int64_t n, int64_t per, int chunks) {
    fn_ = &fn;
    n_ = n;
    per_ = per;
    done_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    const uint32_t e = epoch_.load(std::memory_order_relaxed) + 1;
    ticket_.store(pack(e, uint32_t(chunks), 0), std::memory_order_release);
    epoch_.store(e, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(sleep_mu_);
      sleep_cv_.notify_all();
    }
    in_parallel = true;
    work(e);
    in_parallel = false;
    // Wait for chunks still running on workers; yield if one of them is slow to finish.
    for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; ++spins) {
      if (spins < 2048) EMBER_CPU_RELAX();
      else std::this_thread::yield();
    }
    if (error_) std::rethrow_exception(error_);
  }

  std::mutex run_mu_;  // held by the one caller whose job the pool runs

 private:
  // ticket = epoch (32 bits) | chunk count (16) | next chunk to claim (16).
  static uint64_t pack(uint32_t epoch, uint32_t chunks, uint32_t next) {
    return (uint64_t(epoch) << 32) | (uint64_t(chunks) << 16) | next;
  }

  // Claims and runs chunks of the job of epoch e until none are left.
  void work(uint32_t e) {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    for (;;) {
      const uint32_t chunks = uint32_t(t >> 16) & 0xffff, c = uint32_t(t) & 0xffff;
      if (uint32_t(t >> 32) != e || c >= chunks) return;
      if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
        continue;  // t now holds the current ticket
      }
      // A claimed chunk keeps the job alive (the caller waits for done_), so its fields hold.
      const int64_t b = int64_t(c) * per_, end = std::min(n_, b + per_);
      if (b < end) {
        try {
          (*fn_)(b, end);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mu_);
          if (!error_) error_ = std::current_exception();
        }
      }
      done_.fetch_add(1, std::memory_order_acq_rel);
      t = ticket_.load(std::memory_order_acquire);
    }
  }

  void worker() {
    in_parallel = true;
    uint32_t seen = epoch_.load(std::memory_order_acquire);
    for (;;) {
      uint32_t e = epoch_.load(std::memory_order_acquire);
      if (e == seen) {
        auto until = std::chrono::steady_clock::now() + kSpin;
        for (int i = 0; e == seen && !stopping_.load(std::memory_order_relaxed); ++i) {
          // Poll hard for a moment, then yield between polls: on a busy machine a waiting
          // worker must not take the core from the thread that will hand it the next job.
          if (i < 256) EMBER_CPU_RELAX();
          else std::this_thread::yield();
          if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) {
            std::unique_lock<std::mutex> lock(sleep_mu_);
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            sleep_cv_.wait(lock, [&] {
              return epoch_.load(std::memory_order_seq_cst) != seen ||
                     stopping_.load(std::memory_order_seq_cst);
            });
            sleepers_.fetch_sub(1, std::memory_order_relaxed);
          }
          e = epoch_.load(std::memory_order_acquire);
        }
        if (stopping_.load(std::memory_order_acquire)) return;
      }
      seen = e;
      work(e);
    }
  }

  void start(int n) {
    stopping_.store(false);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { worker(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(sleep_mu_);
      stopping_.store(true, std::memory_order_seq_cst);
      sleep_cv_.notify_all();
    }
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  // The current job; written by the caller before it publishes the ticket.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, per_ = 0;
  std::exception_ptr error_;
  std::mutex error_mu_;

  std::atomic<uint64_t> ticket_{0};
  std::atomic<uint32_t> epoch_{0};
  std::atomic<int> done_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
};

int default_threads() {
  if (const char* env = std::getenv("EMBER_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

ThreadPool& pool() {
  // Leaked on purpose: joining threads during static destruction can deadlock.
  static ThreadPool* p = new ThreadPool(default_threads());
  return *p;
}

}  // namespace

int get_num_threads() { return pool().size(); }

void set_num_threads(int n) {
  n = std::clamp(n, 1, 1024);
  {
    std::lock_guard<std::mutex> lock(pool().run_mu_);
    pool().resize(n);
  }
  cpu::blas_set_num_threads(n);
}

namespace cpu {

bool in_pool_task() { return in_parallel; }

void parallel_run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = (n + grain - 1) / grain;
  ThreadPool& p = pool();
  if (max_chunks <= 1 || in_parallel) {
    fn(0, n);
    return;
  }
  // Another thread's job holds the pool: running inline beats waiting for it.
  std::unique_lock<std::mutex> lock(p.run_mu_, std::try_to_lock);
  if (!lock.owns_lock() || p.size() <= 1) {
    fn(0, n);
    return;
  }
  // A few chunks per thread, so a late or busy thread's share is picked up by the others.
  const int chunks = int(std::min<int64_t>(max_chunks, int64_t(p.size()) * 4));
  const int64_t per = (n + chunks - 1) / chunks;
  p.run(fn, n, per, int((n + per - 1) / per));
}

}  // namespace cpu
}  // namespace ember
