#include "tests/integration/support/flare_test.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <fstream>
#include <sstream>

namespace flare::testing {

namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_kernel_frame(const std::string& name) {
  return ends_with(name, "_[k]") || starts_with(name, "[kernel]");
}

// bpftool -j prints a JSON array; Struct needs an object, so wrap it.
std::optional<google::protobuf::ListValue> bpftool_json(const Argv& args) {
  Argv argv = {kBpftool, "-j"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = run(argv, milliseconds(10000));
  if (!r.status.ok()) {
    ADD_FAILURE() << "bpftool failed\n" << describe(argv, r);
    return std::nullopt;
  }
  std::string text = r.out;
  if (text.find_first_not_of(" \n\t") == std::string::npos) text = "[]";
  auto obj = parse_json_object("{\"list\":" + text + "}");
  if (!obj) {
    ADD_FAILURE() << "bpftool printed no JSON array\n" << describe(argv, r);
    return std::nullopt;
  }
  return obj->fields().at("list").list_value();
}

uint32_t num_field(const google::protobuf::Value& v, const std::string& key) {
  auto& f = v.struct_value().fields();
  auto it = f.find(key);
  return it == f.end() ? 0 : static_cast<uint32_t>(it->second.number_value());
}

std::string str_field(const google::protobuf::Value& v, const std::string& key) {
  auto& f = v.struct_value().fields();
  auto it = f.find(key);
  return it == f.end() ? "" : it->second.string_value();
}

}  // namespace

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// ---- folded -------------------------------------------------------------------------

std::vector<FoldedStack> parse_folded(const std::string& text) {
  std::vector<FoldedStack> out;
  for (const std::string& line : lines_of(text)) {
    if (line.empty()) continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos || space + 1 >= line.size()) {
      ADD_FAILURE() << "folded line without a count: " << line;
      continue;
    }
    FoldedStack s;
    char* end = nullptr;
    s.count = std::strtoull(line.c_str() + space + 1, &end, 10);
    if (*end != '\0' || s.count == 0) {
      ADD_FAILURE() << "folded line with a bad count: " << line;
      continue;
    }
    std::string_view stack(line.data(), space);
    size_t start = 0;
    std::vector<std::string> parts;
    for (;;) {
      size_t semi = stack.find(';', start);
      parts.emplace_back(stack.substr(start, semi == std::string_view::npos ? semi : semi - start));
      if (semi == std::string_view::npos) break;
      start = semi + 1;
    }
    s.thread = parts.front();
    s.frames.assign(parts.begin() + 1, parts.end());
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> user_frames(const FoldedStack& s) {
  std::vector<std::string> f = s.frames;
  while (!f.empty() && is_kernel_frame(f.back())) f.pop_back();
  return f;
}

bool ends_with_chain(const FoldedStack& s, const std::vector<std::string>& chain) {
  std::vector<std::string> f = user_frames(s);
  if (f.size() < chain.size()) return false;
  return std::equal(chain.begin(), chain.end(), f.end() - static_cast<ptrdiff_t>(chain.size()));
}

ThreadChainCounts count_chain(const std::vector<FoldedStack>& stacks, const std::string& thread,
                              const std::vector<std::string>& chain) {
  ThreadChainCounts c;
  for (const FoldedStack& s : stacks) {
    if (s.thread != thread) continue;
    c.samples += s.count;
    if (ends_with_chain(s, chain)) c.with_chain += s.count;
  }
  return c;
}

uint64_t foreign_samples(const std::vector<FoldedStack>& stacks, const std::string& thread,
                         const std::vector<std::string>& names) {
  uint64_t n = 0;
  for (const FoldedStack& s : stacks) {
    if (s.thread == thread) continue;
    for (const std::string& f : s.frames) {
      if (std::find(names.begin(), names.end(), f) != names.end()) {
        n += s.count;
        break;
      }
    }
  }
  return n;
}

// ---- go tool pprof ---------------------------------------------------------------

std::optional<PprofTop> go_pprof_top(const fs::path& profile, const std::string& sample_index,
                                     const std::string& unit) {
  // -nodefraction=0: pprof would drop functions under 0.5 % of the total.
  Argv argv = {kGo, "tool", "pprof", "-top", "-nodecount=1000", "-nodefraction=0", "-sample_index=" + sample_index};
  if (!unit.empty()) argv.push_back("-unit=" + unit);
  argv.push_back(profile.string());
  SpawnOptions opts;
  // pprof keeps state under $HOME/pprof; give it one that surely exists.
  if (!std::getenv("HOME")) opts.extra_env["HOME"] = profile.parent_path().string();
  RunResult r = run(argv, milliseconds(60000), opts);
  if (!r.status.ok()) {
    ADD_FAILURE() << "go tool pprof failed to read the profile\n" << describe(argv, r);
    return std::nullopt;
  }
  PprofTop top;
  top.raw = r.out;
  bool in_table = false;
  for (const std::string& line : lines_of(r.out)) {
    // "Showing nodes accounting for 495, 100% of 495 total"
    size_t of = line.rfind(" of ");
    if (starts_with(line, "Showing nodes accounting for") && of != std::string::npos) {
      top.total = std::strtod(line.c_str() + of + 4, nullptr);  // "495" or "15133.59ms"
      continue;
    }
    std::istringstream in(line);
    std::string flat, flat_pct, sum_pct, cum, cum_pct;
    if (!(in >> flat >> flat_pct >> sum_pct >> cum >> cum_pct)) continue;
    if (flat == "flat") {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    std::string name;
    std::getline(in >> std::ws, name);
    // With -sample_index=samples values are plain counts ("371"); a unit
    // suffix would mean we did not get the index we asked for.
    char* end = nullptr;
    double v = std::strtod(flat.c_str(), &end);
    if (!unit.empty() && v != 0 && std::string_view(end) == unit) end += unit.size();
    if (*end != '\0') {
      ADD_FAILURE() << "unexpected go tool pprof -top value '" << flat << "':\n" << r.out;
      return std::nullopt;
    }
    top.flat[name] += v;
  }
  if (!in_table || top.total <= 0) {
    ADD_FAILURE() << "could not parse go tool pprof -top output:\n" << r.out << r.err;
    return std::nullopt;
  }
  return top;
}

// ---- JSON -------------------------------------------------------------------------

std::optional<google::protobuf::Struct> parse_json_object(const std::string& text) {
  google::protobuf::Struct s;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(text, &s, opts).ok()) return std::nullopt;
  return s;
}

const google::protobuf::Value* json_get(const google::protobuf::Struct& root, const std::string& path) {
  const google::protobuf::Struct* obj = &root;
  const google::protobuf::Value* v = nullptr;
  size_t start = 0;
  for (;;) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!obj) return nullptr;
    auto it = obj->fields().find(key);
    if (it == obj->fields().end()) return nullptr;
    v = &it->second;
    if (dot == std::string::npos) return v;
    obj = v->has_struct_value() ? &v->struct_value() : nullptr;
    start = dot + 1;
  }
}

// ---- CPU time ---------------------------------------------------------------------

uint64_t vm_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      uint64_t kib = 0;
      status >> kib;
      return kib;
    }
  }
  return 0;
}

std::map<pid_t, ThreadCpu> thread_cpu(pid_t pid) {
  std::map<pid_t, ThreadCpu> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task", ec)) {
    ThreadCpu t;
    std::string comm = read_file(task.path() / "comm");
    t.name = comm.substr(0, comm.find('\n'));
    std::string schedstat = read_file(task.path() / "schedstat");
    if (schedstat.empty()) continue;  // exited meanwhile
    t.cpu_ns = std::strtoull(schedstat.c_str(), nullptr, 10);
    out[static_cast<pid_t>(std::stoi(task.path().filename().string()))] = t;
  }
  return out;
}

std::map<std::string, double> cpu_seconds_by_name(const std::map<pid_t, ThreadCpu>& before,
                                                  const std::map<pid_t, ThreadCpu>& after) {
  std::map<std::string, double> out;
  for (const auto& [tid, t] : after) {
    auto it = before.find(tid);
    uint64_t start = it == before.end() ? 0 : it->second.cpu_ns;
    out[t.name] += static_cast<double>(t.cpu_ns - start) / 1e9;
  }
  return out;
}

// ---- BPF objects --------------------------------------------------------------------

BpfObjects bpf_objects_held_by(pid_t pid) {
  BpfObjects out;
  std::error_code ec;
  fs::path fdinfo = fs::path("/proc") / std::to_string(pid) / "fdinfo";
  for (const auto& e : fs::directory_iterator(fdinfo, ec)) {
    for (const std::string& line : lines_of(read_file(e.path()))) {
      auto value = [&](const char* key) -> std::optional<uint32_t> {
        if (!starts_with(line, key)) return std::nullopt;
        return static_cast<uint32_t>(std::strtoul(line.c_str() + std::strlen(key), nullptr, 10));
      };
      if (auto v = value("prog_id:")) out.progs.insert(*v);
      if (auto v = value("map_id:")) out.maps.insert(*v);
      if (auto v = value("link_id:")) out.links.insert(*v);
    }
  }
  return out;
}

std::vector<BpfProg> bpftool_progs() {
  std::vector<BpfProg> out;
  auto list = bpftool_json({"prog", "show"});
  if (!list) return out;
  for (const auto& v : list->values()) {
    BpfProg p;
    p.id = num_field(v, "id");
    p.type = str_field(v, "type");
    p.name = str_field(v, "name");
    auto it = v.struct_value().fields().find("map_ids");
    if (it != v.struct_value().fields().end()) {
      for (const auto& m : it->second.list_value().values()) p.map_ids.push_back(static_cast<uint32_t>(m.number_value()));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::set<uint32_t> bpftool_map_ids() {
  std::set<uint32_t> out;
  if (auto list = bpftool_json({"map", "show"})) {
    for (const auto& v : list->values()) out.insert(num_field(v, "id"));
  }
  return out;
}

std::map<uint32_t, uint32_t> bpftool_links() {
  std::map<uint32_t, uint32_t> out;
  if (auto list = bpftool_json({"link", "show"})) {
    for (const auto& v : list->values()) out[num_field(v, "id")] = num_field(v, "prog_id");
  }
  return out;
}

std::vector<BpfPerfEntry> bpftool_perf() {
  std::vector<BpfPerfEntry> out;
  if (auto list = bpftool_json({"perf", "list"})) {
    for (const auto& v : list->values()) {
      out.push_back({num_field(v, "pid"), num_field(v, "fd"), num_field(v, "prog_id"), str_field(v, "fd_type")});
    }
  }
  return out;
}

std::vector<fs::path> pinned_flare_objects() {
  std::vector<fs::path> out;
  std::ifstream mounts("/proc/mounts");
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream in(line);
    std::string dev, dir, type;
    in >> dev >> dir >> type;
    if (type != "bpf") continue;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->path().filename().string().find("flare") != std::string::npos) out.push_back(it->path());
    }
  }
  return out;
}

std::vector<pid_t> other_flare_processes() {
  std::vector<pid_t> out;
  std::error_code ec;
  fs::path ours = fs::canonical(kFlare, ec);
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code lec;
    fs::path exe = fs::read_symlink(e.path() / "exe", lec);
    if (!lec && (exe == ours || exe.filename() == "flare")) out.push_back(std::stoi(name));
  }
  return out;
}

std::string other_profilers() {
  std::string out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoi(name) == ::getpid()) continue;
    int perf = 0, progs = 0;
    std::error_code fec;
    for (const auto& fd : fs::directory_iterator(e.path() / "fd", fec)) {
      std::error_code lec;
      std::string target = fs::read_symlink(fd.path(), lec).string();
      if (target == "anon_inode:[perf_event]") ++perf;
      else if (target == "anon_inode:bpf-prog") ++progs;
    }
    if (perf == 0 && progs == 0) continue;
    std::string comm = read_file(e.path() / "comm");
    comm = comm.substr(0, comm.find('\n'));
    out += (out.empty() ? "" : "; ") + comm + "(" + name + "): " + std::to_string(perf) + " perf events, " +
           std::to_string(progs) + " BPF programs";
  }
  return out.empty() ? "none" : out;
}

// ---- fixture ----------------------------------------------------------------------

void IntegrationTest::SetUp() {
  // These tests load BPF programs. They must never report success without
  // having run, so a missing privilege is a failure, not a skip (CI too).
  ASSERT_EQ(::geteuid(), 0u) << "the BPF integration tests must run as root (they load BPF programs); "
                                "run them with sudo or as root, e.g. sudo scripts/test -L bpf";
  std::string tmpl = (fs::temp_directory_path() / "flare-it-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << "mkdtemp " << tmpl;
  dir_ = tmpl;
}

void IntegrationTest::TearDown() {
  if (dir_.empty()) return;
  if (HasFailure()) {
    std::cerr << "[ kept    ] scratch files of the failed test: " << dir_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

RunResult IntegrationTest::flare(const Argv& args, milliseconds timeout) {
  Argv argv = {kFlare};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout);
}

Child IntegrationTest::flare_in_background(const Argv& args) {
  Argv argv = {kFlare};
  argv.insert(argv.end(), args.begin(), args.end());
  return Child::spawn(argv);
}

Child IntegrationTest::start_fp_chains(const Argv& args, bool high_priority) {
  Argv argv = {kFpChains};
  if (high_priority) argv.push_back("--high-priority");
  argv.insert(argv.end(), args.begin(), args.end());
  Child c = Child::spawn(argv);
  EXPECT_TRUE(c.wait_for_line("ready", milliseconds(10000)))
      << "fp_chains did not report ready; stderr: " << c.err_so_far();
  return c;
}

std::vector<FoldedStack> IntegrationTest::folded(const fs::path& recording) {
  RunResult r = flare({"convert", recording.string(), "--to", "folded"});
  EXPECT_TRUE(r.status.ok()) << describe({"flare", "convert", recording.string(), "--to", "folded"}, r);
  return parse_folded(r.out);
}

std::optional<google::protobuf::Struct> IntegrationTest::info_json(const fs::path& recording) {
  Argv args = {"info", recording.string(), "--json"};
  RunResult r = flare(args);
  if (!r.status.ok()) {
    ADD_FAILURE() << describe(args, r);
    return std::nullopt;
  }
  auto j = parse_json_object(r.out);
  if (!j) ADD_FAILURE() << "flare info --json did not print a JSON object:\n" << r.out;
  return j;
}

std::optional<uint64_t> IntegrationTest::info_samples(const fs::path& recording) {
  auto j = info_json(recording);
  if (!j) return std::nullopt;
  const google::protobuf::Value* v = json_get(*j, "total_samples");
  if (!v || !v->has_number_value()) {
    ADD_FAILURE() << "flare info --json has no numeric \"total_samples\"";
    return std::nullopt;
  }
  return static_cast<uint64_t>(v->number_value());
}

std::map<pid_t, uint64_t> IntegrationTest::info_thread_samples(const fs::path& recording) {
  std::map<pid_t, uint64_t> out;
  auto j = info_json(recording);
  if (!j) return out;
  const google::protobuf::Value* threads = json_get(*j, "threads");
  if (!threads || !threads->has_list_value()) {
    ADD_FAILURE() << "flare info --json has no \"threads\" list";
    return out;
  }
  for (const auto& t : threads->list_value().values()) {
    out[static_cast<pid_t>(num_field(t, "tid"))] += num_field(t, "samples");
  }
  return out;
}

// ---- assertions -------------------------------------------------------------------

::testing::AssertionResult is_flare_error(const RunResult& r, int code) {
  if (!r.status.exited || r.status.exit_code != code) {
    return ::testing::AssertionFailure() << "expected exit " << code << ", got " << describe(r.status)
                                         << "\nstderr: " << r.err;
  }
  std::vector<std::string> lines = lines_of(r.err);
  if (lines.size() != 1 || !starts_with(lines[0], "flare: error:")) {
    return ::testing::AssertionFailure() << "expected exactly one stderr line starting 'flare: error:', got "
                                         << lines.size() << " line(s):\n" << r.err;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult no_output_left(const fs::path& file) {
  fs::path partial = file;
  partial += ".partial";
  std::error_code ec;
  if (fs::exists(file, ec)) return ::testing::AssertionFailure() << file << " exists";
  if (fs::exists(partial, ec)) return ::testing::AssertionFailure() << partial << " exists";
  return ::testing::AssertionSuccess();
}

double sampler_ticks_missed(const google::protobuf::Struct& info) {
  return lost_by_cause(info, "sampler_ticks_missed");
}

namespace {

// The "value_key" of the entry of list `path` whose "name_key" is `name`.
std::optional<double> find_in_list(const google::protobuf::Struct& info, const std::string& path,
                                   const std::string& name_key, const std::string& name,
                                   const std::string& value_key) {
  const google::protobuf::Value* list = json_get(info, path);
  if (!list || !list->has_list_value()) return std::nullopt;
  for (const auto& entry : list->list_value().values()) {
    const auto& fields = entry.struct_value().fields();
    auto n = fields.find(name_key);
    auto v = fields.find(value_key);
    if (n != fields.end() && v != fields.end() && n->second.string_value() == name) return v->second.number_value();
  }
  return std::nullopt;
}

}  // namespace

double lost_by_cause(const google::protobuf::Struct& info, const std::string& cause) {
  return find_in_list(info, "lost.by_cause", "cause", cause, "count").value_or(0);
}

std::optional<double> info_stat(const google::protobuf::Struct& info, const std::string& name) {
  return find_in_list(info, "stats", "name", name, "value");
}


}  // namespace flare::testing
