#include "viewer/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace flare::viewer {

namespace {

// Level 1: on a large pprof it deflates about twice as fast as zlib's
// default (6) for about 6 % more bytes (docs/PERFORMANCE.md), and every
// gzip reader accepts any level. Compression was the largest single cost
// of `flare convert --to pprof`.
constexpr int kLevel = Z_BEST_SPEED;
constexpr int kRawDeflateWindowBits = -15;  // no zlib/gzip framing: we write the gzip one around the parts
constexpr int kMemLevel = 8;
constexpr size_t kOutputStep = 256 * 1024;
// deflate looks back at most 32 KiB, so a part primed with the previous
// part's last 32 KiB compresses as it would have in one stream.
constexpr size_t kWindowBytes = 32 * 1024;
// Below this a part is not worth a thread.
constexpr size_t kMinPartBytes = 1 << 20;
constexpr size_t kMaxParts = 4;

// One slice of the input, deflated independently (as pigz does): every part
// but the last ends on a byte boundary with a sync flush and without the
// final-block bit, so the parts concatenate into one valid deflate stream.
struct Part {
  std::string_view input;
  std::string_view dictionary;  // the input's preceding bytes, at most kWindowBytes
  bool last = false;
  std::string deflated;
  uLong crc = 0;
  bool ok = false;
};

void deflate_part(Part& part) {
  part.crc = crc32_z(crc32_z(0, nullptr, 0), reinterpret_cast<const Bytef*>(part.input.data()), part.input.size());
  z_stream zs{};
  if (deflateInit2(&zs, kLevel, Z_DEFLATED, kRawDeflateWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) != Z_OK) return;
  if (!part.dictionary.empty() &&
      deflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(part.dictionary.data()),
                           static_cast<uInt>(part.dictionary.size())) != Z_OK) {
    deflateEnd(&zs);
    return;
  }
  size_t consumed = 0, produced = 0;
  const int final_flush = part.last ? Z_FINISH : Z_SYNC_FLUSH;
  while (true) {
    // avail_in and avail_out are 32-bit; feed and drain very large parts in slices.
    if (zs.avail_in == 0 && consumed < part.input.size()) {
      size_t slice = std::min<size_t>(part.input.size() - consumed, std::numeric_limits<uInt>::max());
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.input.data() + consumed));
      zs.avail_in = static_cast<uInt>(slice);
      consumed += slice;
    }
    if (part.deflated.size() - produced < kOutputStep) part.deflated.resize(produced + 2 * kOutputStep);
    zs.next_out = reinterpret_cast<Bytef*>(part.deflated.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(part.deflated.size() - produced, std::numeric_limits<uInt>::max()));
    const uInt room = zs.avail_out;
    const bool all_given = consumed == part.input.size();
    const int rc = deflate(&zs, all_given ? final_flush : Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc == Z_STREAM_ERROR) break;
    // Done when the final flush has completed: Z_FINISH says so itself; a
    // sync flush is complete once deflate returns with output room to spare.
    if (all_given && zs.avail_in == 0 && (part.last ? rc == Z_STREAM_END : zs.avail_out != 0)) {
      part.ok = true;
      break;
    }
  }
  deflateEnd(&zs);
  part.deflated.resize(produced);
}

// Cuts `data` into parts of at least kMinPartBytes, one per core.
std::vector<Part> split(std::string_view data) {
  size_t cores = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxParts);
  size_t parts = std::clamp<size_t>(data.size() / kMinPartBytes, 1, cores);
  std::vector<Part> out(parts);
  const size_t step = data.size() / parts;
  for (size_t i = 0; i < parts; ++i) {
    size_t begin = i * step;
    size_t end = i + 1 == parts ? data.size() : begin + step;
    out[i].input = data.substr(begin, end - begin);
    size_t window = std::min(begin, kWindowBytes);
    out[i].dictionary = data.substr(begin - window, window);
    out[i].last = i + 1 == parts;
  }
  return out;
}

// Deflates the parts, all but the first on threads of their own. Should a
// thread not start, its part is deflated on this one: slower, same bytes.
void deflate_parts(std::vector<Part>& parts) {
  std::vector<std::thread> threads;
  std::vector<Part*> inline_parts{&parts[0]};
  for (size_t i = 1; i < parts.size(); ++i) {
    try {
      threads.emplace_back(deflate_part, std::ref(parts[i]));
    } catch (const std::system_error&) {
      inline_parts.push_back(&parts[i]);
    }
  }
  for (Part* part : inline_parts) deflate_part(*part);
  for (std::thread& t : threads) t.join();
}

void put_le32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

Status write_gzip(std::string_view data, std::ostream& out) {
  std::vector<Part> parts = split(data);
  deflate_parts(parts);
  uLong crc = parts[0].crc;
  for (const Part& part : parts) {
    if (!part.ok) return Status(ErrorCode::kInternal, "gzip: deflate failed");
    if (&part != &parts[0]) crc = crc32_combine(crc, part.crc, static_cast<z_off_t>(part.input.size()));
  }
  // RFC 1952 member header: deflate, no name, no mtime; XFL 4 = fastest
  // compression; OS 3 = Unix (what zlib itself writes).
  constexpr std::array<char, 10> kHeader = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 4, 3};
  std::string trailer;
  put_le32(trailer, static_cast<uint32_t>(crc));
  put_le32(trailer, static_cast<uint32_t>(data.size()));  // ISIZE is the size modulo 2^32
  out.write(kHeader.data(), kHeader.size());
  for (const Part& part : parts) out.write(part.deflated.data(), static_cast<std::streamsize>(part.deflated.size()));
  out.write(trailer.data(), static_cast<std::streamsize>(trailer.size()));
  if (!out) return Status(ErrorCode::kIo, "gzip: write failed");
  return Status::ok();
}

}  // namespace flare::viewer
