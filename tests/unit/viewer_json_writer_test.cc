#include <gtest/gtest.h>

#include <sstream>

#include "viewer/json_writer.h"

namespace flare::viewer {
namespace {

TEST(ViewerJson, QuoteEscapes) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_quote("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(json_quote(std::string("\x00\x1f\x7f", 3)), "\"\\u0000\\u001f\\u007f\"");
  EXPECT_EQ(json_quote("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\"");
}

TEST(ViewerJson, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(json_quote("\xff"), "\"\\ufffd\"");
  EXPECT_EQ(json_quote("a\xc3"), "\"a\\ufffd\"");                                 // truncated sequence
  EXPECT_EQ(json_quote("\xc0\xaf"), "\"\\ufffd\\ufffd\"");                        // overlong '/'
  EXPECT_EQ(json_quote("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");             // surrogate
  EXPECT_EQ(json_quote("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
}

TEST(ViewerJson, WriterNestsAndSeparates) {
  std::ostringstream out;
  JsonWriter j(out);
  j.begin_object();
  j.field("n", uint64_t{18446744073709551615ull});
  j.field("neg", int64_t{-3});
  j.field("small", uint8_t{7});
  j.field("s", "x");
  j.field("b", false);
  j.key("pct");
  j.value_fixed(12.345, 2);
  j.key("empty");
  j.begin_array();
  j.end_array();
  j.key("list");
  j.begin_array();
  j.value(1);
  j.null();
  j.begin_object();
  j.end_object();
  j.end_array();
  j.end_object();
  EXPECT_EQ(out.str(),
            "{\n"
            "  \"n\": 18446744073709551615,\n"
            "  \"neg\": -3,\n"
            "  \"small\": 7,\n"
            "  \"s\": \"x\",\n"
            "  \"b\": false,\n"
            "  \"pct\": 12.35,\n"
            "  \"empty\": [],\n"
            "  \"list\": [\n"
            "    1,\n"
            "    null,\n"
            "    {}\n"
            "  ]\n"
            "}\n");
}

}  // namespace
}  // namespace flare::viewer
