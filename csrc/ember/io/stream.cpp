// Readers and writers behind the file formats: atomic file writes (temporary file, then
// rename), in-memory buffers, and the checked array reads every loader uses.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>

#include "ember/ops.h"
#include "ember/io/internal.h"

namespace ember::io {

namespace {

std::string errno_text() { return std::strerror(errno); }

class FileWriter : public Writer {
 public:
  FileWriter(const std::string& path, const char* op) : path_(path), op_(op) {
    static std::atomic<unsigned> counter{0};
    tmp_ = msg(path, ".tmp-", ::getpid(), "-", counter++);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      throw std::invalid_argument(msg("[", op, "] Cannot write '", path, "': ", errno_text(), "."));
    }
  }
  ~FileWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  void write(const void* data, size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t k = ::write(fd_, p, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        throw std::invalid_argument(
            msg("[", op_, "] Writing '", path_, "' failed: ", errno_text(), "."));
      }
      p += k;
      n -= size_t(k);
    }
  }
  void commit() override {
    // Data on disk before the name points at it: a crash leaves the old file or the new one.
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
      fd_ = -1;
      throw std::invalid_argument(
          msg("[", op_, "] Writing '", path_, "' failed: ", errno_text(), "."));
    }
    fd_ = -1;
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      throw std::invalid_argument(
          msg("[", op_, "] Cannot replace '", path_, "': ", errno_text(), "."));
    }
    committed_ = true;
  }

 private:
  std::string path_, tmp_;
  const char* op_;
  int fd_ = -1;
  bool committed_ = false;
};

class MemoryWriter : public Writer {
 public:
  explicit MemoryWriter(std::string& out) : out_(out) {}
  void write(const void* data, size_t n) override {
    out_.append(static_cast<const char*>(data), n);
  }

 private:
  std::string& out_;
};

class FileReader : public Reader {
 public:
  FileReader(const std::string& path, const char* op) : label_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      throw std::invalid_argument(msg("[", op, "] Cannot open '", path, "': ", errno_text(), "."));
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw std::invalid_argument(msg("[", op, "] '", path, "' is not a regular file."));
    }
    size_ = uint64_t(st.st_size);
  }
  ~FileReader() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset) {
      throw std::invalid_argument(msg("[load] ", label_, ": the file ends at byte ", size_,
                                      ", before the ", n, " bytes at offset ", offset,
                                      " (truncated or corrupt)."));
    }
    char* p = static_cast<char*>(dst);
    while (n > 0) {
      ssize_t k = ::pread(fd_, p, n, off_t(offset));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        throw std::invalid_argument(msg("[load] ", label_, ": read failed at offset ", offset,
                                        " (", k < 0 ? errno_text() : "end of file", ")."));
      }
      p += k;
      n -= size_t(k);
      offset += uint64_t(k);
    }
  }
  const std::string& label() const override { return label_; }

 private:
  std::string label_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

class MemoryReader : public Reader {
 public:
  MemoryReader(const void* data, size_t n, std::string label)
      : data_(static_cast<const char*>(data)), size_(n), label_(std::move(label)) {}
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset) {
      throw std::invalid_argument(msg("[load] ", label_, ": the data ends at byte ", size_,
                                      ", before the ", n, " bytes at offset ", offset,
                                      " (truncated or corrupt)."));
    }
    if (n > 0) std::memcpy(dst, data_ + offset, n);
  }
  const std::string& label() const override { return label_; }

 private:
  const char* data_;
  uint64_t size_;
  std::string label_;
};

}  // namespace

std::unique_ptr<Writer> file_writer(const std::string& path, const char* op) {
  return std::make_unique<FileWriter>(path, op);
}
std::unique_ptr<Writer> memory_writer(std::string& out) {
  return std::make_unique<MemoryWriter>(out);
}
std::unique_ptr<Reader> file_reader(const std::string& path, const char* op) {
  return std::make_unique<FileReader>(path, op);
}
std::unique_ptr<Reader> memory_reader(const void* data, size_t n, std::string label) {
  return std::make_unique<MemoryReader>(data, n, std::move(label));
}

namespace detail {

array read_array(const char* op, const Reader& r, uint64_t offset, const Shape& shape,
                 Dtype dtype, const std::string& name) {
  int64_t n;
  try {
    n = shape_size(shape, op);
  } catch (const std::invalid_argument&) {
    fail(op, r, msg("array '", name, "' declares shape ", shape, ", which no array can have."));
  }
  const uint64_t nbytes = uint64_t(n) * size_of(dtype);
  check_region(op, r, offset, nbytes, msg("The data of array '", name, "'").c_str());
  array a = array::placeholder(shape, dtype);
  a.allocate_row_contiguous();
  if (nbytes > 0) r.read(offset, a.raw_data(), nbytes);
  return a;
}

std::string printable(const std::string& s) {
  std::string out;
  const size_t n = std::min<size_t>(s.size(), 200);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > n) out += "...";
  return out;
}

void check_utf8(const char* op, const Reader& r, const std::string& s, const char* what) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok && len == 2) ok = c >= 0xC2;  // no overlong forms
    if (ok && len == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);  // overlong, surrogates
    }
    if (ok && len == 4) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (!ok) fail(op, r, msg(what, " '", printable(s), "' is not valid UTF-8."));
    i += size_t(len);
  }
}

void check_disjoint(const char* op, const Reader& r,
                    std::vector<std::pair<uint64_t, uint64_t>> regions) {
  // Empty regions hold no bytes and may sit anywhere.
  regions.erase(std::remove_if(regions.begin(), regions.end(),
                               [](const auto& g) { return g.first == g.second; }),
                regions.end());
  std::sort(regions.begin(), regions.end());
  for (size_t i = 1; i < regions.size(); ++i) {
    if (regions[i].first < regions[i - 1].second) {
      fail(op, r, msg("two arrays' data overlap (bytes ", regions[i].first, " to ",
                      regions[i - 1].second, "): the file is corrupt."));
    }
  }
}

array contiguous(const array& a) {
  array x = a;
  x.eval();
  if (x.flags().row_contiguous) return x;
  array c = copy(x);  // the Copy kernel writes a fresh row-contiguous buffer
  c.eval();
  return c;
}

uint32_t crc32(uint32_t crc, const void* data, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace detail

}  // namespace ember::io
