// `flare flight --status DIR`: what a flight repository holds (retained
// window, size on disk, events per type, drops) and whether its flight
// process is alive, with the agent's cost so far.
#pragma once

#include <ostream>
#include <string>

#include "common/status.h"

namespace flare::viewer {

Status write_flight_status(const std::string& dir, std::ostream& out);

}  // namespace flare::viewer
