// The CUDA backend's devices, streams and memory: what backend/gpu/gpu.h asks of a GPU backend,
// and the helpers of cuda.h its kernels use.
//
// * Streams. Each GPU ember stream owns a CUDA stream (non-blocking). Work on one stream runs
//   in order; a kernel reading a buffer that another stream writes first makes its stream wait
//   for an event recorded on the writer's stream (input_ptr), so no node waits on the host.
// * Lifetimes. A kernel is queued, not finished, when its node is "done". Device memory is
//   stream ordered: every block belongs to the stream it was allocated for, and when the
//   program drops it, it goes back to that stream's cache, from which only later work of the
//   same stream takes it; that work runs after every kernel already queued there, so a block
//   is free for reuse at once (a chain of ops runs in the memory of one or two intermediates).
//   Uses by other streams are not ordered that way: the scheduler hands each GPU node's
//   buffers to retain(), which keeps those of other streams and of the host in the stream's
//   pending list; every few nodes an event closes the list, and lists whose event has
//   completed are released. Past a bound on bytes in flight the host waits for the oldest
//   list. synchronize() releases everything of its stream.
// * Memory. Device blocks come from cudaMalloc through size-bucketed caches, one per stream
//   (alloc / free); allocator.cpp counts them and applies the limits (the cache limit covers
//   host and GPU caches together). When cudaMalloc fails, the backend waits for all streams
//   (releasing what they kept), returns its caches to the driver (cudaFree waits for the
//   device) and tries once more before reporting a MemoryError with the size.
// * Mirrors (allocator.h). A host buffer read by a kernel gets a device copy once, made on the
//   reading stream; a GPU buffer read by the host gets a host copy once, after its stream's work.
// * Errors found by kernels (an index out of bounds) are written to a word of pinned host
//   memory per device, checked and cleared at each synchronize, which marks the failing op's
//   output and the results computed from it (followed through each node's logged blocks);
//   reading any of them raises the IndexError, the other results are unaffected.
#include <cuda_runtime.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <string>

#include "ember/allocator.h"
#include "ember/backend/cuda/cuda.h"
#include "ember/backend/gpu/gpu.h"
#include "ember/errors.h"
#include "ember/primitives/primitive.h"

namespace ember::cuda {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  const char* why = cudaGetErrorString(e);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // not sticky: clear it
    throw memory_error(msg("[cuda] Out of GPU memory in ", what, ": ", why));
  }
  throw std::runtime_error(msg("[cuda] ", what, " failed: ", why));
}

void check_launch(const char* kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    throw std::runtime_error(msg("[", kernel, "] CUDA kernel launch failed: ", cudaGetErrorString(e)));
  }
}

namespace {

// ---- devices --------------------------------------------------------------------------
struct Devices {
  int count = 0;
  std::vector<cudaDeviceProp> props;
  std::vector<DeviceErrors*> errors;  // pinned, mapped
  Devices() {
    int n = 0;
    // No driver, no device, a driver too old: a CPU-only machine, not an error.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();
      n = 0;
    }
    props.resize(size_t(n));
    for (int i = 0; i < n; ++i) {
      if (cudaGetDeviceProperties(&props[size_t(i)], i) != cudaSuccess) {
        (void)cudaGetLastError();
        n = i;
        break;
      }
    }
    count = n;
    props.resize(size_t(n));
    errors.assign(size_t(n), nullptr);
  }
};

Devices& devices() {
  static Devices* d = new Devices();  // never destroyed: streams may outlive statics
  return *d;
}

thread_local int current_device = -1;

// ---- streams ---------------------------------------------------------------------------
// Bounds on what a stream keeps alive for queued work before the host waits.
constexpr int kNodesPerEvent = 16;
constexpr size_t kBytesPerEvent = size_t(256) << 20;
constexpr size_t kMaxBytesInFlight = size_t(8) << 30;

struct Batch {
  cudaEvent_t done;
  std::vector<BufferPtr> buffers;
  size_t bytes;
  uint64_t last_seq;  // the lineage entries (below) up to this one are in the batch
};

// Lineage: the device blocks each GPU node wrote and read, logged (retain) until its kernels
// have finished with no error reported, so that the results computed from a block a kernel
// found an index error for can be told from the others (collect_device_error). `seq` orders
// the entries of all streams: a node is logged after its kernels are queued, so a consumer's
// entry comes after its producers' on every stream.
struct LineageEntry {
  uint64_t seq;
  uint64_t tag;                     // node_tag() of its kernels (they check indices), or 0
  int outs;                         // blocks[0, outs) were written, the rest read
  std::vector<const void*> blocks;
};
std::atomic<uint64_t>& lineage_seq() {
  static std::atomic<uint64_t> n{1};
  return n;
}
// The tag node_tag() gave the node this thread is queueing (0: none yet); tags are drawn
// from the lineage sequence, so they differ from every other tag and seq.
thread_local uint64_t reserved_seq = 0;

struct StreamState {
  int device = 0;
  cudaStream_t cs = nullptr;
  std::mutex mu;  // guards the lists
  std::vector<BufferPtr> pending;
  size_t pending_bytes = 0;
  int pending_nodes = 0;
  std::deque<Batch> in_flight;
  size_t in_flight_bytes = 0;
  std::deque<LineageEntry> lineage;
  uint64_t batched_seq = 0;  // the last entry a batch covers
};

constexpr int kMaxStreams = 1 << 14;
std::array<std::atomic<StreamState*>, kMaxStreams>& stream_table() {
  static auto* t = new std::array<std::atomic<StreamState*>, kMaxStreams>();
  return *t;
}
std::mutex& streams_mu() {
  static std::mutex* m = new std::mutex();
  return *m;
}

StreamState& state_of(int index) {
  if (index < 0 || index >= kMaxStreams) {
    throw std::invalid_argument(msg("[cuda] Stream index ", index, " is out of range."));
  }
  StreamState* st = stream_table()[size_t(index)].load(std::memory_order_acquire);
  if (!st) throw std::logic_error(msg("[cuda] Stream ", index, " has no CUDA stream."));
  return *st;
}

// Events are recycled: creating one costs more than recording it.
std::mutex& events_mu() {
  static std::mutex* m = new std::mutex();
  return *m;
}
std::vector<cudaEvent_t>& free_events() {
  static auto* v = new std::vector<cudaEvent_t>();
  return *v;
}
cudaEvent_t get_event() {
  {
    std::lock_guard<std::mutex> lock(events_mu());
    auto& v = free_events();
    if (!v.empty()) {
      cudaEvent_t e = v.back();
      v.pop_back();
      return e;
    }
  }
  cudaEvent_t e;
  EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}
void put_event(cudaEvent_t e) {
  std::lock_guard<std::mutex> lock(events_mu());
  free_events().push_back(e);
}

// Whether a kernel of `device` reported an error not yet collected (a plain read of the
// pinned word: a stale answer only keeps lineage entries a little longer).
bool error_pending(int device) {
  const DeviceErrors* e = devices().errors[size_t(device)];
  return e && (*static_cast<const volatile unsigned long long*>(&e->record[0].tag) != 0 ||
               *static_cast<const volatile int*>(&e->overflow) != 0);
}

// Drops the lineage entries up to `seq`: their kernels finished and reported no error.
void trim_lineage(StreamState& st, uint64_t seq) {
  if (error_pending(st.device)) return;  // kept until collect_device_error has used them
  while (!st.lineage.empty() && st.lineage.front().seq <= seq) st.lineage.pop_front();
}

// Releases the batches whose work has finished (or all of them after a synchronize that
// began when the lineage sequence was at `drained`).
// Called with st.mu held; the buffers are destroyed by the caller after unlocking.
void reap(StreamState& st, bool all, std::vector<BufferPtr>& dead, uint64_t drained = 0) {
  if (all) trim_lineage(st, drained);
  while (!st.in_flight.empty()) {
    Batch& b = st.in_flight.front();
    if (!all) {
      cudaError_t q = cudaEventQuery(b.done);
      if (q == cudaErrorNotReady) break;
      if (q != cudaSuccess) (void)cudaGetLastError();
      trim_lineage(st, b.last_seq);
    }
    for (auto& p : b.buffers) dead.push_back(std::move(p));
    st.in_flight_bytes -= b.bytes;
    put_event(b.done);
    st.in_flight.pop_front();
  }
}

// Closes the pending list with an event. Called with st.mu held.
void close_batch(StreamState& st) {
  const uint64_t last = st.lineage.empty() ? 0 : st.lineage.back().seq;
  // A batch with no buffers still closes new lineage entries, so that they are trimmed.
  if (st.pending.empty() && last <= st.batched_seq) return;
  st.batched_seq = last;
  Batch b{get_event(), std::move(st.pending), st.pending_bytes, last};
  set_device(st.device);
  EMBER_CUDA_CHECK(cudaEventRecord(b.done, st.cs));
  st.in_flight_bytes += b.bytes;
  st.in_flight.push_back(std::move(b));
  st.pending.clear();
  st.pending_bytes = 0;
  st.pending_nodes = 0;
}

// Waits for everything queued on a stream and releases what it kept.
void drain(StreamState& st) {
  set_device(st.device);
  // Entries logged before the wait began are of kernels the wait covers.
  const uint64_t drained = lineage_seq().load(std::memory_order_acquire) - 1;
  EMBER_CUDA_CHECK(cudaStreamSynchronize(st.cs));
  std::vector<BufferPtr> dead;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    for (auto& p : st.pending) dead.push_back(std::move(p));
    st.pending.clear();
    st.pending_bytes = 0;
    st.pending_nodes = 0;
    reap(st, true, dead, drained);
  }
}

void drain_all() {
  std::vector<StreamState*> all;
  {
    std::lock_guard<std::mutex> lock(streams_mu());
    for (auto& p : stream_table()) {
      if (auto* st = p.load(std::memory_order_acquire)) all.push_back(st);
    }
  }
  for (auto* st : all) drain(*st);
}

// Device blocks whose values a kernel could not compute (an index out of bounds), with the
// error: every later host read of such a block and every kernel that would read it raises
// it again, whichever thread asks, until the block is freed. `any` keeps the check to one
// atomic load while there are none. `mu` also guards the devices' error words.
struct FailedBlocks {
  std::mutex mu;
  std::unordered_map<const void*, std::string> why;
  std::atomic<bool> any{false};
};
FailedBlocks& failed_blocks() {
  static auto* f = new FailedBlocks;  // never destroyed: used until the process ends
  return *f;
}

// Raises the error of a failed block `p` (the start of a device block), if it is one.
void check_block(const void* p) {
  FailedBlocks& f = failed_blocks();
  if (!f.any.load(std::memory_order_acquire)) return;
  std::string why;
  {
    std::lock_guard<std::mutex> lock(f.mu);
    auto it = f.why.find(p);
    if (it == f.why.end()) return;
    why = it->second;
  }
  throw std::out_of_range(why);
}

// Forgets block p (freed: its address may serve new data).
void forget_block(const void* p) {
  FailedBlocks& f = failed_blocks();
  if (!f.any.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(f.mu);
  f.why.erase(p);
  f.any.store(!f.why.empty(), std::memory_order_release);
}

// Collects (and clears) an error a kernel of `device` reported: the op's output block is
// marked failed, and so is every block written by a node that read a failed block, following
// the lineage of all the device's streams in order (a block written again by a node with no
// failed input holds good data from then on). The error is not raised here: it is raised by
// the reads of what it spoiled (check_block: host copies, kernels, eval's check_result), so a
// thread that synchronizes while another thread's gather fails goes on. With more failing ops
// than records, every gather and scatter of the lineage is taken as failed.
void collect_device_error(int device) {
  if (!error_pending(device)) return;
  DeviceErrors* e = devices().errors[size_t(device)];
  // One reader at a time: two threads synchronizing at once must not both take the error,
  // nor one read it while the other clears it.
  FailedBlocks& f = failed_blocks();
  std::lock_guard<std::mutex> lock(f.mu);
  if (!error_pending(device)) return;
  struct Source {
    const void* out;
    std::string why;
  };
  std::unordered_map<uint64_t, Source> sources;  // failing node's tag -> its block, its error
  std::string first;
  for (const DeviceError& r : e->record) {
    if (!r.tag) break;
    const std::string shown = r.flag == 2 ? std::to_string((unsigned long long)r.index)
                                          : std::to_string(r.index);
    std::string why = msg("[", r.op ? r.op : "gather", "] Index ", shown,
                          " is out of bounds for axis ", r.axis, " with size ", r.dim,
                          " (found by a GPU kernel).");
    if (first.empty()) first = why;
    sources.emplace(r.tag, Source{r.out, std::move(why)});
  }
  if (e->overflow) {
    // More failing nodes than records: which of the gathers and scatters not named failed is
    // not known, so all of them are taken as failed.
    first = first.empty() ? "[gather] An index was out of bounds (found by a GPU kernel)." : first;
  }
  const bool overflow = e->overflow != 0;
  std::memset(static_cast<void*>(e), 0, sizeof(DeviceErrors));
  // The lineage of every stream of the device, in the order the nodes were queued.
  std::vector<LineageEntry> log;
  {
    std::lock_guard<std::mutex> streams_lock(streams_mu());
    for (auto& p : stream_table()) {
      StreamState* st = p.load(std::memory_order_acquire);
      if (!st || st->device != device) continue;
      std::lock_guard<std::mutex> st_lock(st->mu);
      log.insert(log.end(), st->lineage.begin(), st->lineage.end());
    }
  }
  std::sort(log.begin(), log.end(), [](const auto& x, const auto& y) { return x.seq < y.seq; });
  const std::string unnamed = msg(first, " More GPU index errors were found than recorded (",
                                  kErrorRecords, "); this result is one of ",
                                  "the gathers and scatters that may have failed.");
  // block -> the error of the data it holds ("" once rewritten from good inputs).
  std::unordered_map<const void*, std::string> spoiled;
  for (const auto& entry : log) {
    std::string failing;
    const std::string* why = nullptr;
    auto src = entry.tag ? sources.find(entry.tag) : sources.end();  // a failing node
    if (src != sources.end()) {
      failing = std::move(src->second.why);
      why = &failing;
      sources.erase(src);
    }
    if (!why && overflow && entry.tag) why = &unnamed;  // its kernels checked indices
    for (size_t i = size_t(entry.outs); i < entry.blocks.size() && !why; ++i) {
      auto it = spoiled.find(entry.blocks[i]);
      if (it != spoiled.end() && !it->second.empty()) why = &it->second;
    }
    const std::string w = why ? *why : std::string();
    for (int i = 0; i < entry.outs; ++i) {
      const void* b = entry.blocks[size_t(i)];
      if (!w.empty() || spoiled.count(b)) spoiled[b] = w;
    }
  }
  // A failing node not logged yet (its kernels ran before its retain): its block holds its
  // output still; what reads it is marked when logged (log_lineage).
  for (const auto& [tag, source] : sources) spoiled[source.out] = source.why;
  for (const auto& [b, why] : spoiled) {
    if (!why.empty()) f.why[b] = why;
  }
  f.any.store(!f.why.empty(), std::memory_order_release);
}

// Logs what a node of stream st wrote and read (retain). A node queued before an error was
// collected but logged after (its kernels were queued before the blocks it read were marked)
// is marked here.
void log_lineage(StreamState& st, const std::vector<array>& inputs,
                 const std::vector<array>& outputs) {
  // The seq node_tag() gave this node's kernels, if one did.
  const uint64_t reserved = std::exchange(reserved_seq, 0);
  LineageEntry entry{0, reserved, 0, {}};
  entry.blocks.reserve(inputs.size() + outputs.size());
  auto add = [&](const array& a) {
    if (!a.valid() || !a.buffer() || a.buffer()->device() < 0) return;
    entry.blocks.push_back(a.buffer()->home());
  };
  for (const auto& a : outputs) add(a);
  entry.outs = int(entry.blocks.size());
  if (entry.outs == 0) return;
  for (const auto& a : inputs) add(a);
  // A view (its output is its input's block, nothing else read) changes no block's state.
  bool view = true;
  for (size_t i = 0; i < entry.blocks.size() && view; ++i) view = entry.blocks[i] == entry.blocks[0];
  if (view && entry.blocks.size() > 1) return;
  std::vector<const void*> blocks = entry.blocks;
  const int outs = entry.outs;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    entry.seq = lineage_seq().fetch_add(1, std::memory_order_acq_rel);
    st.lineage.push_back(std::move(entry));
  }
  // After the entry is logged (not before): a collect that missed it has marked by now. A
  // node with a failed input spoiled its outputs; one without rewrote them with good data (a
  // collect may have marked its block from an earlier use of that memory).
  FailedBlocks& f = failed_blocks();
  if (!f.any.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(f.mu);
  std::string why;
  for (size_t i = size_t(outs); i < blocks.size() && why.empty(); ++i) {
    auto it = f.why.find(blocks[i]);
    if (it != f.why.end()) why = it->second;
  }
  for (int i = 0; i < outs; ++i) {
    if (why.empty()) {
      f.why.erase(blocks[size_t(i)]);
    } else {
      f.why[blocks[size_t(i)]] = why;
    }
  }
  f.any.store(!f.why.empty(), std::memory_order_release);
}

// ---- the device allocator ----------------------------------------------------------------
// Small blocks are rounded to 512 bytes, larger ones to 64 KiB, the largest to 2 MiB, so a
// cached block fits requests of nearby sizes; a request takes a cached block of up to twice
// its size.
size_t round_device(size_t n) {
  if (n <= (size_t(1) << 20)) return std::max<size_t>(512, (n + 511) & ~size_t(511));
  if (n <= (size_t(64) << 20)) return (n + 65535) & ~size_t(65535);
  return (n + (size_t(2) << 20) - 1) & ~((size_t(2) << 20) - 1);
}

struct CachedBlock {
  void* p;
  int device;
};
struct DeviceCache {
  std::mutex mu;
  // Free blocks by the stream they belong to, by size.
  std::map<int, std::multimap<size_t, CachedBlock>> free_blocks;
  size_t cached = 0;

  // Takes out the largest block of some stream (to give back to the driver); mu held.
  bool pop_any(CachedBlock& out, size_t& cap) {
    for (auto& [stream, blocks] : free_blocks) {
      if (blocks.empty()) continue;
      auto it = std::prev(blocks.end());
      cap = it->first;
      out = it->second;
      blocks.erase(it);
      cached -= cap;
      return true;
    }
    return false;
  }
};
DeviceCache& device_cache() {
  static DeviceCache* c = new DeviceCache();
  return *c;
}

void* cuda_malloc(size_t capacity, int device) {
  set_device(device);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, capacity);
  if (e == cudaSuccess) return p;
  (void)cudaGetLastError();
  return nullptr;
}

}  // namespace

void set_device(int device) {
  if (current_device == device) return;
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  current_device = device;
}

cudaStream_t stream_of(const Stream& s) {
  StreamState& st = state_of(s.index);
  set_device(st.device);
  return st.cs;
}

int sm_count() {
  int d = current_device < 0 ? 0 : current_device;
  return devices().props[size_t(d)].multiProcessorCount;
}

unsigned long long node_tag() {
  if (!reserved_seq) reserved_seq = lineage_seq().fetch_add(1, std::memory_order_acq_rel);
  return reserved_seq;
}

DeviceErrors* device_error(int device) {
  auto& devs = devices();
  std::lock_guard<std::mutex> lock(streams_mu());
  if (!devs.errors[size_t(device)]) {
    set_device(device);
    void* p = nullptr;
    EMBER_CUDA_CHECK(cudaHostAlloc(&p, sizeof(DeviceErrors), cudaHostAllocMapped));
    std::memset(p, 0, sizeof(DeviceErrors));
    devs.errors[size_t(device)] = static_cast<DeviceErrors*>(p);
  }
  return devs.errors[size_t(device)];
}

const char* intern(const std::string& name) {
  static std::mutex* mu = new std::mutex();
  static std::set<std::string>* names = new std::set<std::string>();
  std::lock_guard<std::mutex> lock(*mu);
  return names->insert(name).first->c_str();
}

// ---- pointers of arrays on a stream ------------------------------------------------------
namespace {
std::mutex& mirror_mu() {
  static std::mutex* m = new std::mutex();
  return *m;
}

// Makes stream `consumer` wait for the work queued so far on stream index `producer`.
void wait_for(int producer, cudaStream_t consumer) {
  StreamState& p = state_of(producer);
  cudaEvent_t e = get_event();
  set_device(p.device);
  EMBER_CUDA_CHECK(cudaEventRecord(e, p.cs));
  EMBER_CUDA_CHECK(cudaStreamWaitEvent(consumer, e, 0));
  put_event(e);  // safe: a recorded event may be re-recorded once waited on by enqueue
}
}  // namespace

const void* input_ptr(const array& a, const Stream& s) {
  const BufferPtr& b = a.buffer();
  if (!b) throw std::logic_error("[cuda] An input of a GPU kernel has no data.");
  const int64_t byte_offset = a.offset() * int64_t(a.itemsize());
  cudaStream_t cs = stream_of(s);
  if (b->device() >= 0) {
    if (b->device() != s.device.index) {
      throw std::invalid_argument(msg("[cuda] An array in the memory of GPU ", b->device(),
                                      " was used by work on GPU ", s.device.index,
                                      "; ember does not copy between GPUs yet."));
    }
    check_block(b->home());
    if (b->stream_index() != s.index) wait_for(b->stream_index(), cs);
    return static_cast<const char*>(b->home()) + byte_offset;
  }
  // Host data: its device mirror, made once.
  void* m = b->mirror();
  if (!m) {
    std::lock_guard<std::mutex> lock(mirror_mu());
    m = b->mirror();
    if (!m) {
      size_t cap = 0;
      const size_t n = std::max<size_t>(b->nbytes(), 1);
      m = detail::allocate_device_mirror(cap, n, s.device.index, s.index);
      if (b->nbytes() > 0) {
        EMBER_CUDA_CHECK(cudaMemcpyAsync(m, b->home(), b->nbytes(), cudaMemcpyHostToDevice, cs));
      }
      b->set_mirror(m, cap, s.index, s.device.index);
      return static_cast<const char*>(m) + byte_offset;
    }
  }
  if (b->mirror_stream() != s.index) wait_for(b->mirror_stream(), cs);
  return static_cast<const char*>(m) + byte_offset;
}

void* output_ptr(array& out) {
  out.allocate_row_contiguous();
  return device_ptr_of_output(out);
}

void* device_ptr_of_output(const array& a) {
  const BufferPtr& b = a.buffer();
  if (b->device() < 0) {
    throw std::logic_error("[cuda] A GPU kernel's output is in host memory.");
  }
  return static_cast<char*>(b->home()) + a.offset() * int64_t(a.itemsize());
}

bool host_scalar(const array& a, void* value) {
  const BufferPtr& b = a.buffer();
  if (!b || b->device() >= 0) return false;
  std::memcpy(value, static_cast<const char*>(b->home()) + a.offset() * int64_t(a.itemsize()),
              a.itemsize());
  return true;
}

namespace {
// A block of GPU stream s itself: stream ordered (the file's head), safe to drop at once.
bool belongs_to(const Buffer& b, const Stream& s) {
  return b.device() == s.device.index && b.stream_index() == s.index;
}
}  // namespace

void keep_until_done(const Stream& s, BufferPtr b) {
  if (belongs_to(*b, s)) return;
  StreamState& st = state_of(s.index);
  std::lock_guard<std::mutex> lock(st.mu);
  st.pending_bytes += b->nbytes();
  st.pending.push_back(std::move(b));
}

Scratch::Scratch(size_t nbytes, const Stream& s)
    : buffer_(allocate(std::max<size_t>(nbytes, 1), s)), stream_(s) {}
Scratch::~Scratch() {
  if (!buffer_) return;  // moved from
  try {
    keep_until_done(stream_, std::move(buffer_));
  } catch (...) {
  }
}
void* Scratch::get() const { return buffer_->home(); }

array device_array(const Shape& shape, Dtype dtype, const Stream& s) {
  array a = array::placeholder(shape, dtype);
  BufferPtr b = allocate(std::max<size_t>(a.nbytes(), 1), s);
  keep_until_done(s, b);
  a.set_buffer(std::move(b));
  return a;
}

}  // namespace ember::cuda

// ==== backend/gpu/gpu.h ====================================================================
namespace ember::gpu {

using namespace ember::cuda;

bool is_available() { return devices().count > 0; }
int device_count() { return devices().count; }
const char* backend_name() { return "cuda"; }

std::vector<std::pair<std::string, std::string>> device_info(int index) {
  const cudaDeviceProp& p = devices().props.at(size_t(index));
  size_t free_b = 0, total_b = 0;
  set_device(index);
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
  return {{"device_name", p.name},
          {"architecture", msg("sm_", p.major, p.minor)},
          {"memory_size", std::to_string(p.totalGlobalMem)},
          {"free_memory", std::to_string(free_b)},
          {"multiprocessor_count", std::to_string(p.multiProcessorCount)},
          {"max_threads_per_block", std::to_string(p.maxThreadsPerBlock)},
          {"total_l2_cache", std::to_string(p.l2CacheSize)}};
}

void new_stream(const Stream& s) {
  if (s.index < 0 || s.index >= kMaxStreams) {
    throw std::invalid_argument(msg("[new_stream] Too many streams (at most ", kMaxStreams, ")."));
  }
  std::lock_guard<std::mutex> lock(streams_mu());
  auto& slot = stream_table()[size_t(s.index)];
  StreamState* st = slot.load(std::memory_order_acquire);
  if (st && st->device == s.device.index) return;  // an index reused after clear_streams
  auto fresh = std::make_unique<StreamState>();
  fresh->device = s.device.index;
  set_device(s.device.index);
  EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&fresh->cs, cudaStreamNonBlocking));
  slot.store(fresh.release(), std::memory_order_release);  // an old state is kept (leaked)
}

void synchronize(const Stream& s) {
  StreamState& st = state_of(s.index);
  drain(st);
  collect_device_error(st.device);
}

void synchronize_all() {
  if (!is_available()) return;
  drain_all();
  for (int d = 0; d < device_count(); ++d) collect_device_error(d);
}

void check_result(const array& a) {
  if (!a.valid() || !a.buffer() || a.buffer()->device() < 0) return;
  check_block(a.buffer()->home());
}

void retain(const Stream& s, const std::vector<array>& inputs, const std::vector<array>& outputs) {
  StreamState& st = state_of(s.index);
  log_lineage(st, inputs, outputs);
  std::vector<BufferPtr> dead;
  bool wait_oldest = false;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    auto keep = [&](const array& a) {
      if (!a.valid()) return;
      const BufferPtr& b = a.buffer();
      if (!b) return;
      if (belongs_to(*b, s)) return;
      st.pending_bytes += b->nbytes();
      st.pending.push_back(b);
    };
    for (const auto& a : inputs) keep(a);
    for (const auto& a : outputs) keep(a);
    if (++st.pending_nodes >= kNodesPerEvent || st.pending_bytes >= kBytesPerEvent) {
      close_batch(st);
      reap(st, false, dead);
      wait_oldest = st.in_flight_bytes > kMaxBytesInFlight;
    }
  }
  if (wait_oldest) {
    // Too much memory held for queued work: wait for the oldest batch.
    cudaEvent_t e = nullptr;
    {
      std::lock_guard<std::mutex> lock(st.mu);
      if (!st.in_flight.empty()) e = st.in_flight.front().done;
    }
    if (e) EMBER_CUDA_CHECK(cudaEventSynchronize(e));
    std::lock_guard<std::mutex> lock(st.mu);
    reap(st, false, dead);
  }
}

namespace {
// EMBER_GPU_FALLBACK=error makes the host fallback an error (to find primitives that lack a
// GPU kernel); EMBER_GPU_FALLBACK_LOG=<path> records each primitive that takes it, once per
// process, in <path>.<pid> (tools/gpu_test.sh counts them).
void note_fallback(const Primitive& p) {
  static const bool strict = [] {
    const char* v = std::getenv("EMBER_GPU_FALLBACK");
    return v && std::string(v) == "error";
  }();
  if (strict) {
    throw std::invalid_argument(msg("[", p.name(), "] has no GPU kernel (EMBER_GPU_FALLBACK=error)."));
  }
  static const char* log = std::getenv("EMBER_GPU_FALLBACK_LOG");
  if (!log || !*log) return;
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  if (!seen.insert(p.name()).second) return;
  if (FILE* f = std::fopen(msg(log, ".", long(getpid())).c_str(), "a")) {
    std::fprintf(f, "%s\n", p.name());
    std::fclose(f);
  }
}
}  // namespace

void eval_on_host(Primitive& p, const std::vector<array>& inputs, std::vector<array>& outputs) {
  note_fallback(p);
  // Outputs in host memory; inputs read through their host mirrors (which wait for the GPU).
  detail::HostAllocationScope host;
  p.eval_cpu_multi(inputs, outputs);
}

// ---- memory ----
void* alloc(size_t& capacity, int device, int stream) {
  capacity = round_device(capacity);
  auto& c = device_cache();
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto list = c.free_blocks.find(stream);
    if (list != c.free_blocks.end()) {
      auto& blocks = list->second;
      auto it = blocks.lower_bound(capacity);
      if (it != blocks.end() && it->first <= 2 * capacity) {
        capacity = it->first;
        p = it->second.p;
        blocks.erase(it);
        c.cached -= capacity;
      }
    }
  }
  if (!p) p = cuda_malloc(capacity, device);
  if (!p) {
    // Out of memory: finish queued work (releasing what it kept), give the caches back, retry.
    drain_all();
    clear_cache();
    p = cuda_malloc(capacity, device);
  }
  if (p) {
    // New data: a mark an error collect left on this address (from the lineage of an earlier
    // use of it) does not apply.
    forget_block(p);
    return p;
  }
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
  throw memory_error(msg("[malloc] GPU ", device, " cannot hold ", capacity, " more bytes (",
                         free_b, " of ", total_b, " bytes free)."));
}

namespace {
void release_blocks(const std::vector<CachedBlock>& blocks) {
  for (const CachedBlock& b : blocks) {
    set_device(b.device);
    if (cudaFree(b.p) != cudaSuccess) (void)cudaGetLastError();
  }
}
}  // namespace

void free(void* p, size_t capacity, int device, int stream, size_t cache_bound) {
  forget_block(p);
  auto& c = device_cache();
  std::vector<CachedBlock> release;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (capacity > cache_bound) {
      release.push_back({p, device});
    } else {
      CachedBlock old;
      size_t cap = 0;
      while (c.cached + capacity > cache_bound && c.pop_any(old, cap)) release.push_back(old);
      c.free_blocks[stream].emplace(capacity, CachedBlock{p, device});
      c.cached += capacity;
    }
  }
  release_blocks(release);
}

void trim_cache(size_t bound) {
  if (!is_available()) return;
  auto& c = device_cache();
  std::vector<CachedBlock> release;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    CachedBlock old;
    size_t cap = 0;
    while (c.cached > bound && c.pop_any(old, cap)) release.push_back(old);
  }
  release_blocks(release);
}

size_t cached_bytes() {
  if (!is_available()) return 0;
  auto& c = device_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached;
}

void clear_cache() { trim_cache(0); }

size_t total_memory() {
  size_t total = 0;
  for (const auto& p : devices().props) total += p.totalGlobalMem;
  return total;
}

array copy_from_device(const void* src, const Shape& shape, Dtype dtype, int device) {
  const Stream s = default_stream(Device(DeviceType::gpu, device));
  array a = device_array(shape, dtype, s);
  cudaStream_t cs = stream_of(s);
  if (a.nbytes() > 0) {
    EMBER_CUDA_CHECK(cudaMemcpyAsync(a.buffer()->home(), src, a.nbytes(), cudaMemcpyDefault, cs));
  }
  EMBER_CUDA_CHECK(cudaStreamSynchronize(cs));
  return a;
}

void* make_host_mirror(const Buffer& b) {
  std::lock_guard<std::mutex> lock(mirror_mu());
  if (void* m = b.mirror()) return m;
  check_block(b.home());
  size_t cap = 0;
  void* m = detail::allocate_host_block(cap, std::max<size_t>(b.nbytes(), 1));
  StreamState& st = state_of(b.stream_index());
  set_device(st.device);
  if (b.nbytes() > 0) {
    EMBER_CUDA_CHECK(cudaMemcpyAsync(m, b.home(), b.nbytes(), cudaMemcpyDeviceToHost, st.cs));
  }
  EMBER_CUDA_CHECK(cudaStreamSynchronize(st.cs));
  try {
    // Before the mirror is kept: a failed block never gets one, so each read raises.
    collect_device_error(st.device);
    check_block(b.home());
  } catch (...) {
    detail::free_host_block(m, cap);
    throw;
  }
  b.set_mirror(m, cap, b.stream_index(), -1);
  return m;
}

}  // namespace ember::gpu
