#include "recorder/sample_batch.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace flare::rec {

namespace {

// Where a sample's time is predicted from: the same CPU's previous sample in
// the batch or, for a CPU's first sample, the batch's previous sample (0 for
// the very first). Encoder and decoder walk the samples in the same order
// and keep this state identically.
class TimeBase {
 public:
  uint64_t base(uint16_t cpu) const { return cpu < seen_.size() && seen_[cpu] ? last_by_cpu_[cpu] : last_; }
  void seen(uint16_t cpu, uint64_t t) {
    if (cpu >= seen_.size()) {
      seen_.resize(cpu + 1u, 0);
      last_by_cpu_.resize(cpu + 1u, 0);
    }
    seen_[cpu] = 1;
    last_by_cpu_[cpu] = t;
    last_ = t;
  }

 private:
  // Indexed by CPU number (small and dense on any real machine).
  std::vector<uint8_t> seen_;
  std::vector<uint64_t> last_by_cpu_;
  uint64_t last_ = 0;
};

}  // namespace

void encode_sample_batch(std::span<const CpuSample> samples, uint64_t period_ns, ByteWriter& out) {
  out.varint(period_ns);
  out.varint(samples.size());

  // Where each sample ran, as an index into the batch's distinct (thread,
  // CPU) pairs: a batch has a few, so the index is one byte of a handful of
  // values, where a tid and a CPU number were several bytes.
  std::vector<uint64_t> places;  // tid << 16 | cpu
  std::unordered_map<uint64_t, uint32_t> index_of;
  std::vector<uint32_t> place_index(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    uint64_t place = static_cast<uint64_t>(samples[i].tid) << 16 | samples[i].cpu;
    auto [it, inserted] = index_of.try_emplace(place, static_cast<uint32_t>(places.size()));
    if (inserted) places.push_back(place);
    place_index[i] = it->second;
  }
  out.varint(places.size());
  for (uint64_t place : places) {
    out.varint(place >> 16);
    out.varint(place & 0xffff);
  }
  for (uint32_t index : place_index) out.varint(index);

  // Time: whole periods since the base, then the signed remainder. A base
  // later than the sample (another CPU's sample that arrived first) gives a
  // negative delta: 0 periods and a negative remainder.
  std::vector<int64_t> remainders(samples.size());
  TimeBase bases;
  for (size_t i = 0; i < samples.size(); ++i) {
    const CpuSample& s = samples[i];
    auto delta = static_cast<int64_t>(s.time_ns - bases.base(s.cpu));
    uint64_t periods = 0;
    if (period_ns > 0 && delta > 0) periods = (static_cast<uint64_t>(delta) + period_ns / 2) / period_ns;
    remainders[i] = static_cast<int64_t>(static_cast<uint64_t>(delta) - periods * period_ns);
    out.varint(periods);
    bases.seen(s.cpu, s.time_ns);
  }
  for (int64_t r : remainders) out.svarint(r);

  for (const CpuSample& s : samples) out.varint(s.stack);
}

bool decode_sample_batch(ByteReader& in, std::vector<CpuSample>& out) {
  uint64_t period_ns = in.varint();
  uint64_t n = in.varint();
  // Every sample takes at least four bytes (one per column): a count beyond
  // that is corrupt, and must not make us allocate.
  if (in.failed() || n > in.remaining() / 4) return false;
  uint64_t k = in.varint();
  if (in.failed() || k > in.remaining() / 2) return false;
  std::vector<std::pair<uint32_t, uint16_t>> places(k);
  for (auto& [tid, cpu] : places) {
    tid = static_cast<uint32_t>(in.varint());
    cpu = static_cast<uint16_t>(in.varint());
  }

  size_t first = out.size();
  // Grow geometrically, as push_back would: a batch at a time, resize alone
  // would grow by less and copy the whole vector ever more often.
  if (out.capacity() < first + n) out.reserve(std::max<size_t>(first + n, 2 * out.capacity()));
  out.resize(first + n);
  std::span<CpuSample> batch(out.data() + first, n);
  for (CpuSample& s : batch) {
    uint64_t index = in.varint();
    if (index >= k) return false;
    std::tie(s.tid, s.cpu) = places[index];
  }
  std::vector<uint64_t> periods(n);
  for (auto& p : periods) p = in.varint();
  TimeBase bases;
  for (size_t i = 0; i < n; ++i) {
    CpuSample& s = batch[i];
    // Unsigned arithmetic wraps like the encoder's did: exact for any input.
    s.time_ns = bases.base(s.cpu) + periods[i] * period_ns + static_cast<uint64_t>(in.svarint());
    bases.seen(s.cpu, s.time_ns);
  }
  for (CpuSample& s : batch) s.stack = static_cast<uint32_t>(in.varint());
  return !in.failed();
}

}  // namespace flare::rec
