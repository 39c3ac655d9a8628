// gzip framing for outputs whose consumers expect it (pprof reads .pb.gz).
#pragma once

#include <ostream>
#include <string_view>

#include "common/status.h"

namespace flare::viewer {

// Writes `data` as one gzip member (RFC 1952) to `out`. Large inputs are
// deflated in parts on several cores, concatenated into one deflate stream
// that any gzip reader decodes as usual.
Status write_gzip(std::string_view data, std::ostream& out);

}  // namespace flare::viewer
