#include "workload/datagram_load.hh"

#include <algorithm>

namespace ts::workload {

namespace {
// Open loop: sends per tick at most, so the core keeps polling for replies.
constexpr unsigned kMaxSendsPerTick = 256;
}  // namespace

DatagramLoad::DatagramLoad(const GenConfig& cfg)
    : cfg_(cfg),
      window_(std::clamp<uint32_t>(cfg.conns, 1, kSlots)),
      pacer_(cfg.schedule(), cfg.requests),
      slots_(kSlots) {}

bool DatagramLoad::send_one(uint64_t intended, uint64_t now) {
  const uint64_t reqno = next_reqno_;
  Slot& s = slot_of(reqno);
  if (s.in_flight) {  // more than kSlots outstanding: the oldest is given up
    ++stats_.errors;
    s.in_flight = false;
    stats_.open = --in_flight_;
  }
  if (!transmit(reqno, intended, now)) {
    ++stats_.send_failed;
    return false;
  }
  s = {reqno, intended, true};
  stats_.open = ++in_flight_;
  ++next_reqno_;
  ++stats_.requests_sent;
  return true;
}

void DatagramLoad::expire(uint64_t now) {
  while (oldest_ < next_reqno_) {
    Slot& s = slot_of(oldest_);
    if (s.reqno == oldest_ && s.in_flight) {
      if (now - s.intended < cfg_.timeout_ns) break;
      s.in_flight = false;
      stats_.open = --in_flight_;
      ++stats_.errors;
    }
    ++oldest_;
  }
}

void DatagramLoad::start(uint64_t now) {
  start_ = now;
  pacer_.start(now);
  tick(now);
}

void DatagramLoad::tick(uint64_t now) {
  if (!pacer_.started()) return;
  expire(now);
  if (!pacer_.open_loop()) {
    const uint32_t window = std::min<uint32_t>(window_, cfg_.conns_at(now - start_));
    while (in_flight_ < window && pacer_.may_issue()) {
      if (!send_one(now, now)) break;
      pacer_.issue();
    }
    return;
  }
  // A request that could not be sent (no buffer) waits and goes first.
  uint64_t due;
  while (pacer_.waiting() && send_one(pacer_.oldest_waiting(), now)) pacer_.pop_waiting(due);
  pacer_.release_due(now, kMaxSendsPerTick, [&](uint64_t d) { return send_one(d, now); });
  stats_.late_dropped = pacer_.late_dropped();
}

bool DatagramLoad::done() const {
  const bool sending_over = pacer_.stopped() || (!pacer_.may_issue() && !pacer_.waiting());
  return pacer_.started() && sending_over && in_flight_ == 0;
}

uint64_t DatagramLoad::next_deadline() const {
  uint64_t d = pacer_.next_due();
  if (oldest_ < next_reqno_) {
    const Slot& s = slots_[oldest_ % kSlots];
    if (s.in_flight) d = std::min(d, s.intended + cfg_.timeout_ns);
  }
  return d;
}

GenStats DatagramLoad::final_stats() const {
  GenStats s = stats_;
  s.errors += in_flight_;
  s.open = 0;
  return s;
}

util::Histogram DatagramLoad::take_interval() {
  util::Histogram h;
  std::swap(h, interval_);
  return h;
}

void DatagramLoad::count_unmatched(const Slot& s, uint64_t now) {
  ++(s.intended + cfg_.timeout_ns <= now ? stats_.late_replies : stats_.duplicates);
}

void DatagramLoad::finish(Slot& s, uint64_t now, bool ok, size_t bytes) {
  s.in_flight = false;
  stats_.open = --in_flight_;
  stats_.bytes_rx += bytes;
  if (!ok) {
    ++stats_.responses_bad;
    return;
  }
  ++stats_.responses_ok;
  stats_.latency.record(now - s.intended);
  interval_.record(now - s.intended);
}

}  // namespace ts::workload
