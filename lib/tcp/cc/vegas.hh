// TCP Vegas (Brakmo and Peterson, IEEE JSAC 1995): congestion avoidance by
// delay. Once per round trip it compares the rate the window would give at
// the smallest RTT ever seen (BaseRTT, the empty path) with the rate it gives
// at the round's smallest RTT, and reads their difference, times BaseRTT, as
// the segments this flow keeps queued at the bottleneck:
//   diff = cwnd * (RTT - BaseRTT) / RTT
// Below alpha the window grows by one segment, above beta it shrinks by one,
// between them it holds. Slow start doubles the window only every other
// round (so a round at a fixed window measures the queue) and ends as soon
// as diff exceeds gamma. Losses are answered as Reno answers them
// (cc/aimd.hh); a round with fewer than three RTT samples falls back to
// Reno's growth, as Linux's implementation does.
#pragma once

#include <cstdint>

#include "tcp/cc/aimd.hh"

namespace ts::tcp {

class Vegas final : public Aimd {
 public:
  static constexpr double kAlpha = 2;  // segments queued: grow below this
  static constexpr double kBeta = 4;   // shrink above this
  static constexpr double kGamma = 1;  // leave slow start above this
  static constexpr uint32_t kMinSamples = 3;

  const char* name() const override { return "vegas"; }
  void init(CcState& s) override;
  void on_ack(CcState& s, uint32_t acked, uint64_t now) override;
  void on_sample(CcState& s, const AckSample& a, uint64_t now) override;
  bool own_slow_start() const override { return true; }
  bool wants_rate_samples() const override { return true; }  // for exact RTTs

  uint64_t base_rtt() const { return base_rtt_; }
  // The last round's estimate of segments queued (diff above); -1 before one.
  double last_diff() const { return last_diff_; }
  bool delay_mode() const { return delay_mode_; }

 private:
  void end_round(CcState& s, const AckSample& a);

  RoundCounter rounds_;
  uint64_t base_rtt_ = UINT64_MAX;
  uint64_t round_min_ = UINT64_MAX;
  double last_diff_ = -1;
  uint32_t samples_ = 0;
  bool delay_mode_ = false;  // the last round had enough samples to decide
  bool grow_round_ = true;   // slow start grows in this round (every other one)
};

}  // namespace ts::tcp
