// The congestion-control interface, after FreeBSD's cc_algo: the connection
// reports events (new data acknowledged, a congestion signal, the end of
// recovery, a restart after idle) and the algorithm sets cwnd and ssthresh.
// Windows are in bytes. Loss detection and recovery (RFC 6675, RFC 6582) are
// the loss-recovery unit's job (tcp/recovery.hh); the algorithm only decides
// the windows. tcp/cc/congestion.hh puts an algorithm and HyStart++ together
// for a connection.
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
  uint64_t srtt_ns = 0;      // 0 until measured
  uint64_t min_rtt_ns = 0;
  bool css = false;          // HyStart++ conservative slow start: a quarter of the growth
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
