// A one-line status redrawn in place on a terminal ("\r" + text + erase to
// the end of the line). Disabled, it writes nothing: output that goes to a
// file or a pipe gets only whole lines.
#pragma once

#include <ostream>
#include <string>

namespace flare::cli {

class StatusLine {
 public:
  StatusLine(std::ostream& out, bool enabled) : out_(out), enabled_(enabled) {}

  bool enabled() const { return enabled_; }
  // Replaces the status line with `text`.
  void update(const std::string& text);
  // Erases the status line, if one is shown.
  void clear();
  // Writes `line` and a newline, erasing the status line first so they do
  // not mix; the next update() draws the status again below it.
  void print_line(const std::string& line);

 private:
  std::ostream& out_;
  bool enabled_;
  bool shown_ = false;
};

}  // namespace flare::cli
