// ping: an ICMP echo load on one stack, as a workload mode (workload.hh).
// Closed loop: a window of --conns requests in flight; open loop: --rate
// requests per second, latency from the intended send time (pacer.hh). Every
// reply's payload is checked byte for byte; a request unanswered within
// the timeout is lost.
#pragma once

#include <cstdint>
#include <vector>

#include "stack/stack.hh"
#include "workload/pacer.hh"
#include "workload/workload.hh"

namespace ts::workload {

class PingWorkload final : public Workload, public stack::EchoHandler {
 public:
  static constexpr uint16_t kMinPayload = 16;  // request number and send time
  static constexpr size_t kSlots = 65536;      // requests tracked at once
  static constexpr uint16_t kIdent = 0x7473;

  // Registers itself as the stack's echo handler.
  PingWorkload(stack::Stack& stack, const GenConfig& cfg);
  ~PingWorkload() override;

  // Workload.
  void start(uint64_t now) override;
  void tick(uint64_t now) override;
  void stop() override { pacer_.stop(); }
  void close_all(uint64_t) override {}
  // Nothing more will be sent and every request sent was answered or lost.
  bool done() const override;
  uint64_t next_deadline() const override;
  uint64_t drain_ns() const override { return std::min<uint64_t>(cfg_.timeout_ns, 1'000'000'000); }
  const GenStats& stats() const override { return stats_; }
  // Requests never answered by the end count as lost.
  GenStats final_stats() const override;
  util::Histogram take_interval() override;
  void clear_latency() override { stats_.latency = util::Histogram(); }
  const GenConfig& config() const override { return cfg_; }
  uint64_t in_flight() const { return in_flight_; }
  uint16_t payload_len() const { return uint16_t(payload_.size()); }

  void on_echo_reply(const stack::EchoReply& r, uint64_t now) override;

 private:
  struct Slot {
    uint64_t reqno = UINT64_MAX;
    uint64_t intended = 0;
    bool in_flight = false;
  };
  bool send_one(uint64_t intended, uint64_t now);
  void fill_payload(uint64_t reqno, uint64_t intended);
  void expire(uint64_t now);

  stack::Stack& stack_;
  GenConfig cfg_;
  uint32_t window_;
  Pacer pacer_;
  GenStats stats_;
  util::Histogram interval_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> payload_;
  uint64_t next_reqno_ = 0;
  uint64_t oldest_ = 0;  // no request older than this is in flight
  uint64_t in_flight_ = 0;
  uint64_t start_ = 0;
};

}  // namespace ts::workload
