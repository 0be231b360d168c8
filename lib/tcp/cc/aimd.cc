#include "tcp/cc/aimd.hh"

#include <algorithm>

namespace ts::tcp {

void Aimd::on_ack(CcState& s, uint32_t acked, uint64_t) {
  if (s.cwnd < s.ssthresh) {
    acked = slow_start(s, acked);
    if (acked == 0) return;
  }
  // Congestion avoidance (RFC 5681 3.1, RFC 3465 2.1): cwnd grows by one SMSS
  // each time a full cwnd of data has been acknowledged.
  bytes_acked_ += acked;
  if (bytes_acked_ >= s.cwnd) {
    bytes_acked_ -= s.cwnd;
    s.cwnd += s.smss;
  }
}

void Aimd::on_congestion(CcState& s, CongestionSignal sig, uint64_t) {
  // RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS).
  s.ssthresh = std::max(s.flight / 2, 2 * s.smss);
  s.cwnd = sig == CongestionSignal::timeout ? s.smss : s.ssthresh;
  bytes_acked_ = 0;
}

void Aimd::on_recovery_exit(CcState& s, uint64_t) {
  s.cwnd = s.ssthresh;
  bytes_acked_ = 0;
}

}  // namespace ts::tcp
