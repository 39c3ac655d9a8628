#include "viewer/jfr_constant_pools.h"

#include <string_view>

#include "viewer/frame_names.h"
#include "viewer/jfr_metadata.h"
#include "viewer/view_stack.h"

namespace flare::viewer::jfr {

namespace {

// Every method gets this descriptor: `jfr` formats a method as
// Class.name(parameters) from it, and native code has no Java signature.
constexpr std::string_view kNativeDescriptor = "()V";
// Class of the placeholder frames views show for a stack with no frames left.
constexpr std::string_view kPlaceholderClass = "flare";
constexpr std::string_view kKernelClass = "kernel";
constexpr std::string_view kUnknownClass = "[unknown]";

std::string_view directory_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos || slash == 0 ? std::string_view() : path.substr(0, slash);
}

}  // namespace

uint64_t ConstantPools::symbol(const std::string& text) {
  auto [it, inserted] = symbols_.try_emplace(text, symbols_.size() + 1);
  return it->second;
}

uint64_t ConstantPools::package(const std::string& name) {
  if (name.empty()) return 0;
  symbol(name);  // the entry refers to it when written
  auto [it, inserted] = packages_.try_emplace(name, packages_.size() + 1);
  return it->second;
}

uint64_t ConstantPools::klass(const std::string& name, const std::string& package_name) {
  auto it = classes_.find(name);
  if (it != classes_.end()) return it->second.first;
  uint64_t key = classes_.size() + 1;
  symbol(name);
  classes_.emplace(name, std::make_pair(key, package(package_name)));
  return key;
}

uint64_t ConstantPools::method(const std::string& class_name, const std::string& package_name,
                               const std::string& name) {
  uint64_t class_key = klass(class_name, package_name);
  symbol(std::string(kNativeDescriptor));
  auto [it, inserted] = methods_.try_emplace({class_key, symbol(name)}, methods_.size() + 1);
  return it->second;
}

uint64_t ConstantPools::frame_method(uint32_t frame_id) {
  uint64_t& cached = method_of_frame_[frame_id];
  if (cached == 0) cached = make_frame_method(rec_.frames[frame_id]);
  return cached;
}

uint64_t ConstantPools::make_frame_method(const rec::FrameInfo& frame) {
  std::string name = frame_display_name(rec_, frame);
  if (frame.kind == rec::FrameKind::kKernel) return method(std::string(kKernelClass), "", name);
  if (frame.mapping != 0 && frame.mapping < rec_.mappings.size()) {
    std::string_view path = rec_.str(rec_.mappings[frame.mapping].path);
    std::string_view short_name = mapping_short_name(path);
    if (!short_name.empty()) return method(std::string(short_name), std::string(directory_of(path)), name);
  }
  return method(std::string(kUnknownClass), "", name);
}

void ConstantPools::append_frame(uint64_t method_key, int32_t line, uint64_t frame_type) {
  stack_entries_.varint(method_key);
  stack_entries_.svarint(line);
  stack_entries_.varint(0);  // bytecode index: none in native code
  stack_entries_.varint(frame_type);
}

uint64_t ConstantPools::thread(uint32_t tid) {
  if (tid != 0 && !threads_.contains(tid)) threads_.insert(tid);
  return tid;
}

uint64_t ConstantPools::stack_trace(uint32_t stack_id) {
  // Ids beyond the table (the reader rejects them) are written as "none".
  if (stack_id == 0 || stack_id >= stack_written_.size()) return 0;
  if (stack_written_[stack_id]) return stack_id;
  stack_written_[stack_id] = true;
  std::string_view placeholder = view_stack(rec_, stack_id, view_, frame_ids_);
  ++stack_count_;
  stack_entries_.varint(stack_id);
  stack_entries_.boolean(false);  // truncation shows as a marker frame, e.g. "[truncated]"
  if (!placeholder.empty()) {
    stack_entries_.varint(1);
    append_frame(method(std::string(kPlaceholderClass), "", std::string(placeholder)), -1, kFrameNative);
    return stack_id;
  }
  stack_entries_.varint(frame_ids_.size());
  for (uint32_t id : frame_ids_) {
    const rec::FrameInfo& frame = rec_.frames[id];
    uint64_t type = frame.kind == rec::FrameKind::kKernel      ? kFrameKernel
                    : (frame.flags & rec::kFrameInlined) != 0 ? kFrameInlined
                                                               : kFrameNative;
    // -1 is how JFR says "no line"; `jfr print` then leaves the line out.
    int32_t line = frame.line != 0 ? static_cast<int32_t>(frame.line) : -1;
    append_frame(frame_method(id), line, type);
  }
  return stack_id;
}

void ConstantPools::append_checkpoint(JfrBuffer& out, uint64_t start_ticks) const {
  JfrBuffer body;
  body.varint(kCheckpointRecord);
  body.varint(start_ticks);
  body.varint(0);  // duration
  body.varint(0);  // delta to the next checkpoint: none
  body.u8(0);      // an ordinary checkpoint, not a flush
  uint64_t pools = 2 + !threads_.empty() + (stack_count_ != 0) + !methods_.empty() + !classes_.empty() +
                   !packages_.empty() + !symbols_.empty();
  body.varint(pools);

  body.varint(kFrameType);
  body.varint(3);
  for (auto [key, text] : {std::pair{kFrameNative, "Native"}, {kFrameKernel, "Kernel"}, {kFrameInlined, "Inlined"}}) {
    body.varint(key);
    body.string(text);
  }
  body.varint(kThreadState);
  body.varint(1);
  body.varint(kStateRunnable);
  body.string("STATE_RUNNABLE");

  if (!threads_.empty()) {
    body.varint(kThread);
    body.varint(threads_.size());
    for (uint32_t tid : threads_) {
      std::string name = thread_display_name(rec_, tid);
      body.varint(tid);
      body.string(name);
      body.varint(tid);
      body.string(name);
      body.varint(tid);
    }
  }
  if (stack_count_ != 0) {
    body.varint(kStackTrace);
    body.varint(stack_count_);
    body.raw(stack_entries_.bytes());
  }
  if (!methods_.empty()) {
    body.varint(kMethod);
    body.varint(methods_.size());
    uint64_t descriptor = symbols_.at(std::string(kNativeDescriptor));
    for (const auto& [class_and_name, key] : methods_) {
      body.varint(key);
      body.varint(class_and_name.first);
      body.varint(class_and_name.second);
      body.varint(descriptor);
      body.varint(0);  // modifiers
      body.boolean(false);
    }
  }
  if (!classes_.empty()) {
    body.varint(kClass);
    body.varint(classes_.size());
    for (const auto& [name, keys] : classes_) {
      body.varint(keys.first);
      body.varint(symbols_.at(name));
      body.varint(keys.second);
      body.varint(0);  // modifiers
    }
  }
  if (!packages_.empty()) {
    body.varint(kPackage);
    body.varint(packages_.size());
    for (const auto& [name, key] : packages_) {
      body.varint(key);
      body.varint(symbols_.at(name));
    }
  }
  if (!symbols_.empty()) {
    body.varint(kSymbol);
    body.varint(symbols_.size());
    for (const auto& [text, key] : symbols_) {
      body.varint(key);
      body.string(text);
    }
  }
  append_sized(out, body.bytes());
}

}  // namespace flare::viewer::jfr
