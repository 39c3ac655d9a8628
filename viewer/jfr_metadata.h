// The metadata event of flare's JFR output: every type the chunk uses — the
// primitives, the constant-pool types (threads, stack traces, methods,
// classes, packages, symbols, frame and thread states), the annotations that
// tell `jfr` and JDK Mission Control how to show a value, and the event
// types, each with its fields in the order jfr_writer.cc writes them.
#pragma once

#include <cstdint>

#include "viewer/jfr_encoding.h"

namespace flare::viewer::jfr {

// Type ids. 0 and 1 are the metadata and checkpoint records themselves; the
// rest only need to be unique within the chunk.
enum TypeId : uint64_t {
  kMetadataRecord = 0,
  kCheckpointRecord = 1,
  kBoolean = 4,
  kChar = 5,
  kFloat = 6,
  kDouble = 7,
  kByte = 8,
  kShort = 9,
  kInt = 10,
  kLong = 11,
  kString = 20,
  kThread = 21,
  kClass = 22,
  kPackage = 23,
  kSymbol = 24,
  kMethod = 25,
  kStackTrace = 26,
  kStackFrame = 27,
  kFrameType = 28,
  kThreadState = 29,
  kExecutionSample = 101,
  kThreadPark = 102,
  kObjectAllocationSample = 103,
  kThreadStart = 104,
  kThreadEnd = 105,
  kActiveRecording = 106,
  kActiveSetting = 107,
  kFlareLost = 108,
  kFlareStatistic = 109,
  kLabelAnnotation = 200,
  kTimestampAnnotation = 201,
  kTimespanAnnotation = 202,
  kDataAmountAnnotation = 203,
  kDescriptionAnnotation = 204,
};

// Keys of the fixed constant pools.
enum FrameTypeKey : uint64_t { kFrameNative = 1, kFrameKernel = 2, kFrameInlined = 3 };
enum ThreadStateKey : uint64_t { kStateRunnable = 1 };

// Appends the sized metadata record (type 0) with the given start tick.
void append_metadata(JfrBuffer& out, uint64_t start_ticks);

}  // namespace flare::viewer::jfr
