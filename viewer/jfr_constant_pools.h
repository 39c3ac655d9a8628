// The constant pools of flare's JFR output. Events refer to threads and
// stack traces by key; stack traces refer to methods, methods to classes and
// symbols, classes to packages. Entries are made as events reference them, so
// the pools hold exactly what the chunk uses, and written as one checkpoint.
//
// A native frame becomes a method as async-profiler does it: the function's
// display name (frame_names.h) as the method name, the binary it lies in as
// the class ("libc.so.6", "kernel"), the binary's directory as the package,
// its source line as the line number, and a frame type: "Native", "Kernel",
// or "Inlined" for a function the compiler inlined into the next frame.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "recorder/model.h"
#include "viewer/jfr_encoding.h"
#include "viewer/view_options.h"

namespace flare::viewer::jfr {

class ConstantPools {
 public:
  ConstantPools(const rec::Recording& rec, const ViewOptions& view)
      : rec_(rec), view_(view), stack_written_(rec.stacks.size()), method_of_frame_(rec.frames.size()) {}

  // The key an event writes for thread `tid` (0: none).
  uint64_t thread(uint32_t tid);
  // The key an event writes for recording stack `stack_id` (0: none).
  uint64_t stack_trace(uint32_t stack_id);

  // Appends the sized checkpoint record holding every pool that has entries.
  void append_checkpoint(JfrBuffer& out, uint64_t start_ticks) const;

 private:
  uint64_t symbol(const std::string& text);
  uint64_t package(const std::string& name);
  uint64_t klass(const std::string& name, const std::string& package_name);
  uint64_t method(const std::string& class_name, const std::string& package_name, const std::string& name);
  uint64_t frame_method(uint32_t frame_id);
  uint64_t make_frame_method(const rec::FrameInfo& frame);
  void append_frame(uint64_t method, int32_t line, uint64_t frame_type);

  const rec::Recording& rec_;
  ViewOptions view_;
  std::vector<uint32_t> frame_ids_;  // scratch

  std::unordered_map<std::string, uint64_t> symbols_;
  std::map<std::string, uint64_t> packages_;                       // name -> key
  std::map<std::string, std::pair<uint64_t, uint64_t>> classes_;   // name -> key, package key
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> methods_;      // (class, name symbol) -> key
  std::unordered_set<uint32_t> threads_;
  // By recording stack / frame id, so the per-event cost is an index, not a
  // hash: whether the stack trace entry exists, and the frame's method key
  // (0: not made yet).
  std::vector<bool> stack_written_;
  std::vector<uint64_t> method_of_frame_;
  // Stack trace entries are encoded once, when first referenced.
  JfrBuffer stack_entries_;
  uint64_t stack_count_ = 0;
};

}  // namespace flare::viewer::jfr
