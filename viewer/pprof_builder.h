// Assembling a pprof Profile from aggregated stacks: mappings, functions,
// locations and labels, shared by every signal's profile (pprof.h decides
// the layout: sample types, values, labels).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "profile.pb.h"
#include "recorder/model.h"
#include "viewer/view_options.h"

namespace flare::viewer {

struct PprofValueType {
  const char* type;
  const char* unit;
};

// The profile-wide fields.
struct PprofLayout {
  std::vector<PprofValueType> sample_types;  // at most kMaxPprofValues
  PprofValueType period_type;
  int64_t period = 0;
  const char* default_sample_type = nullptr;
  int64_t time_nanos = 0;
  int64_t duration_nanos = 0;
};

inline constexpr size_t kMaxPprofValues = 4;

// One pprof Sample. Labels: tid (num), pid (num, when the thread is known),
// thread (name); state when set; waker_tid (num) and waker (name) when a
// waker is set; reason when set.
struct PprofSample {
  uint32_t stack = 0;            // recording stack id, shown through view_stack()
  std::string_view placeholder;  // when not empty, the single frame shown instead of the stack
  uint32_t tid = 0;
  const char* state = nullptr;
  uint32_t waker_tid = 0;
  std::string_view reason;  // goroutine wait reason; a label when not empty
  std::array<int64_t, kMaxPprofValues> values{};  // the first layout.sample_types.size() are written
};

// Fills `profile`, which must be empty. It may live on a protobuf Arena:
// a profile is hundreds of thousands of small messages, and an arena
// allocates them in blocks and frees them all at once.
void build_pprof(const rec::Recording& rec, const ViewOptions& options, const PprofLayout& layout,
                 std::span<const PprofSample> samples, perftools::profiles::Profile& profile);

// Saturates instead of wrapping: pprof values are signed.
int64_t pprof_int64(uint64_t v);

}  // namespace flare::viewer
