#include "bench/synthetic_recording.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <unordered_map>

namespace flare::bench {

namespace {

constexpr const char* kNamespaces[] = {"app", "net", "db", "rpc", "util", "storage", "http", "json", "cache", "auth"};
constexpr const char* kClasses[] = {"Connection", "RequestHandler", "Session", "QueryPlanner", "BufferPool",
                                    "Serializer", "Dispatcher", "EventLoop", "Channel", "Index",
                                    "Parser", "Compressor", "Scheduler", "Router", "Table", "Transaction"};
constexpr const char* kMethods[] = {"process", "handle_read", "handle_write", "dispatch", "flush", "lookup",
                                    "insert", "encode", "decode", "validate", "commit", "poll_once",
                                    "run", "compute_hash", "append", "resize", "on_message", "serialize_to"};
constexpr const char* kArgs[] = {"()", "(int)", "(std::string const&)", "(Request const&, Response*)",
                                 "(std::span<char const, 18446744073709551615ul>)", "(unsigned long, bool)"};
constexpr const char* kKernelFunctions[] = {
    "entry_SYSCALL_64_after_hwframe", "do_syscall_64", "__x64_sys_read", "ksys_read", "vfs_read",
    "__x64_sys_write", "ksys_write", "vfs_write", "sock_read_iter", "tcp_recvmsg", "tcp_sendmsg",
    "__x64_sys_epoll_wait", "do_epoll_wait", "ep_poll", "schedule", "__schedule", "finish_task_switch",
    "asm_exc_page_fault", "exc_page_fault", "do_user_addr_fault", "handle_mm_fault", "__handle_mm_fault",
    "clear_page_erms", "__x64_sys_futex", "do_futex", "futex_wait", "copy_user_generic_string",
    "__alloc_pages", "get_page_from_freelist", "asm_sysvec_apic_timer_interrupt", "__irq_exit_rcu"};

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(g); }
  uint64_t below(uint64_t n) { return n ? g() % n : 0; }
  // Skewed towards 0: index = n * u^k.
  uint64_t skewed(uint64_t n, double k) { return std::min<uint64_t>(n - 1, static_cast<uint64_t>(n * std::pow(uniform(), k))); }
};

std::string hex_id(Rng& rng) {
  static const char* digits = "0123456789abcdef";
  std::string s(40, '0');
  for (char& c : s) c = digits[rng.below(16)];
  return s;
}

struct TreeNode {
  uint32_t frame;
  std::vector<uint32_t> children;  // node indices
};

}  // namespace

size_t SyntheticProfile::user_frames_in(uint32_t stack) const {
  size_t n = 0;
  for (uint32_t f : stacks[stack]) n += frames[f].kernel ? 0 : 1;
  return n;
}

SyntheticProfile make_synthetic_profile(const SyntheticSpec& spec) {
  SyntheticProfile p;
  p.spec = spec;
  p.pid = 4242;
  p.start_ns = 1'000'000'000'000ull;
  Rng rng(spec.seed);

  // Mappings: the main binary holds most functions, libraries the rest.
  const char* paths[] = {"/usr/bin/app-server", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                         "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30", "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                         "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13", "/usr/lib/x86_64-linux-gnu/libprotobuf.so.32"};
  uint64_t base = 0x55d4c3a00000ull;
  for (size_t i = 0; i < std::size(paths); ++i) {
    SyntheticMapping m;
    m.start = i == 0 ? base : 0x7f3a10000000ull + i * 0x1000000ull;
    m.end = m.start + (i == 0 ? 0x2000000ull : 0x400000ull);
    m.offset = 0x1000;
    m.path = paths[i];
    m.build_id = hex_id(rng);
    p.mappings.push_back(m);
  }

  // User functions: names like "db::QueryPlanner::lookup(int)", each with a
  // few call sites (distinct frame addresses) and a source file.
  for (size_t i = 0; i < 400; ++i) {
    p.file_names.push_back("src/" + std::string(kNamespaces[i % std::size(kNamespaces)]) + "/module_" +
                           std::to_string(i) + ".cc");
  }
  struct Function {
    int32_t mapping;
    uint64_t start;
    uint32_t file;
    uint32_t line;
    std::vector<uint32_t> sites;  // frame indices, created on first use
  };
  std::vector<Function> functions;
  uint64_t next_in_mapping[std::size(paths)] = {};
  for (uint32_t i = 0; i < spec.user_functions; ++i) {
    std::string name = std::string(kNamespaces[rng.below(std::size(kNamespaces))]) + "::" +
                       kClasses[rng.below(std::size(kClasses))] + "::" + kMethods[rng.below(std::size(kMethods))];
    if (rng.below(4) == 0) name += "_impl<" + std::string(kClasses[rng.below(std::size(kClasses))]) + ">";
    name += "_" + std::to_string(i) + kArgs[rng.below(std::size(kArgs))];
    p.function_names.push_back(name);
    int32_t mapping = rng.below(10) < 7 ? 0 : static_cast<int32_t>(1 + rng.below(std::size(paths) - 1));
    uint64_t size = 64 + rng.below(2000);
    uint64_t start = p.mappings[mapping].start + 0x1000 + next_in_mapping[mapping];
    next_in_mapping[mapping] += size;
    functions.push_back({mapping, start, static_cast<uint32_t>(rng.below(p.file_names.size())),
                         static_cast<uint32_t>(10 + rng.below(3000)), {}});
  }
  auto user_frame = [&](uint32_t fn) -> uint32_t {
    Function& f = functions[fn];
    // Up to 4 call sites per function.
    if (f.sites.size() < 4 && (f.sites.empty() || rng.below(3) == 0)) {
      SyntheticFrame fr;
      fr.address = f.start + 4 + rng.below(60) + 13 * f.sites.size();
      fr.mapping = f.mapping;
      fr.function = fn;
      fr.file = f.file;
      fr.line = f.line + static_cast<uint32_t>(rng.below(40));
      p.frames.push_back(fr);
      f.sites.push_back(static_cast<uint32_t>(p.frames.size() - 1));
    }
    return f.sites[rng.below(f.sites.size())];
  };

  // Kernel frames and a few syscall paths (leaf first).
  uint32_t kernel_name_base = static_cast<uint32_t>(p.function_names.size());
  for (const char* k : kKernelFunctions) p.function_names.push_back(k);
  std::vector<uint32_t> kernel_frames;
  for (size_t i = 0; i < 300; ++i) {
    SyntheticFrame fr;
    fr.kernel = true;
    fr.function = kernel_name_base + static_cast<uint32_t>(i % std::size(kKernelFunctions));
    fr.address = 0xffffffff81000000ull + i * 0x1230 + rng.below(0x200);
    p.frames.push_back(fr);
    kernel_frames.push_back(static_cast<uint32_t>(p.frames.size() - 1));
  }
  std::vector<std::vector<uint32_t>> kernel_paths;
  for (int i = 0; i < 40; ++i) {
    std::vector<uint32_t> path;
    size_t depth = 3 + rng.below(10);
    for (size_t d = 0; d < depth; ++d) path.push_back(kernel_frames[rng.skewed(kernel_frames.size(), 1.5)]);
    kernel_paths.push_back(path);
  }

  // Call trees, one per thread group, rooted in a fixed runtime prefix.
  std::vector<TreeNode> nodes;
  std::vector<uint32_t> group_roots;
  std::vector<uint32_t> prefix_len;
  for (uint32_t g = 0; g < spec.thread_groups; ++g) {
    uint32_t len = 5 + g;  // clone3 -> start_thread -> ... -> group's loop
    uint32_t parent = UINT32_MAX;
    for (uint32_t d = 0; d < len; ++d) {
      nodes.push_back({user_frame(static_cast<uint32_t>(rng.below(spec.user_functions))), {}});
      uint32_t id = static_cast<uint32_t>(nodes.size() - 1);
      if (parent != UINT32_MAX) nodes[parent].children.push_back(id);
      else group_roots.push_back(id);
      parent = id;
    }
    prefix_len.push_back(len);
  }

  // Stacks: walk down a group's tree, mostly following existing branches
  // (popular ones first), sometimes branching off; the leaf node is always
  // new, so every stack is a distinct path.
  p.stacks.reserve(spec.unique_stacks);
  for (uint32_t s = 0; s < spec.unique_stacks; ++s) {
    uint32_t g = static_cast<uint32_t>(rng.skewed(spec.thread_groups, 1.3));
    // Depth 20..60: most 20..30, a long tail.
    uint32_t depth = 20 + std::min<uint32_t>(40, static_cast<uint32_t>(-std::log(1.0 - rng.uniform()) * 6.0));
    std::vector<uint32_t> path;
    uint32_t node = group_roots[g];
    path.push_back(nodes[node].frame);
    while (path.size() < prefix_len[g]) {
      node = nodes[node].children[0];
      path.push_back(nodes[node].frame);
    }
    while (path.size() < depth) {
      TreeNode& n = nodes[node];
      bool last = path.size() + 1 == depth;
      uint32_t next;
      if (!last && !n.children.empty() && rng.uniform() < 0.9) {
        next = n.children[rng.skewed(n.children.size(), 2.0)];
      } else {
        uint32_t fn = static_cast<uint32_t>(rng.skewed(spec.user_functions, 2.5));
        nodes.push_back({user_frame(fn), {}});
        next = static_cast<uint32_t>(nodes.size() - 1);
        nodes[node].children.push_back(next);
      }
      node = next;
      path.push_back(nodes[node].frame);
    }
    std::reverse(path.begin(), path.end());  // leaf first
    if (rng.below(10) < 3) {
      const auto& k = kernel_paths[rng.skewed(kernel_paths.size(), 1.5)];
      path.insert(path.begin(), k.begin(), k.end());
    }
    p.stacks.push_back(std::move(path));
    p.stack_thread_group.push_back(g);
  }

  // Threads: named like a server's pools.
  const char* group_names[] = {"worker", "io", "flusher", "gc", "timer"};
  for (uint32_t t = 0; t < spec.threads; ++t) {
    uint32_t g = t % spec.thread_groups;
    p.threads.push_back({p.pid + t, std::string(group_names[g % std::size(group_names)]) + "-" + std::to_string(t)});
  }
  std::vector<std::vector<uint32_t>> group_threads(spec.thread_groups);
  for (uint32_t t = 0; t < spec.threads; ++t) group_threads[t % spec.thread_groups].push_back(t);
  // Stacks in popularity order: shuffled, so hot stacks are spread over groups.
  std::vector<uint32_t> by_popularity(p.stacks.size());
  for (uint32_t i = 0; i < by_popularity.size(); ++i) by_popularity[i] = i;
  std::shuffle(by_popularity.begin(), by_popularity.end(), rng.g);

  // Samples: every CPU at frequency_hz, each sample ±30 % of a period late
  // or early, so samples of different CPUs interleave out of order.
  const double period = 1e9 / spec.frequency_hz;
  const double step = period / spec.cpus;
  p.samples.resize(spec.samples);
  for (uint64_t i = 0; i < spec.samples; ++i) {
    SyntheticSample& s = p.samples[i];
    s.stack = by_popularity[rng.skewed(by_popularity.size(), 3.0)];
    const auto& members = group_threads[p.stack_thread_group[s.stack]];
    s.thread = members[rng.below(members.size())];
    s.cpu = static_cast<uint16_t>(i % spec.cpus);
    double jitter = (rng.uniform() - 0.5) * 0.6 * period;
    s.time_ns = p.start_ns + static_cast<uint64_t>(static_cast<double>(i) * step + period + jitter);
  }
  return p;
}

rec::FileHeader synthetic_header(const SyntheticProfile& p) {
  rec::FileHeader h;
  h.flare_version = "synthetic";
  h.hostname = "bench-host";
  h.kernel_release = "6.18.0-synthetic";
  h.targets.push_back({p.pid, "/usr/bin/app-server --config /etc/app/server.toml"});
  h.events = "cpu";
  h.sample_frequency_hz = p.spec.frequency_hz;
  h.sample_period_ns = 1'000'000'000ull / p.spec.frequency_hz;
  h.clock_monotonic_ns = p.start_ns;
  h.clock_realtime_ns = 1'700'000'000'000'000'000ull;
  return h;
}

// ---- the writer API, used here only ----

SyntheticFeeder::SyntheticFeeder(const SyntheticProfile& profile, rec::RecordingWriter& writer)
    : p_(profile), w_(writer) {
  sync_generation();
}

void SyntheticFeeder::sync_generation() {
  if (w_.generation() == generation_) return;
  generation_ = w_.generation();
  frame_ids_.assign(p_.frames.size(), 0);
  stack_ids_.assign(p_.stacks.size(), 0);
  mapping_ids_.assign(p_.mappings.size(), 0);
}

uint32_t SyntheticFeeder::mapping_id(int32_t mapping) {
  if (mapping < 0) return 0;
  uint32_t& id = mapping_ids_[mapping];
  if (id == 0) {
    const SyntheticMapping& m = p_.mappings[mapping];
    rec::MappingInfo info;
    info.pid = p_.pid;
    info.start = m.start;
    info.end = m.end;
    info.file_offset = m.offset;
    info.path = w_.intern_string(m.path);
    info.build_id = w_.intern_string(m.build_id);
    id = w_.add_mapping(info);
  }
  return id;
}

uint32_t SyntheticFeeder::frame_id(uint32_t frame) {
  uint32_t& id = frame_ids_[frame];
  if (id == 0) {
    const SyntheticFrame& f = p_.frames[frame];
    rec::FrameInfo info;
    info.address = f.address;
    info.kind = f.kernel ? rec::FrameKind::kKernel : rec::FrameKind::kUser;
    info.mapping = mapping_id(f.mapping);
    info.function = w_.intern_string(p_.function_names[f.function]);
    if (!f.kernel) {
      info.file = w_.intern_string(p_.file_names[f.file]);
      info.line = f.line;
    }
    info.flags = rec::kFrameResolved;
    id = w_.add_frame(info);
  }
  return id;
}

const std::vector<uint32_t>& SyntheticFeeder::stack_frame_ids(uint32_t stack) {
  sync_generation();
  scratch_.clear();
  for (uint32_t f : p_.stacks[stack]) scratch_.push_back(frame_id(f));
  return scratch_;
}

uint32_t SyntheticFeeder::stack_id(uint32_t stack) {
  sync_generation();
  uint32_t& id = stack_ids_[stack];
  if (id == 0) id = w_.intern_stack(stack_frame_ids(stack));
  return id;
}

Status SyntheticFeeder::add_sample(size_t i, uint64_t time_offset_ns) {
  const SyntheticSample& s = p_.samples[i];
  const SyntheticThread& t = p_.threads[s.thread];
  w_.set_thread(p_.pid, t.tid, t.name);
  rec::CpuSample out;
  out.time_ns = s.time_ns + time_offset_ns;
  out.tid = t.tid;
  out.cpu = s.cpu;
  out.stack = stack_id(s.stack);
  w_.add_cpu_sample(out);
  return w_.maybe_flush(out.time_ns);
}

Result<SyntheticWriteResult> write_synthetic_recording(const SyntheticProfile& profile, const std::string& path,
                                                       uint64_t n, const rec::WriterOptions& options) {
  if (n == 0 || n > profile.samples.size()) n = profile.samples.size();
  auto created = rec::RecordingWriter::create(path, synthetic_header(profile), options);
  if (!created.is_ok()) return created.status();
  rec::RecordingWriter& w = **created;
  SyntheticFeeder feeder(profile, w);
  for (uint64_t i = 0; i < n; ++i) FLARE_RETURN_IF_ERROR(feeder.add_sample(i));
  w.add_stat("capture_duration_ns", n ? profile.samples[n - 1].time_ns - profile.start_ns : 0);
  w.add_stat("samples_received", n);
  FLARE_RETURN_IF_ERROR(w.finish());
  return SyntheticWriteResult{w.bytes_written(), w.samples_written(), w.chunks_started()};
}

// ---- shared state ----

namespace {
uint64_t g_samples_flag = 1'000'000;
}

uint64_t synthetic_samples_flag() { return g_samples_flag; }
void set_synthetic_samples_flag(uint64_t n) { g_samples_flag = n; }

const SyntheticProfile& default_synthetic_profile() {
  static const SyntheticProfile profile = [] {
    SyntheticSpec spec;
    spec.samples = synthetic_samples_flag();
    return make_synthetic_profile(spec);
  }();
  return profile;
}

const std::string& bench_temp_dir() {
  static const std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flare-microbench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] { std::filesystem::remove_all(bench_temp_dir()); });
    return tmpl;
  }();
  return dir;
}

}  // namespace flare::bench
