// ping: an ICMP echo load on one stack, as a workload mode (workload.hh).
// Closed loop: a window of --conns requests in flight; open loop: --rate
// requests per second, latency from the intended send time (pacer.hh). Every
// reply's payload is checked byte for byte; a request unanswered within
// the timeout is lost.
#pragma once

#include <cstdint>
#include <vector>

#include "stack/stack.hh"
#include "workload/datagram_load.hh"

namespace ts::workload {

class PingWorkload final : public DatagramLoad, public stack::EchoHandler {
 public:
  static constexpr uint16_t kMinPayload = 16;  // request number and send time
  static constexpr uint16_t kIdent = 0x7473;

  // Registers itself as the stack's echo handler.
  PingWorkload(stack::Stack& stack, const GenConfig& cfg);
  ~PingWorkload() override;
  uint16_t payload_len() const { return uint16_t(payload_.size()); }

  void on_echo_reply(const stack::EchoReply& r, uint64_t now) override;

 private:
  bool transmit(uint64_t reqno, uint64_t intended, uint64_t now) override;
  void fill_payload(uint64_t reqno, uint64_t intended);

  stack::Stack& stack_;
  std::vector<uint8_t> payload_;
};

}  // namespace ts::workload
