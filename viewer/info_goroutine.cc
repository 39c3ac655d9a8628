#include "viewer/info_goroutine.h"

#include <cstdio>
#include <string>

#include "viewer/goroutine_waits.h"
#include "viewer/text_format.h"

namespace flare::viewer {

void write_goroutine_info_text(const rec::Recording& rec, std::ostream& out) {
  if (!has_goroutines(rec)) return;
  const GoroutineWaits g = goroutine_waits(rec);
  out << "Goroutines:  " << g.goroutines << " goroutines, " << g.parks << " parks, " << g.readies << " readies ("
      << g.netpoll_readies << " by the netpoller), " << g.waits.size() << " waits park to ready, " << g.open_parks
      << " parked at the end, " << g.unpaired_readies << " readies of goroutines parked before the start\n";
  char buf[256];
  for (const auto& [reason, t] : g.by_reason) {
    std::snprintf(buf, sizeof buf, "  %-24s %8llu parks %8llu waits %12s\n", reason.empty() ? "(none)" : reason.c_str(),
                  static_cast<unsigned long long>(t.parks), static_cast<unsigned long long>(t.waits),
                  format_time_ns(t.wait_ns).c_str());
    out << buf;
  }
}

void write_goroutine_info_json(const rec::Recording& rec, JsonWriter& json) {
  json.key("goroutine");
  if (!has_goroutines(rec)) return json.null();
  const GoroutineWaits g = goroutine_waits(rec);
  json.begin_object();
  json.field("goroutines", g.goroutines);
  json.field("parks", g.parks);
  json.field("readies", g.readies);
  json.field("netpoll_readies", g.netpoll_readies);
  json.field("waits", static_cast<uint64_t>(g.waits.size()));
  json.field("parked_at_end", g.open_parks);
  json.field("unpaired_readies", g.unpaired_readies);
  json.key("by_reason");
  json.begin_object();
  for (const auto& [reason, t] : g.by_reason) {
    json.key(reason);
    json.begin_object();
    json.field("parks", t.parks);
    json.field("waits", t.waits);
    json.field("wait_ns", t.wait_ns);
    json.end_object();
  }
  json.end_object();
  json.end_object();
}

}  // namespace flare::viewer
