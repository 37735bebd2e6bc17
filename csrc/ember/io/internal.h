// Shared pieces of the file formats: the error helper, little-endian reads, and moving array
// bytes in and out (checked against the reader's size before allocating).
#pragma once

#include <cstring>
#include <string>

#include "ember/errors.h"
#include "ember/io/io.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "ember's file formats are written for little-endian hosts");

namespace ember::io::detail {

/// std::invalid_argument "[op] file: what".
[[noreturn]] inline void fail(const char* op, const Reader& r, const std::string& what) {
  throw std::invalid_argument(msg("[", op, "] ", r.label(), ": ", what));
}

/// s with bytes that are not printable ASCII written as \xNN: safe in any message.
std::string printable(const std::string& s);
/// fail() unless s is valid UTF-8 (names become Python str).
void check_utf8(const char* op, const Reader& r, const std::string& s, const char* what);

/// A little-endian scalar at offset.
template <typename T>
T read_le(const Reader& r, uint64_t offset) {
  T v;
  r.read(offset, &v, sizeof(T));
  return v;
}

/// Bounds for a region [offset, offset + n) declared by a file: both must lie inside it.
inline void check_region(const char* op, const Reader& r, uint64_t offset, uint64_t n,
                         const char* what) {
  if (offset > r.size() || n > r.size() - offset) {
    fail(op, r, msg(what, " of ", n, " bytes at offset ", offset, " runs past the end of the ",
                    r.size(), "-byte file (truncated or corrupt)."));
  }
}

/// Regions [begin, end) that arrays are read from must not overlap: otherwise a small file
/// could name the same bytes many times and make a load allocate far more than its size.
void check_disjoint(const char* op, const Reader& r,
                    std::vector<std::pair<uint64_t, uint64_t>> regions);

/// An evaluated array of shape and dtype filled from r at offset. The byte count is checked
/// against the file first, so a hostile shape cannot make us allocate it.
array read_array(const char* op, const Reader& r, uint64_t offset, const Shape& shape,
                 Dtype dtype, const std::string& name);

/// The evaluated row-contiguous form of a (for writing its bytes).
array contiguous(const array& a);

/// Appends little-endian scalars / bytes to a string.
template <typename T>
void put_le(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

/// CRC-32 (the zip / gzip polynomial), continuing from crc.
uint32_t crc32(uint32_t crc, const void* data, size_t n);

}  // namespace ember::io::detail
