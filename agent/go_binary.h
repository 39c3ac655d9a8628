// What flare needs to know about a Go executable to trace its runtime from
// outside: that it is Go, which version, where runtime functions are, where
// the fields it reads lie in the runtime's structures, and the runtime's
// names for its wait reasons. Everything is taken from the binary itself
// (its build info, symbol table and DWARF), never guessed from the version:
// a layout that cannot be established is refused with one clear message.
// Shared by every Go-runtime tracer (goroutines; later Go allocations).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/elf_functions.h"
#include "common/status.h"

namespace flare::agent {

struct GoVersion {
  int major = 0, minor = 0, patch = 0;
  std::string text;  // as the build info says it, e.g. "go1.19.8"
};

// "go1.19.8", "go1.21rc2", "go1.22.0 X:boringcrypto" -> 1.19.8, 1.21.0, 1.22.0.
std::optional<GoVersion> parse_go_version(std::string_view text);

// The version string of a .go.buildinfo section's contents (Go 1.18+ keeps
// it inline: magic, pointer size, flags bit 1, then varint-length strings).
std::optional<std::string> go_buildinfo_version(std::string_view section);

// Byte offsets of fields inside the runtime's structures.
struct GoRuntimeLayout {
  uint32_t g_goid = 0;
  uint32_t g_m = 0;
  uint32_t m_curg = 0;
  uint32_t poll_desc_rg = 0;
  uint32_t poll_desc_wg = 0;
};

class GoBinary {
 public:
  // Reads the executable at `path`. Errors: kNotFound when the file is not
  // a Go program, kUnsupported when it is one flare cannot trace (too old,
  // not amd64, no DWARF for the layout), with the reason in the message.
  static Result<GoBinary> read(const std::string& path);

  const std::string& path() const { return path_; }
  const GoVersion& version() const { return version_; }
  const GoRuntimeLayout& layout() const { return layout_; }
  const ElfFunctions& functions() const { return functions_; }
  // The runtime's text for a waitReason value, e.g. 14 -> "chan receive"
  // in Go 1.19; "wait reason N" for a value the binary has no text for.
  std::string wait_reason(uint32_t value) const;
  const std::vector<std::string>& wait_reasons() const { return wait_reasons_; }

 private:
  std::string path_;
  GoVersion version_;
  GoRuntimeLayout layout_;
  ElfFunctions functions_;
  std::vector<std::string> wait_reasons_;
};

}  // namespace flare::agent
