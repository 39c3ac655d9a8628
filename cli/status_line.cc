#include "cli/status_line.h"

namespace flare::cli {

namespace {
constexpr const char* kEraseLine = "\r\x1b[K";
}  // namespace

void StatusLine::update(const std::string& text) {
  if (!enabled_) return;
  out_ << kEraseLine << "flare: " << text << std::flush;
  shown_ = true;
}

void StatusLine::clear() {
  if (!shown_) return;
  out_ << kEraseLine << std::flush;
  shown_ = false;
}

void StatusLine::print_line(const std::string& line) {
  clear();
  out_ << line << '\n';
}

}  // namespace flare::cli
