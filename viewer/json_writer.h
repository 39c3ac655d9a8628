// Hand-written JSON for --json outputs: tiny, no dependency, and always
// valid — strings are escaped and bytes that are not UTF-8 (thread names and
// command lines come from /proc and may hold anything) become U+FFFD.
#pragma once

#include <concepts>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace flare::viewer {

// `s` as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

// Streams one JSON document, pretty-printed with two-space indentation.
// Callers pair begin/end calls; inside an object, every value follows key().
class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view name);

  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }
  void value(bool b);
  template <std::integral T>
  void value(T v) {
    begin_value();
    out_ << +v;
  }
  // Fixed decimals so output does not depend on the shortest-float algorithm.
  void value_fixed(double v, int decimals);
  void null();

  template <typename T>
  void field(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

 private:
  void open(char bracket);
  void close(char bracket);
  void begin_value();
  void newline();

  std::ostream& out_;
  std::vector<bool> has_items_;  // per open container
  bool after_key_ = false;
};

}  // namespace flare::viewer
