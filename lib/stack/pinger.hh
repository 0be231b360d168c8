// An ICMP echo load generator on one stack: closed loop (a window of requests
// in flight) or open loop (a fixed rate, latency measured from the intended
// send time so that a stalled peer shows in the tail instead of slowing the
// sender). Every reply's payload is checked byte for byte.
#pragma once

#include <cstdint>
#include <vector>

#include "stack/stack.hh"
#include "util/histogram.hh"

namespace ts::stack {

struct PingConfig {
  wire::Ipv4Addr target;
  uint32_t window = 1;        // closed loop: requests in flight
  double rate = 0;            // open loop: requests per second; 0 selects closed loop
  uint64_t count = 0;         // requests to send; 0 for no limit
  uint16_t payload_len = 56;  // at least kMinPayload
  uint64_t timeout_ns = 1'000'000'000ull;
  uint16_t ident = 0x7473;
};

struct PingStats {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t lost = 0;          // no reply within the timeout
  uint64_t late = 0;          // a reply after its request was counted lost
  uint64_t corrupt = 0;       // a reply whose payload differs from the request's
  uint64_t duplicate = 0;     // a second reply to one request
  uint64_t foreign = 0;       // replies from another host or pinger
  uint64_t send_failed = 0;   // no buffer for a request
  util::Histogram rtt_ns;
  util::Histogram rtt_interval_ns;  // the same samples; the caller resets it per report
};

class Pinger : public EchoHandler {
 public:
  static constexpr uint16_t kMinPayload = 16;  // request number and send time
  static constexpr size_t kSlots = 65536;      // requests tracked at once

  // Registers itself as the stack's echo handler.
  Pinger(Stack& stack, const PingConfig& cfg);
  ~Pinger() override;

  // Sends what is due and counts requests that timed out.
  void step(uint64_t now);
  // All requests sent and each answered or timed out.
  bool done() const;
  // Sends nothing more; done() once what is in flight is answered or timed out.
  void finish() { finished_ = true; }
  PingStats& mutable_stats() { return stats_; }
  uint64_t in_flight() const { return in_flight_; }
  const PingStats& stats() const { return stats_; }
  const PingConfig& config() const { return cfg_; }

  void on_echo_reply(const EchoReply& r, uint64_t now) override;

 private:
  struct Slot {
    uint64_t reqno = UINT64_MAX;
    uint64_t intended = 0;
    bool in_flight = false;
  };
  bool send_one(uint64_t intended, uint64_t now);
  void fill_payload(uint64_t reqno, uint64_t intended);
  void expire(uint64_t now);
  bool count_reached() const { return finished_ || (cfg_.count && next_reqno_ >= cfg_.count); }

  Stack& stack_;
  PingConfig cfg_;
  PingStats stats_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> payload_;
  uint64_t next_reqno_ = 0;
  uint64_t oldest_ = 0;  // no request older than this is in flight
  uint64_t in_flight_ = 0;
  uint64_t period_ns_ = 0;
  uint64_t next_send_ = 0;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace ts::stack
