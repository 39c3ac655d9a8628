#include "viewer/info_alloc.h"

#include <cmath>
#include <string>

#include "viewer/alloc_profile.h"
#include "viewer/text_format.h"

namespace flare::viewer {

namespace {

struct AllocSummary {
  uint64_t samples = 0;
  uint64_t alloc_bytes = 0;
  double alloc_objects = 0;
  uint64_t inuse_bytes = 0;
  double inuse_objects = 0;
  uint64_t inuse_samples = 0;
  uint64_t untracked = 0;
};

AllocSummary summarize(const rec::Recording& rec) {
  AllocSummary s;
  for (const rec::Allocation& a : rec.allocations) {
    ++s.samples;
    s.alloc_bytes += a.weight;
    s.alloc_objects += alloc_objects(a);
    if (a.flags & rec::kAllocUntracked) ++s.untracked;
  }
  for (size_t i : live_allocations(rec)) {
    const rec::Allocation& a = rec.allocations[i];
    ++s.inuse_samples;
    s.inuse_bytes += a.weight;
    s.inuse_objects += alloc_objects(a);
  }
  return s;
}

// The allocator calls the tracer saw, by the function it counted them for.
constexpr const char* kCallStats[] = {"malloc", "calloc",  "realloc",   "reallocarray", "memalign", "posix_memalign",
                                      "new",    "valloc",  "free",      "go_sample",    "go_free"};

std::string sampling_text(const rec::FileHeader& h) {
  if (h.alloc_sample_rate <= 1) return "every allocation recorded";
  return "one sample per " + format_bytes(h.alloc_sample_rate) + " allocated on average (seed " +
         std::to_string(h.alloc_seed) + ")";
}

}  // namespace

void write_alloc_info_text(const rec::Recording& rec, std::ostream& out) {
  if (!has_alloc(rec)) return;
  const AllocSummary s = summarize(rec);
  out << "Allocations: " << sampling_text(rec.header) << '\n';
  out << "             " << s.samples << " samples: " << format_bytes(s.alloc_bytes) << " allocated in "
      << std::llround(s.alloc_objects) << " objects, " << format_bytes(s.inuse_bytes) << " in "
      << std::llround(s.inuse_objects) << " objects still in use at the end (" << s.inuse_samples << " samples)\n";
  out << "             " << rec.frees.size() << " frees of sampled blocks; " << s.untracked
      << " samples not tracked until freed (left out of in-use)\n";
  const uint64_t capacity = rec.stat("alloc_live_table_capacity");
  if (capacity) {
    out << "  table:     " << rec.stat("alloc_live_table_used") << " of " << capacity
        << " entries in use at the end; full " << rec.stat("alloc_live_table_full") << " times\n";
  }
  out << "  calls:    ";
  for (const char* name : kCallStats) out << ' ' << name << ' ' << rec.stat(std::string("alloc_calls_") + name);
  out << '\n';
}

void write_alloc_info_json(const rec::Recording& rec, JsonWriter& json) {
  json.key("alloc");
  if (!has_alloc(rec)) return json.null();
  const AllocSummary s = summarize(rec);
  json.begin_object();
  json.field("sample_rate", rec.header.alloc_sample_rate);
  json.field("seed", rec.header.alloc_seed);
  json.field("samples", s.samples);
  json.field("alloc_bytes", s.alloc_bytes);
  json.field("alloc_objects", static_cast<uint64_t>(std::llround(s.alloc_objects)));
  json.field("inuse_bytes", s.inuse_bytes);
  json.field("inuse_objects", static_cast<uint64_t>(std::llround(s.inuse_objects)));
  json.field("inuse_samples", s.inuse_samples);
  json.field("frees", static_cast<uint64_t>(rec.frees.size()));
  json.field("untracked", s.untracked);
  json.field("live_table_capacity", rec.stat("alloc_live_table_capacity"));
  json.field("live_table_used", rec.stat("alloc_live_table_used"));
  json.key("calls");
  json.begin_object();
  for (const char* name : kCallStats) json.field(name, rec.stat(std::string("alloc_calls_") + name));
  json.end_object();
  json.end_object();
}

}  // namespace flare::viewer
