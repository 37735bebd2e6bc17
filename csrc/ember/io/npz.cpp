// The .npz format: a zip archive holding one NAME.npy entry per array, stored (savez) or
// deflated (savez_compressed, through zlib). Zip64 records are written when an entry or an
// offset does not fit in 32 bits, and read when present.
#include <algorithm>
#include <set>

#include "ember/io/internal.h"

#if EMBER_HAS_ZLIB
#include <zlib.h>
#endif

namespace ember::io {

namespace detail {
std::string npy_header_bytes(const array& c);
}

using detail::fail;
using detail::put_le;
using detail::read_le;

bool has_deflate() { return EMBER_HAS_ZLIB; }

namespace {

constexpr uint32_t kLocal = 0x04034b50, kCentral = 0x02014b50, kEnd = 0x06054b50,
                   kEnd64 = 0x06064b50, kLocator64 = 0x07064b50;
constexpr uint32_t k32 = 0xFFFFFFFFu;

// A window [offset, offset + n) of another reader: one stored entry.
class SubReader : public Reader {
 public:
  SubReader(const Reader& base, uint64_t offset, uint64_t n, std::string label)
      : base_(base), offset_(offset), size_(n), label_(std::move(label)) {}
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, void* dst, size_t n) const override {
    if (offset > size_ || n > size_ - offset) {
      throw std::invalid_argument(msg("[load] ", label_, ": the entry ends at byte ", size_,
                                      ", before the ", n, " bytes at offset ", offset,
                                      " (truncated or corrupt)."));
    }
    base_.read(offset_ + offset, dst, n);
  }
  const std::string& label() const override { return label_; }

 private:
  const Reader& base_;
  uint64_t offset_, size_;
  std::string label_;
};

struct Entry {
  std::string name;
  uint64_t offset = 0, csize = 0, usize = 0;  // local header offset, sizes
  uint16_t method = 0;
  uint32_t crc = 0;
};

// The npy bytes of one array: header, then the data of the evaluated array.
struct NpyBytes {
  std::string header;
  array data;
};

NpyBytes npy_bytes(const array& a) {
  NpyBytes b;
  b.data = detail::contiguous(a);
  b.header = detail::npy_header_bytes(b.data);
  return b;
}

#if EMBER_HAS_ZLIB
std::string deflate_bytes(const NpyBytes& b) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::invalid_argument("[savez_compressed] zlib could not be initialized.");
  }
  std::string out;
  auto pump = [&](const char* data, size_t n, bool last) {
    size_t done = 0;
    for (;;) {
      const uInt chunk = uInt(std::min<size_t>(n - done, size_t(1) << 30));
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data + done));
      z.avail_in = chunk;
      const bool final_chunk = done + chunk == n;
      const int flush = last && final_chunk ? Z_FINISH : Z_NO_FLUSH;
      do {
        char buf[1 << 16];
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof(buf);
        if (deflate(&z, flush) == Z_STREAM_ERROR) {
          deflateEnd(&z);
          throw std::invalid_argument("[savez_compressed] zlib deflate failed.");
        }
        out.append(buf, sizeof(buf) - z.avail_out);
      } while (z.avail_out == 0);
      done += chunk;
      if (final_chunk) break;
    }
  };
  pump(b.header.data(), b.header.size(), false);
  pump(b.data.size() > 0 ? static_cast<const char*>(b.data.raw_data()) : nullptr,
       b.data.nbytes(), true);
  deflateEnd(&z);
  return out;
}
#endif

// Zip64 extra field with the given 64-bit values.
std::string zip64_extra(const std::vector<uint64_t>& values) {
  std::string e;
  put_le<uint16_t>(e, 0x0001);
  put_le<uint16_t>(e, uint16_t(8 * values.size()));
  for (auto v : values) put_le<uint64_t>(e, v);
  return e;
}

}  // namespace

void save_npz(Writer& w, const NamedArrays& arrays, bool compressed) {
  const char* op = compressed ? "savez_compressed" : "savez";
#if !EMBER_HAS_ZLIB
  if (compressed) {
    throw std::invalid_argument("[savez_compressed] ember was built without zlib; use savez.");
  }
#endif
  std::set<std::string> names;
  for (auto& [name, a] : arrays) {
    if (!names.insert(name).second) {
      throw std::invalid_argument(msg("[", op, "] The name '", name, "' is given twice."));
    }
  }
  std::string central;
  uint64_t pos = 0;
  for (auto& [name, a] : arrays) {
    const std::string fname = name + ".npy";
    if (fname.size() > 65535) throw std::invalid_argument(msg("[", op, "] A name is too long."));
    NpyBytes b = npy_bytes(a);
    const uint64_t usize = b.header.size() + b.data.nbytes();
    uint32_t crc = detail::crc32(0, b.header.data(), b.header.size());
    if (b.data.nbytes() > 0) crc = detail::crc32(crc, b.data.raw_data(), b.data.nbytes());
    std::string packed;
#if EMBER_HAS_ZLIB
    if (compressed) packed = deflate_bytes(b);
#endif
    const uint64_t csize = compressed ? packed.size() : usize;
    const bool big = usize >= k32 || csize >= k32 || pos >= k32;
    const uint16_t method = compressed ? 8 : 0;
    const uint16_t version = big ? 45 : 20;
    // Local header; with zip64, both sizes go to the extra field.
    std::string local;
    put_le<uint32_t>(local, kLocal);
    put_le<uint16_t>(local, version);
    put_le<uint16_t>(local, 0);  // flags
    put_le<uint16_t>(local, method);
    put_le<uint16_t>(local, 0);       // time
    put_le<uint16_t>(local, 0x21);    // date: 1980-01-01
    put_le<uint32_t>(local, crc);
    put_le<uint32_t>(local, big ? k32 : uint32_t(csize));
    put_le<uint32_t>(local, big ? k32 : uint32_t(usize));
    std::string lextra = big ? zip64_extra({usize, csize}) : "";
    put_le<uint16_t>(local, uint16_t(fname.size()));
    put_le<uint16_t>(local, uint16_t(lextra.size()));
    local += fname;
    local += lextra;
    w.write(local.data(), local.size());
    if (compressed) {
      w.write(packed.data(), packed.size());
    } else {
      w.write(b.header.data(), b.header.size());
      if (b.data.nbytes() > 0) w.write(b.data.raw_data(), b.data.nbytes());
    }
    // Central directory record.
    std::string cextra = big ? zip64_extra({usize, csize, pos}) : "";
    put_le<uint32_t>(central, kCentral);
    put_le<uint16_t>(central, version);  // made by
    put_le<uint16_t>(central, version);  // needed
    put_le<uint16_t>(central, 0);
    put_le<uint16_t>(central, method);
    put_le<uint16_t>(central, 0);
    put_le<uint16_t>(central, 0x21);
    put_le<uint32_t>(central, crc);
    put_le<uint32_t>(central, big ? k32 : uint32_t(csize));
    put_le<uint32_t>(central, big ? k32 : uint32_t(usize));
    put_le<uint16_t>(central, uint16_t(fname.size()));
    put_le<uint16_t>(central, uint16_t(cextra.size()));
    put_le<uint16_t>(central, 0);  // comment
    put_le<uint16_t>(central, 0);  // disk
    put_le<uint16_t>(central, 0);  // internal attributes
    put_le<uint32_t>(central, 0);  // external attributes
    put_le<uint32_t>(central, big ? k32 : uint32_t(pos));
    central += fname;
    central += cextra;
    pos += local.size() + csize;
  }
  const uint64_t cd_offset = pos, cd_size = central.size(), count = arrays.size();
  std::string end;
  const bool big = cd_offset >= k32 || count >= 0xFFFF;
  if (big) {
    put_le<uint32_t>(end, kEnd64);
    put_le<uint64_t>(end, 44);  // size of the rest of this record
    put_le<uint16_t>(end, 45);
    put_le<uint16_t>(end, 45);
    put_le<uint32_t>(end, 0);
    put_le<uint32_t>(end, 0);
    put_le<uint64_t>(end, count);
    put_le<uint64_t>(end, count);
    put_le<uint64_t>(end, cd_size);
    put_le<uint64_t>(end, cd_offset);
    put_le<uint32_t>(end, kLocator64);
    put_le<uint32_t>(end, 0);
    put_le<uint64_t>(end, cd_offset + cd_size);
    put_le<uint32_t>(end, 1);
  }
  put_le<uint32_t>(end, kEnd);
  put_le<uint16_t>(end, 0);
  put_le<uint16_t>(end, 0);
  put_le<uint16_t>(end, big ? 0xFFFF : uint16_t(count));
  put_le<uint16_t>(end, big ? 0xFFFF : uint16_t(count));
  put_le<uint32_t>(end, big ? k32 : uint32_t(cd_size));
  put_le<uint32_t>(end, big ? k32 : uint32_t(cd_offset));
  put_le<uint16_t>(end, 0);
  w.write(central.data(), central.size());
  w.write(end.data(), end.size());
  w.commit();
}

namespace {

std::vector<Entry> read_directory(const Reader& r) {
  const char* op = "load";
  if (r.size() < 22) fail(op, r, "not a .npz file (too short for a zip archive).");
  // The end record is in the last 22 + 65535 bytes (after it, at most a comment).
  const uint64_t tail = std::min<uint64_t>(r.size(), 22 + 65535);
  std::string buf(tail, '\0');
  r.read(r.size() - tail, buf.data(), tail);
  int64_t at = -1;
  for (int64_t i = int64_t(tail) - 22; i >= 0; --i) {
    uint32_t sig;
    std::memcpy(&sig, buf.data() + i, 4);
    if (sig == kEnd) {
      at = i;
      break;
    }
  }
  if (at < 0) fail(op, r, "not a .npz file (no zip end-of-directory record).");
  const uint64_t end = r.size() - tail + uint64_t(at);
  uint64_t count = read_le<uint16_t>(r, end + 10);
  uint64_t cd_size = read_le<uint32_t>(r, end + 12);
  uint64_t cd_offset = read_le<uint32_t>(r, end + 16);
  if ((count == 0xFFFF || cd_size == k32 || cd_offset == k32) && end >= 20 &&
      read_le<uint32_t>(r, end - 20) == kLocator64) {
    const uint64_t rec = read_le<uint64_t>(r, end - 12);
    if (read_le<uint32_t>(r, rec) != kEnd64) fail(op, r, "the zip64 end record is corrupt.");
    count = read_le<uint64_t>(r, rec + 32);
    cd_size = read_le<uint64_t>(r, rec + 40);
    cd_offset = read_le<uint64_t>(r, rec + 48);
  }
  detail::check_region(op, r, cd_offset, cd_size, "The zip central directory");
  // Each record takes at least 46 bytes: a count beyond that is a lie.
  if (count > cd_size / 46) fail(op, r, "the zip directory's entry count is corrupt.");
  std::vector<Entry> entries;
  uint64_t p = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    if (p + 46 > cd_offset + cd_size || read_le<uint32_t>(r, p) != kCentral) {
      fail(op, r, "the zip central directory is corrupt.");
    }
    Entry e;
    e.method = read_le<uint16_t>(r, p + 10);
    e.crc = read_le<uint32_t>(r, p + 16);
    e.csize = read_le<uint32_t>(r, p + 20);
    e.usize = read_le<uint32_t>(r, p + 24);
    const uint16_t nlen = read_le<uint16_t>(r, p + 28), xlen = read_le<uint16_t>(r, p + 30),
                   clen = read_le<uint16_t>(r, p + 32);
    e.offset = read_le<uint32_t>(r, p + 42);
    e.name.resize(nlen);
    r.read(p + 46, e.name.data(), nlen);
    detail::check_utf8(op, r, e.name, "The entry name");
    // Zip64 extra: the 64-bit values of the fields that were 0xFFFFFFFF, in order.
    uint64_t x = p + 46 + nlen, xend = x + xlen;
    while (x + 4 <= xend) {
      const uint16_t id = read_le<uint16_t>(r, x), len = read_le<uint16_t>(r, x + 2);
      if (id == 0x0001) {
        uint64_t q = x + 4, qend = x + 4 + len;
        auto next = [&](uint64_t& field) {
          if (field != k32) return;
          if (q + 8 > qend) fail(op, r, "a zip64 extra field is corrupt.");
          field = read_le<uint64_t>(r, q);
          q += 8;
        };
        next(e.usize);
        next(e.csize);
        next(e.offset);
      }
      x += 4 + len;
    }
    entries.push_back(std::move(e));
    p += 46 + uint64_t(nlen) + xlen + clen;
  }
  return entries;
}

#if EMBER_HAS_ZLIB
// Inflates a deflated entry whose declared size was checked to be plausible.
std::string inflate_entry(const Reader& r, uint64_t offset, const Entry& e) {
  std::string in(e.csize, '\0');
  r.read(offset, in.data(), e.csize);
  std::string out(e.usize, '\0');
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) fail("load", r, "zlib could not be initialized.");
  uint64_t in_done = 0, out_done = 0;
  int rc = Z_OK;
  for (;;) {
    const uInt ci = uInt(std::min<uint64_t>(in.size() - in_done, uint64_t(1) << 30));
    const uInt co = uInt(std::min<uint64_t>(out.size() - out_done, uint64_t(1) << 30));
    z.next_in = reinterpret_cast<Bytef*>(in.data() + in_done);
    z.avail_in = ci;
    z.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    z.avail_out = co;
    rc = inflate(&z, Z_NO_FLUSH);
    const uint64_t used = ci - z.avail_in, made = co - z.avail_out;
    in_done += used;
    out_done += made;
    if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR) || (used == 0 && made == 0)) {
      break;
    }
  }
  const uint64_t out_left = out.size() - out_done;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || out_left != 0) {
    fail("load", r, msg("the deflated entry '", e.name, "' is corrupt or does not match its ",
                        "declared size."));
  }
  return out;
}
#endif

}  // namespace

NamedArrays load_npz(const Reader& r) {
  const char* op = "load";
  NamedArrays out;
  std::set<std::string> seen;
  const std::vector<Entry> entries = read_directory(r);
  std::vector<std::pair<uint64_t, uint64_t>> regions;
  for (const Entry& e : entries) {
    if (e.offset > r.size() || r.size() - e.offset < 30) {
      fail(op, r, msg("the local header of '", e.name, "' lies outside the file."));
    }
    const uint64_t data = e.offset + 30 + read_le<uint16_t>(r, e.offset + 26) +
                          read_le<uint16_t>(r, e.offset + 28);
    regions.emplace_back(e.offset, data + e.csize);
  }
  detail::check_disjoint(op, r, regions);
  for (const Entry& e : entries) {
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0) {
      fail(op, r, msg("the entry '", e.name, "' is not a .npy file."));
    }
    const std::string name = e.name.substr(0, e.name.size() - 4);
    if (!seen.insert(name).second) fail(op, r, msg("the name '", name, "' appears twice."));
    // The local header repeats the name and has its own extra field length.
    if (e.offset > r.size() || r.size() - e.offset < 30 ||
        read_le<uint32_t>(r, e.offset) != kLocal) {
      fail(op, r, msg("the local header of '", e.name, "' is missing or corrupt."));
    }
    const uint64_t data = e.offset + 30 + read_le<uint16_t>(r, e.offset + 26) +
                          read_le<uint16_t>(r, e.offset + 28);
    detail::check_region(op, r, data, e.csize, msg("The entry '", e.name, "'").c_str());
    const std::string label = r.label() + "[" + e.name + "]";
    array a;
    if (e.method == 0) {
      if (e.usize != e.csize) fail(op, r, msg("the stored entry '", e.name, "' has two sizes."));
      SubReader sub(r, data, e.csize, label);
      a = load_npy(sub);
    } else if (e.method == 8) {
#if EMBER_HAS_ZLIB
      // Deflate expands at most ~1032x: a larger declared size is a lie, so it is never
      // allocated.
      if (e.usize / 1032 > e.csize + 1) {
        fail(op, r, msg("the entry '", e.name, "' declares ", e.usize, " bytes from ", e.csize,
                        " compressed ones, more than deflate can produce."));
      }
      checked_nbytes("load", Shape{int64_t(std::min<uint64_t>(e.usize, kMaxArraySize))},
                     Dtype::uint8);
      std::string bytes = inflate_entry(r, data, e);
      if (detail::crc32(0, bytes.data(), bytes.size()) != e.crc) {
        fail(op, r, msg("the entry '", e.name, "' fails its CRC check (corrupt)."));
      }
      auto mem = memory_reader(bytes.data(), bytes.size(), label);
      a = load_npy(*mem);
#else
      fail(op, r, "deflated entries need zlib, which this ember build lacks.");
#endif
    } else {
      fail(op, r, msg("the entry '", e.name, "' uses zip compression method ", e.method,
                      " (ember reads stored and deflated entries)."));
    }
    if (e.method == 0) {
      // Stored: check the CRC over the entry's bytes, a chunk at a time.
      std::string chunk(std::min<uint64_t>(e.csize, 1 << 20), '\0');
      uint32_t crc = 0;
      for (uint64_t done = 0; done < e.csize;) {
        const size_t n = size_t(std::min<uint64_t>(chunk.size(), e.csize - done));
        r.read(data + done, chunk.data(), n);
        crc = detail::crc32(crc, chunk.data(), n);
        done += n;
      }
      if (crc != e.crc) fail(op, r, msg("the entry '", e.name, "' fails its CRC check (corrupt)."));
    }
    out.emplace_back(name, std::move(a));
  }
  return out;
}

}  // namespace ember::io
