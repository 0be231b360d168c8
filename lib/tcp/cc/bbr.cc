#include "tcp/cc/bbr.hh"

#include <algorithm>

namespace ts::tcp {

const char* Bbr::state_name(State st) {
  switch (st) {
    case State::startup: return "startup";
    case State::drain: return "drain";
    case State::probe_bw_down: return "probe_bw_down";
    case State::probe_bw_cruise: return "probe_bw_cruise";
    case State::probe_bw_refill: return "probe_bw_refill";
    case State::probe_bw_up: return "probe_bw_up";
    case State::probe_rtt: return "probe_rtt";
  }
  return "?";
}

void Bbr::init(CcState& s) {
  *this = Bbr{};  // min_rtt_ comes from the samples (on_sample)
  set_pacing(s);
}

uint64_t Bbr::random_ns(uint64_t lo, uint64_t span) {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return lo + (span ? rng_ % span : 0);
}

uint64_t Bbr::bdp() const {
  if (min_rtt_ == UINT64_MAX || max_bw() == 0) return 0;
  return uint64_t(double(max_bw()) * double(min_rtt_) / 1e9);
}

uint64_t Bbr::target_inflight(const CcState& s, double gain) const {
  const uint64_t b = bdp();
  const uint64_t floor = uint64_t(kMinPipeSegments) * s.smss;
  if (b == 0) return std::max<uint64_t>(s.cwnd, floor);
  // The BDP at the gain, plus a few segments for pacing's bursts (the
  // draft's quantization budget).
  return std::max<uint64_t>(uint64_t(gain * double(b)) + 3ull * s.smss, floor);
}

void Bbr::enter(State st, uint64_t now) {
  state_ = st;
  switch (st) {
    case State::startup:
      pacing_gain_ = kStartupPacingGain;
      cwnd_gain_ = kStartupCwndGain;
      break;
    case State::drain:
      pacing_gain_ = kDrainPacingGain;
      cwnd_gain_ = kStartupCwndGain;
      break;
    case State::probe_bw_down:
      pacing_gain_ = 0.9;
      cwnd_gain_ = kCwndGain;
      break;
    case State::probe_bw_cruise:
      pacing_gain_ = 1.0;
      cwnd_gain_ = kCwndGain;
      break;
    case State::probe_bw_refill:
      pacing_gain_ = 1.0;
      cwnd_gain_ = kCwndGain;
      inflight_lo_ = UINT64_MAX;  // a probe forgets the short-term bound
      probe_up_rounds_ = 0;
      break;
    case State::probe_bw_up:
      pacing_gain_ = 1.25;
      cwnd_gain_ = kUpCwndGain;
      probe_up_rounds_ = 0;
      break;
    case State::probe_rtt:
      pacing_gain_ = 1.0;
      cwnd_gain_ = 0.5;
      probe_rtt_done_ = 0;
      probe_rtt_round_done_ = false;
      break;
  }
  (void)now;
}

void Bbr::start_probe_down(uint64_t now) {
  enter(State::probe_bw_down, now);
  cycle_stamp_ = now;
  rounds_since_probe_ = 0;
  probe_wait_ns_ = random_ns(2'000'000'000, 1'000'000'000);  // 2-3 s
  // The max filter keeps this cycle and the last.
  bw_[1] = bw_[0];
  bw_[0] = 0;
}

void Bbr::update_round(const AckSample& a) {
  round_start_ = false;
  if (a.rate.delivered == 0) return;  // no tracked segment was delivered
  if (a.rate.prior_delivered >= next_round_delivered_) {
    next_round_delivered_ = a.delivered;
    ++round_count_;
    ++rounds_since_probe_;
    round_start_ = true;
  }
}

void Bbr::update_bw(const AckSample& a) {
  if (!a.rate.valid()) return;
  const uint64_t bw = a.rate.rate();
  // An application-limited sample says only that the path carries at least
  // this much: it counts when it raises the estimate.
  if (bw >= max_bw() || !a.rate.app_limited) bw_[0] = std::max(bw_[0], bw);
}

void Bbr::update_min_rtt(const AckSample& a, uint64_t now) {
  const uint64_t rtt = a.rate.rtt_ns ? a.rate.rtt_ns : a.rtt_ns;
  probe_rtt_expired_ = probe_rtt_min_stamp_ && now > probe_rtt_min_stamp_ + kProbeRttIntervalNs;
  if (rtt && (rtt < probe_rtt_min_ || probe_rtt_expired_ || !probe_rtt_min_stamp_)) {
    probe_rtt_min_ = rtt;
    probe_rtt_min_stamp_ = now;
  }
  const bool min_expired = now > min_rtt_stamp_ + kMinRttWindowNs;
  if (probe_rtt_min_ != UINT64_MAX && (probe_rtt_min_ < min_rtt_ || min_expired)) {
    min_rtt_ = probe_rtt_min_;
    min_rtt_stamp_ = probe_rtt_min_stamp_;
  }
}

void Bbr::check_full_pipe(const AckSample& a) {
  if (full_pipe_ || !round_start_ || a.rate.app_limited) return;
  if (double(max_bw()) >= double(full_bw_) * kFullBwGrowth) {
    full_bw_ = max_bw();
    full_bw_count_ = 0;
    return;
  }
  if (++full_bw_count_ >= kFullBwRounds) full_pipe_ = true;
}

bool Bbr::time_to_probe(const CcState& s, uint64_t now) const {
  if (now - cycle_stamp_ >= probe_wait_ns_) return true;
  // Coexisting with Reno: probe at least as often as a Reno flow would have
  // grown its window by the BDP (one segment per round), capped at 63 rounds.
  const uint64_t reno_rounds = std::min<uint64_t>(bdp() / std::max(s.smss, 1u), 63);
  return reno_rounds && rounds_since_probe_ >= reno_rounds;
}

void Bbr::update_probe_bw(CcState& s, const AckSample& a, uint64_t now) {
  switch (state_) {
    case State::probe_bw_down: {
      if (time_to_probe(s, now)) {
        enter(State::probe_bw_refill, now);
        break;
      }
      uint64_t fits = target_inflight(s, 1.0);
      if (inflight_hi_ != UINT64_MAX)
        fits = std::min(fits, uint64_t(double(inflight_hi_) * (1 - kHeadroom)));
      if (a.flight <= fits) enter(State::probe_bw_cruise, now);
      break;
    }
    case State::probe_bw_cruise:
      if (time_to_probe(s, now)) enter(State::probe_bw_refill, now);
      break;
    case State::probe_bw_refill:
      if (round_start_) enter(State::probe_bw_up, now);  // after one round of refilling
      break;
    case State::probe_bw_up:
      if (round_start_) {
        ++probe_up_rounds_;
        // No loss in a round: the upper bound may grow, faster each round.
        if (inflight_hi_ != UINT64_MAX && a.cwnd_limited)
          inflight_hi_ += uint64_t(s.smss) << std::min<uint32_t>(probe_up_rounds_, 10);
      }
      // A queue of a quarter BDP has built: the probe found what there is.
      if (probe_up_rounds_ >= 1 && a.flight >= target_inflight(s, 1.25)) start_probe_down(now);
      break;
    default:
      break;
  }
}

void Bbr::check_probe_rtt(CcState& s, const AckSample& a, uint64_t now) {
  const uint64_t probe_cwnd =
      std::max<uint64_t>(bdp() / 2, uint64_t(kMinPipeSegments) * s.smss);
  if (state_ != State::probe_rtt) {
    if (probe_rtt_expired_ && state_ != State::startup) {
      prior_cwnd_ = std::max(prior_cwnd_, s.cwnd);
      enter(State::probe_rtt, now);
    }
    return;
  }
  if (!probe_rtt_done_) {
    if (a.flight <= probe_cwnd) {
      probe_rtt_done_ = now + kProbeRttDurationNs;
      probe_rtt_round_done_ = false;
      next_round_delivered_ = a.delivered;
    }
    return;
  }
  if (round_start_) probe_rtt_round_done_ = true;
  if (probe_rtt_round_done_ && now >= probe_rtt_done_) {
    probe_rtt_min_stamp_ = now;  // the minimum was seen again
    probe_rtt_expired_ = false;
    s.cwnd = std::max(s.cwnd, prior_cwnd_);
    prior_cwnd_ = 0;
    if (full_pipe_)
      start_probe_down(now);
    else
      enter(State::startup, now);
  }
}

void Bbr::set_pacing(CcState& s) {
  uint64_t rate;
  if (max_bw() == 0) {
    // No sample yet: the initial window per RTT (1 ms if none), at the gain.
    const uint64_t rtt = s.srtt_us ? uint64_t(s.srtt_us) * 1000 : 1'000'000;
    rate = uint64_t(pacing_gain_ * double(s.cwnd) * 1e9 / double(rtt));
  } else {
    rate = uint64_t(pacing_gain_ * double(max_bw()) * (1 - kPacingMargin));
  }
  // Until the pipe is full the rate only rises (a slow sample must not stall
  // Startup).
  if (full_pipe_ || rate > pacing_rate_) pacing_rate_ = std::max<uint64_t>(rate, 1);
}

void Bbr::set_cwnd(CcState& s, const AckSample& a) {
  const uint64_t floor = uint64_t(kMinPipeSegments) * s.smss;
  if (a.in_recovery) return;  // the recovery unit's window (PRR) stands
  const uint64_t target = target_inflight(s, cwnd_gain_);
  uint64_t cwnd = s.cwnd;
  if (full_pipe_)
    cwnd = std::min<uint64_t>(cwnd + a.acked, target);
  else if (cwnd < target || bdp() == 0)
    cwnd += a.acked;
  cwnd = std::max(cwnd, floor);
  if (state_ == State::probe_rtt)
    cwnd = std::min(cwnd, std::max<uint64_t>(bdp() / 2, floor));
  if (inflight_hi_ != UINT64_MAX) {
    const bool probing = state_ == State::probe_bw_up || state_ == State::startup;
    const uint64_t hi =
        probing ? inflight_hi_ : uint64_t(double(inflight_hi_) * (1 - kHeadroom));
    cwnd = std::min(cwnd, std::max(hi, floor));
  }
  if (inflight_lo_ != UINT64_MAX && state_ != State::probe_bw_up)
    cwnd = std::min(cwnd, std::max(inflight_lo_, floor));
  s.cwnd = uint32_t(std::min<uint64_t>(cwnd, UINT32_MAX / 2));
  // ssthresh says "out of slow start" once the pipe is full, at the BDP (the
  // host cache keeps it for the next connection to this host).
  if (full_pipe_) s.ssthresh = uint32_t(std::min<uint64_t>(std::max(bdp(), floor), UINT32_MAX / 2));
}

void Bbr::on_ack(CcState&, uint32_t, uint64_t) {
  // Everything happens in on_sample, which hears every ACK.
}

void Bbr::end_round(CcState& s, const AckSample& a, uint64_t now) {
  const uint64_t delivered = a.delivered - round_delivered0_;
  const uint64_t lost = a.lost - round_lost0_;
  round_delivered0_ = a.delivered;
  round_lost0_ = a.lost;
  const uint64_t floor = uint64_t(kMinPipeSegments) * s.smss;
  if (lost && double(lost) > kLossThresh * double(lost + delivered)) {
    // Too much in flight (the draft's IsInflightTooHigh).
    const uint64_t flight = std::max<uint64_t>(a.flight, floor);
    if (state_ == State::startup) {
      full_pipe_ = true;
      inflight_hi_ = std::max(bdp(), flight);
    } else if (state_ == State::probe_bw_up || state_ == State::probe_bw_refill) {
      inflight_hi_ = std::max<uint64_t>(
          std::max(flight, uint64_t(double(target_inflight(s, 1.0)) * kBeta)), floor);
      if (state_ == State::probe_bw_up) start_probe_down(now);
    }
  }
  if (lost && state_ != State::startup) {
    // Any loss: the short-term bound follows what the round delivered.
    const uint64_t lo = inflight_lo_ == UINT64_MAX ? s.cwnd : inflight_lo_;
    inflight_lo_ = std::max({delivered, uint64_t(double(lo) * kBeta), floor});
  }
}

void Bbr::on_sample(CcState& s, const AckSample& a, uint64_t now) {
  in_recovery_ = a.in_recovery;
  update_round(a);
  if (round_start_) end_round(s, a, now);
  update_bw(a);
  update_min_rtt(a, now);
  check_full_pipe(a);
  if (state_ == State::startup && full_pipe_) enter(State::drain, now);
  if (state_ == State::drain && a.flight <= target_inflight(s, 1.0)) start_probe_down(now);
  if (state_ != State::startup && state_ != State::drain && state_ != State::probe_rtt)
    update_probe_bw(s, a, now);
  check_probe_rtt(s, a, now);
  set_pacing(s);
  set_cwnd(s, a);
}

void Bbr::on_congestion(CcState& s, CongestionSignal sig, uint64_t) {
  // The model answers loss at the end of the round (end_round); recovery
  // keeps the window it found (no multiplicative decrease).
  prior_cwnd_ = std::max(prior_cwnd_, s.cwnd);
  s.ssthresh = std::max(s.cwnd, kMinPipeSegments * s.smss);
  if (sig == CongestionSignal::timeout) s.cwnd = s.smss;  // grows back by what is delivered
}

void Bbr::on_recovery_exit(CcState& s, uint64_t) {
  in_recovery_ = false;
  // The model's window returns (set_cwnd bounds it on the next ACK).
  s.cwnd = std::max(s.cwnd, std::min(prior_cwnd_, uint32_t(target_inflight(s, cwnd_gain_))));
  prior_cwnd_ = 0;
}

}  // namespace ts::tcp
