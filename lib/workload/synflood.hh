// synflood: SYNs at a rate (or as a closed burst of --requests), from the
// endpoint's source addresses in turn (--source-ips: addresses of ours, so
// the replies come back and are counted) and random source ports, keeping
// no state: the SYN-ACKs and resets that come back are counted (the TCP
// layer's tap takes them, so nothing is answered and the target's half-open
// entries stay until they time out). Each SYN's sequence number is its send
// time in microseconds, so a SYN-ACK's acknowledgment gives the round trip.
// For testing how servers, firewalls and load balancers stand a SYN flood;
// only ever aim it at hosts of your own. With `legit_conns`, that many
// ordinary cps connections (connect, request, response, close) run beside
// the flood on the same stack, from the ephemeral ports (the flood's source
// ports are kept apart from them by the apps), so that what the flood does to
// real clients is measured in the same run. The flood's source ports must
// then lie outside the stack's ephemeral range (std::invalid_argument).
#pragma once

#include <cstdint>
#include <memory>

#include "stack/stack.hh"
#include "util/rng.hh"
#include "workload/generator.hh"
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
  void stop() override;
  void close_all(uint64_t now) override;
  bool done() const override { return pacer_.done(); }
  uint64_t next_deadline() const override;
  uint64_t drain_ns() const override;  // late SYN-ACKs (and the legitimate exchanges)
  // The flood's counts, with the legitimate connections' in the conns_*,
  // open and legit_* fields.
  const GenStats& stats() const override;
  GenStats final_stats() const override;
  util::Histogram take_interval() override;
  void clear_latency() override;
  const GenConfig& config() const override { return cfg_; }

  bool on_stray(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, uint64_t now) override;

 private:
  bool send_syn(uint64_t now);
  void add_legit(GenStats& into, const GenStats& legit) const;

  stack::Stack& stack_;
  GenConfig cfg_;
  Pacer pacer_;
  GenStats stats_;
  util::Histogram interval_;
  util::Rng rng_;
  uint32_t next_src_ = 0;
  std::unique_ptr<Generator> legit_;  // with legit_conns
  mutable GenStats view_;             // stats(): the flood's and the legitimate connections'
};

}  // namespace ts::workload
