// Hand-built recordings and a strict little JSON reader for the viewer tests.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "recorder/model.h"

namespace flare::viewer::testing {

class RecordingBuilder {
 public:
  static constexpr uint64_t kPeriodNs = 10'000'000;  // 100 Hz
  static constexpr uint64_t kMonotonicStart = 5'000'000'000;
  static constexpr uint64_t kRealtimeStart = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z

  RecordingBuilder() {
    rec.header.flare_version = "0.1.0";
    rec.header.hostname = "testhost";
    rec.header.kernel_release = "6.18.0-test";
    rec.header.events = "cpu";
    rec.header.sample_frequency_hz = 100;
    rec.header.sample_period_ns = kPeriodNs;
    rec.header.clock_monotonic_ns = kMonotonicStart;
    rec.header.clock_realtime_ns = kRealtimeStart;
    rec.header.losses_at_flush = true;  // as flare writes them now
    rec.finalized = true;
  }

  uint32_t str(const std::string& s) {
    if (s.empty()) return 0;
    auto [it, inserted] = strings_.try_emplace(s, static_cast<uint32_t>(rec.strings.size()));
    if (inserted) rec.strings.push_back(s);
    return it->second;
  }

  uint32_t mapping(uint32_t pid, uint64_t start, uint64_t end, uint64_t file_offset, const std::string& path,
                   const std::string& build_id = "") {
    rec.mappings.push_back(rec::MappingInfo{pid, start, end, file_offset, str(path), str(build_id)});
    return static_cast<uint32_t>(rec.mappings.size() - 1);
  }

  uint32_t user_function(const std::string& name, uint32_t mapping, uint64_t address, const std::string& file = "",
                         uint32_t line = 0) {
    return frame(
        rec::FrameInfo{address, mapping, str(name), str(file), line, rec::FrameKind::kUser, rec::kFrameResolved});
  }
  uint32_t user_address(uint32_t mapping, uint64_t address) {
    return frame(rec::FrameInfo{address, mapping, 0, 0, 0, rec::FrameKind::kUser, 0});
  }
  uint32_t kernel_function(const std::string& name, uint64_t address) {
    return frame(rec::FrameInfo{address, 0, str(name), 0, 0, rec::FrameKind::kKernel, rec::kFrameResolved});
  }
  uint32_t kernel_address(uint64_t address) {
    return frame(rec::FrameInfo{address, 0, 0, 0, 0, rec::FrameKind::kKernel, 0});
  }

  // Frame ids leaf first.
  uint32_t stack(std::vector<uint32_t> frames) {
    rec.stacks.push_back(std::move(frames));
    return static_cast<uint32_t>(rec.stacks.size() - 1);
  }

  void thread(uint32_t pid, uint32_t tid, const std::string& name) {
    rec.threads[tid] = rec::ThreadInfo{pid, tid, str(name)};
  }

  // `n` samples, one period apart, starting `offset_ns` after capture start.
  void samples(uint32_t tid, uint32_t stack, uint64_t n, uint64_t offset_ns = 0) {
    for (uint64_t i = 0; i < n; ++i) {
      rec.samples.push_back(
          rec::CpuSample{kMonotonicStart + offset_ns + i * kPeriodNs, tid, stack, static_cast<uint16_t>(i % 2)});
    }
  }

  // Marks the recording as made with off-CPU tracing and its gates.
  void enable_offcpu(uint64_t min_ns, uint32_t max_per_second) {
    rec.header.events = "cpu,offcpu";
    rec.header.offcpu_min_ns = min_ns;
    rec.header.offcpu_max_per_second = max_per_second;
  }

  // `n` off-CPU intervals of `tid` blocked in `stack`, one 100 ms apart,
  // starting `offset_ns` after capture start.
  void offcpu(uint32_t tid, uint32_t stack, rec::OffCpuState state, uint64_t blocked_ns, uint64_t runq_ns,
              uint32_t waker_tid = 0, uint32_t waker_stack = 0, uint8_t flags = 0, uint64_t n = 1,
              uint64_t offset_ns = 0) {
    for (uint64_t i = 0; i < n; ++i) {
      rec.offcpu.push_back(rec::OffCpuInterval{kMonotonicStart + offset_ns + i * 100'000'000, blocked_ns, runq_ns,
                                               tid, stack, waker_tid, waker_stack, state, flags});
    }
  }

  void offcpu_total(uint32_t tid, rec::OffCpuState state, uint64_t count, uint64_t blocked_ns, uint64_t runq_ns,
                    uint64_t offset_ns = 1'000'000'000) {
    rec.offcpu_totals.push_back(
        rec::OffCpuTotal{kMonotonicStart + offset_ns, tid, state, count, blocked_ns, runq_ns});
  }

  rec::Recording rec;

 private:
  uint32_t frame(rec::FrameInfo f) {
    rec.frames.push_back(f);
    return static_cast<uint32_t>(rec.frames.size() - 1);
  }
  std::unordered_map<std::string, uint32_t> strings_;
};

// The recording most viewer tests share; the expected numbers in the tests
// are worked out by hand from it:
//   S1 [leaf, compute, main]                                 tid 100 x5, tid 101 x3
//   S2 [compute, main]                                       tid 100 x2
//   S3 [k:0x..200, k:do_syscall_64, libfoo?, compute, main]  tid 101 x4
//   S4 [k:do_syscall_64]                                     tid 102 x1
//   S5 [fib, fib, fib, main]                                 tid 100 x3
// Threads: 100 "main", 101 "worker" (pid 100), 102 unnamed. 18 samples.
struct KnownRecording {
  static constexpr uint64_t kAppStart = 0x400000;
  static constexpr uint64_t kLibStart = 0x7f0000000000;
  static constexpr uint64_t kKernelUnresolved = 0xffffffff81000200;
  static constexpr uint64_t kSyscall = 0xffffffff81000100;

  KnownRecording() {
    app = b.mapping(100, kAppStart, 0x500000, 0, "/opt/app/bin/app", "abc123");
    lib = b.mapping(100, kLibStart, kLibStart + 0x100000, 0x1000, "/opt/app/lib/libfoo.so");
    unused = b.mapping(100, 0x600000, 0x700000, 0, "/opt/app/lib/libunused.so", "dead");
    main = b.user_function("main", app, 0x401000, "/src/main.cc", 10);
    compute = b.user_function("compute", app, 0x402000, "/src/compute.cc", 20);
    leaf = b.user_function("leaf", app, 0x403000, "/src/leaf.cc", 30);
    fib = b.user_function("fib", app, 0x404000, "/src/fib.cc", 40);
    lib_unresolved = b.user_address(lib, kLibStart + 0xabc);  // [libfoo.so+0x1abc]
    syscall = b.kernel_function("do_syscall_64", kSyscall);
    kernel_unresolved = b.kernel_address(kKernelUnresolved);
    s1 = b.stack({leaf, compute, main});
    s2 = b.stack({compute, main});
    s3 = b.stack({kernel_unresolved, syscall, lib_unresolved, compute, main});
    s4 = b.stack({syscall});
    s5 = b.stack({fib, fib, fib, main});
    b.thread(100, 100, "main");
    b.thread(100, 101, "worker");
    b.thread(100, 102, "");
    b.samples(100, s1, 5, 0);
    b.samples(101, s1, 3, 1'000'000);
    b.samples(100, s2, 2, 100'000'000);
    b.samples(101, s3, 4, 200'000'000);
    b.samples(102, s4, 1, 300'000'000);
    b.samples(100, s5, 3, 2'000'000'000);  // last sample at +2.02 s
  }

  RecordingBuilder b;
  uint32_t app, lib, unused;
  uint32_t main, compute, leaf, fib, lib_unresolved, syscall, kernel_unresolved;
  uint32_t s1, s2, s3, s4, s5;
  const rec::Recording& rec() const { return b.rec; }
};

// A recording with off-CPU data whose every total is worked out by hand:
//   app (tid 200, pid 200):
//     CPU: 2 samples in [main]                                   20 ms
//     S_wait [k:schedule, wait_fn, main], woken by writer (tid 300, pid 300)
//       from [writer_fn, writer_main]: 3 x sleeping 18 ms + 2 ms run queue   60 ms
//     S_wait, sleeping, no waker, clipped at capture start: 5 + 1 ms          6 ms
//     S_wait, uninterruptible, no waker, clipped at the end: 4 + 0 ms          4 ms
//     totals: sleeping, 10 intervals (500 us blocked + 100 us run queue in
//       all) and 5 more (250 us + 50 us), two records                         0.9 ms
//   worker (tid 201, pid 200):
//     CPU: 5 samples in S_cpu [compute, worker_loop]              50 ms
//     S_cpu, preempted: 2 x (0 + 3 ms run queue)                              6 ms
//     totals: preempted, 4 intervals, 100 us run queue in all                0.1 ms
// Off-CPU: 77 ms in 26 intervals (7 recorded, 19 totalled); blocked
// 63.75 ms, run queue 13.25 ms. Wall: 70 ms on CPU + 77 ms = 147 ms.
struct OffCpuRecording {
  static constexpr uint64_t kMs = 1'000'000;
  static constexpr uint64_t kUs = 1'000;

  OffCpuRecording() {
    b.enable_offcpu(1 * kMs, 1000);
    app = b.mapping(200, 0x400000, 0x500000, 0, "/opt/app/bin/app");
    writer_bin = b.mapping(300, 0x400000, 0x500000, 0, "/opt/writer/bin/writer");
    main = b.user_function("main", app, 0x401000);
    wait_fn = b.user_function("wait_fn", app, 0x402000);
    compute = b.user_function("compute", app, 0x403000);
    worker_loop = b.user_function("worker_loop", app, 0x404000);
    schedule = b.kernel_function("schedule", 0xffffffff81000300);
    writer_fn = b.user_function("writer_fn", writer_bin, 0x401000);
    writer_main = b.user_function("writer_main", writer_bin, 0x402000);
    s_main = b.stack({main});
    s_wait = b.stack({schedule, wait_fn, main});
    s_cpu = b.stack({compute, worker_loop});
    s_waker = b.stack({writer_fn, writer_main});
    b.thread(200, 200, "app");
    b.thread(200, 201, "worker");
    b.thread(300, 300, "writer");
    b.samples(200, s_main, 2, 0);
    b.samples(201, s_cpu, 5, 0);
    using State = rec::OffCpuState;
    b.offcpu(200, s_wait, State::kSleeping, 18 * kMs, 2 * kMs, 300, s_waker, 0, 3, 10 * kMs);
    b.offcpu(200, s_wait, State::kSleeping, 5 * kMs, 1 * kMs, 0, 0, rec::kOffCpuClippedStart, 1, 0);
    b.offcpu(200, s_wait, State::kUninterruptible, 4 * kMs, 0, 0, 0, rec::kOffCpuClippedEnd, 1, 996 * kMs);
    b.offcpu(201, s_cpu, State::kPreempted, 0, 3 * kMs, 0, 0, 0, 2, 20 * kMs);
    b.offcpu_total(200, State::kSleeping, 10, 500 * kUs, 100 * kUs);
    b.offcpu_total(200, State::kSleeping, 5, 250 * kUs, 50 * kUs);
    b.offcpu_total(201, State::kPreempted, 4, 0, 100 * kUs);
  }

  RecordingBuilder b;
  uint32_t app, writer_bin;
  uint32_t main, wait_fn, compute, worker_loop, schedule, writer_fn, writer_main;
  uint32_t s_main, s_wait, s_cpu, s_waker;
  const rec::Recording& rec() const { return b.rec; }
};

// A strict JSON parser, enough to prove --json output is well-formed and to
// check values structurally rather than by substring.
struct Json {
  using Array = std::vector<Json>;
  using Object = std::map<std::string, Json>;
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> v;

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
  double num() const { return std::get<double>(v); }
  bool boolean() const { return std::get<bool>(v); }
  const std::string& str() const { return std::get<std::string>(v); }
  const Array& arr() const { return *std::get<std::shared_ptr<Array>>(v); }
  const Object& obj() const { return *std::get<std::shared_ptr<Object>>(v); }
  const Json& operator[](const std::string& key) const { return obj().at(key); }
  const Json& operator[](size_t i) const { return arr().at(i); }
  bool has(const std::string& key) const { return obj().count(key) != 0; }

  // Returns false on any syntax error or trailing garbage.
  static bool parse(std::string_view text, Json& out) {
    Parser p{text, 0};
    if (!p.value(out)) return false;
    p.ws();
    return p.pos == text.size();
  }

 private:
  struct Parser {
    std::string_view s;
    size_t pos;
    void ws() {
      while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\t' || s[pos] == '\r')) ++pos;
    }
    bool lit(std::string_view w) {
      if (s.substr(pos, w.size()) != w) return false;
      pos += w.size();
      return true;
    }
    bool string(std::string& out) {
      if (pos >= s.size() || s[pos] != '"') return false;
      ++pos;
      while (pos < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[pos++]);
        if (c == '"') return true;
        if (c < 0x20) return false;
        if (c != '\\') {
          out += static_cast<char>(c);
          continue;
        }
        if (pos >= s.size()) return false;
        char e = s[pos++];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            if (pos + 4 > s.size()) return false;
            unsigned cp = std::stoul(std::string(s.substr(pos, 4)), nullptr, 16);
            pos += 4;
            if (cp < 0x80) {
              out += static_cast<char>(cp);
            } else if (cp < 0x800) {
              out += static_cast<char>(0xC0 | (cp >> 6));
              out += static_cast<char>(0x80 | (cp & 0x3F));
            } else {
              out += static_cast<char>(0xE0 | (cp >> 12));
              out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
              out += static_cast<char>(0x80 | (cp & 0x3F));
            }
            break;
          }
          default:
            return false;
        }
      }
      return false;
    }
    bool value(Json& out) {
      ws();
      if (pos >= s.size()) return false;
      char c = s[pos];
      if (c == '{') {
        ++pos;
        auto obj = std::make_shared<Object>();
        ws();
        if (pos < s.size() && s[pos] == '}') {
          ++pos;
        } else {
          for (;;) {
            ws();
            std::string key;
            if (!string(key)) return false;
            ws();
            if (!lit(":")) return false;
            Json v;
            if (!value(v)) return false;
            if (!obj->emplace(key, std::move(v)).second) return false;  // duplicate key
            ws();
            if (lit(",")) continue;
            if (lit("}")) break;
            return false;
          }
        }
        out.v = obj;
        return true;
      }
      if (c == '[') {
        ++pos;
        auto arr = std::make_shared<Array>();
        ws();
        if (pos < s.size() && s[pos] == ']') {
          ++pos;
        } else {
          for (;;) {
            Json v;
            if (!value(v)) return false;
            arr->push_back(std::move(v));
            ws();
            if (lit(",")) continue;
            if (lit("]")) break;
            return false;
          }
        }
        out.v = arr;
        return true;
      }
      if (c == '"') {
        std::string str;
        if (!string(str)) return false;
        out.v = std::move(str);
        return true;
      }
      if (lit("null")) return out.v = nullptr, true;
      if (lit("true")) return out.v = true, true;
      if (lit("false")) return out.v = false, true;
      size_t start = pos;
      if (pos < s.size() && s[pos] == '-') ++pos;
      if (pos >= s.size() || !(s[pos] >= '0' && s[pos] <= '9')) return false;
      if (s[pos] == '0' && pos + 1 < s.size() && s[pos + 1] >= '0' && s[pos + 1] <= '9') return false;
      while (pos < s.size() && ((s[pos] >= '0' && s[pos] <= '9') || s[pos] == '.' || s[pos] == 'e' || s[pos] == 'E' ||
                                s[pos] == '+' || s[pos] == '-')) {
        ++pos;
      }
      out.v = std::stod(std::string(s.substr(start, pos - start)));
      return true;
    }
  };
};

}  // namespace flare::viewer::testing
