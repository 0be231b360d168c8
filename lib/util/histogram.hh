// A log-linear histogram of non-negative integers (latencies in nanoseconds)
// with a bounded relative error: values below 2^kSubBits are exact, larger ones
// fall in buckets no wider than 1/2^kSubBits of their value (under 0.8%).
// Fixed size, no allocation after construction; record() is a few instructions.
// Its buckets are exactly those of an HdrHistogram with 2 significant digits
// and a lowest discernible value of 1 (256 sub-buckets, the top half used in
// each power of two), so it exports to HdrHistogram's formats bucket for
// bucket (apps/hdr_log.hh).
#pragma once

#include <cstdint>
#include <utility>
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
  // Bucket idx's count, and adding to it: with set_summary(), what rebuilds
  // a histogram exactly from its exported buckets (docs/json.md, "Latency
  // histograms").
  uint64_t bucket_count(unsigned idx) const { return counts_[idx]; }
  void add_bucket(unsigned idx, uint64_t n) {
    counts_[idx] += n;
    count_ += n;
  }
  // The exact sum, min and max the buckets cannot carry.
  void set_summary(uint64_t sum, uint64_t min, uint64_t max) {
    sum_ = sum;
    min_ = count_ ? min : UINT64_MAX;
    max_ = max;
  }
  uint64_t sum() const { return sum_; }
  // Calls f(idx, count) for every non-empty bucket, lowest first.
  template <class F>
  void for_each_bucket(F&& f) const {
    for (unsigned i = 0; i < kBuckets; ++i)
      if (counts_[i]) f(i, counts_[i]);
  }

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

// A histogram's non-empty buckets only (a few hundred bytes where Histogram
// is 59 KB): what a run keeps for each of its intervals.
struct SparseHistogram {
  std::vector<std::pair<uint32_t, uint64_t>> buckets;  // index, count
  uint64_t sum = 0, min = 0, max = 0;
  static SparseHistogram of(const Histogram& h);
  Histogram expand() const;
};

}  // namespace ts::util
