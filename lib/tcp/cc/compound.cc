#include "tcp/cc/compound.hh"

#include <algorithm>
#include <cmath>

namespace ts::tcp {

void Compound::init(CcState& s) {
  cwnd_ = s.cwnd;
  dwnd_ = 0;
  bytes_acked_ = 0;
  rounds_ = RoundCounter{};
  round_min_ = UINT64_MAX;
}

void Compound::sync(const CcState& s) {
  const uint32_t win = cwnd_ + dwnd_;
  if (s.cwnd >= win) {
    cwnd_ += s.cwnd - win;
    return;
  }
  uint32_t cut = win - s.cwnd;
  const uint32_t from_d = std::min(cut, dwnd_);
  dwnd_ -= from_d;
  cut -= from_d;
  cwnd_ = cwnd_ > cut ? cwnd_ - cut : s.smss;
}

void Compound::on_ack(CcState& s, uint32_t acked, uint64_t) {
  sync(s);
  if (s.cwnd < s.ssthresh) {
    // Slow start: Reno's, with the delay part idle.
    const uint32_t before = s.cwnd;
    acked = slow_start(s, acked);
    cwnd_ += s.cwnd - before;
    if (acked == 0) return;
  }
  const uint32_t win = cwnd_ + dwnd_;
  bytes_acked_ += acked;
  if (bytes_acked_ >= win) {
    bytes_acked_ -= win;
    cwnd_ += s.smss;
  }
  s.cwnd = cwnd_ + dwnd_;
}

void Compound::on_sample(CcState& s, const AckSample& a, uint64_t) {
  const uint64_t rtt = a.rate.rtt_ns ? a.rate.rtt_ns : a.rtt_ns;
  if (rtt) {
    base_rtt_ = std::min(base_rtt_, rtt);
    round_min_ = std::min(round_min_, rtt);
  }
  if (!rounds_.on_ack(a.ack, a.snd_max)) return;
  const uint64_t round_rtt = round_min_;
  round_min_ = UINT64_MAX;
  if (round_rtt != UINT64_MAX) end_round(s, a, round_rtt);
}

void Compound::end_round(CcState& s, const AckSample& a, uint64_t rtt) {
  // The delay part works in congestion avoidance only, while the window
  // limits the sender and recovery is not setting it.
  if (a.in_recovery || s.cwnd < s.ssthresh || !a.cwnd_limited || base_rtt_ == UINT64_MAX) return;
  sync(s);
  const double win = double(cwnd_ + dwnd_) / s.smss;
  if (win < kLowWindow) {
    dwnd_ = 0;
  } else {
    const double diff = win * (1.0 - double(base_rtt_) / double(rtt));
    double d = double(dwnd_) / s.smss;
    if (diff < kGamma)
      d += std::max(kAlpha * std::pow(win, kK) - 1.0, 0.0);
    else
      d = std::max(d - kZeta * diff, 0.0);
    dwnd_ = uint32_t(std::min(d * s.smss, double(UINT32_MAX / 4)));
  }
  s.cwnd = cwnd_ + dwnd_;
}

void Compound::on_congestion(CcState& s, CongestionSignal sig, uint64_t) {
  sync(s);
  // The window in effect is what was in flight (RFC 5681's FlightSize).
  const uint32_t win = std::min(s.flight ? s.flight : cwnd_ + dwnd_, cwnd_ + dwnd_);
  bytes_acked_ = 0;
  if (sig == CongestionSignal::timeout) {
    // A timeout: both parts start again (dwnd is rebuilt once the window
    // passes the low window in congestion avoidance).
    cwnd_ = std::max(uint32_t(win * (1 - kBeta)), 2 * s.smss);
    dwnd_ = 0;
    s.ssthresh = cwnd_;
    cwnd_ = s.cwnd = s.smss;
    return;
  }
  const uint32_t target = std::max(uint32_t(win * (1 - kBeta)), 2 * s.smss);
  cwnd_ = std::max(cwnd_ / 2, 2 * s.smss);
  dwnd_ = target > cwnd_ ? target - cwnd_ : 0;
  s.ssthresh = cwnd_ + dwnd_;
  s.cwnd = s.ssthresh;
}

void Compound::on_recovery_exit(CcState& s, uint64_t) {
  s.cwnd = s.ssthresh;
  if (cwnd_ + dwnd_ != s.cwnd) sync(s);
  bytes_acked_ = 0;
}

}  // namespace ts::tcp
