// The cpu_sample_batch record (format 2.0): all CPU samples of a block in one
// record, stored column by column so that zstd sees like values together.
//
// Why: at 99 Hz a sample is a handful of bytes of information, and the 1.0
// per-sample record spent most of its bytes on a time delta from whatever
// event came before (another CPU's, so ~22 bits of noise) and a raw tid. A
// CPU's samples come from its own perf timer, which fires on a fixed grid of
// `period` ns: here a sample's time is stored as whole periods since the
// same CPU's previous sample plus a small signed remainder (the timer's and
// handler's jitter, ~1 µs), and its thread and CPU as an index into the
// batch's list of (thread, CPU) pairs. docs/FORMAT.md has the byte layout.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "recorder/byte_io.h"
#include "recorder/model.h"

namespace flare::rec {

// Appends the record body for `samples` (in the order given; times need not
// be ordered). `period_ns` is the grid the times are predicted on (0: none,
// times are then plain deltas); any value decodes exactly.
void encode_sample_batch(std::span<const CpuSample> samples, uint64_t period_ns, ByteWriter& out);

// Decodes a record body into `out` (appended), stack ids as stored (the
// caller maps them). False when the body is malformed.
bool decode_sample_batch(ByteReader& in, std::vector<CpuSample>& out);

}  // namespace flare::rec
