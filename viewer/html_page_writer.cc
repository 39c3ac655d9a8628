// write_html_page: the page template with its style, script and data filled
// in. The data is compact JSON (flat arrays, no indentation) inside a
// <script type="application/json"> element that the script parses once.
#include <sstream>
#include <string>

#include "viewer/html_assets.h"
#include "viewer/html_page.h"
#include "viewer/json_writer.h"

namespace flare::viewer {

namespace {

const char* unit_of(Signal signal) {
  if (is_alloc_signal(signal)) return "bytes";
  return signal == Signal::kCpu ? "samples" : "ns";
}

template <typename T>
void write_array(std::ostream& out, const std::vector<T>& values) {
  out << '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out << ',';
    out << +values[i];
  }
  out << ']';
}

void write_strings(std::ostream& out, const std::vector<std::string>& values) {
  out << '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out << ',';
    out << json_quote(values[i]);
  }
  out << ']';
}

// `"key":[...]`, after a comma unless it opens an object.
template <typename T>
void write_field(std::ostream& out, std::string_view key, const std::vector<T>& values, bool first = false) {
  out << (first ? "\"" : ",\"") << key << "\":";
  write_array(out, values);
}

void write_views(std::ostream& out, const std::vector<FlameView>& views) {
  out << '[';
  for (size_t i = 0; i < views.size(); ++i) {
    const FlameView& v = views[i];
    if (i) out << ',';
    out << "{\"signal\":\"" << signal_name(v.signal) << "\",\"unit\":\"" << unit_of(v.signal) << '"';
    write_field(out, "node", v.node);
    write_field(out, "tid", v.tid);
    write_field(out, "weight", v.weight);
    out << '}';
  }
  out << ']';
}

void write_tree(std::ostream& out, const CallTree& tree) {
  out << "\"names\":";
  write_strings(out, tree.names());
  std::vector<uint8_t> styles;
  for (FrameStyle s : tree.styles()) styles.push_back(static_cast<uint8_t>(s));
  write_field(out, "styles", styles);
  write_field(out, "parent", tree.parents());
  write_field(out, "nameOf", tree.node_names());
}

void write_timeline(std::ostream& out, const Timeline& t) {
  out << "{\"bucketNs\":" << t.cpu.bucket_ns << ",\"cpu\":{";
  write_field(out, "tid", t.cpu.tid, true);
  write_field(out, "bucket", t.cpu.bucket);
  write_field(out, "node", t.cpu.node);
  write_field(out, "count", t.cpu.count);
  out << "},\"activity\":{\"bucketNs\":" << t.activity.bucket_ns;
  write_field(out, "tid", t.activity.tid);
  write_field(out, "bucket", t.activity.bucket);
  write_field(out, "count", t.activity.count);
  const OffCpuSpans& o = t.offcpu;
  out << "},\"offcpu\":{";
  write_field(out, "tid", o.tid, true);
  write_field(out, "start", o.start_ns);
  write_field(out, "blocked", o.blocked_ns);
  write_field(out, "runq", o.runq_ns);
  write_field(out, "state", o.state);
  write_field(out, "node", o.node);
  write_field(out, "wakerTid", o.waker_tid);
  write_field(out, "wakerNode", o.waker_node);
  out << ",\"omitted\":" << o.spans_omitted << "}}";
}

std::string page_json(const HtmlPage& page) {
  std::ostringstream out;
  out << "{\"title\":" << json_quote(page.title) << ",\"subtitle\":" << json_quote(page.subtitle)
      << ",\"diff\":" << (page.diff ? "true" : "false") << ",\"periodNs\":" << page.sample_period_ns
      << ",\"durationNs\":" << page.duration_ns << ',';
  write_tree(out, page.tree);
  out << ",\"views\":";
  write_views(out, page.views);
  out << ",\"baseViews\":";
  write_views(out, page.base_views);
  out << ",\"threads\":[";
  for (size_t i = 0; i < page.threads.size(); ++i) {
    const PageThread& t = page.threads[i];
    if (i) out << ',';
    out << "{\"tid\":" << t.tid << ",\"pid\":" << t.pid << ",\"name\":" << json_quote(t.name) << '}';
  }
  out << "],\"timeline\":";
  write_timeline(out, page.timeline);
  out << '}';
  return std::move(out).str();
}

// Inside <script>, "</" could close the element early (a frame named
// "</script>"); JSON reads "<\/" as the same two characters.
std::string escape_for_script(std::string json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += '\\';
  }
  return out;
}

// "&<>\"" escaped for the <title> element.
std::string escape_html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

Status write_html_page(const HtmlPage& page, std::ostream& out) {
  const std::string data = escape_for_script(page_json(page));
  const std::string title = escape_html(page.title);
  const std::pair<std::string_view, std::string_view> fills[] = {{"@FLARE_TITLE@", title},
                                                                 {"@FLARE_STYLE@", html_assets::kPageStyle},
                                                                 {"@FLARE_DATA@", data},
                                                                 {"@FLARE_SCRIPT@", html_assets::kPageScript}};
  // Each placeholder once, in the template's order; a template that lost one
  // is a build mistake, reported rather than shipped as a broken page.
  std::string_view rest = html_assets::kPageTemplate;
  for (const auto& [placeholder, fill] : fills) {
    size_t at = rest.find(placeholder);
    if (at == std::string_view::npos) {
      return Status(ErrorCode::kInternal, "the HTML template has no " + std::string(placeholder));
    }
    out << rest.substr(0, at) << fill;
    rest.remove_prefix(at + placeholder.size());
  }
  out << rest;
  out.flush();
  if (!out) return Status(ErrorCode::kIo, "writing the HTML page failed");
  return Status::ok();
}

}  // namespace flare::viewer
