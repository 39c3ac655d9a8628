// The goroutine part of `flare info`: goroutines seen, parks and readies
// (how many by the netpoller), and per wait reason the parks, the waits a
// ready ended and their total time.
#pragma once

#include <ostream>

#include "recorder/model.h"
#include "viewer/json_writer.h"

namespace flare::viewer {

// Nothing for a recording without goroutine data.
void write_goroutine_info_text(const rec::Recording& rec, std::ostream& out);
// "goroutine": {...}, or null without goroutine data.
void write_goroutine_info_json(const rec::Recording& rec, JsonWriter& json);

}  // namespace flare::viewer
