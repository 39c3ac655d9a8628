// write_gzip: one gzip member that zlib's inflate (what go tool pprof uses
// in spirit: any RFC 1952 reader) decodes to the input, whether the input
// was deflated in one part or in several on separate threads.
#include "viewer/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <sstream>
#include <string>

#include "tests/unit/gunzip_for_tests.h"

namespace flare::viewer {
namespace {

using flare::testing::gunzip;

std::string gzip_of(const std::string& data) {
  std::ostringstream out;
  EXPECT_TRUE(write_gzip(data, out).is_ok());
  return out.str();
}

// Protobuf-like bytes: varint-ish runs drawn from a small vocabulary, so
// they compress, with matches that reach back across any part boundary.
std::string compressible(size_t size) {
  std::mt19937_64 rng(42);
  std::vector<std::string> words;
  for (int i = 0; i < 500; ++i) {
    std::string w(4 + rng() % 40, '\0');
    for (char& c : w) c = static_cast<char>(rng() % 256);
    words.push_back(w);
  }
  std::string out;
  while (out.size() < size) out += words[rng() % words.size()];
  out.resize(size);
  return out;
}

// Level 1 in one zlib stream: what the parts together should come close to.
size_t single_stream_size(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  return n;
}

TEST(Gzip, EmptyInputIsAValidEmptyMember) {
  std::string gz = gzip_of("");
  EXPECT_EQ(gunzip(gz), "");
  EXPECT_EQ(gz.substr(0, 2), "\x1f\x8b");
}

TEST(Gzip, SmallInputRoundTrips) {
  std::string data = "perftools.profiles.Profile " + std::string(1000, 'x') + " end";
  std::string gz = gzip_of(data);
  EXPECT_EQ(gunzip(gz), data);
  EXPECT_LT(gz.size(), data.size());
}

// Several MiB are cut into parts (one per core, at least 1 MiB each); the
// result must still be one member with the whole input's CRC and length,
// which gunzip checks, and no bytes after it.
TEST(Gzip, LargeInputInPartsRoundTripsAsOneMember) {
  for (size_t size : {(size_t{1} << 20) - 1, size_t{3} << 20, (size_t{5} << 20) + 12345}) {
    std::string data = compressible(size);
    std::string gz = gzip_of(data);
    std::string back = gunzip(gz);
    ASSERT_EQ(back.size(), data.size()) << size;
    EXPECT_TRUE(back == data) << size;
    // Each part is primed with the 32 KiB before it, so splitting costs
    // next to nothing against one stream at the same level.
    EXPECT_LE(static_cast<double>(gz.size()), 1.01 * static_cast<double>(single_stream_size(data))) << size;
  }
}

TEST(Gzip, FailedStreamIsAnError) {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  EXPECT_EQ(write_gzip("data", out).code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace flare::viewer
