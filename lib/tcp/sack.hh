// The sender's SACK scoreboard (RFC 6675): which bytes above the cumulative
// acknowledgment the receiver holds, as disjoint ranges of stream offsets,
// with the queries loss recovery needs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ts::tcp {

class SackScoreboard {
 public:
  static constexpr size_t kMaxRanges = 32;
  struct Range {
    uint64_t begin, end;
  };

  // Records that [begin, end) is held by the receiver; returns the bytes that
  // were not known before. When the table is full the new range is not kept
  // (knowing less only makes recovery more conservative).
  uint64_t add(uint64_t begin, uint64_t end);
  // Forgets everything below `una` (cumulatively acknowledged).
  void advance(uint64_t una);
  void clear() { count_ = 0; sacked_ = 0; }

  bool empty() const { return count_ == 0; }
  uint64_t sacked_bytes() const { return sacked_; }
  uint64_t highest() const { return count_ ? ranges_[count_ - 1].end : 0; }
  bool is_sacked(uint64_t off) const;
  // If off lies in a SACKed range, that range's end; else off.
  uint64_t skip_sacked(uint64_t off) const;
  // The first SACKed offset at or after off (UINT64_MAX if none).
  uint64_t next_sacked(uint64_t off) const;
  // RFC 6675 IsLost(off): DupThresh discontiguous SACKed ranges above off, or
  // more than (DupThresh - 1) * SMSS bytes SACKed above it.
  bool is_lost(uint64_t off, unsigned dupthresh, uint32_t smss) const;

  size_t size() const { return count_; }
  const Range& range(size_t i) const { return ranges_[i]; }

 private:
  std::array<Range, kMaxRanges> ranges_{};  // sorted, disjoint, not touching
  size_t count_ = 0;
  uint64_t sacked_ = 0;
};

}  // namespace ts::tcp
