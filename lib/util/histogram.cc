#include "util/histogram.hh"

#include <algorithm>
#include <cmath>

namespace ts::util {

uint64_t Histogram::bucket_low(unsigned idx) {
  if (idx < kSub) return idx;
  const unsigned shift = (idx >> kSubBits) - 1;
  return (uint64_t(kSub) + (idx & (kSub - 1))) << shift;
}

uint64_t Histogram::bucket_high(unsigned idx) {
  if (idx < kSub) return idx;
  const unsigned shift = (idx >> kSubBits) - 1;
  return bucket_low(idx) + ((uint64_t(1) << shift) - 1);
}

void Histogram::merge(const Histogram& o) {
  for (unsigned i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

uint64_t Histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the wanted value, 1-based: the smallest r with r >= q * count.
  const uint64_t rank = std::max<uint64_t>(1, uint64_t(std::ceil(q * double(count_))));
  uint64_t seen = 0;
  for (unsigned i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t lo = bucket_low(i), hi = bucket_high(i);
      return std::clamp(lo + (hi - lo) / 2, min_, max_);
    }
  }
  return max_;
}

SparseHistogram SparseHistogram::of(const Histogram& h) {
  SparseHistogram s;
  h.for_each_bucket([&](unsigned i, uint64_t n) { s.buckets.emplace_back(uint32_t(i), n); });
  s.sum = h.sum();
  s.min = h.min();
  s.max = h.max();
  return s;
}

Histogram SparseHistogram::expand() const {
  Histogram h;
  for (const auto& [i, n] : buckets) h.add_bucket(i, n);
  h.set_summary(sum, min, max);
  return h;
}

}  // namespace ts::util
