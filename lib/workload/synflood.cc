#include "workload/synflood.hh"

#include <algorithm>
#include <stdexcept>

namespace ts::workload {

namespace {
// Without --rate, SYNs go out as fast as this many per tick allow.
constexpr unsigned kClosedBurst = 256;
}  // namespace

SynFlood::SynFlood(stack::Stack& stack, const GenConfig& cfg)
    : stack_(stack), cfg_(cfg), pacer_(cfg.schedule(), cfg.requests), rng_(cfg.seed * 7919 + 1) {
  stack_.tcp().set_tap(this);
  if (cfg.legit_conns) {
    const auto& t = stack_.tcp().config();
    if (cfg.port_first <= t.ephemeral_last && t.ephemeral_first <= cfg.port_last)
      throw std::invalid_argument(
          "synflood: the flood's source ports overlap the ephemeral ports of the legitimate "
          "connections");
    // A closed loop of cps connections; their segments match connections, so
    // the tap never sees them.
    legit_ = std::make_unique<Generator>(stack_.tcp(), cfg.legit_config());
  }
}

SynFlood::~SynFlood() { stack_.tcp().set_tap(nullptr); }

void SynFlood::start(uint64_t now) {
  pacer_.start(now);
  if (legit_) legit_->start(now);
  tick(now);
}

void SynFlood::stop() {
  pacer_.stop();
  if (legit_) legit_->stop();
}

void SynFlood::close_all(uint64_t now) {
  if (legit_) legit_->close_all(now);
}

uint64_t SynFlood::next_deadline() const {
  return legit_ ? std::min(pacer_.next_due(), legit_->next_deadline()) : pacer_.next_due();
}

uint64_t SynFlood::drain_ns() const {
  constexpr uint64_t kLateSynAck = 100'000'000;
  return legit_ ? std::max(kLateSynAck, legit_->drain_ns()) : kLateSynAck;
}

void SynFlood::add_legit(GenStats& into, const GenStats& l) const {
  into.conns_attempted = l.conns_attempted;
  into.conns_established = l.conns_established;
  into.conns_failed = l.conns_failed;
  into.conns_refused = l.conns_refused;
  into.conns_timed_out = l.conns_timed_out;
  into.conns_reset = l.conns_reset;
  into.conns_no_slot = l.conns_no_slot;
  into.open = l.open;
  into.legit_ok = l.responses_ok;
  into.legit_errors = l.responses_bad + l.errors;
  into.legit_latency = l.latency;
}

const GenStats& SynFlood::stats() const {
  if (!legit_) return stats_;
  view_ = stats_;
  add_legit(view_, legit_->stats());
  return view_;
}

GenStats SynFlood::final_stats() const {
  GenStats s = stats_;
  if (legit_) add_legit(s, legit_->final_stats());
  return s;
}

void SynFlood::clear_latency() {
  stats_.latency = util::Histogram();
  if (legit_) legit_->clear_latency();
}

util::Histogram SynFlood::take_interval() {
  if (legit_) legit_->take_interval();  // the progress line shows the SYN-ACKs'
  util::Histogram h;
  std::swap(h, interval_);
  return h;
}

bool SynFlood::send_syn(uint64_t now) {
  const uint32_t sources = stack_.source_addresses();
  if (next_src_ >= sources) next_src_ = 0;
  wire::TcpRepr t;
  const uint32_t span = uint32_t(cfg_.port_last - cfg_.port_first) + 1;
  t.src_port = uint16_t(cfg_.port_first + rng_.below(span));
  t.dst_port = cfg_.port;
  t.seq = uint32_t(now / 1000);  // the send time: the SYN-ACK's ACK gives the round trip
  t.flags = wire::tcpflag::syn;
  t.window = 65535;
  t.options.has_mss = true;
  t.options.mss = 1460;
  if (!stack_.send_tcp(stack_.source_address(next_src_++), cfg_.target, t, {}, now)) {
    ++stats_.send_failed;
    return false;
  }
  ++stats_.requests_sent;
  return true;
}

void SynFlood::tick(uint64_t now) {
  if (!pacer_.started()) return;
  if (legit_) legit_->tick(now);
  if (pacer_.open_loop()) {
    // A SYN that found no buffer waits (bounded) and goes first.
    uint64_t due;
    while (pacer_.waiting() && send_syn(now)) {
      pacer_.pop_waiting(due);
      pacer_.finish();
    }
    pacer_.release_due(now, kMaxPerTick, [&](uint64_t) {
      if (!send_syn(now)) return false;
      pacer_.finish();  // a SYN is done once sent: nothing waits for its answer
      return true;
    });
    stats_.late_dropped = pacer_.late_dropped();
    return;
  }
  // Closed loop: as fast as the device takes them, up to --requests.
  for (unsigned n = 0; n < kClosedBurst && pacer_.may_issue(); ++n) {
    if (!send_syn(now)) break;
    pacer_.issue();
    pacer_.finish();
  }
}

bool SynFlood::on_stray(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, uint64_t now) {
  if (ip.src != cfg_.target || seg.src_port != cfg_.port) return false;
  using namespace wire::tcpflag;
  if ((seg.flags & (syn | ack)) == (syn | ack)) {
    ++stats_.responses_ok;
    const uint32_t sent_us = seg.ack - 1;
    const uint32_t rtt_us = uint32_t(now / 1000) - sent_us;
    if (rtt_us < 60'000'000) {  // a plausible round trip (not a stray)
      stats_.latency.record(uint64_t(rtt_us) * 1000);
      interval_.record(uint64_t(rtt_us) * 1000);
    }
    return true;
  }
  if (seg.flags & rst) {
    ++stats_.resets;
    return true;
  }
  return false;
}

}  // namespace ts::workload
