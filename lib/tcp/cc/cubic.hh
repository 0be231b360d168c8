// CUBIC (RFC 9438): after a congestion event the window follows
// W(t) = C (t - K)^3 + W_max, concave up to the last maximum and convex beyond
// it, with a Reno-friendly lower bound, multiplicative decrease by beta = 0.7,
// and fast convergence.
#pragma once

#include "tcp/cc/cc.hh"

namespace ts::tcp {

class Cubic final : public CongestionControl {
 public:
  static constexpr double kC = 0.4;
  static constexpr double kBeta = 0.7;

  const char* name() const override { return "cubic"; }
  void init(CcState& s) override;
  void on_ack(CcState& s, uint32_t acked, uint64_t now) override;
  void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) override;
  void on_recovery_exit(CcState& s, uint64_t now) override;
  void on_idle(CcState& s, uint32_t restart_window, uint64_t now) override;

  // For tests: the window (segments) the cubic function targets t seconds into
  // the current epoch.
  double w_cubic(double t) const;
  double k() const { return k_; }
  double w_max() const { return w_max_; }

 private:
  void start_epoch(const CcState& s, uint64_t now);

  double w_max_ = 0;        // segments, the window before the last reduction
  double k_ = 0;            // seconds
  double origin_ = 0;       // segments: W at the inflection point
  double w_est_ = 0;        // segments: the Reno-friendly estimate (RFC 9438 4.3)
  // The last two in 4 bytes each, so that Cubic fits the 56 bytes the other
  // inline algorithms take (docs/performance.md, "Memory"):
  uint32_t last_max_cwnd_ = 0;  // bytes: cwnd at the last reduction, for fast convergence (4.7)
  float cwnd_frac_ = 0;         // fractional segments carried between ACKs (below 1)
  // When the current epoch started; kNoEpoch between epochs (a time no
  // clock reaches, so that no flag beside it pads the state by 8 bytes).
  static constexpr uint64_t kNoEpoch = UINT64_MAX;
  uint64_t epoch_start_ = kNoEpoch;
};

}  // namespace ts::tcp
