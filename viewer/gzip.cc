#include "viewer/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace flare::viewer {

namespace {

// windowBits 15 + 16 asks zlib for a gzip header and trailer instead of the
// zlib ones.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kMemLevel = 8;
constexpr size_t kChunk = 256 * 1024;

}  // namespace

Status write_gzip(std::string_view data, std::ostream& out) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status(ErrorCode::kInternal, "gzip: deflateInit2 failed");
  }
  std::vector<unsigned char> buffer(kChunk);
  size_t consumed = 0;
  int rc = Z_OK;
  do {
    // avail_in is 32-bit; feed very large inputs in slices.
    if (zs.avail_in == 0 && consumed < data.size()) {
      size_t slice = std::min<size_t>(data.size() - consumed, std::numeric_limits<uInt>::max());
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + consumed));
      zs.avail_in = static_cast<uInt>(slice);
      consumed += slice;
    }
    int flush = consumed == data.size() ? Z_FINISH : Z_NO_FLUSH;
    zs.next_out = buffer.data();
    zs.avail_out = static_cast<uInt>(buffer.size());
    rc = deflate(&zs, flush);
    if (rc == Z_STREAM_ERROR) {
      deflateEnd(&zs);
      return Status(ErrorCode::kInternal, "gzip: deflate failed");
    }
    out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(buffer.size() - zs.avail_out));
    if (!out) {
      deflateEnd(&zs);
      return Status(ErrorCode::kIo, "gzip: write failed");
    }
  } while (rc != Z_STREAM_END);
  deflateEnd(&zs);
  return Status::ok();
}

}  // namespace flare::viewer
