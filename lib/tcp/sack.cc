#include "tcp/sack.hh"

#include <algorithm>

namespace ts::tcp {

uint64_t SackScoreboard::add(uint64_t begin, uint64_t end) {
  if (begin >= end) return 0;
  size_t i = 0;
  while (i < count_ && ranges_[i].end < begin) ++i;
  size_t j = i;
  while (j < count_ && ranges_[j].begin <= end) ++j;
  if (i == j) {
    if (count_ == kMaxRanges) return 0;
    std::move_backward(ranges_.begin() + i, ranges_.begin() + count_, ranges_.begin() + count_ + 1);
    ++count_;
    ranges_[i] = {begin, end};
    sacked_ += end - begin;
    return end - begin;
  }
  // Merge [begin, end) with ranges [i, j).
  uint64_t covered = 0;
  for (size_t k = i; k < j; ++k) covered += ranges_[k].end - ranges_[k].begin;
  const Range merged{std::min(begin, ranges_[i].begin), std::max(end, ranges_[j - 1].end)};
  const uint64_t added = (merged.end - merged.begin) - covered;
  if (j - i > 1) {
    std::move(ranges_.begin() + j, ranges_.begin() + count_, ranges_.begin() + i + 1);
    count_ -= j - i - 1;
  }
  ranges_[i] = merged;
  sacked_ += added;
  return added;
}

void SackScoreboard::advance(uint64_t una) {
  size_t k = 0;
  while (k < count_ && ranges_[k].end <= una) {
    sacked_ -= ranges_[k].end - ranges_[k].begin;
    ++k;
  }
  if (k) {
    std::move(ranges_.begin() + k, ranges_.begin() + count_, ranges_.begin());
    count_ -= k;
  }
  if (count_ && ranges_[0].begin < una) {
    sacked_ -= una - ranges_[0].begin;
    ranges_[0].begin = una;
  }
}

bool SackScoreboard::is_sacked(uint64_t off) const {
  for (size_t k = 0; k < count_; ++k) {
    if (off < ranges_[k].begin) return false;
    if (off < ranges_[k].end) return true;
  }
  return false;
}

uint64_t SackScoreboard::skip_sacked(uint64_t off) const {
  for (size_t k = 0; k < count_; ++k) {
    if (off < ranges_[k].begin) return off;
    if (off < ranges_[k].end) return ranges_[k].end;
  }
  return off;
}

uint64_t SackScoreboard::next_sacked(uint64_t off) const {
  for (size_t k = 0; k < count_; ++k)
    if (ranges_[k].end > off) return std::max(off, ranges_[k].begin);
  return UINT64_MAX;
}

bool SackScoreboard::is_lost(uint64_t off, unsigned dupthresh, uint32_t smss) const {
  uint64_t above = 0;
  unsigned ranges = 0;
  for (size_t k = count_; k-- > 0;) {
    const Range& r = ranges_[k];
    if (r.end <= off) break;
    above += r.end - std::max(r.begin, off + 1);
    ++ranges;
    if (ranges >= dupthresh || above > uint64_t(dupthresh - 1) * smss) return true;
  }
  return false;
}

}  // namespace ts::tcp
