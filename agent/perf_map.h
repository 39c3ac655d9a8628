// JIT symbols from perf map files: /tmp/perf-PID.map, one "START SIZE NAME"
// line (hex, 0x optional) per piece of generated code, as written by
// `node --perf-basic-prof`, the JVM's perf-map agents and Python's perf
// trampoline (-X perf). JITs append to the file as they emit code, so it is
// read incrementally: a lookup that misses reads what was appended since.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/unique_fd.h"
#include "common/status.h"

namespace flare::agent {

struct PerfMapEntry {
  uint64_t start = 0;
  uint64_t size = 0;
  std::string name;
};

// One line, without its newline. nullopt for malformed lines (and size 0).
std::optional<PerfMapEntry> parse_perf_map_line(std::string_view line);

// The process's PID in its own (innermost) PID namespace, from the text of
// /proc/PID/status ("NSpid:\t4242\t1" -> 1); nullopt when there is no NSpid
// line (kernels before 4.1).
std::optional<uint32_t> parse_namespace_pid(std::string_view proc_status);

class PerfMap {
 public:
  // Takes an open descriptor of a map file; nothing is read yet.
  explicit PerfMap(UniqueFd fd) : fd_(std::move(fd)) {}

  // Reads the lines appended since the last call; a last line without its
  // newline waits for the next call (the JIT may be writing it).
  Status read_appended();

  // The name of the code covering `address`, or null. When entries overlap,
  // the latest line wins: the JIT reused the memory for new code.
  const std::string* find(uint64_t address) const;

  size_t size() const { return ranges_.size(); }
  uint64_t bytes_read() const { return offset_; }

 private:
  void insert(PerfMapEntry entry);

  struct Range {
    uint64_t end;
    std::string name;
  };

  UniqueFd fd_;
  uint64_t offset_ = 0;
  std::string partial_line_;
  std::map<uint64_t, Range> ranges_;  // by start; never overlapping
};

// Opens the perf map of process `pid` as the process itself named it: under
// its root (/proc/PID/root), with its PID in its own namespace, so a target
// in a container is served its own file. The descriptor is held, so the
// map stays readable after the process exits. kNotFound without a map.
Result<std::unique_ptr<PerfMap>> open_perf_map(uint32_t pid);

}  // namespace flare::agent
