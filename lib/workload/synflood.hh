// synflood: SYNs at a rate (or as a closed burst of --requests), from the
// endpoint's source addresses in turn (--source-ips: addresses of ours, so
// the replies come back and are counted) and random source ports, keeping
// no state: the SYN-ACKs and resets that come back are counted (the TCP
// layer's tap takes them, so nothing is answered and the target's half-open
// entries stay until they time out). Each SYN's sequence number is its send
// time in microseconds, so a SYN-ACK's acknowledgment gives the round trip.
// For testing how servers, firewalls and load balancers stand a SYN flood;
// only ever aim it at hosts of your own.
#pragma once

#include <cstdint>

#include "stack/stack.hh"
#include "util/rng.hh"
#include "workload/pacer.hh"
#include "workload/workload.hh"

namespace ts::workload {

class SynFlood final : public Workload, public stack::SegmentTap {
 public:
  static constexpr unsigned kMaxPerTick = 4096;

  SynFlood(stack::Stack& stack, const GenConfig& cfg);
  ~SynFlood() override;

  void start(uint64_t now) override;
  void tick(uint64_t now) override;
  void stop() override { pacer_.stop(); }
  void close_all(uint64_t) override {}
  bool done() const override { return pacer_.done(); }
  uint64_t next_deadline() const override { return pacer_.next_due(); }
  uint64_t drain_ns() const override { return 100'000'000; }  // late SYN-ACKs
  const GenStats& stats() const override { return stats_; }
  util::Histogram take_interval() override;
  void clear_latency() override { stats_.latency = util::Histogram(); }
  const GenConfig& config() const override { return cfg_; }

  bool on_stray(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, uint64_t now) override;

 private:
  bool send_syn(uint64_t now);

  stack::Stack& stack_;
  GenConfig cfg_;
  Pacer pacer_;
  GenStats stats_;
  util::Histogram interval_;
  util::Rng rng_;
  uint32_t next_src_ = 0;
};

}  // namespace ts::workload
