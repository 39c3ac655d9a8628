#include "recorder/flight_repository.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "common/clock.h"

namespace flare::rec {

namespace {

constexpr std::string_view kChunkPrefix = "chunk-";
constexpr std::string_view kChunkSuffix = ".flare";
constexpr std::string_view kPartialSuffix = ".partial";
constexpr size_t kStampLength = 20;  // YYYYmmddTHHMMSS.mmmZ

template <typename T>
bool parse_number(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::optional<uint64_t> parse_utc_stamp(std::string_view s) {
  if (s.size() != kStampLength || s[8] != 'T' || s[15] != '.' || s[19] != 'Z') return std::nullopt;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, milli = 0;
  if (!parse_number(s.substr(0, 4), year) || !parse_number(s.substr(4, 2), month) ||
      !parse_number(s.substr(6, 2), day) || !parse_number(s.substr(9, 2), hour) ||
      !parse_number(s.substr(11, 2), minute) || !parse_number(s.substr(13, 2), second) ||
      !parse_number(s.substr(16, 3), milli)) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t t = timegm(&tm);
  if (t < 0) return std::nullopt;
  return static_cast<uint64_t>(t) * 1'000'000'000ull + static_cast<uint64_t>(milli) * 1'000'000ull;
}

// "chunk-<stamp>-<sequence>.flare[.partial]"
std::optional<ChunkFile> parse_chunk_name(std::string_view name) {
  ChunkFile chunk;
  chunk.complete = !name.ends_with(kPartialSuffix);
  if (!chunk.complete) name.remove_suffix(kPartialSuffix.size());
  if (!name.starts_with(kChunkPrefix) || !name.ends_with(kChunkSuffix)) return std::nullopt;
  name.remove_prefix(kChunkPrefix.size());
  name.remove_suffix(kChunkSuffix.size());
  if (name.size() < kStampLength + 2 || name[kStampLength] != '-') return std::nullopt;
  auto start = parse_utc_stamp(name.substr(0, kStampLength));
  if (!start || !parse_number(name.substr(kStampLength + 1), chunk.sequence)) return std::nullopt;
  chunk.start_realtime_ns = *start;
  return chunk;
}

std::string lock_path(const std::string& dir) { return dir + "/" + kFlightLockName; }

}  // namespace

std::string utc_stamp(uint64_t realtime_ns) {
  const time_t seconds = static_cast<time_t>(realtime_ns / 1'000'000'000ull);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  const size_t n = std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03uZ", static_cast<unsigned>(realtime_ns / 1'000'000ull % 1000));
  return text;
}

std::string chunk_file_name(uint64_t start_realtime_ns, uint32_t sequence) {
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06u", sequence);
  return std::string(kChunkPrefix) + utc_stamp(start_realtime_ns) + "-" + seq + std::string(kChunkSuffix);
}

Result<std::vector<ChunkFile>> list_chunk_files(const std::string& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return Status::from_errno(ec.value(), "reading flight directory " + dir);
  std::vector<ChunkFile> chunks;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    auto chunk = parse_chunk_name(it->path().filename().string());
    if (!chunk) continue;
    struct stat st {};
    // Gone since the listing (retention, or the rename that finished it).
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    chunk->path = it->path().string();
    chunk->bytes = static_cast<uint64_t>(st.st_size);
    chunk->modified_realtime_ns =
        static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(st.st_mtim.tv_nsec);
    chunks.push_back(std::move(*chunk));
  }
  if (ec) return Status::from_errno(ec.value(), "reading flight directory " + dir);
  std::sort(chunks.begin(), chunks.end(), [](const ChunkFile& a, const ChunkFile& b) {
    return std::tie(a.start_realtime_ns, a.sequence) < std::tie(b.start_realtime_ns, b.sequence);
  });
  return chunks;
}

std::vector<size_t> chunks_to_delete(const std::vector<ChunkFile>& chunks, const RetentionLimits& limits,
                                     uint64_t now_realtime_ns) {
  std::vector<size_t> doomed;
  if (chunks.size() < 2) return doomed;
  uint64_t total = 0;
  for (const ChunkFile& c : chunks) total += c.bytes;
  const size_t newest = chunks.size() - 1;
  for (size_t i = 0; i < newest; ++i) {
    const ChunkFile& c = chunks[i];
    const bool too_old = limits.max_age_ns && c.modified_realtime_ns + limits.max_age_ns < now_realtime_ns;
    const bool too_big = limits.max_bytes && total > limits.max_bytes;
    // Oldest first: once a chunk may stay, every newer one may too.
    if (!too_old && !too_big) break;
    doomed.push_back(i);
    total -= c.bytes;
  }
  return doomed;
}

Result<FlightLock> FlightLock::acquire(const std::string& dir, uint32_t target_pid) {
  const std::string path = lock_path(dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno(errno, "cannot create " + path);
  FlightLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::from_errno(errno, "locking " + path);
    auto owner = read_flight_owner(dir);
    std::string who = owner.is_ok() && *owner ? " (flight process " + std::to_string((*owner)->pid) + ")" : "";
    return Status(ErrorCode::kIo, "a flight recorder already writes to " + dir + who);
  }
  const uint64_t started = clock_ns(CLOCK_REALTIME);
  const std::string text = "pid " + std::to_string(getpid()) + "\ntarget " + std::to_string(target_pid) +
                           "\nstarted_realtime_ns " + std::to_string(started) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Status::from_errno(errno, "writing " + path);
  }
  return lock;
}

FlightLock::~FlightLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays, naming the last owner
}

Result<std::optional<FlightOwner>> read_flight_owner(const std::string& dir) {
  const std::string path = lock_path(dir);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<FlightOwner>();
    return Status::from_errno(errno, "opening " + path);
  }
  FlightOwner owner;
  // A shared lock is refused exactly while the flight process holds its
  // exclusive one.
  if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
  } else {
    owner.alive = errno == EWOULDBLOCK;
  }
  char buffer[256];
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  ::close(fd);
  if (n < 0) return Status::from_errno(errno, "reading " + path);
  std::string_view text(buffer, static_cast<size_t>(n));
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    std::string_view key = line.substr(0, space), value = line.substr(space + 1);
    if (key == "pid") parse_number(value, owner.pid);
    if (key == "target") parse_number(value, owner.target_pid);
    if (key == "started_realtime_ns") parse_number(value, owner.started_realtime_ns);
  }
  return std::optional<FlightOwner>(owner);
}

}  // namespace flare::rec
