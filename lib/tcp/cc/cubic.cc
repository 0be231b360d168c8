#include "tcp/cc/cubic.hh"

#include <algorithm>
#include <cmath>

namespace ts::tcp {

void Cubic::init(CcState&) {
  w_max_ = k_ = origin_ = w_est_ = 0;
  last_max_cwnd_ = 0;
  cwnd_frac_ = 0;
  epoch_start_ = kNoEpoch;
}

double Cubic::w_cubic(double t) const {
  const double d = t - k_;
  return kC * d * d * d + origin_;
}

void Cubic::start_epoch(const CcState& s, uint64_t now) {
  const double cwnd = double(s.cwnd) / s.smss;
  epoch_start_ = now;
  if (cwnd < w_max_) {
    k_ = std::cbrt((w_max_ - cwnd) / kC);
    origin_ = w_max_;
  } else {
    // Above the last maximum (or none yet): start at the inflection point.
    k_ = 0;
    origin_ = cwnd;
  }
  w_est_ = cwnd;
  cwnd_frac_ = 0;
}

void Cubic::on_ack(CcState& s, uint32_t acked, uint64_t now) {
  if (s.cwnd < s.ssthresh) {
    acked = slow_start(s, acked);
    if (acked == 0) return;
  }
  if (epoch_start_ == kNoEpoch) start_epoch(s, now);
  const double segs_acked = double(acked) / s.smss;
  const double cwnd = double(s.cwnd) / s.smss;
  // RFC 9438 4.2: the target is W_cubic one RTT ahead, clamped to [cwnd, 1.5 cwnd].
  const double rtt = s.srtt_us ? double(s.srtt_us) / 1e6 : 0.1;
  const double t = double(now - epoch_start_) / 1e9;
  double target = w_cubic(t + rtt);
  target = std::clamp(target, cwnd, 1.5 * cwnd);
  // RFC 9438 4.3: the Reno-friendly estimate grows by alpha per cwnd of ACKs;
  // alpha is 3(1 - beta)/(1 + beta) until it passes the old maximum, then 1.
  const double alpha = w_est_ >= w_max_ ? 1.0 : 3.0 * (1.0 - kBeta) / (1.0 + kBeta);
  w_est_ += alpha * segs_acked / cwnd;
  if (w_cubic(t) < w_est_) {
    // Reno-friendly region (RFC 9438 4.3): cwnd follows the estimate.
    const double want = w_est_ * s.smss;
    if (want > double(s.cwnd)) s.cwnd = want > double(UINT32_MAX / 2) ? UINT32_MAX / 2 : uint32_t(want);
    return;
  }
  const double grow = (target - cwnd) / cwnd * segs_acked;  // RFC 9438 4.4 / 4.5
  if (grow <= 0) return;
  const double frac = cwnd_frac_ + grow;
  const double whole = std::floor(frac);
  cwnd_frac_ = float(frac - whole);
  if (whole >= 1) {
    const double next = double(s.cwnd) + whole * s.smss;
    s.cwnd = next > double(UINT32_MAX / 2) ? UINT32_MAX / 2 : uint32_t(next);
  }
}

void Cubic::on_congestion(CcState& s, CongestionSignal sig, uint64_t) {
  const double cwnd = double(s.cwnd) / s.smss;
  // RFC 9438 4.7 fast convergence: release bandwidth when the maximum shrinks.
  if (s.cwnd < last_max_cwnd_)
    w_max_ = cwnd * (1.0 + kBeta) / 2.0;
  else
    w_max_ = cwnd;
  last_max_cwnd_ = s.cwnd;
  // RFC 9438 4.6: ssthresh = cwnd * beta, at least 2 segments.
  const double reduced = std::max(cwnd * kBeta, 2.0);
  s.ssthresh = uint32_t(reduced * s.smss);
  s.cwnd = sig == CongestionSignal::timeout ? s.smss : s.ssthresh;
  epoch_start_ = kNoEpoch;  // the next epoch starts with congestion avoidance
}

void Cubic::on_recovery_exit(CcState& s, uint64_t) {
  s.cwnd = s.ssthresh;
  epoch_start_ = kNoEpoch;
}

void Cubic::on_idle(CcState& s, uint32_t restart_window, uint64_t now) {
  CongestionControl::on_idle(s, restart_window, now);
  epoch_start_ = kNoEpoch;
}

}  // namespace ts::tcp
