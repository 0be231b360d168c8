// The sender's SACK scoreboard (RFC 6675): which bytes above the cumulative
// acknowledgment the receiver holds, as disjoint ranges of stream offsets,
// with the queries loss recovery needs. Like the receiver's range list it is
// allocated on first use and bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ts::tcp {

class SackScoreboard {
 public:
  static constexpr size_t kMaxRanges = 4096;
  struct Range {
    uint64_t begin, end;
  };

  // Records that [begin, end) is held by the receiver; returns the bytes that
  // were not known before. When the table is full the new range is not kept
  // (knowing less only makes recovery more conservative).
  uint64_t add(uint64_t begin, uint64_t end);
  // Forgets everything below `una` (cumulatively acknowledged).
  void advance(uint64_t una);
  void clear() {
    ranges_.clear();
    sacked_ = 0;
  }

  bool empty() const { return ranges_.empty(); }
  uint64_t sacked_bytes() const { return sacked_; }
  uint64_t highest() const { return ranges_.empty() ? 0 : ranges_.back().end; }
  bool is_sacked(uint64_t off) const;
  // If off lies in a SACKed range, that range's end; else off.
  uint64_t skip_sacked(uint64_t off) const;
  // The first SACKed offset at or after off (UINT64_MAX if none).
  uint64_t next_sacked(uint64_t off) const;
  // RFC 6675 IsLost(off): DupThresh discontiguous SACKed ranges above off, or
  // more than (DupThresh - 1) * SMSS bytes SACKed above it.
  bool is_lost(uint64_t off, unsigned dupthresh, uint32_t smss) const;

  size_t size() const { return ranges_.size(); }
  const Range& range(size_t i) const { return ranges_[i]; }

 private:
  // The first range whose end is above off.
  std::vector<Range>::const_iterator first_ending_after(uint64_t off) const;

  std::vector<Range> ranges_;  // sorted, disjoint, not touching
  uint64_t sacked_ = 0;
};

}  // namespace ts::tcp
