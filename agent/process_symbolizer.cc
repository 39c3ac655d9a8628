#include "agent/process_symbolizer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "agent/elf_build_id.h"
#include "agent/open_in_root.h"

namespace flare::agent {
namespace {

// Retired mappings are searched newest first, and only this many: a JIT or a
// dlopen/dlclose loop retires mappings without bound, and an unknown address
// must not cost a scan of all of them.
constexpr size_t kMaxRetiredSearched = 1024;
// Addresses already known to be in no mapping; cleared when full.
constexpr size_t kMaxUnknownAddresses = 4096;

uint64_t monotonic_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

bool inode_matches(int fd, uint64_t inode) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_ino) == inode;
}

}  // namespace

struct ProcessSymbolizer::Slot {
  Mapping mapping;
  MapEntry entry;  // as last seen in /proc/PID/maps: identity and file id
  ElfSymbolizer* elf = nullptr;
  bool open_attempted = false;
  bool holds_file = false;     // counted as a user of its file in the shared cache
  uint64_t retired_epoch = 0;  // forget_epoch_ when it was retired

  bool same_as(const MapEntry& e) const {
    return entry.start == e.start && entry.end == e.end && entry.offset == e.offset &&
           entry.dev_major == e.dev_major && entry.dev_minor == e.dev_minor && entry.inode == e.inode &&
           entry.perms == e.perms && entry.path == e.path;
  }
};

ProcessSymbolizer::ProcessSymbolizer(uint32_t pid, ProcessSymbolizerOptions options)
    : pid_(pid), options_(std::move(options)) {
  if (!options_.files) options_.files = std::make_shared<SymbolFileCache>();
  if (!options_.read_maps) options_.read_maps = read_proc_maps;
  if (!options_.open_perf_map) options_.open_perf_map = open_perf_map;
  if (!options_.now_ns) options_.now_ns = monotonic_ns;
}

ProcessSymbolizer::~ProcessSymbolizer() {
  // The shared cache outlives this process's symbolizer: its files are
  // closed by the next release_unused() unless another process maps them.
  for (const std::unique_ptr<Slot>& slot : slots_) {
    if (slot->holds_file) options_.files->release(FileId{slot->entry.dev_major, slot->entry.dev_minor, slot->entry.inode});
  }
}

std::vector<const Mapping*> ProcessSymbolizer::current_mappings() const {
  std::vector<const Mapping*> out;
  out.reserve(current_.size());
  for (const Slot* slot : current_) out.push_back(&slot->mapping);
  return out;
}

ProcessSymbolizer::Slot* ProcessSymbolizer::find_current(uint64_t address) const {
  auto it = std::upper_bound(current_.begin(), current_.end(), address,
                             [](uint64_t a, const Slot* s) { return a < s->mapping.start; });
  if (it == current_.begin()) return nullptr;
  Slot* slot = *(it - 1);
  return address < slot->mapping.end ? slot : nullptr;
}

ProcessSymbolizer::Slot* ProcessSymbolizer::find_retired(uint64_t address) const {
  // Newest first: when ranges were reused, the latest occupant is the most
  // likely owner of a late-resolved sample.
  size_t searched = 0;
  for (auto it = retired_.rbegin(); it != retired_.rend() && searched < kMaxRetiredSearched; ++it, ++searched) {
    if (address >= (*it)->mapping.start && address < (*it)->mapping.end) return *it;
  }
  return nullptr;
}

bool ProcessSymbolizer::may_refresh(uint64_t address) const {
  if (process_gone_) return false;
  if (!last_refresh_ns_) return true;
  uint64_t interval = unknown_addresses_.count(address) != 0 ? options_.unknown_retry_interval_ns
                                                              : options_.min_refresh_interval_ns;
  return options_.now_ns() - *last_refresh_ns_ >= interval;
}

ProcessSymbolizer::Slot* ProcessSymbolizer::find_slot(uint64_t address) {
  Slot* slot = find_current(address);
  // Code ran at `address`, so a mapping there that is not executable is an
  // old view: a JIT (V8) reserves its code space without access rights and
  // makes pages executable as it fills them. Seen that way, the code would
  // never be looked up in the JIT's perf map.
  if ((slot == nullptr || !slot->mapping.executable) && may_refresh(address)) {
    // A failed refresh is counted in stats and leaves the known mappings.
    (void)refresh();
    slot = find_current(address);
    if (slot == nullptr || !slot->mapping.executable) {
      if (unknown_addresses_.size() >= kMaxUnknownAddresses) unknown_addresses_.clear();
      unknown_addresses_.insert(address);
    }
  }
  if (slot == nullptr) slot = find_retired(address);
  return slot;
}

CodeAt ProcessSymbolizer::locate_code(uint64_t address) {
  CodeAt at;
  Slot* slot = find_slot(address);
  if (slot == nullptr) return at;
  at.mapped = true;
  if (ElfSymbolizer* elf = symbolizer_for(*slot)) {
    uint64_t file_offset = address - slot->mapping.start + slot->mapping.offset;
    if (std::optional<uint64_t> vaddr = elf->file_offset_to_vaddr(file_offset)) {
      at.elf_vaddr = *vaddr;
      at.rules = elf->call_frame_rules();
    }
  }
  return at;
}

UserFrame ProcessSymbolizer::resolve(uint64_t address) {
  Slot* slot = find_slot(address);
  UserFrame frame;
  ElfSymbolizer* elf = nullptr;
  if (slot != nullptr) {
    frame.mapping = &slot->mapping;
    elf = symbolizer_for(*slot);
  }
  if (elf != nullptr) {
    uint64_t file_offset = address - slot->mapping.start + slot->mapping.offset;
    if (std::optional<uint64_t> vaddr = elf->file_offset_to_vaddr(file_offset)) {
      frame.symbol = elf->symbolize(*vaddr);
    }
  } else if (slot == nullptr || slot->mapping.executable) {
    // Code outside any ELF file: generated by a JIT that may say what it is.
    if (const std::string* name = jit_symbol(address)) {
      frame.symbol.function = *name;
      frame.symbol.resolved = true;
    } else {
      frame.may_resolve_later = true;
    }
  }
  if (!frame.symbol.resolved) ++(slot == nullptr ? stats_.unknown_mapping : stats_.unresolved);
  return frame;
}

void ProcessSymbolizer::try_open_perf_map() {
  jit_seen_ = true;
  if (perf_map_ || process_gone_) return;
  uint64_t now = options_.now_ns();
  if (perf_map_retry_ns_ && now < *perf_map_retry_ns_) return;
  Result<std::unique_ptr<PerfMap>> opened = options_.open_perf_map(pid_);
  if (!opened.is_ok()) {
    // Most processes have none; a starting JIT may not have created it yet.
    perf_map_retry_ns_ = now + options_.min_refresh_interval_ns;
    return;
  }
  perf_map_ = std::move(opened).value();
  ++stats_.perf_maps_opened;
  read_perf_map();
}

void ProcessSymbolizer::read_perf_map() {
  // One pread that returns nothing when the file has not grown.
  uint64_t before = perf_map_->bytes_read();
  if (perf_map_->read_appended().is_ok() && perf_map_->bytes_read() != before) ++jit_version_;
}

const std::string* ProcessSymbolizer::jit_symbol(uint64_t address) {
  try_open_perf_map();
  if (!perf_map_) return nullptr;
  const std::string* name = perf_map_->find(address);
  // The JIT appends as it emits code, so a miss first reads what is new.
  if (name == nullptr) {
    read_perf_map();
    name = perf_map_->find(address);
  }
  if (name != nullptr) ++stats_.jit_resolved;
  return name;
}

uint64_t ProcessSymbolizer::symbols_version() {
  if (jit_seen_) {
    uint64_t now = options_.now_ns();
    if (now - last_jit_poll_ns_ >= options_.min_refresh_interval_ns) {
      last_jit_poll_ns_ = now;
      try_open_perf_map();
      if (perf_map_) read_perf_map();
    }
  }
  return stats_.refreshes + jit_version_;
}

Status ProcessSymbolizer::refresh() {
  ++stats_.refreshes;
  last_refresh_ns_ = options_.now_ns();
  Result<std::vector<MapEntry>> entries = options_.read_maps(pid_);
  if (!entries.is_ok()) {
    ++stats_.refresh_errors;
    if (entries.status().code() == ErrorCode::kNotFound) process_gone_ = true;
    return entries.status();
  }

  std::vector<Slot*> previous = std::move(current_);
  std::vector<bool> kept(previous.size(), false);
  current_.clear();
  for (const MapEntry& entry : *entries) {
    // `previous` is sorted by start and starts are unique within one
    // snapshot, so an unchanged mapping is found by binary search.
    auto it = std::lower_bound(previous.begin(), previous.end(), entry.start,
                               [](const Slot* s, uint64_t start) { return s->mapping.start < start; });
    if (it != previous.end() && (*it)->same_as(entry)) {
      kept[static_cast<size_t>(it - previous.begin())] = true;
      current_.push_back(*it);
    } else {
      current_.push_back(adopt(entry));
    }
  }
  bool anonymous_code = false;
  for (size_t i = 0; i < previous.size(); ++i) {
    if (kept[i]) continue;
    previous[i]->retired_epoch = forget_epoch_;
    retired_.push_back(previous[i]);
  }
  for (const Slot* slot : current_) {
    const std::string& path = slot->entry.path;
    anonymous_code |= slot->mapping.executable && (path.empty() || path.rfind("[anon", 0) == 0);
  }
  // A JIT's perf map is opened as soon as JIT-looking memory shows up, while
  // the process (and so /proc/PID/root) surely still exists.
  if (anonymous_code) try_open_perf_map();
  std::sort(current_.begin(), current_.end(),
            [](const Slot* a, const Slot* b) { return a->mapping.start < b->mapping.start; });
  return Status::ok();
}

ProcessSymbolizer::Slot* ProcessSymbolizer::adopt(const MapEntry& entry) {
  // The same mapping may come back (a library re-opened at the same place):
  // revive its retired slot so its identity and serial stay stable.
  for (auto it = retired_.rbegin(); it != retired_.rend(); ++it) {
    if ((*it)->same_as(entry)) {
      Slot* slot = *it;
      retired_.erase(std::next(it).base());
      return slot;
    }
  }
  auto slot = std::make_unique<Slot>();
  slot->entry = entry;
  Mapping& m = slot->mapping;
  m.start = entry.start;
  m.end = entry.end;
  m.offset = entry.offset;
  m.path = entry.path.empty() ? "[anon]" : entry.path;
  m.serial = next_serial_++;
  m.executable = entry.executable();
  // Open code files at first sight, while they are surely still there: a
  // library can be dlclose'd (and deleted) before its samples are resolved.
  if (m.executable) symbolizer_for(*slot);
  slots_.push_back(std::move(slot));
  return slots_.back().get();
}

ElfSymbolizer* ProcessSymbolizer::symbolizer_for(Slot& slot) {
  if (!slot.open_attempted && slot.entry.path == "[vdso]") {
    slot.open_attempted = true;
    slot.elf = options_.files->vdso();
    if (slot.elf != nullptr) slot.mapping.build_id = slot.elf->build_id();
  }
  if (!slot.open_attempted && slot.entry.file_backed()) {
    slot.open_attempted = true;
    slot.elf = open_file(slot);
    if (slot.elf != nullptr) {
      slot.mapping.build_id = slot.elf->build_id();
      options_.files->acquire(FileId{slot.entry.dev_major, slot.entry.dev_minor, slot.entry.inode});
      slot.holds_file = true;
    }
  }
  return slot.elf;
}

void ProcessSymbolizer::free_slot(Slot* slot) {
  if (slot->holds_file) {
    options_.files->release(FileId{slot->entry.dev_major, slot->entry.dev_minor, slot->entry.inode});
  }
  ++stats_.mappings_forgotten;
}

size_t ProcessSymbolizer::forget_retired(size_t max_retired) {
  // retired_ is oldest first: the ones retired before the previous call
  // come first, then the newest are kept up to max_retired.
  size_t keep_from = 0;
  while (keep_from < retired_.size() && retired_[keep_from]->retired_epoch < forget_epoch_) ++keep_from;
  if (retired_.size() - keep_from > max_retired) keep_from = retired_.size() - max_retired;
  ++forget_epoch_;
  if (keep_from == 0) return 0;
  std::unordered_set<const Slot*> freed(retired_.begin(), retired_.begin() + static_cast<ptrdiff_t>(keep_from));
  for (size_t i = 0; i < keep_from; ++i) free_slot(retired_[i]);
  retired_.erase(retired_.begin(), retired_.begin() + static_cast<ptrdiff_t>(keep_from));
  std::erase_if(slots_, [&](const std::unique_ptr<Slot>& slot) { return freed.count(slot.get()) != 0; });
  return keep_from;
}

ElfSymbolizer* ProcessSymbolizer::open_file(const Slot& slot) {
  const MapEntry& entry = slot.entry;
  FileId id{entry.dev_major, entry.dev_minor, entry.inode};
  if (ElfSymbolizer* cached = options_.files->find(id)) return cached;

  // Through the target's root, the path resolves in its mount namespace. The
  // inode check catches a file replaced since it was mapped; devices are not
  // compared because btrfs and overlayfs report different ones in maps and
  // stat. map_files/ reaches exactly the mapped file, even deleted, but needs
  // CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE).
  std::string proc = "/proc/" + std::to_string(pid_);
  std::string root_path = proc + "/root" + entry.path;
  int fd = -1;
  if (!entry.deleted) {
    fd = open_in_root(proc + "/root", entry.path);
    if (fd >= 0 && !inode_matches(fd, entry.inode)) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    char range[64];
    std::snprintf(range, sizeof(range), "/map_files/%" PRIx64 "-%" PRIx64, entry.start, entry.end);
    fd = ::open((proc + range).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  }
  if (fd < 0) {
    ++stats_.open_errors;
    return nullptr;
  }
  // The same build already open under another identity: share it (the
  // index is the expensive part), and keep this file open as its key.
  struct stat st;
  std::string build =
      ::fstat(fd, &st) == 0 ? SymbolFileCache::build_key(read_elf_build_id(fd), static_cast<uint64_t>(st.st_size)) : "";
  if (ElfSymbolizer* same_build = options_.files->find_build(build)) {
    options_.files->alias(id, same_build, UniqueFd(fd));
    return same_build;
  }
  Result<std::unique_ptr<ElfSymbolizer>> opened =
      ElfSymbolizer::open_fd(fd, root_path, entry.path, options_.files->options());
  if (!opened.is_ok()) {
    ++stats_.open_errors;
    return nullptr;
  }
  return options_.files->insert(id, std::move(opened).value(), build);
}

}  // namespace flare::agent
