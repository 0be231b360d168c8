// A log-linear histogram of non-negative integers (latencies in nanoseconds)
// with a bounded relative error: values below 2^kSubBits are exact, larger ones
// fall in buckets no wider than 1/2^kSubBits of their value (under 0.8%).
// Fixed size, no allocation after construction; record() is a few instructions.
#pragma once

#include <cstdint>
#include <vector>

namespace ts::util {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr unsigned kSub = 1u << kSubBits;
  static constexpr unsigned kBuckets = (64 - kSubBits + 1) * kSub;

  Histogram() : counts_(kBuckets, 0) {}

  void record(uint64_t v, uint64_t n = 1) {
    counts_[index_of(v)] += n;
    count_ += n;
    sum_ += v * n;
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
  }
  void merge(const Histogram& o);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }
  // The value at quantile q in [0, 1]: the midpoint of the bucket holding it,
  // clamped to the exact min and max.
  uint64_t quantile(double q) const;

  static unsigned index_of(uint64_t v) {
    if (v < kSub) return unsigned(v);
    const unsigned msb = 63u - unsigned(__builtin_clzll(v));
    const unsigned shift = msb - kSubBits;
    return ((shift + 1) << kSubBits) + unsigned((v >> shift) - kSub);
  }
  static uint64_t bucket_low(unsigned idx);
  static uint64_t bucket_high(unsigned idx);  // inclusive

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
};

}  // namespace ts::util
