// The worker pool behind parallel_for.
#include "ember/backend/cpu/threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "ember/backend/cpu/blas.h"

namespace ember {
namespace {

thread_local bool in_worker = false;

class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop(); }

  int size() const { return int(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
    for (int i = 1; i < n; ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }

  void run(int chunks, const std::function<void(int)>& task) {
    std::atomic<int> remaining(chunks - 1);
    std::mutex done_mu;
    std::condition_variable done_cv;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int c = 1; c < chunks; ++c) {
        queue_.push_back([&, c] {
          task(c);
          if (remaining.fetch_sub(1) == 1) {
            std::lock_guard<std::mutex> l(done_mu);
            done_cv.notify_one();
          }
        });
      }
    }
    cv_.notify_all();
    task(0);
    std::unique_lock<std::mutex> l(done_mu);
    done_cv.wait(l, [&] { return remaining.load() == 0; });
  }

 private:
  void work() {
    in_worker = true;
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_ && queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

int default_threads() {
  if (const char* env = std::getenv("EMBER_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::mutex pool_mu;
ThreadPool& pool() {
  // Leaked on purpose: joining threads during static destruction can deadlock.
  static ThreadPool* p = new ThreadPool(default_threads());
  return *p;
}

}  // namespace

int get_num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  std::lock_guard<std::mutex> lock(pool_mu);
  pool().resize(n);
  cpu::blas_set_num_threads(n);
}

namespace cpu {

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t max_chunks = (n + grain - 1) / grain;
  int chunks = in_worker ? 1 : int(std::min<int64_t>(max_chunks, pool().size()));
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> lock(pool_mu);  // one parallel region at a time
  int64_t per = (n + chunks - 1) / chunks;
  pool().run(chunks, [&](int c) {
    in_worker = true;
    int64_t b = c * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  });
  in_worker = false;
}

}  // namespace cpu
}  // namespace ember
