#include "recorder/byte_io.h"

#include <zlib.h>

namespace flare::rec {

uint64_t ByteReader::fixed(int n) {
  if (failed_ || remaining() < static_cast<size_t>(n)) {
    failed_ = true;
    return 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
  pos_ += n;
  return v;
}

uint64_t ByteReader::multi_byte_varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (failed_ || at_end()) {
      failed_ = true;
      return 0;
    }
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  failed_ = true;  // more than 10 bytes: not a varint we wrote
  return 0;
}

std::string_view ByteReader::bytes() {
  uint64_t n = varint();
  return raw(n);
}

std::string_view ByteReader::raw(size_t n) {
  if (failed_ || remaining() < n) {
    failed_ = true;
    return {};
  }
  std::string_view s = data_.substr(pos_, n);
  pos_ += n;
  return s;
}

uint32_t crc32_of(std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

}  // namespace flare::rec
