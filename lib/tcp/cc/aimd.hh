// The windows of RFC 5681 that Tahoe, Reno and NewReno share: slow start,
// congestion avoidance by byte counting (one SMSS per cwnd of acknowledged
// bytes, RFC 3465), ssthresh = max(FlightSize / 2, 2 SMSS) on a congestion
// signal. What sets them apart is mostly the loss recovery they run with
// (tcp/recovery.hh, chosen by the registry): the window rules differ only in
// Tahoe's loss window after a fast retransmit.
#pragma once

#include "tcp/cc/cc.hh"

namespace ts::tcp {

class Aimd : public CongestionControl {
 public:
  void init(CcState&) override { bytes_acked_ = 0; }
  void on_ack(CcState& s, uint32_t acked, uint64_t now) override;
  void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) override;
  void on_recovery_exit(CcState& s, uint64_t now) override;

 protected:
  uint64_t bytes_acked_ = 0;
};

}  // namespace ts::tcp
