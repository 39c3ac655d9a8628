#include "viewer/pprof_builder.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>

#include "viewer/frame_names.h"
#include "viewer/view_stack.h"

namespace flare::viewer {

namespace pb = perftools::profiles;

namespace {

// perf's name for the kernel image, which pprof and most tools recognise.
constexpr const char* kKernelMappingName = "[kernel.kallsyms]";

// The same guess pprof makes for legacy profiles: a file that is neither a
// shared library ("libc.so.6", "libfoo.so") nor a pseudo-file ("[heap]").
bool looks_like_main_binary(std::string_view path) {
  if (path.empty() || path.front() == '[') return false;
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (name.empty() || name.front() == '[') return false;
  if (name.size() >= 3 && name.substr(name.size() - 3) == ".so") return false;
  for (size_t at = name.find(".so"); at != std::string_view::npos; at = name.find(".so", at + 1)) {
    size_t next = at + 3;
    if (next + 1 < name.size() && (name[next] == '.' || name[next] == '_') && name[next + 1] >= '0' &&
        name[next + 1] <= '9') {
      return false;
    }
  }
  return true;
}

struct PairHash {
  size_t operator()(const std::pair<int64_t, int64_t>& p) const {
    return std::hash<int64_t>()(p.first) * 31 + std::hash<int64_t>()(p.second);
  }
};

// Builds the profile in passes over distinct keys, never over raw events:
// the caller's aggregated samples -> used frames -> mappings -> functions
// and locations -> pprof samples.
class ProfileBuilder {
 public:
  ProfileBuilder(const rec::Recording& rec, const ViewOptions& options, pb::Profile& profile)
      : rec_(rec), options_(options), profile_(profile), rec_string_ids_(rec.strings.size(), -1) {
    intern("");  // string_table[0] must be "".
  }

  void build(const PprofLayout& layout, std::span<const PprofSample> samples) {
    mark_used_frames(samples);
    add_mappings();
    add_locations();
    add_header(layout);
    add_samples(layout, samples);
  }

 private:
  int64_t intern(const std::string& s) {
    auto [it, inserted] = strings_.try_emplace(s, static_cast<int64_t>(strings_.size()));
    if (inserted) profile_.add_string_table(s);
    return it->second;
  }

  int64_t intern_rec(uint32_t id) {
    if (id >= rec_string_ids_.size()) return 0;
    if (rec_string_ids_[id] < 0) rec_string_ids_[id] = intern(rec_.strings[id]);
    return rec_string_ids_[id];
  }

  bool is_inlined(uint32_t id) const { return (rec_.frames[id].flags & rec::kFrameInlined) != 0; }

  // Calls fn(first, count) for each pprof Location of `frames` (leaf first):
  // a run of inlined frames with the frame they are inlined into, at the
  // same address, is one Location; every other frame is one of its own.
  template <typename Fn>
  void for_each_location(const std::vector<uint32_t>& frames, Fn fn) const {
    for (size_t i = 0; i < frames.size();) {
      size_t end = i + 1;
      if (is_inlined(frames[i])) {
        const rec::FrameInfo& first = rec_.frames[frames[i]];
        while (end < frames.size() && rec_.frames[frames[end]].address == first.address &&
               rec_.frames[frames[end]].kind == first.kind) {
          if (!is_inlined(frames[end++])) break;
        }
      }
      fn(i, end - i);
      i = end;
    }
  }

  void mark_used_frames(std::span<const PprofSample> samples) {
    frame_used_.assign(rec_.frames.size(), false);
    frame_alone_.assign(rec_.frames.size(), false);
    std::vector<bool> stack_seen(rec_.stacks.size(), false);
    for (const PprofSample& s : samples) {
      if (!s.placeholder.empty()) {
        used_placeholders_.emplace(s.placeholder, 0);
        continue;
      }
      if (s.stack < stack_seen.size()) {
        if (stack_seen[s.stack]) continue;
        stack_seen[s.stack] = true;
      }
      std::string_view placeholder = view_stack(rec_, s.stack, options_, scratch_);
      if (!placeholder.empty()) used_placeholders_.emplace(placeholder, 0);
      for (uint32_t id : scratch_) frame_used_[id] = true;
      for_each_location(scratch_, [this](size_t first, size_t count) {
        if (count == 1) {
          frame_alone_[scratch_[first]] = true;
        } else {
          inline_runs_.emplace(std::vector<uint32_t>(scratch_.begin() + first, scratch_.begin() + first + count), 0);
        }
      });
    }
  }

  // One pprof Mapping per recording mapping that a shown frame lies in, in
  // recording order, then the kernel; pprof itself picks the main binary.
  void add_mappings() {
    struct Use {
      bool used = false, functions = false, files = false, lines = false, inlines = false;
    };
    std::vector<Use> use(rec_.mappings.size());
    Use kernel;
    uint64_t kernel_lo = std::numeric_limits<uint64_t>::max(), kernel_hi = 0;
    for (size_t id = 1; id < rec_.frames.size(); ++id) {
      if (!frame_used_[id]) continue;
      const rec::FrameInfo& f = rec_.frames[id];
      Use* u = nullptr;
      if (f.kind == rec::FrameKind::kKernel) {
        u = &kernel;
        kernel_lo = std::min(kernel_lo, f.address);
        kernel_hi = std::max(kernel_hi, f.address);
      } else if (f.mapping != 0 && f.mapping < use.size()) {
        u = &use[f.mapping];
      } else {
        continue;
      }
      u->used = true;
      bool resolved = frame_is_resolved(rec_, f);
      u->functions |= resolved;
      u->files |= resolved && f.file != 0;
      u->lines |= resolved && f.line != 0;
      u->inlines |= is_inlined(static_cast<uint32_t>(id));
    }
    // pprof takes the first mapping for the main binary (the "File:" line,
    // and where it looks first when symbolizing), so the best guess leads.
    std::vector<uint32_t> order;
    for (size_t id = 1; id < rec_.mappings.size(); ++id) {
      if (use[id].used) order.push_back(static_cast<uint32_t>(id));
    }
    auto main_binary = std::find_if(order.begin(), order.end(), [this](uint32_t id) {
      return looks_like_main_binary(rec_.str(rec_.mappings[id].path));
    });
    if (main_binary != order.end()) std::rotate(order.begin(), main_binary, main_binary + 1);

    mapping_ids_.assign(rec_.mappings.size(), 0);
    for (uint32_t id : order) {
      const rec::MappingInfo& m = rec_.mappings[id];
      pb::Mapping* pm = profile_.add_mapping();
      pm->set_id(profile_.mapping_size());
      pm->set_memory_start(m.start);
      pm->set_memory_limit(m.end);
      pm->set_file_offset(m.file_offset);
      pm->set_filename(intern_rec(m.path));
      pm->set_build_id(intern_rec(m.build_id));
      // has_functions is what stops pprof from symbolizing the mapping by
      // itself, so it is only claimed when we really have names. A mapping
      // left false can still be symbolized later from the binary on disk.
      pm->set_has_functions(use[id].functions);
      pm->set_has_filenames(use[id].files);
      pm->set_has_line_numbers(use[id].lines);
      pm->set_has_inline_frames(use[id].inlines);
      mapping_ids_[id] = pm->id();
    }
    if (kernel.used) {
      pb::Mapping* pm = profile_.add_mapping();
      pm->set_id(profile_.mapping_size());
      // The range we actually saw: kernel frames carry no mapping of their own.
      pm->set_memory_start(kernel_lo);
      pm->set_memory_limit(kernel_hi == std::numeric_limits<uint64_t>::max() ? kernel_hi : kernel_hi + 1);
      pm->set_filename(intern(kKernelMappingName));
      // Unresolved kernel addresses cannot be symbolized from a file pprof
      // can find either, so the mapping never asks for it.
      pm->set_has_functions(true);
      pm->set_has_filenames(kernel.files);
      pm->set_has_line_numbers(kernel.lines);
      kernel_mapping_id_ = pm->id();
    }
  }

  uint64_t function_id(const std::string& name, uint32_t file_string) {
    int64_t name_id = intern(name);
    int64_t file_id = intern_rec(file_string);
    auto [it, inserted] = functions_.try_emplace({name_id, file_id}, 0);
    if (inserted) {
      pb::Function* fn = profile_.add_function();
      fn->set_id(profile_.function_size());
      fn->set_name(name_id);
      fn->set_system_name(name_id);
      fn->set_filename(file_id);
      it->second = fn->id();
    }
    return it->second;
  }

  // One Location per frame id, and one per run of inlined frames with the
  // frame they are inlined into: its Lines go innermost first, as pprof
  // expects. Unresolved frames still get a Function named after where they
  // lie, so -top shows "[libfoo.so+0x1a2b]" instead of a bare address; pprof
  // keeps such a name unless it can symbolize better.
  pb::Location* add_location(const rec::FrameInfo& f) {
    pb::Location* loc = profile_.add_location();
    loc->set_id(profile_.location_size());
    loc->set_address(f.address);
    if (f.kind == rec::FrameKind::kKernel) {
      loc->set_mapping_id(kernel_mapping_id_);
    } else if (f.mapping < mapping_ids_.size()) {
      loc->set_mapping_id(mapping_ids_[f.mapping]);
    }
    return loc;
  }

  void add_line(pb::Location* loc, const rec::FrameInfo& f) {
    bool resolved = frame_is_resolved(rec_, f);
    pb::Line* line = loc->add_line();
    line->set_function_id(function_id(frame_display_name(rec_, f), resolved ? f.file : 0));
    if (resolved) line->set_line(f.line);
  }

  void add_locations() {
    location_ids_.assign(rec_.frames.size(), 0);
    for (size_t id = 1; id < rec_.frames.size(); ++id) {
      if (!frame_alone_[id]) continue;
      const rec::FrameInfo& f = rec_.frames[id];
      pb::Location* loc = add_location(f);
      add_line(loc, f);
      location_ids_[id] = loc->id();
    }
    for (auto& [run, location_id] : inline_runs_) {
      pb::Location* loc = add_location(rec_.frames[run.back()]);
      for (uint32_t id : run) add_line(loc, rec_.frames[id]);
      location_id = loc->id();
    }
    for (auto& [name, location_id] : used_placeholders_) {
      pb::Location* loc = profile_.add_location();
      loc->set_id(profile_.location_size());
      loc->add_line()->set_function_id(function_id(std::string(name), 0));
      location_id = loc->id();
    }
  }

  void add_header(const PprofLayout& layout) {
    auto set_type = [this](pb::ValueType* vt, const PprofValueType& t) {
      vt->set_type(intern(t.type));
      vt->set_unit(intern(t.unit));
    };
    for (const PprofValueType& t : layout.sample_types) set_type(profile_.add_sample_type(), t);
    set_type(profile_.mutable_period_type(), layout.period_type);
    profile_.set_period(layout.period);
    if (layout.default_sample_type) profile_.set_default_sample_type(intern(layout.default_sample_type));
    profile_.set_time_nanos(layout.time_nanos);
    profile_.set_duration_nanos(layout.duration_nanos);
  }

  static void add_num_label(pb::Sample* s, int64_t key, int64_t num) {
    pb::Label* label = s->add_label();
    label->set_key(key);
    label->set_num(num);
  }
  static void add_str_label(pb::Sample* s, int64_t key, int64_t str) {
    pb::Label* label = s->add_label();
    label->set_key(key);
    label->set_str(str);
  }

  int64_t thread_name(uint32_t tid) {
    auto [name, inserted] = thread_names_.try_emplace(tid, 0);
    if (inserted) name->second = intern(thread_display_name(rec_, tid));
    return name->second;
  }

  void add_samples(const PprofLayout& layout, std::span<const PprofSample> samples) {
    const int64_t tid_key = intern("tid");
    const int64_t pid_key = intern("pid");
    const int64_t thread_key = intern("thread");
    const size_t values = std::min(layout.sample_types.size(), kMaxPprofValues);
    profile_.mutable_sample()->Reserve(static_cast<int>(std::min<size_t>(samples.size(), INT32_MAX)));
    for (const PprofSample& in : samples) {
      pb::Sample* s = profile_.add_sample();
      std::string_view placeholder =
          in.placeholder.empty() ? view_stack(rec_, in.stack, options_, scratch_) : in.placeholder;
      if (!placeholder.empty()) {
        s->add_location_id(used_placeholders_.at(placeholder));
      } else {
        s->mutable_location_id()->Reserve(static_cast<int>(scratch_.size()));
        for_each_location(scratch_, [&](size_t first, size_t count) {
          if (count == 1) {
            s->add_location_id(location_ids_[scratch_[first]]);
          } else {
            run_key_.assign(scratch_.begin() + first, scratch_.begin() + first + count);
            s->add_location_id(inline_runs_.at(run_key_));
          }
        });
      }
      for (size_t i = 0; i < values; ++i) s->add_value(in.values[i]);

      add_num_label(s, tid_key, in.tid);
      auto thread = rec_.threads.find(in.tid);
      if (thread != rec_.threads.end() && thread->second.pid != 0) add_num_label(s, pid_key, thread->second.pid);
      add_str_label(s, thread_key, thread_name(in.tid));
      if (in.state) add_str_label(s, intern("state"), intern(in.state));
      if (in.waker_tid != 0) {
        add_num_label(s, intern("waker_tid"), in.waker_tid);
        add_str_label(s, intern("waker"), thread_name(in.waker_tid));
      }
      if (!in.reason.empty()) add_str_label(s, intern("reason"), intern(std::string(in.reason)));
    }
  }

  const rec::Recording& rec_;
  const ViewOptions& options_;
  pb::Profile& profile_;
  std::unordered_map<std::string, int64_t> strings_;
  std::vector<int64_t> rec_string_ids_;  // recording string id -> string_table index, -1 until used
  std::vector<bool> frame_used_;   // shown in some stack (mapping flags)
  std::vector<bool> frame_alone_;  // shown as a Location of its own
  std::map<std::vector<uint32_t>, uint64_t> inline_runs_;  // inlined frames + their caller -> location id
  std::vector<uint32_t> run_key_;
  std::vector<uint64_t> mapping_ids_;   // recording mapping id -> pprof mapping id
  std::vector<uint64_t> location_ids_;  // recording frame id -> pprof location id
  uint64_t kernel_mapping_id_ = 0;
  std::unordered_map<std::pair<int64_t, int64_t>, uint64_t, PairHash> functions_;  // (name, file)
  std::map<std::string_view, uint64_t> used_placeholders_;  // name -> location id; ordered for stable output
  std::unordered_map<uint32_t, int64_t> thread_names_;      // tid -> string index
  std::vector<uint32_t> scratch_;
};

}  // namespace

int64_t pprof_int64(uint64_t v) {
  return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                        : static_cast<int64_t>(v);
}

void build_pprof(const rec::Recording& rec, const ViewOptions& options, const PprofLayout& layout,
                 std::span<const PprofSample> samples, pb::Profile& profile) {
  ProfileBuilder(rec, options, profile).build(layout, samples);
}

}  // namespace flare::viewer
