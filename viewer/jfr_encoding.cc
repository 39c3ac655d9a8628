#include "viewer/jfr_encoding.h"

namespace flare::viewer::jfr {

namespace {

constexpr std::string_view kEmptyStringEncoding = "\x01";
constexpr uint8_t kUtf8Encoding = 3;

}  // namespace

void JfrBuffer::varint(uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    if (v < 0x80) {
      u8(static_cast<uint8_t>(v));
      return;
    }
    u8(static_cast<uint8_t>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  u8(static_cast<uint8_t>(v));  // the ninth byte: all 8 bits
}

void JfrBuffer::string(std::string_view s) {
  if (s.empty()) {
    raw(kEmptyStringEncoding);
    return;
  }
  u8(kUtf8Encoding);
  varint(s.size());
  raw(s);
}

void JfrBuffer::be(uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) u8(static_cast<uint8_t>(v >> (8 * i)));
}

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (n < 9 && v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void append_sized(JfrBuffer& out, std::string_view body) {
  // The size includes its own bytes, so find the fixed point: at most two
  // steps, since adding a byte to the prefix can only grow it by one.
  uint64_t size = body.size() + 1;
  while (varint_size(size) + body.size() != size) size = body.size() + varint_size(size);
  out.varint(size);
  out.raw(body);
}

}  // namespace flare::viewer::jfr
