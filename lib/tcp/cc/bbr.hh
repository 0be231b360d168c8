// BBR, version 3 (draft-ietf-ccwg-bbr): instead of reading loss as the
// signal to back off, BBR builds a model of the path from delivery-rate
// samples (tcp/delivery_rate.hh) -- the bottleneck bandwidth (a windowed
// maximum) and the round-trip propagation delay (a windowed minimum) -- and
// paces at the bandwidth with a window of a small multiple of their product.
// States:
//   Startup    pacing gain 2.77, cwnd gain 2: doubles the rate each round
//              until the bandwidth stops growing by 25% for three rounds,
//              or loss says the pipe is full;
//   Drain      pacing gain 0.35 until what is in flight fits one BDP;
//   ProbeBW    a cycle of Down (0.9), Cruise (1.0), Refill (1.0) and Up
//              (1.25): probes for more bandwidth every 2-3 s (or sooner, at a
//              Reno flow's pace) and keeps little queue in between;
//   ProbeRTT   every 5 s without a new minimum RTT, half a BDP in flight for
//              200 ms and a round, so the minimum can be seen again.
// Loss bounds the model (v3's addition). A round whose loss rate passes 2%
// says what was in flight was too much: Startup ends, and a probe stops with
// inflight_hi, the long-term bound, at what was in flight (at least beta =
// 0.7 of the BDP). Any loss in a round lowers inflight_lo, the short-term
// bound, to the larger of what the round delivered and beta times its last
// value; the next probe forgets it. So random loss of 1% leaves the window
// near the BDP, where Reno would halve it at every loss.
// During loss recovery the recovery unit (PRR) keeps the window (ssthresh is
// the window when recovery began: BBR makes no multiplicative decrease); the
// model's window returns when recovery ends.
// Simplifications (docs/congestion.md): the bytes lost are the bytes
// retransmitted; there is no ACK-aggregation allowance (extra_acked); the
// max filter keeps the last two ProbeBW cycles as the draft's does.
#pragma once

#include <cstdint>

#include "tcp/cc/cc.hh"

namespace ts::tcp {

class Bbr final : public CongestionControl {
 public:
  enum class State : uint8_t { startup, drain, probe_bw_down, probe_bw_cruise, probe_bw_refill,
                               probe_bw_up, probe_rtt };
  static constexpr double kStartupPacingGain = 2.77;
  static constexpr double kStartupCwndGain = 2.0;
  static constexpr double kDrainPacingGain = 0.35;
  static constexpr double kCwndGain = 2.0;
  static constexpr double kUpCwndGain = 2.25;
  static constexpr double kBeta = 0.7;
  static constexpr double kHeadroom = 0.15;
  static constexpr double kPacingMargin = 0.01;
  static constexpr uint32_t kMinPipeSegments = 4;
  static constexpr uint64_t kMinRttWindowNs = 10'000'000'000;
  static constexpr uint64_t kProbeRttIntervalNs = 5'000'000'000;
  static constexpr uint64_t kProbeRttDurationNs = 200'000'000;
  static constexpr uint32_t kFullBwRounds = 3;
  static constexpr double kFullBwGrowth = 1.25;

  const char* name() const override { return "bbr"; }
  void init(CcState& s) override;
  void on_ack(CcState& s, uint32_t acked, uint64_t now) override;
  void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) override;
  void on_recovery_exit(CcState& s, uint64_t now) override;
  void on_sample(CcState& s, const AckSample& a, uint64_t now) override;
  bool own_slow_start() const override { return true; }
  bool wants_rate_samples() const override { return true; }
  uint64_t pacing_rate() const override { return pacing_rate_; }
  bool sets_pacing_rate() const override { return true; }

  State state() const { return state_; }
  static const char* state_name(State st);
  uint64_t max_bw() const { return bw_[0] > bw_[1] ? bw_[0] : bw_[1]; }  // bytes/s
  uint64_t min_rtt() const { return min_rtt_; }
  uint64_t bdp() const;  // bytes; 0 before the model has both halves
  uint64_t inflight_hi() const { return inflight_hi_; }
  uint64_t inflight_lo() const { return inflight_lo_; }
  bool full_pipe() const { return full_pipe_; }
  double pacing_gain() const { return pacing_gain_; }
  uint64_t rounds() const { return round_count_; }

 private:
  void enter(State st, uint64_t now);
  void start_probe_down(uint64_t now);
  void update_round(const AckSample& a);
  void update_bw(const AckSample& a);
  void update_min_rtt(const AckSample& a, uint64_t now);
  void check_full_pipe(const AckSample& a);
  void update_probe_bw(CcState& s, const AckSample& a, uint64_t now);
  void check_probe_rtt(CcState& s, const AckSample& a, uint64_t now);
  bool probe_rtt_expired_ = false;
  bool time_to_probe(const CcState& s, uint64_t now) const;
  uint64_t target_inflight(const CcState& s, double gain) const;
  void set_pacing(CcState& s);
  void set_cwnd(CcState& s, const AckSample& a);
  uint64_t random_ns(uint64_t lo, uint64_t span);

  State state_ = State::startup;
  double pacing_gain_ = kStartupPacingGain, cwnd_gain_ = kStartupCwndGain;
  uint64_t pacing_rate_ = 0;       // bytes/s; 0 until the first ACK
  uint64_t bw_[2] = {0, 0};        // max delivery rate in this and the last ProbeBW cycle
  uint64_t min_rtt_ = UINT64_MAX, min_rtt_stamp_ = 0;
  uint64_t probe_rtt_min_ = UINT64_MAX, probe_rtt_min_stamp_ = 0;
  uint64_t inflight_hi_ = UINT64_MAX, inflight_lo_ = UINT64_MAX;
  uint64_t next_round_delivered_ = 0, round_count_ = 0;
  bool round_start_ = false;
  uint64_t round_delivered0_ = 0, round_lost0_ = 0;  // at the round's start
  static constexpr double kLossThresh = 0.02;
  void end_round(CcState& s, const AckSample& a, uint64_t now);
  uint64_t full_bw_ = 0;
  uint32_t full_bw_count_ = 0;
  bool full_pipe_ = false;
  uint64_t cycle_stamp_ = 0, probe_wait_ns_ = 0;
  uint64_t rounds_since_probe_ = 0;
  uint32_t probe_up_rounds_ = 0;
  uint64_t probe_rtt_done_ = 0;
  bool probe_rtt_round_done_ = false;
  uint32_t prior_cwnd_ = 0;
  bool in_recovery_ = false;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace ts::tcp
