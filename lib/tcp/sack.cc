#include "tcp/sack.hh"

#include <algorithm>

namespace ts::tcp {

std::vector<SackScoreboard::Range>::const_iterator SackScoreboard::first_ending_after(
    uint64_t off) const {
  return std::upper_bound(ranges_.begin(), ranges_.end(), off,
                          [](uint64_t o, const Range& r) { return o < r.end; });
}

uint64_t SackScoreboard::add(uint64_t begin, uint64_t end) {
  if (begin >= end) return 0;
  if (ranges_.capacity() == 0) ranges_.reserve(64);  // before taking iterators
  auto first = std::lower_bound(ranges_.begin(), ranges_.end(), begin,
                                [](const Range& r, uint64_t b) { return r.end < b; });
  auto last = std::upper_bound(first, ranges_.end(), end,
                               [](uint64_t e, const Range& r) { return e < r.begin; });
  if (first == last) {
    if (ranges_.size() == kMaxRanges) return 0;
    ranges_.insert(first, Range{begin, end});
    sacked_ += end - begin;
    return end - begin;
  }
  // Merge [begin, end) with ranges [first, last).
  uint64_t covered = 0;
  for (auto k = first; k != last; ++k) covered += k->end - k->begin;
  const Range merged{std::min(begin, first->begin), std::max(end, (last - 1)->end)};
  const uint64_t added = (merged.end - merged.begin) - covered;
  *first = merged;
  ranges_.erase(first + 1, last);
  sacked_ += added;
  return added;
}

void SackScoreboard::advance(uint64_t una) {
  auto k = ranges_.begin();
  while (k != ranges_.end() && k->end <= una) {
    sacked_ -= k->end - k->begin;
    ++k;
  }
  ranges_.erase(ranges_.begin(), k);
  if (!ranges_.empty() && ranges_.front().begin < una) {
    sacked_ -= una - ranges_.front().begin;
    ranges_.front().begin = una;
  }
}

bool SackScoreboard::is_sacked(uint64_t off) const {
  auto it = first_ending_after(off);
  return it != ranges_.end() && it->begin <= off;
}

uint64_t SackScoreboard::skip_sacked(uint64_t off) const {
  auto it = first_ending_after(off);
  return (it != ranges_.end() && it->begin <= off) ? it->end : off;
}

uint64_t SackScoreboard::next_sacked(uint64_t off) const {
  auto it = first_ending_after(off);
  return it == ranges_.end() ? UINT64_MAX : std::max(off, it->begin);
}

bool SackScoreboard::is_lost(uint64_t off, unsigned dupthresh, uint32_t smss) const {
  uint64_t above = 0;
  unsigned count = 0;
  for (auto k = ranges_.rbegin(); k != ranges_.rend(); ++k) {
    if (k->end <= off) break;
    above += k->end - std::max(k->begin, off + 1);
    ++count;
    if (count >= dupthresh || above > uint64_t(dupthresh - 1) * smss) return true;
  }
  return false;
}

}  // namespace ts::tcp
