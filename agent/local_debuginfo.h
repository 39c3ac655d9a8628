// Finds a file's separate debug info on this machine only: libdw's
// dwfl_standard_find_debuginfo ends by asking debuginfod servers, and merely
// trying loads libdebuginfod, with libcurl, TLS and ssh libraries (~7 MiB
// resident), even with DEBUGINFOD_URLS unset. flare symbolizes from local
// files, so it does the two local steps itself: the build-id path under each
// debug directory, then the .gnu_debuglink name next to the file, in its
// .debug subdirectory and under each absolute debug directory.
#pragma once

#include <elfutils/libdwfl.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flare::agent {

// libdw's default search path: next to the file, its .debug directory, and
// /usr/lib/debug.
inline constexpr std::string_view kDefaultDebugSearchPath = ":.debug:/usr/lib/debug";

// A Dwfl_Callbacks::find_debuginfo. The module's userdata (dwfl_module_info)
// points at the std::string search path to use, in libdw's syntax (see
// debuglink_candidates); null: kDefaultDebugSearchPath. The build-id step
// uses the callbacks' own debuginfo_path.
int find_debuginfo_locally(Dwfl_Module* module, void** userdata, const char* module_name, Dwarf_Addr base,
                           const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                           char** debuginfo_file_name);

// Where a debug file named `debuglink` for `file_name` may be, in the order
// libdw searches (`debuginfo_path`: entries separated by ':'; empty = the
// file's directory, relative = under it, absolute = that root followed by
// the file's directory).
std::vector<std::string> debuglink_candidates(std::string_view debuginfo_path, std::string_view file_name,
                                              std::string_view debuglink);

}  // namespace flare::agent
