// gzip framing for outputs whose consumers expect it (pprof reads .pb.gz).
#pragma once

#include <ostream>
#include <string_view>

#include "common/status.h"

namespace flare::viewer {

// Writes `data` as one gzip member (RFC 1952) to `out`.
Status write_gzip(std::string_view data, std::ostream& out);

}  // namespace flare::viewer
