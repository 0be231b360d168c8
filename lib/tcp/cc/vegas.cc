#include "tcp/cc/vegas.hh"

#include <algorithm>

namespace ts::tcp {

void Vegas::init(CcState& s) {
  Aimd::init(s);
  rounds_ = RoundCounter{};
  round_min_ = UINT64_MAX;
  samples_ = 0;
  delay_mode_ = false;
  grow_round_ = true;
  last_diff_ = -1;
  // BaseRTT is a property of the path: it survives a restart of the window.
}

void Vegas::on_ack(CcState& s, uint32_t acked, uint64_t now) {
  if (!delay_mode_) {
    Aimd::on_ack(s, acked, now);  // Reno's growth until Vegas can measure
    return;
  }
  // In delay mode congestion avoidance moves once per round (end_round);
  // slow start grows on the ACKs of every other round.
  if (s.cwnd < s.ssthresh && grow_round_) slow_start(s, acked);
}

void Vegas::on_sample(CcState& s, const AckSample& a, uint64_t) {
  const uint64_t rtt = a.rate.rtt_ns ? a.rate.rtt_ns : a.rtt_ns;
  if (rtt) {
    base_rtt_ = std::min(base_rtt_, rtt);
    round_min_ = std::min(round_min_, rtt);
    ++samples_;
  }
  if (rounds_.on_ack(a.ack, a.snd_max)) end_round(s, a);
}

void Vegas::end_round(CcState& s, const AckSample& a) {
  const uint64_t rtt = round_min_;
  const uint32_t samples = samples_;
  round_min_ = UINT64_MAX;
  samples_ = 0;
  grow_round_ = !grow_round_;
  if (a.in_recovery || samples < kMinSamples || rtt == UINT64_MAX || base_rtt_ == UINT64_MAX) {
    delay_mode_ = false;
    return;
  }
  delay_mode_ = true;
  const double cwnd = double(s.cwnd) / s.smss;
  const double diff = cwnd * double(rtt - base_rtt_) / double(rtt);
  last_diff_ = diff;
  if (s.cwnd < s.ssthresh) {
    if (diff > kGamma) {
      // The queue has begun to build: leave slow start at the window that
      // would just fill the path (expected rate times BaseRTT), plus one.
      const double target = cwnd * double(base_rtt_) / double(rtt);
      s.cwnd = std::max(std::min(s.cwnd, uint32_t(target + 1) * s.smss), 2 * s.smss);
      s.ssthresh = std::max(s.cwnd - s.smss, 2 * s.smss);
      if (s.cwnd <= s.ssthresh) s.cwnd = s.ssthresh + s.smss;
    }
    return;
  }
  if (!a.cwnd_limited) return;  // the application, not the window, set the rate
  if (diff > kBeta) {
    s.cwnd = std::max(s.cwnd - s.smss, 2 * s.smss);
    s.ssthresh = std::min(s.ssthresh, std::max(s.cwnd - s.smss, 2 * s.smss));
  } else if (diff < kAlpha) {
    s.cwnd += s.smss;
  }
}

}  // namespace ts::tcp
