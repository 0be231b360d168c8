// Compound TCP (Tan, Song, Zhang and Sridharan, INFOCOM 2006;
// draft-sridharan-tcpm-ctcp-02): the window is the sum of a loss-based part,
// cwnd, that follows Reno, and a delay-based part, dwnd, that grows fast
// while the path shows no queue and gives way as one builds:
//   win = min(cwnd + dwnd, rwnd)           (rwnd: the connection's business)
//   once per round, with diff = win * (1 - BaseRTT / RTT) segments queued:
//     diff < gamma:  dwnd += max(alpha * win^k - 1, 0)
//     diff >= gamma: dwnd  = max(dwnd - zeta * diff, 0)
//   on a loss:       win  <- win * (1 - beta), cwnd <- cwnd / 2,
//                    dwnd <- max(win * (1 - beta) - cwnd / 2, 0)
// with the paper's alpha = 1/8, beta = 1/2, k = 3/4, gamma = 30 segments,
// zeta = 1. Below the draft's low window of 41 segments dwnd stays 0, so a
// small window behaves as Reno's. Reno's part grows by one segment per
// window of win (not of cwnd) acknowledged, as the draft says.
#pragma once

#include <cstdint>

#include "tcp/cc/cc.hh"

namespace ts::tcp {

class Compound final : public CongestionControl {
 public:
  static constexpr double kAlpha = 0.125;
  static constexpr double kBeta = 0.5;
  static constexpr double kK = 0.75;
  static constexpr double kGamma = 30;     // segments
  static constexpr double kZeta = 1;
  static constexpr uint32_t kLowWindow = 41;  // segments

  const char* name() const override { return "compound"; }
  void init(CcState& s) override;
  void on_ack(CcState& s, uint32_t acked, uint64_t now) override;
  void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) override;
  void on_recovery_exit(CcState& s, uint64_t now) override;
  void on_sample(CcState& s, const AckSample& a, uint64_t now) override;
  bool wants_rate_samples() const override { return true; }  // for exact RTTs

  uint32_t loss_window() const { return cwnd_; }   // bytes
  uint32_t delay_window() const { return dwnd_; }  // bytes
  uint64_t base_rtt() const { return base_rtt_; }

 private:
  // The connection sets cwnd itself at times (recovery, idle restart): the
  // two parts follow, dwnd giving way first.
  void sync(const CcState& s);
  void end_round(CcState& s, const AckSample& a, uint64_t rtt);

  uint32_t cwnd_ = 0, dwnd_ = 0;  // bytes
  uint64_t bytes_acked_ = 0;
  RoundCounter rounds_;
  uint64_t base_rtt_ = UINT64_MAX, round_min_ = UINT64_MAX;
};

}  // namespace ts::tcp
