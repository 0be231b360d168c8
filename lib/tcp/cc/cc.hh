// The congestion-control interface, after FreeBSD's cc_algo: the connection
// reports events (new data acknowledged, a congestion signal, the end of
// recovery, a restart after idle) and the algorithm sets cwnd and ssthresh.
// Windows are in bytes. Loss detection and recovery (RFC 6675, RFC 6582) are
// the loss-recovery unit's job (tcp/recovery.hh); the algorithm only decides
// the windows. tcp/cc/congestion.hh puts an algorithm and HyStart++ together
// for a connection.
//
// Delay- and rate-based algorithms (Vegas, Compound, BBR) also hear every ACK
// of new data, in recovery too, as an AckSample: its RTT sample, the bytes in
// flight, whether the window limited the sender, and (for algorithms that ask)
// a delivery-rate sample; they may set a pacing rate (docs/congestion.md).
#pragma once

#include <cstdint>

namespace ts::tcp {

enum class CongestionSignal : uint8_t {
  loss,     // fast retransmit: duplicate ACKs or SACK loss detection
  timeout,  // the retransmission timer expired
  ecn,      // an ECN-Echo (needs ECN negotiated; not produced yet)
};

struct CcState {
  uint32_t cwnd = 0;
  uint32_t ssthresh = UINT32_MAX;  // "arbitrarily high" initially (RFC 5681 3.1)
  uint32_t smss = 536;
  uint32_t flight = 0;       // bytes outstanding when the event happened
  // The smoothed RTT in microseconds, 0 until measured, UINT32_MAX for 71
  // minutes and more: what the algorithms need of it (Cubic's target, BBR's
  // first estimate) in 4 bytes (docs/performance.md, "Memory").
  uint32_t srtt_us = 0;
  bool css = false;          // HyStart++ conservative slow start: a quarter of the growth
};

// A delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation): the
// bytes delivered (cumulatively acknowledged or SACKed) over the interval
// between a tracked segment's transmission and this ACK.
struct RateSample {
  uint64_t delivered = 0;     // bytes delivered over the interval
  uint64_t interval_ns = 0;   // max(send elapsed, ack elapsed)
  uint64_t prior_delivered = 0;  // the connection's delivered count when the segment was sent
  uint64_t rtt_ns = 0;        // the tracked segment's round trip
  bool app_limited = false;   // the sender had nothing to send when the segment went out
  bool valid() const { return interval_ns > 0; }
  // Bytes per second; 0 for no sample.
  uint64_t rate() const { return interval_ns ? delivered * 1'000'000'000ull / interval_ns : 0; }
};

// What an ACK of new data tells an algorithm beyond the bytes it acknowledged.
struct AckSample {
  uint32_t acked = 0;          // bytes newly acknowledged (cumulative)
  uint64_t rtt_ns = 0;         // RTT measured by this ACK; 0: none
  uint32_t flight = 0;         // bytes in flight after the ACK
  bool cwnd_limited = false;   // the window, not the application, limited the sender
  bool in_recovery = false;    // loss recovery sets the window meanwhile
  uint32_t ack = 0;            // the new SND.UNA ...
  uint32_t snd_max = 0;        // ... and the highest sequence sent, for round counting
  uint64_t delivered = 0;      // bytes delivered so far (acknowledged or SACKed)
  uint64_t lost = 0;           // bytes retransmitted so far (the losses repaired)
  RateSample rate;             // valid only for algorithms that ask for samples
};

class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  virtual const char* name() const = 0;
  // cwnd was set to the initial window by the connection; the algorithm may
  // reset its own state.
  virtual void init(CcState& s) = 0;
  // `acked` bytes of new data were acknowledged outside loss recovery.
  virtual void on_ack(CcState& s, uint32_t acked, uint64_t now) = 0;
  // A congestion signal: set ssthresh, and cwnd as the signal demands (the
  // loss window of 1 SMSS after a timeout, ssthresh for fast recovery).
  virtual void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) = 0;
  // Fast recovery ended (RecoveryPoint acknowledged).
  virtual void on_recovery_exit(CcState& s, uint64_t now) = 0;
  // Sending resumes after an idle period longer than the RTO (RFC 5681 4.1):
  // cwnd falls to the restart window.
  virtual void on_idle(CcState& s, uint32_t restart_window, uint64_t now) {
    (void)now;
    if (s.cwnd > restart_window) s.cwnd = restart_window;
  }
  // Every ACK of new data, after on_ack (or instead of it, in recovery or
  // when the window did not limit the sender).
  virtual void on_sample(CcState& s, const AckSample& a, uint64_t now) {
    (void)s, (void)a, (void)now;
  }
  // The algorithm runs its own slow start (HyStart++ stays out of it).
  virtual bool own_slow_start() const { return false; }
  // The connection should measure delivery rates for on_sample.
  virtual bool wants_rate_samples() const { return false; }
  // Bytes per second the sender should pace at; 0: the algorithm sets none
  // (the connection then paces only with --pacing, at its default rate).
  virtual uint64_t pacing_rate() const { return 0; }
  // Whether pacing_rate() may be other than 0 (asked once, at construction).
  virtual bool sets_pacing_rate() const { return false; }
};

// Counts round trips by sequence: a round ends when the ACK passes what was
// the highest sequence sent when the round began.
class RoundCounter {
 public:
  // True when this ACK ended a round (the first ACK starts round 1).
  bool on_ack(uint32_t ack, uint32_t snd_max) {
    if (rounds_ && int32_t(ack - end_) < 0) return false;
    end_ = snd_max;
    if (rounds_ < UINT32_MAX) ++rounds_;  // saturates: 0 means "not started"
    return true;
  }
  uint32_t rounds() const { return rounds_; }

 private:
  uint32_t end_ = 0;
  uint32_t rounds_ = 0;
};

// RFC 9406 CSS_GROWTH_DIVISOR: conservative slow start grows a quarter as fast.
inline constexpr uint32_t kCssGrowthDivisor = 4;

// Slow start (RFC 5681 3.1) with appropriate byte counting limited to 2 SMSS
// per ACK (RFC 3465), shared by the algorithms that use it. When the increase
// reaches ssthresh, returns the bytes of `acked` beyond it (for congestion
// avoidance); otherwise 0.
inline uint32_t slow_start(CcState& s, uint32_t acked) {
  const uint32_t room = s.ssthresh > s.cwnd ? s.ssthresh - s.cwnd : 0;
  uint32_t inc = acked < 2 * s.smss ? acked : 2 * s.smss;
  if (s.css) inc /= kCssGrowthDivisor;
  if (inc <= room) {
    s.cwnd += inc;
    return 0;
  }
  s.cwnd += room;
  return acked - room;
}

}  // namespace ts::tcp
