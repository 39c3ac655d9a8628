// The byte encodings of a JFR chunk (JDK 17 reads what this writes): JFR's
// variable-length integers, its string encoding, and the size prefix every
// event and checkpoint starts with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flare::viewer::jfr {

// Appends JFR values to a byte string.
class JfrBuffer {
 public:
  // JFR's compressed integer: 7 bits per byte, low bits first, high bit set
  // when more follow; the ninth byte carries a full 8 bits, so any 64-bit
  // value takes at most 9 bytes. Negative values are their two's complement.
  void varint(uint64_t v);
  void svarint(int64_t v) { varint(static_cast<uint64_t>(v)); }
  void boolean(bool b) { u8(b ? 1 : 0); }
  void u8(uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  // Big-endian fixed-width fields of the chunk header.
  void be16(uint16_t v) { be(v, 2); }
  void be32(uint32_t v) { be(v, 4); }
  void be64(uint64_t v) { be(v, 8); }
  // A string field: encoding 3 (UTF-8 bytes with their length), or 1 for "".
  void string(std::string_view s);
  void raw(std::string_view s) { bytes_.append(s); }
  // Replaces bytes already written (the chunk header, once sizes are known).
  void overwrite(size_t offset, std::string_view s) { bytes_.replace(offset, s.size(), s); }

  const std::string& bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  void clear() { bytes_.clear(); }

 private:
  void be(uint64_t v, int n);
  std::string bytes_;
};

// Bytes of `v` as a JFR compressed integer.
size_t varint_size(uint64_t v);

// Appends one event (or metadata or checkpoint) record: its total size,
// counting the size field itself, then `body` (which starts with the type id).
void append_sized(JfrBuffer& out, std::string_view body);

}  // namespace flare::viewer::jfr
