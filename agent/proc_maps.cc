#include "agent/proc_maps.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace flare::agent {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

// Consumes the leading run of non-space characters.
std::string_view take_field(std::string_view& rest) {
  size_t begin = rest.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(begin);
  size_t end = rest.find(' ');
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return field;
}

template <typename T>
bool parse_number(std::string_view text, int base, T& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_line(std::string_view line, MapEntry& entry) {
  std::string_view rest = line;
  std::string_view range = take_field(rest);
  std::string_view perms = take_field(rest);
  std::string_view offset = take_field(rest);
  std::string_view dev = take_field(rest);
  std::string_view inode = take_field(rest);

  size_t dash = range.find('-');
  size_t colon = dev.find(':');
  if (dash == std::string_view::npos || colon == std::string_view::npos) return false;
  if (!parse_number(range.substr(0, dash), 16, entry.start) ||
      !parse_number(range.substr(dash + 1), 16, entry.end) ||
      !parse_number(offset, 16, entry.offset) ||
      !parse_number(dev.substr(0, colon), 16, entry.dev_major) ||
      !parse_number(dev.substr(colon + 1), 16, entry.dev_minor) ||
      !parse_number(inode, 10, entry.inode) || perms.size() != 4 || entry.end < entry.start) {
    return false;
  }
  entry.perms = std::string(perms);

  // The path is everything after the padding, spaces included: file names may
  // contain spaces, so it cannot be split like the other fields.
  size_t path_begin = rest.find_first_not_of(' ');
  std::string_view path = path_begin == std::string_view::npos ? std::string_view() : rest.substr(path_begin);
  entry.deleted = path.size() > kDeletedSuffix.size() && path.ends_with(kDeletedSuffix);
  if (entry.deleted) path.remove_suffix(kDeletedSuffix.size());
  entry.path = std::string(path);
  return true;
}

}  // namespace

std::vector<MapEntry> parse_proc_maps(std::string_view text) {
  std::vector<MapEntry> entries;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    MapEntry entry;
    if (parse_line(line, entry)) entries.push_back(std::move(entry));
  }
  return entries;
}

Result<std::string> read_proc_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(errno, "opening " + path);
  std::string text;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      text.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return Status::from_errno(err, "reading " + path);
  }
  ::close(fd);
  return text;
}

Result<std::vector<MapEntry>> read_proc_maps(uint32_t pid) {
  Result<std::string> text = read_proc_file("/proc/" + std::to_string(pid) + "/maps");
  if (!text.is_ok()) {
    // ESRCH comes from a read racing the process's exit, ENOENT from the open.
    if (text.status().code() == ErrorCode::kNotFound) {
      return Status(ErrorCode::kNotFound, "process " + std::to_string(pid) + " not found");
    }
    return text.status();
  }
  return parse_proc_maps(*text);
}

}  // namespace flare::agent
