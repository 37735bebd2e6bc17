// The "ring" backend: TCP sockets between the processes named by MLX_HOSTFILE.
//
// Setup: rank r listens on the first address of its hostfile entry, connects to every lower
// rank (retrying until that rank listens) and accepts every higher one, so each pair of
// processes shares one TCP connection (a full mesh: n - 1 sockets per process, fine for the
// small groups this backend is for). Each connection opens with a hello (magic, rank, size).
//
// Collectives move data around the ring of the group's members (rank i sends to i + 1 and
// receives from i - 1): all_sum is a reduce-scatter followed by an all-gather over size()
// segments of the buffer, so each process sends and receives 2 (n - 1) / n of the buffer
// whatever n is; sum_scatter is the first half alone, all_gather the second. send / recv
// use the direct connection between the two ranks. Each operation starts with a 16-byte
// header (op, dtype, byte count) to the peer it receives from next, so members that call
// different collectives, or the same one with different sizes, get an error instead of
// mixed-up bytes.
//
// Every wait is a poll() bounded by EMBER_DISTRIBUTED_TIMEOUT seconds (default 300) without
// progress; a peer that closes its end or stops answering becomes a std::runtime_error, and
// the group is then marked broken (its streams are out of step), so later calls fail at once.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ember/distributed/comm.h"
#include "ember/errors.h"
#include "ember/io/json.h"

namespace ember::distributed::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kMagic = 0x454d4231;  // "EMB1"
constexpr size_t kChunkBytes = 256 << 10;  // reduce-scatter's unit of transfer and addition

// ---- configuration ----------------------------------------------------------------------

double timeout_seconds() {
  const char* s = std::getenv("EMBER_DISTRIBUTED_TIMEOUT");
  if (s == nullptr || *s == '\0') return 300.0;
  char* end = nullptr;
  double t = std::strtod(s, &end);
  if (end == s || *end != '\0' || !(t > 0) || !std::isfinite(t)) {
    throw std::invalid_argument(
        msg("[init] EMBER_DISTRIBUTED_TIMEOUT must be a positive number of seconds, got \"", s,
            "\"."));
  }
  return t;
}

// The hostfile: a JSON list with one entry per rank, each a list of "host:port" strings (or
// one such string), read with libember's JSON reader (io/json.h).
std::vector<std::vector<std::string>> read_hostfile(const std::string& text,
                                                    const std::string& path) {
  auto fail = [&](const std::string& what) {
    throw std::invalid_argument(msg("[init] MLX_HOSTFILE ", path, ": ", what,
                                    " (expected a JSON list with one list of \"ip:port\" "
                                    "strings per rank, e.g. [[\"127.0.0.1:5000\"], "
                                    "[\"127.0.0.1:5001\"]])."));
  };
  io::detail::Json root;
  try {
    root = io::detail::parse_json(text);
  } catch (const io::detail::JsonError& e) {
    fail(msg("not valid JSON (", e.what(), ")"));
  }
  using Json = io::detail::Json;
  if (root.kind != Json::list) fail("not a JSON list");
  if (root.items.empty()) fail("the list is empty");
  std::vector<std::vector<std::string>> hosts;
  for (const Json& item : root.items) {
    std::vector<std::string> entry;
    if (item.kind == Json::string) {
      entry.push_back(item.s);  // a bare string: one address
    } else if (item.kind == Json::list) {
      for (const Json& a : item.items) {
        if (a.kind != Json::string) {
          fail(msg("rank ", hosts.size(), " has an address that is not a string"));
        }
        entry.push_back(a.s);
      }
    } else {
      fail(msg("the entry of rank ", hosts.size(), " is neither a list nor a string"));
    }
    if (entry.empty()) fail(msg("rank ", hosts.size(), " has no address"));
    hosts.push_back(std::move(entry));
  }
  return hosts;
}

struct Address {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
};

Address resolve(const std::string& hostport, const std::string& path) {
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size()) {
    throw std::invalid_argument(msg("[init] MLX_HOSTFILE ", path, ": address \"", hostport,
                                    "\" is not of the form ip:port."));
  }
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    throw std::invalid_argument(msg("[init] MLX_HOSTFILE ", path, ": cannot resolve \"",
                                    hostport, "\": ", gai_strerror(rc), "."));
  }
  Address a;
  std::memcpy(&a.addr, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  a.text = hostport;
  freeaddrinfo(res);
  return a;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return int(std::clamp<int64_t>(ms, 0, 1 << 30));
}

// ---- the mesh ---------------------------------------------------------------------------

struct Header {
  uint32_t magic;
  uint16_t op;
  uint16_t dtype;
  uint64_t bytes;
};
static_assert(sizeof(Header) == 16);

enum OpCode : uint16_t { kAllSum = 1, kAllMax, kAllMin, kAllGather, kSumScatter, kSend, kSplit };

const char* op_code_name(uint16_t c) {
  switch (c) {
    case kAllSum: return "all_sum";
    case kAllMax: return "all_max";
    case kAllMin: return "all_min";
    case kAllGather: return "all_gather";
    case kSumScatter: return "sum_scatter";
    case kSend: return "send";
    case kSplit: return "Group.split";
    default: return "an unknown operation";
  }
}

// Sockets to every other process of the global group; shared by the groups split from it.
struct Mesh {
  int rank = 0;
  int size = 1;
  double timeout = 300;
  std::vector<int> fds;  // fds[r]: the connection to global rank r (-1 for this process)
  std::mutex mu;         // one operation at a time over the sockets
  std::string broken;    // why the connections are unusable, once one operation failed

  ~Mesh() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }

  [[noreturn]] void fail(const std::string& message) {
    broken = message;
    throw std::runtime_error(message);
  }

  // Sends `out_n` bytes to global rank `to` while receiving `in_n` bytes from global rank
  // `from`, both at once, so that two processes exchanging large buffers never wait on each
  // other. Either side may be absent (n == 0).
  void transfer(int to, const void* out, size_t out_n, int from, void* in, size_t in_n,
                const char* op) {
    const char* src = static_cast<const char*>(out);
    char* dst = static_cast<char*>(in);
    size_t sent = 0, got = 0;
    const int wait_ms = int(std::min(timeout * 1000.0, double(1 << 30)));
    while (sent < out_n || got < in_n) {
      pollfd p[2];
      int np = 0, out_i = -1, in_i = -1;
      if (sent < out_n) {
        out_i = np;
        p[np++] = {fds[to], POLLOUT, 0};
      }
      if (got < in_n) {
        in_i = np;
        p[np++] = {fds[from], POLLIN, 0};
      }
      int rc = poll(p, nfds_t(np), wait_ms);
      if (rc < 0) {
        if (errno == EINTR) continue;
        fail(msg("[", op, "] poll failed: ", std::strerror(errno), "."));
      }
      if (rc == 0) {
        int peer = got < in_n ? from : to;
        fail(msg("[", op, "] Timed out after ", timeout, " s waiting for rank ", peer,
                 " (EMBER_DISTRIBUTED_TIMEOUT). Did it exit, or call a different collective?"));
      }
      if (in_i >= 0 && (p[in_i].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::recv(fds[from], dst + got, in_n - got, MSG_DONTWAIT);
        if (n == 0) {
          fail(msg("[", op, "] Rank ", from, " closed its connection (it exited or failed)."));
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          fail(msg("[", op, "] Lost the connection to rank ", from, ": ", std::strerror(errno),
                   "."));
        }
        if (n > 0) got += size_t(n);
      }
      if (out_i >= 0 && (p[out_i].revents & (POLLOUT | POLLHUP | POLLERR))) {
        ssize_t n = ::send(fds[to], src + sent, out_n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          fail(msg("[", op, "] Lost the connection to rank ", to, ": ", std::strerror(errno),
                   " (it exited or failed)."));
        }
        if (n > 0) sent += size_t(n);
      }
    }
  }

  // Sends this operation's header to `to` and checks the one `from` sends.
  void check_header(int to, int from, Header mine, const char* op) {
    Header theirs{};
    transfer(to, &mine, to >= 0 ? sizeof(mine) : 0, from, &theirs, from >= 0 ? sizeof(theirs) : 0,
             op);
    if (from < 0) return;
    if (theirs.magic != kMagic || theirs.dtype >= kNumDtypes) {
      fail(msg("[", op, "] Rank ", from, " sent data that is not an ember message."));
    }
    if (theirs.op != mine.op) {
      fail(msg("[", op, "] Rank ", from, " called ", op_code_name(theirs.op), " where rank ",
               rank, " called ", op_code_name(mine.op),
               ": every process must call the same collectives in the same order."));
    }
    if (theirs.bytes != mine.bytes || theirs.dtype != mine.dtype) {
      fail(msg("[", op, "] Rank ", from, " has ", theirs.bytes, " bytes of ",
               dtype_name(Dtype(theirs.dtype)), " where rank ", rank, " has ", mine.bytes,
               " bytes of ", dtype_name(Dtype(mine.dtype)),
               ": every process must pass arrays of the same shape and dtype."));
    }
  }
};

// Opens the connections of global rank `rank` to the others (see the file comment).
std::shared_ptr<Mesh> connect_mesh(const std::vector<Address>& addrs, int rank, double timeout) {
  auto mesh = std::make_shared<Mesh>();
  const int n = int(addrs.size());
  mesh->rank = rank;
  mesh->size = n;
  mesh->timeout = timeout;
  mesh->fds.assign(n, -1);
  const Clock::time_point deadline =
      Clock::now() +
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
  auto sys_fail = [&](const std::string& what) -> std::runtime_error {
    return std::runtime_error(msg("[init] ", what, ": ", std::strerror(errno), "."));
  };

  // Listen first, so lower ranks are not kept waiting on us.
  int lfd = -1;
  if (rank < n - 1) {
    const Address& me = addrs[rank];
    lfd = socket(me.addr.ss_family, SOCK_STREAM, 0);
    if (lfd < 0) throw sys_fail("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lfd, reinterpret_cast<const sockaddr*>(&me.addr), me.len) != 0) {
      int e = errno;
      close(lfd);
      errno = e;
      throw sys_fail(msg("Rank ", rank, " cannot listen on ", me.text, " (from MLX_HOSTFILE)"));
    }
    if (listen(lfd, n) != 0) {
      close(lfd);
      throw sys_fail("listen");
    }
    set_nonblocking(lfd);
  }
  struct CloseListener {
    int fd;
    ~CloseListener() {
      if (fd >= 0) close(fd);
    }
  } close_listener{lfd};

  const Header hello{kMagic, 0, 0, (uint64_t(n) << 32) | uint32_t(rank)};
  // Connect to each lower rank, retrying while it is not listening yet.
  for (int j = 0; j < rank; ++j) {
    const Address& a = addrs[j];
    while (true) {
      int fd = socket(a.addr.ss_family, SOCK_STREAM, 0);
      if (fd < 0) throw sys_fail("socket");
      set_nonblocking(fd);
      int rc = connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = poll(&p, 1, std::min(remaining_ms(deadline), 1000));
        int err = 0;
        socklen_t len = sizeof(err);
        if (rc == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = (rc == 1 && err == 0) ? 0 : -1;
      }
      if (rc == 0) {
        set_nodelay(fd);
        mesh->fds[j] = fd;
        break;
      }
      close(fd);
      if (Clock::now() >= deadline) {
        throw std::runtime_error(msg("[init] Rank ", rank, " could not connect to rank ", j,
                                     " at ", a.text, " within ", timeout,
                                     " s (EMBER_DISTRIBUTED_TIMEOUT). Is it running?"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    mesh->transfer(j, &hello, sizeof(hello), -1, nullptr, 0, "init");
  }
  // Accept each higher rank; its hello says which one it is.
  for (int k = rank + 1; k < n; ++k) {
    pollfd p{lfd, POLLIN, 0};
    int rc = poll(&p, 1, remaining_ms(deadline));
    if (rc <= 0) {
      throw std::runtime_error(msg("[init] Rank ", rank, " waited ", timeout,
                                   " s (EMBER_DISTRIBUTED_TIMEOUT) for ", n - k,
                                   " higher rank(s) to connect to ", addrs[rank].text, "."));
    }
    int fd = accept(lfd, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        --k;
        continue;
      }
      throw sys_fail("accept");
    }
    set_nonblocking(fd);
    set_nodelay(fd);
    Header h{};
    // Read the hello through a temporary slot, then move the socket to its rank's place.
    mesh->fds.push_back(fd);
    bool got_hello = true;
    try {
      mesh->transfer(-1, nullptr, 0, n, &h, sizeof(h), "init");
    } catch (const std::runtime_error&) {
      got_hello = false;  // closed or silent before 16 bytes: not one of ours either
    }
    mesh->fds.pop_back();
    if (!got_hello) {
      close(fd);
      --k;
      continue;
    }
    int peer = int(uint32_t(h.bytes)), peer_n = int(h.bytes >> 32);
    if (h.magic != kMagic || peer_n != n || peer <= rank || peer >= n || mesh->fds[peer] >= 0) {
      // Not a higher rank of this group (a stray client, another job's process): drop it
      // and keep waiting for the real ones, within the same deadline.
      close(fd);
      --k;
      continue;
    }
    mesh->fds[peer] = fd;
  }
  mesh->broken.clear();
  return mesh;
}

// ---- the ring over a group's members ----------------------------------------------------

class RingComm : public Comm {
 public:
  RingComm(std::shared_ptr<Mesh> mesh, std::vector<int> members, int rank)
      : mesh_(std::move(mesh)), members_(std::move(members)), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return int(members_.size()); }

  void all_reduce(const void* in, void* out, int64_t count, Dtype dtype, Reduce r,
                  const char* op) override {
    const size_t item = size_of(dtype);
    if (in != out && count > 0) std::memcpy(out, in, size_t(count) * item);
    if (size() == 1) return;  // a group split down to one member
    auto lock = begin(op);
    uint16_t code = r == Reduce::sum ? kAllSum : (r == Reduce::max ? kAllMax : kAllMin);
    mesh_->check_header(right(), left(), {kMagic, code, uint16_t(dtype), uint64_t(count) * item},
                        op);
    reduce_scatter_phase(static_cast<char*>(out), count, dtype, r, op);
    gather_phase(static_cast<char*>(out), count, item, op);
  }

  void sum_scatter(const void* in, void* out, int64_t count, Dtype dtype,
                   const char* op) override {
    const int n = size();
    const size_t item = size_of(dtype);
    std::vector<char> work(size_t(count) * n * item);
    if (work.empty()) return;  // nothing to sum: every member has the same 0-size shape
    std::memcpy(work.data(), in, work.size());
    if (n == 1) {
      std::memcpy(out, in, work.size());
      return;
    }
    auto lock = begin(op);
    mesh_->check_header(right(), left(), {kMagic, kSumScatter, uint16_t(dtype), work.size()}, op);
    reduce_scatter_phase(work.data(), count * n, dtype, Reduce::sum, op);
    std::memcpy(out, work.data() + size_t(rank_) * size_t(count) * item, size_t(count) * item);
  }

  void all_gather(const void* in, void* out, size_t bytes, const char* op) override {
    if (bytes > 0) std::memcpy(static_cast<char*>(out) + size_t(rank_) * bytes, in, bytes);
    if (size() == 1) return;
    auto lock = begin(op);
    mesh_->check_header(right(), left(), {kMagic, kAllGather, 0, bytes}, op);
    gather_phase(static_cast<char*>(out), int64_t(bytes) * size(), 1, op);
  }

  void send(const void* data, size_t bytes, int dst, const char* op) override {
    auto lock = begin(op);
    Header h{kMagic, kSend, 0, bytes};
    mesh_->transfer(members_[dst], &h, sizeof(h), -1, nullptr, 0, op);
    mesh_->transfer(members_[dst], data, bytes, -1, nullptr, 0, op);
  }

  void recv(void* data, size_t bytes, int src, const char* op) override {
    auto lock = begin(op);
    const int from = members_[src];
    Header h{};
    mesh_->transfer(-1, nullptr, 0, from, &h, sizeof(h), op);
    if (h.magic != kMagic || h.op != kSend) {
      mesh_->fail(msg("[", op, "] Rank ", src, " called ", op_code_name(h.op),
                      " where this rank (", rank_, ") waits for it to send: every process must "
                      "call matching operations in the same order."));
    }
    if (h.bytes != bytes) {
      mesh_->fail(msg("[", op, "] Rank ", src, " sent ", h.bytes, " bytes but this rank (", rank_,
                      ") expects ", bytes, ": the shape and dtype given to recv must match the "
                      "array sent."));
    }
    mesh_->transfer(-1, nullptr, 0, from, data, bytes, op);
  }

  std::shared_ptr<Comm> split(int color, int key) override {
    const int n = size();
    int32_t mine[2] = {color, key < 0 ? rank_ : key};
    std::vector<int32_t> all(2 * size_t(n));
    all_gather(mine, all.data(), sizeof(mine), "Group.split");
    std::vector<int> picked;  // ranks of this group with my color
    for (int i = 0; i < n; ++i) {
      if (all[2 * i] == color) picked.push_back(i);
    }
    std::stable_sort(picked.begin(), picked.end(),
                     [&](int a, int b) { return all[2 * a + 1] < all[2 * b + 1]; });
    std::vector<int> members;
    int new_rank = 0;
    for (int i : picked) {
      if (i == rank_) new_rank = int(members.size());
      members.push_back(members_[i]);
    }
    return std::make_shared<RingComm>(mesh_, std::move(members), new_rank);
  }

 private:
  std::unique_lock<std::mutex> begin(const char* op) {
    std::unique_lock<std::mutex> lock(mesh_->mu);
    if (!mesh_->broken.empty()) {
      throw std::runtime_error(msg("[", op, "] The group's connections failed earlier (",
                                   mesh_->broken, "); start the processes again."));
    }
    return lock;
  }
  int right() const { return members_[(rank_ + 1) % size()]; }
  int left() const { return members_[(rank_ + size() - 1) % size()]; }
  // Segment i of `count` elements: [i * count / n, (i + 1) * count / n).
  int64_t seg_begin(int i, int64_t count) const { return int64_t(i) * count / size(); }

  // After this, segment `rank_` of buf holds the reduction over every member. At step s rank
  // r sends its segment r - s - 1 (which holds s + 1 members' data) and adds the incoming
  // segment r - s - 2.
  // Segments move in chunks of kChunk elements' worth of bytes, each added as soon as it
  // arrives, while it is still in cache (and the scratch buffer stays small).
  void reduce_scatter_phase(char* buf, int64_t count, Dtype dtype, Reduce r, const char* op) {
    const int n = size();
    const size_t item = size_of(dtype);
    const int64_t chunk = std::max<int64_t>(1, int64_t(kChunkBytes / item));
    std::vector<char> incoming(size_t(std::min<int64_t>(chunk, count / n + 1)) * item);
    for (int s = 0; s < n - 1; ++s) {
      int out_seg = ((rank_ - s - 1) % n + n) % n, in_seg = ((rank_ - s - 2) % n + n) % n;
      int64_t ob = seg_begin(out_seg, count), oe = seg_begin(out_seg + 1, count);
      int64_t ib = seg_begin(in_seg, count), ie = seg_begin(in_seg + 1, count);
      for (int64_t k = 0; ob + k < oe || ib + k < ie; k += chunk) {
        int64_t on = std::clamp<int64_t>(oe - ob - k, 0, chunk);
        int64_t in = std::clamp<int64_t>(ie - ib - k, 0, chunk);
        mesh_->transfer(right(), buf + (ob + k) * item, size_t(on) * item, left(),
                        incoming.data(), size_t(in) * item, op);
        reduce_into(buf + (ib + k) * item, incoming.data(), in, dtype, r);
      }
    }
  }

  // Given segment `rank_` of buf complete everywhere, passes each segment around the ring.
  void gather_phase(char* buf, int64_t count, size_t item, const char* op) {
    const int n = size();
    for (int s = 0; s < n - 1; ++s) {
      int out_seg = ((rank_ - s) % n + n) % n, in_seg = ((rank_ - s - 1) % n + n) % n;
      int64_t ob = seg_begin(out_seg, count), oe = seg_begin(out_seg + 1, count);
      int64_t ib = seg_begin(in_seg, count), ie = seg_begin(in_seg + 1, count);
      mesh_->transfer(right(), buf + ob * item, size_t(oe - ob) * item, left(), buf + ib * item,
                      size_t(ie - ib) * item, op);
    }
  }

  std::shared_ptr<Mesh> mesh_;
  std::vector<int> members_;  // global ranks, in this group's rank order
  int rank_;
};

}  // namespace

std::shared_ptr<Comm> ring_init() {
  const char* rank_s = std::getenv("MLX_RANK");
  const char* path_s = std::getenv("MLX_HOSTFILE");
  if (rank_s == nullptr || path_s == nullptr) return nullptr;
  const std::string path = path_s;
  std::ifstream f(path);
  if (!f) {
    throw std::invalid_argument(msg("[init] Cannot read MLX_HOSTFILE \"", path, "\"."));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  auto hosts = read_hostfile(text, path);
  const int n = int(hosts.size());
  char* end = nullptr;
  long rank = std::strtol(rank_s, &end, 10);
  if (end == rank_s || *end != '\0' || rank < 0 || rank >= n) {
    throw std::invalid_argument(msg("[init] MLX_RANK must be an integer in [0, ", n,
                                    ") for the ", n, " ranks of MLX_HOSTFILE ", path,
                                    ", got \"", rank_s, "\"."));
  }
  const double timeout = timeout_seconds();
  if (n == 1) return nullptr;
  std::vector<Address> addrs;
  for (auto& entry : hosts) addrs.push_back(resolve(entry[0], path));
  auto mesh = connect_mesh(addrs, int(rank), timeout);
  std::vector<int> members(n);
  for (int i = 0; i < n; ++i) members[i] = i;
  return std::make_shared<RingComm>(std::move(mesh), std::move(members), int(rank));
}

}  // namespace ember::distributed::detail
