#include "agent/perf_map.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <iterator>

#include "agent/open_in_root.h"
#include "agent/proc_maps.h"

namespace flare::agent {
namespace {

// A file that never stops growing (or a planted huge file) must not take
// the agent's memory: beyond this many bytes, the map is not read further.
constexpr uint64_t kMaxPerfMapBytes = 256ull << 20;

std::optional<uint64_t> parse_hex(std::string_view& text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  text.remove_prefix(static_cast<size_t>(end - text.data()));
  return value;
}

}  // namespace

std::optional<PerfMapEntry> parse_perf_map_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  PerfMapEntry entry;
  std::optional<uint64_t> start = parse_hex(line);
  if (!start || line.empty() || line.front() != ' ') return std::nullopt;
  line.remove_prefix(1);
  std::optional<uint64_t> size = parse_hex(line);
  if (!size || *size == 0 || line.size() < 2 || line.front() != ' ') return std::nullopt;
  if (*start + *size < *start) return std::nullopt;  // wraps around
  line.remove_prefix(1);
  entry.start = *start;
  entry.size = *size;
  entry.name = std::string(line);  // names may contain spaces (" /path/app.js:3:10")
  return entry;
}

std::optional<uint32_t> parse_namespace_pid(std::string_view status) {
  constexpr std::string_view kKey = "NSpid:";
  size_t at = status.find(kKey);
  while (at != std::string_view::npos && at != 0 && status[at - 1] != '\n') at = status.find(kKey, at + 1);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = status.substr(at + kKey.size());
  rest = rest.substr(0, rest.find('\n'));
  std::optional<uint32_t> last;
  while (!rest.empty()) {
    size_t skip = rest.find_first_not_of(" \t");
    if (skip == std::string_view::npos) break;
    rest.remove_prefix(skip);
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc()) return std::nullopt;
    last = value;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
  }
  return last;
}

Status PerfMap::read_appended() {
  char buffer[65536];
  while (offset_ < kMaxPerfMapBytes) {
    ssize_t n = ::pread(fd_.get(), buffer, sizeof(buffer), static_cast<off_t>(offset_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno(errno, "reading a perf map");
    }
    if (n == 0) break;
    offset_ += static_cast<uint64_t>(n);
    std::string_view chunk(buffer, static_cast<size_t>(n));
    for (size_t newline; (newline = chunk.find('\n')) != std::string_view::npos;) {
      std::string_view line = chunk.substr(0, newline);
      chunk.remove_prefix(newline + 1);
      if (!partial_line_.empty()) {
        partial_line_.append(line);
        line = partial_line_;
      }
      if (std::optional<PerfMapEntry> entry = parse_perf_map_line(line)) insert(std::move(*entry));
      partial_line_.clear();
    }
    partial_line_.append(chunk);
  }
  return Status::ok();
}

void PerfMap::insert(PerfMapEntry entry) {
  const uint64_t end = entry.start + entry.size;
  // Drop what the new code overlaps; the tail of an older range that starts
  // before it and ends inside it is cut rather than dropped.
  auto it = ranges_.lower_bound(entry.start);
  if (it != ranges_.begin()) {
    auto before = std::prev(it);
    if (before->second.end > entry.start) {
      if (before->second.end > end) {
        // The new code sits inside an older range: keep the older one's tail.
        ranges_.emplace(end, Range{before->second.end, before->second.name});
      }
      before->second.end = entry.start;
    }
  }
  while (it != ranges_.end() && it->first < end) {
    if (it->second.end > end) {
      Range tail{it->second.end, std::move(it->second.name)};
      ranges_.erase(it);
      ranges_.emplace(end, std::move(tail));
      break;
    }
    it = ranges_.erase(it);
  }
  ranges_.insert_or_assign(entry.start, Range{end, std::move(entry.name)});
}

const std::string* PerfMap::find(uint64_t address) const {
  auto it = ranges_.upper_bound(address);
  if (it == ranges_.begin()) return nullptr;
  --it;
  return address < it->second.end ? &it->second.name : nullptr;
}

Result<std::unique_ptr<PerfMap>> open_perf_map(uint32_t pid) {
  std::string proc = "/proc/" + std::to_string(pid);
  uint32_t ns_pid = pid;
  if (Result<std::string> status = read_proc_file(proc + "/status"); status.is_ok()) {
    if (std::optional<uint32_t> inner = parse_namespace_pid(*status)) ns_pid = *inner;
  } else {
    return status.status();
  }
  std::string path = "/tmp/perf-" + std::to_string(ns_pid) + ".map";
  UniqueFd fd(open_in_root(proc + "/root", path));
  if (!fd.valid()) return Status::from_errno(errno, "opening " + path + " of process " + std::to_string(pid));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status(ErrorCode::kUnsupported, path + " of process " + std::to_string(pid) + ": not a regular file");
  }
  return std::make_unique<PerfMap>(std::move(fd));
}

}  // namespace flare::agent
