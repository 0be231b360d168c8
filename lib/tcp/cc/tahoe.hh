// Tahoe (Jacobson 1988, 4.3BSD-Tahoe): slow start, congestion avoidance and
// fast retransmit, and no fast recovery: any loss, found by three duplicate
// ACKs or by the timer, sets ssthresh to half the flight and slow-starts
// again from one segment (RecoveryStyle::tahoe sends the retransmission).
#pragma once

#include "tcp/cc/aimd.hh"

namespace ts::tcp {

class Tahoe final : public Aimd {
 public:
  const char* name() const override { return "tahoe"; }
  void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) override;
};

}  // namespace ts::tcp
