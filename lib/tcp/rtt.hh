// The retransmission timer's estimator (RFC 6298): SRTT and RTTVAR from RTT
// samples, the RTO with its bounds, and exponential backoff. The bounds are
// the connection's configuration, passed to the calls that need them rather
// than copied into every connection (docs/performance.md, "Memory").
#pragma once

#include <algorithm>
#include <cstdint>

namespace ts::tcp {

// The RTO's lower and upper bounds.
struct RtoBounds {
  uint64_t min_ns, max_ns;
};

class RttEstimator {
 public:
  explicit RttEstimator(uint64_t initial_ns) : rto_(initial_ns) {}

  // RFC 6298 2.2 and 2.3; the caller applies Karn's rule (no samples from
  // retransmitted segments unless timestamps tell the transmissions apart).
  void sample(uint64_t rtt_ns, RtoBounds b) {
    if (rtt_ns == 0) rtt_ns = 1;
    if (!has_sample_) {
      srtt_ = rtt_ns;
      rttvar_ = rtt_ns / 2;
      has_sample_ = true;
    } else {
      const uint64_t err = srtt_ > rtt_ns ? srtt_ - rtt_ns : rtt_ns - srtt_;
      rttvar_ = rttvar_ - rttvar_ / 4 + err / 4;  // beta = 1/4
      srtt_ = srtt_ - srtt_ / 8 + rtt_ns / 8;     // alpha = 1/8
    }
    const uint32_t m = uint32_t(std::min<uint64_t>(rtt_ns, kNoMin - 1));  // below "none"
    if (m < min_rtt_) min_rtt_ = m;
    // K = 4; G (clock granularity) is 1 us here.
    rto_ = std::clamp<uint64_t>(srtt_ + std::max<uint64_t>(1000, 4 * rttvar_), b.min_ns, b.max_ns);
    backoff_ = 0;
  }

  // The timer value to use now, after backoff (RFC 6298 5.5), capped at the max.
  uint64_t rto(uint64_t max_ns) const {
    if (backoff_ == 0) return std::min(rto_, max_ns);  // nearly always
    if (backoff_ >= 63 || rto_ > (max_ns >> backoff_)) return max_ns;
    return rto_ << backoff_;
  }
  void backoff() {
    if (backoff_ < 32) ++backoff_;
  }
  void reset_backoff() { backoff_ = 0; }
  unsigned backoffs() const { return backoff_; }

  bool has_sample() const { return has_sample_; }
  uint64_t srtt() const { return srtt_; }
  uint64_t rttvar() const { return rttvar_; }
  // The smallest sample (UINT64_MAX: none); kept in 32 bits of nanoseconds,
  // so a path whose every sample is 4.29 s or more reads as 4.29 s
  // (docs/performance.md, "Memory").
  uint64_t min_rtt() const { return min_rtt_ == kNoMin ? UINT64_MAX : min_rtt_; }
  // Raises the RTO to at least v until the first sample (RFC 6298 5.7).
  void floor_rto(uint64_t v, uint64_t max_ns) {
    if (has_sample_) return;
    rto_ = std::min(std::max(rto_, v), max_ns);
    backoff_ = 0;  // "re-initialized"
  }
  // Seeds the estimator from elsewhere (a cached path, RFC 9040), as if
  // sampled, with the first RTO to use (the next sample recomputes it).
  void seed(uint64_t srtt_ns, uint64_t rttvar_ns, uint64_t rto_ns, RtoBounds b) {
    srtt_ = srtt_ns;
    rttvar_ = rttvar_ns;
    has_sample_ = true;
    rto_ = std::clamp<uint64_t>(rto_ns, b.min_ns, b.max_ns);
  }

 private:
  static constexpr uint32_t kNoMin = UINT32_MAX;
  uint64_t srtt_ = 0, rttvar_ = 0;
  uint64_t rto_;  // within the bounds, before backoff
  uint32_t min_rtt_ = kNoMin;  // ns
  uint8_t backoff_ = 0;
  bool has_sample_ = false;
};

}  // namespace ts::tcp
