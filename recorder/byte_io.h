// Little-endian fixed-width and LEB128 varint encoding for the recording.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flare::rec {

class ByteWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { fixed(v, 2); }
  void u32(uint32_t v) { fixed(v, 4); }
  void u64(uint64_t v) { fixed(v, 8); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  // Zig-zag keeps small negative deltas small.
  void svarint(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void bytes(std::string_view s) {
    varint(s.size());
    buf_.append(s);
  }
  void raw(std::string_view s) { buf_.append(s); }

  const std::string& data() const { return buf_; }
  std::string& mutable_data() { return buf_; }
  size_t size() const { return buf_.size(); }
  void clear() { buf_.clear(); }

 private:
  void fixed(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string buf_;
};

// Bounds-checked reader: any read past the end sets failed() and returns 0,
// so a corrupt input can never make the reader read out of bounds.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  uint8_t u8() { return static_cast<uint8_t>(fixed(1)); }
  uint16_t u16() { return static_cast<uint16_t>(fixed(2)); }
  uint32_t u32() { return static_cast<uint32_t>(fixed(4)); }
  uint64_t u64() { return fixed(8); }
  // Most varints in a recording (ids, counts, sample columns) are one byte:
  // those are read inline, the rest by the general decoder.
  uint64_t varint() {
    if (!failed_ && pos_ < data_.size()) {
      auto b = static_cast<uint8_t>(data_[pos_]);
      if (b < 0x80) {
        ++pos_;
        return b;
      }
    }
    return multi_byte_varint();
  }
  int64_t svarint() {
    uint64_t v = varint();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::string_view bytes();
  std::string_view raw(size_t n);

  bool failed() const { return failed_; }
  bool at_end() const { return pos_ >= data_.size(); }
  size_t pos() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  uint64_t fixed(int n);
  uint64_t multi_byte_varint();
  std::string_view data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

uint32_t crc32_of(std::string_view data);

}  // namespace flare::rec
