// libFuzzer target: any byte string, read as a recording, then through every
// converter. The reader must reject or partially read garbage without
// crashing, hanging or allocating without bound, and whatever it accepts
// must convert.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <streambuf>
#include <string_view>

#include "recorder/reader.h"
#include "viewer/event_listing.h"
#include "viewer/folded.h"
#include "viewer/html_page.h"
#include "viewer/info.h"
#include "viewer/jfr_writer.h"
#include "viewer/leaks.h"
#include "viewer/pprof.h"
#include "viewer/top.h"

namespace {

// Discards output; converters still do all their work.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)flare::rec::parse_recording(bytes);  // strict mode must not crash either
  auto rec = flare::rec::parse_recording(bytes, {.salvage = true});
  if (!rec.is_ok()) return 0;
  NullBuffer null_buffer;
  std::ostream out(&null_buffer);
  (void)flare::viewer::write_pprof(*rec, {}, out);
  (void)flare::viewer::write_pprof(*rec, {.user_only = true}, out);
  (void)flare::viewer::write_folded(*rec, {}, out);
  (void)flare::viewer::write_top(*rec, {}, out);
  // Off-CPU views refuse recordings without off-CPU data before any work,
  // so they only run further on inputs that have it.
  for (auto signal : {flare::viewer::Signal::kOffCpu, flare::viewer::Signal::kWall}) {
    (void)flare::viewer::write_pprof(*rec, {.signal = signal}, out);
    (void)flare::viewer::write_folded(*rec, {.user_only = true, .signal = signal}, out);
    (void)flare::viewer::write_top(*rec, {.view = {.signal = signal}}, out);
  }
  // Allocation and goroutine views likewise refuse recordings without their data.
  for (auto signal :
       {flare::viewer::Signal::kAlloc, flare::viewer::Signal::kInUse, flare::viewer::Signal::kGoroutine}) {
    (void)flare::viewer::write_pprof(*rec, {.signal = signal}, out);
    (void)flare::viewer::write_folded(*rec, {.signal = signal}, out);
    (void)flare::viewer::write_top(*rec, {.view = {.signal = signal}}, out);
  }
  (void)flare::viewer::write_leaks(*rec, {}, out);
  (void)flare::viewer::write_leaks(*rec, {.min_age_ns = 1000, .limit = 0, .json = true}, out);
  (void)flare::viewer::write_info(*rec, false, out);
  (void)flare::viewer::write_info(*rec, true, out);
  // One pass each through the JFR writer (user_only on: the stack filter
  // too) and the JSON event listing of every type but CPU samples (the bulk
  // of the seed recordings; their stacks take the same path as the others'):
  // listing them too would halve the fuzzer's rate.
  flare::viewer::JfrOptions jfr;
  jfr.view.user_only = true;
  (void)flare::viewer::write_jfr(*rec, jfr, out);
  flare::viewer::ListingOptions listing;
  listing.json = true;
  listing.types = {"offcpu", "offcpu_total", "wakeup", "alloc", "free", "goroutine", "thread", "lost"};
  (void)flare::viewer::write_event_listing(*rec, listing, out);
  (void)flare::viewer::write_html_page(flare::viewer::build_html_page(*rec, "fuzz"), out);
  return 0;
}
