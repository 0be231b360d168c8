// NewReno's windows (RFC 5681): slow start, congestion avoidance by byte
// counting (one SMSS per cwnd of acknowledged bytes, RFC 3465), halving on loss.
#pragma once

#include "tcp/cc/cc.hh"

namespace ts::tcp {

class NewReno final : public CongestionControl {
 public:
  const char* name() const override { return "newreno"; }
  void init(CcState&) override { bytes_acked_ = 0; }
  void on_ack(CcState& s, uint32_t acked, uint64_t now) override;
  void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) override;
  void on_recovery_exit(CcState& s, uint64_t now) override;

 private:
  uint64_t bytes_acked_ = 0;
};

}  // namespace ts::tcp
