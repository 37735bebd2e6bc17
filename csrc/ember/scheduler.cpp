// eval and async_eval: ordering the graph, claiming its nodes, running their kernels.
//
// Each node moves through detail::Status: unscheduled -> claimed -> running -> done.
//
// * Claiming. One walk (an explicit stack, no recursion) visits the unscheduled part of the
//   graph below the outputs and claims each node it finds (unscheduled -> claimed), in
//   post-order, so the list it returns has every input before its users. It stops at nodes
//   that are done, or that another eval has claimed: those are waited for, not repeated, so
//   a subgraph shared by several threads is computed once. Walks are serialized by one short
//   lock (walk_mu): the lock covers the pointer walk alone, never a kernel, and it is what
//   makes waiting deadlock-free (every wait points at a node claimed by an earlier walk, or
//   earlier in the same walk).
// * Running. eval runs its list on the calling thread, which is where work on a CPU stream
//   goes when the caller waits for it anyway (no thread hop). async_eval hands each stream
//   its part of the list, in order, to that stream's worker thread and returns; the caller's
//   Python goes on meanwhile. Before a node runs, each input that is not done yet (claimed by
//   another eval, or on another stream) is waited for on one condition variable, through the
//   blocking hook (array.h; Python's releases the GIL for the wait).
// * Errors. A kernel that throws leaves what was computed in place and puts the nodes its
//   eval had claimed but not computed back to unscheduled. The eval that needs them (the
//   same thread for eval; a later eval, item or synchronize for async_eval) then computes
//   them again and gets the exception itself, on its own thread. Other streams go on.
// * Memory. After a node runs it detaches (drops its primitive and inputs) unless a transform
//   is tracing on the thread that asked, and the list drops its reference, so intermediates
//   are freed as soon as their last user has run.
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "ember/array.h"
#include "ember/backend/gpu/gpu.h"
#include "ember/errors.h"
#include "ember/primitives/primitive.h"

namespace ember {

namespace detail {
void forget_streams();  // device.cpp
}

namespace {

using detail::Status;

std::mutex& walk_mu() {
  static std::mutex* m = new std::mutex();
  return *m;
}

// ---- waiting on nodes ------------------------------------------------------------------
std::mutex& wait_mu() {
  static std::mutex* m = new std::mutex();
  return *m;
}
std::condition_variable& wait_cv() {
  static std::condition_variable* cv = new std::condition_variable();
  return *cv;
}
std::atomic<int> waiters{0};

// Called after a status change that a waiter may be sleeping on. The seq_cst pair (status
// store, waiters load here; waiters increment, status load in wait_while_busy) means either
// the waiter sees the new status or this sees the waiter.
void wake_waiters() {
  if (waiters.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(wait_mu());
    wait_cv().notify_all();
  }
}

bool busy(const array& a) {
  Status s = a.status();
  return s == Status::claimed || s == Status::running;
}

std::atomic<detail::BlockingHook> blocking_hook{nullptr};

// Waits while another eval or stream has `a` claimed or running (through the blocking hook:
// see array.h).
void wait_while_busy(const array& a) {
  if (!busy(a)) return;
  waiters.fetch_add(1, std::memory_order_seq_cst);
  auto wait = [](void* p) {
    const array& a = *static_cast<const array*>(p);
    std::unique_lock<std::mutex> lock(wait_mu());
    wait_cv().wait(lock, [&] { return !busy(a); });
  };
  if (auto hook = blocking_hook.load(std::memory_order_acquire)) {
    hook(wait, const_cast<array*>(&a));
  } else {
    wait(const_cast<array*>(&a));
  }
  waiters.fetch_sub(1, std::memory_order_seq_cst);
}

void set_status(const array& a, Status s);

}  // namespace

namespace detail {
void set_blocking_hook(BlockingHook hook) { blocking_hook.store(hook, std::memory_order_release); }

// The Node's status pointer is private to array; these two are its only writers here.
struct SchedulerAccess {
  static bool claim(const array& a) {
    uint8_t expect = uint8_t(Status::unscheduled);
    return a.node_->status->compare_exchange_strong(expect, uint8_t(Status::claimed),
                                                    std::memory_order_acq_rel);
  }
  static void store(const array& a, Status s) {
    a.node_->status->store(uint8_t(s), std::memory_order_seq_cst);
  }
};
}  // namespace detail

namespace {

void set_status(const array& a, Status s) { detail::SchedulerAccess::store(a, s); }

[[noreturn]] void throw_placeholder() {
  throw std::invalid_argument(
      "[eval] Cannot evaluate a value that depends on a traced input of vmap. "
      "Inside vmap, return arrays instead of reading their values (item, tolist, numpy).");
}

// Claims the unscheduled graph below `outputs` (see the top of the file). `pending` receives
// outputs that others are computing. The caller holds walk_mu.
std::vector<array> claim_graph(const std::vector<array>& outputs, std::vector<array>& pending) {
  std::vector<array> order;
  std::vector<std::pair<array, size_t>> stack;
  auto release_all = [&] {
    for (auto& [a, next] : stack) set_status(a, Status::unscheduled);
    for (auto& a : order) set_status(a, Status::unscheduled);
  };
  for (const auto& root : outputs) {
    if (!root.valid()) continue;
    Status s = root.status();
    if (s == Status::done) continue;
    if (s != Status::unscheduled || !detail::SchedulerAccess::claim(root)) {
      pending.push_back(root);
      continue;
    }
    if (!root.has_primitive()) {
      set_status(root, Status::unscheduled);
      release_all();
      throw_placeholder();
    }
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& ins = node.inputs();
      if (next < ins.size()) {
        const array& child = ins[next++];
        if (child.status() != Status::unscheduled) continue;  // done, or someone's
        if (!child.has_primitive()) {
          release_all();
          throw_placeholder();
        }
        if (detail::SchedulerAccess::claim(child)) stack.emplace_back(child, 0);
        continue;
      }
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return order;
}

// Runs the kernel of claimed node `a` (all its inputs done), for every output of its node.
void run_node(array& a, bool keep_graph) {
  set_status(a, Status::running);
  Primitive& p = a.primitive();
  // Scratch arrays the kernel allocates are named after it in allocation errors.
  struct KernelName {
    const char* previous;
    explicit KernelName(const char* name) : previous(detail::running_kernel()) {
      detail::running_kernel() = name;
    }
    ~KernelName() { detail::running_kernel() = previous; }
  } kernel_name(p.name());
  const bool cpu = a.stream().device.type == DeviceType::cpu;
  if (a.group_id() == a.id()) {
    // A node from make_node: a single-output primitive (no vector of outputs to build).
    if (cpu) {
      p.eval_cpu(a.inputs(), a);
    } else {
      p.eval_gpu(a.inputs(), a);
      gpu::retain(a.stream(), a.inputs(), {a});  // until the device is done with them
    }
    if (!keep_graph) a.detach();
  } else {
    std::vector<array> outs = a.siblings();
    if (cpu) {
      p.eval_cpu_multi(a.inputs(), outs);
    } else {
      p.eval_gpu_multi(a.inputs(), outs);
      gpu::retain(a.stream(), a.inputs(), outs);
    }
    for (auto& o : outs) {
      if (!keep_graph) o.detach();
    }
  }
  set_status(a, Status::done);  // shared by siblings
  wake_waiters();
}

void ensure_done(const array& a);

// Waits for, or computes, the inputs of `a` that are not done yet.
void ready_inputs(const array& a) {
  for (const auto& in : a.inputs()) {
    if (in.status() == Status::done) continue;
    ensure_done(in);
  }
}

// Runs the claimed list in order on this thread. On an error, the nodes not yet computed are
// released (unscheduled) and the error propagates.
void run_list(std::vector<array>& order, bool keep_graph) {
  size_t i = 0;
  try {
    for (; i < order.size(); ++i) {
      array& a = order[i];
      if (a.status() != Status::done) {  // a multi-output sibling may have run it already
        ready_inputs(a);
        run_node(a, keep_graph);
      }
      a = array();
    }
  } catch (...) {
    for (; i < order.size(); ++i) {
      if (order[i].valid() && order[i].status() != Status::done) {
        set_status(order[i], Status::unscheduled);
      }
    }
    wake_waiters();
    throw;
  }
}

bool keep_graph_here() { return detail::tracing_depth() > 0; }

void eval_impl(const std::vector<array>& outputs) {
  std::vector<array> pending;
  std::vector<array> order;
  {
    std::lock_guard<std::mutex> lock(walk_mu());
    order = claim_graph(outputs, pending);
  }
  run_list(order, keep_graph_here());
  for (auto& p : pending) ensure_done(p);
}

// Makes `a` done: waits while someone else has it, and computes it here if nobody does
// (never claimed, or released after an error elsewhere).
void ensure_done(const array& a) {
  while (a.status() != Status::done) {
    wait_while_busy(a);
    if (a.status() == Status::unscheduled) eval_impl({a});
  }
}

// ---- stream workers (async_eval) ------------------------------------------------------
struct Task {
  std::vector<array> nodes;  // this stream's part of one async_eval, in order
  bool keep_graph = false;
};

class Worker {
 public:
  Worker() : thread_([this] { loop(); }) {}
  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void push(Task t) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(t));
      ++queued_;
    }
    cv_.notify_all();
  }

  void wait_idle() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [&] { return queued_ == 0; });
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      Task t = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      try {
        run_list(t.nodes, t.keep_graph);
      } catch (...) {
        // run_list released what it had not computed; whoever needs those nodes computes
        // them and meets the error on its own thread.
      }
      t.nodes.clear();
      lock.lock();
      if (--queued_ == 0) idle_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Task> queue_;
  size_t queued_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the rest is built
};

// The workers by stream index. Users hold a worker through a shared_ptr while they push to
// it or wait on it, so that clear_streams on another thread cannot destroy it under them; the
// last holder's release joins its thread, which first finishes the queue.
struct Workers {
  std::mutex mu;
  std::unordered_map<int, std::shared_ptr<Worker>> by_stream;

  std::shared_ptr<Worker> get(const Stream& s) {
    std::lock_guard<std::mutex> lock(mu);
    auto& w = by_stream[s.index];
    if (!w) w = std::make_shared<Worker>();
    return w;
  }
};

Workers& workers() {
  static Workers* w = new Workers();  // never destroyed: see clear_streams for an orderly stop
  return *w;
}

}  // namespace

void eval(std::vector<array> outputs) {
  eval_impl(outputs);
  for (auto& o : outputs) {
    if (o.valid() && o.stream().device.type == DeviceType::gpu) {
      gpu::synchronize(o.stream());
      gpu::check_result(o);
    }
  }
}

void async_eval(std::vector<array> outputs) {
  // Released after walk_mu (declared first): dropping a worker that clear_streams took out of
  // the map joins it, and its tasks may need walk_mu.
  std::vector<std::shared_ptr<Worker>> used;
  std::vector<array> pending;  // already someone's: nothing to queue
  // The walk and the queueing form one step under walk_mu, so that every stream's queue is
  // in claim order (see the top of the file).
  std::lock_guard<std::mutex> lock(walk_mu());
  std::vector<array> order = claim_graph(outputs, pending);
  if (order.empty()) return;
  bool keep = keep_graph_here();
  std::vector<std::pair<Stream, Task>> parts;
  for (auto& a : order) {
    Stream s = a.stream();
    auto it = std::find_if(parts.begin(), parts.end(), [&](auto& p) { return p.first == s; });
    if (it == parts.end()) {
      parts.push_back({s, Task{{}, keep}});
      it = parts.end() - 1;
    }
    it->second.nodes.push_back(std::move(a));
  }
  for (auto& [s, t] : parts) {
    used.push_back(workers().get(s));
    used.back()->push(std::move(t));
  }
}

void synchronize(const Stream& s) {
  check_stream(s, "synchronize");
  std::shared_ptr<Worker> w;
  {
    auto& ws = workers();
    std::lock_guard<std::mutex> lock(ws.mu);
    auto it = ws.by_stream.find(s.index);
    if (it != ws.by_stream.end()) w = it->second;
  }
  if (w) w->wait_idle();
  if (s.device.type == DeviceType::gpu) gpu::synchronize(s);
}

void synchronize() {
  std::vector<std::shared_ptr<Worker>> all;
  {
    auto& ws = workers();
    std::lock_guard<std::mutex> lock(ws.mu);
    for (auto& [i, w] : ws.by_stream) all.push_back(w);
  }
  for (auto& w : all) w->wait_idle();
  gpu::synchronize_all();
}

void clear_streams() {
  synchronize();
  std::unordered_map<int, std::shared_ptr<Worker>> stopping;
  {
    auto& ws = workers();
    std::lock_guard<std::mutex> lock(ws.mu);
    stopping.swap(ws.by_stream);
  }
  stopping.clear();  // joins the workers nobody else holds now (each finishes its queue)
  detail::forget_streams();
}

}  // namespace ember
