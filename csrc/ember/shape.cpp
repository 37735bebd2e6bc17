// Shape helpers shared by every op.
#include "ember/shape.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

#if defined(__linux__)
#include <sys/sysinfo.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#include "ember/errors.h"

namespace ember {

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) {
    os << s[i];
    if (i + 1 < s.size() || s.size() == 1) os << ",";
    if (i + 1 < s.size()) os << " ";
  }
  return os << ")";
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

namespace {

[[noreturn]] void too_large(const char* op, const Shape& s) {
  throw std::invalid_argument(msg("[", op, "] Shape ", s, " has more elements than an array can ",
                                  "hold (fewer than 2^60, so that its size in bytes fits in int64)."));
}

#if defined(__linux__)
// A number from a cgroup file ("max" or a missing file: none).
size_t cgroup_value(const char* path) {
  size_t v = std::numeric_limits<size_t>::max();
  if (FILE* f = std::fopen(path, "r")) {
    unsigned long long x;
    if (std::fscanf(f, "%llu", &x) == 1) v = size_t(x);
    std::fclose(f);
  }
  return v;
}
#endif

// RAM plus swap (or the container's memory limit when lower), read once: a buffer larger
// than this can never be allocated (and under overcommit a failed page fault would kill the
// process instead of raising).
size_t machine_memory() {
  static const size_t total = [] {
#if defined(__linux__)
    struct sysinfo info;
    if (sysinfo(&info) == 0) {
      const size_t swap = size_t(info.totalswap) * size_t(info.mem_unit);
      size_t t = size_t(info.totalram) * size_t(info.mem_unit) + swap;
      const size_t v2 = cgroup_value("/sys/fs/cgroup/memory.max");
      const size_t v1 = cgroup_value("/sys/fs/cgroup/memory/memory.limit_in_bytes");
      const size_t cg = std::min(v2, v1);
      if (cg < t) t = std::min(t, cg + std::min(swap, cgroup_value("/sys/fs/cgroup/memory.swap.max")));
      return t;
    }
#elif defined(__APPLE__)
    uint64_t mem = 0;
    size_t len = sizeof(mem);
    if (sysctlbyname("hw.memsize", &mem, &len, nullptr, 0) == 0) return size_t(mem) * 2;
#endif
    return std::numeric_limits<size_t>::max();
  }();
  return total;
}

}  // namespace

int64_t shape_size(const Shape& s, const char* op) {
  for (auto d : s) {
    if (d < 0) throw std::invalid_argument(msg("[", op, "] Negative dimension in shape ", s, "."));
  }
  int64_t n = 1;
  for (auto d : s) {
    if (d == 0) return 0;  // (0, 2**62) is empty, not too large
  }
  for (auto d : s) {
    if (n > kMaxArraySize / d) too_large(op, s);
    n *= d;
  }
  return n;
}

int64_t checked_add(const char* op, int64_t a, int64_t b) {
  if (a < 0 || b < 0 || a > kMaxArraySize - b) {
    throw std::invalid_argument(msg("[", op, "] The size ", a, " + ", b,
                                    " is out of range (fewer than 2^60)."));
  }
  return a + b;
}

int64_t checked_mul(const char* op, int64_t a, int64_t b) {
  if (a < 0 || b < 0 || (b != 0 && a > kMaxArraySize / b)) {
    throw std::invalid_argument(msg("[", op, "] The size ", a, " * ", b,
                                    " is out of range (fewer than 2^60)."));
  }
  return a * b;
}

size_t checked_nbytes(const char* op, const Shape& s, Dtype dtype) {
  const size_t n = size_t(shape_size(s, op)) * size_of(dtype);
  if (n > machine_memory()) {
    throw memory_error(msg("[", op, "] An array of shape ", s, " and dtype ", dtype_name(dtype),
                           " needs ", bytes_str(n), " (", n, " bytes), more than this machine's ",
                           "memory (", bytes_str(machine_memory()), " with swap)."));
  }
  return n;
}

std::string bytes_str(size_t nbytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(nbytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof(buf), "%zu bytes", nbytes);
  else std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[u]);
  return buf;
}

Strides row_major_strides(const Shape& s) {
  // Past kMaxArraySize the strides stop growing instead of overflowing int64 (undefined
  // behaviour): only an empty array gets there, a zero among huge dimensions such as
  // (0, 2**40, 2**40), and its strides address nothing.
  Strides st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    const int64_t d = std::max<int64_t>(s[i], 1);
    acc = acc > kMaxArraySize / d ? kMaxArraySize : acc * d;
  }
  return st;
}

int normalize_axis(const char* op, int axis, int ndim) {
  if (axis < -ndim || axis >= ndim) {
    throw std::out_of_range(
        msg("[", op, "] Axis ", axis, " is out of bounds for an array with ", ndim,
            " dimension", ndim == 1 ? "" : "s", "."));
  }
  return axis < 0 ? axis + ndim : axis;
}

std::vector<int> normalize_axes(const char* op, const std::vector<int>& axes, int ndim) {
  std::vector<int> out;
  out.reserve(axes.size());
  for (int a : axes) {
    int n = normalize_axis(op, a, ndim);
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      throw std::invalid_argument(msg("[", op, "] Axis ", a, " is repeated."));
    }
    out.push_back(n);
  }
  return out;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw std::invalid_argument(msg("[", op, "] Shapes ", a, " and ", b,
                                      " cannot be broadcast together."));
    }
    out[i] = da == 1 ? db : da;
  }
  shape_size(out, op);
  return out;
}

}  // namespace ember
