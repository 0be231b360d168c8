#include "workload/ping.hh"

#include <algorithm>
#include <cstring>

#include "wire/bytes.hh"

namespace ts::workload {

namespace {
// Open loop: sends per tick at most, so the core keeps polling for replies.
constexpr unsigned kMaxSendsPerTick = 256;
}  // namespace

PingWorkload::PingWorkload(stack::Stack& stack, const GenConfig& cfg)
    : stack_(stack),
      cfg_(cfg),
      window_(std::clamp<uint32_t>(cfg.conns, 1, kSlots)),
      pacer_(cfg.schedule(), cfg.requests),
      slots_(kSlots),
      payload_(std::max(cfg.size, kMinPayload)) {
  cfg_.size = uint16_t(payload_.size());
  stack_.set_echo_handler(this);
}

PingWorkload::~PingWorkload() { stack_.set_echo_handler(nullptr); }

void PingWorkload::fill_payload(uint64_t reqno, uint64_t intended) {
  uint8_t* p = payload_.data();
  wire::store_be32(p, uint32_t(reqno >> 32));
  wire::store_be32(p + 4, uint32_t(reqno));
  wire::store_be32(p + 8, uint32_t(intended >> 32));
  wire::store_be32(p + 12, uint32_t(intended));
  for (size_t i = kMinPayload; i < payload_.size(); ++i) p[i] = uint8_t(reqno * 7 + i);
}

bool PingWorkload::send_one(uint64_t intended, uint64_t now) {
  const uint64_t reqno = next_reqno_;
  fill_payload(reqno, intended);
  if (!stack_.send_echo_request(cfg_.target, kIdent, uint16_t(reqno), payload_, now)) {
    ++stats_.send_failed;
    return false;
  }
  Slot& s = slots_[reqno % kSlots];
  if (s.in_flight) {  // more than kSlots outstanding: the oldest is given up
    ++stats_.errors;
    stats_.open = --in_flight_;
  }
  s = {reqno, intended, true};
  stats_.open = ++in_flight_;
  ++next_reqno_;
  ++stats_.requests_sent;
  stats_.bytes_tx += payload_.size();
  return true;
}

void PingWorkload::expire(uint64_t now) {
  while (oldest_ < next_reqno_) {
    Slot& s = slots_[oldest_ % kSlots];
    if (s.reqno == oldest_ && s.in_flight) {
      if (now - s.intended < cfg_.timeout_ns) break;
      s.in_flight = false;
      stats_.open = --in_flight_;
      ++stats_.errors;
    }
    ++oldest_;
  }
}

void PingWorkload::start(uint64_t now) {
  start_ = now;
  pacer_.start(now);
  tick(now);
}

void PingWorkload::tick(uint64_t now) {
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

bool PingWorkload::done() const {
  const bool sending_over = pacer_.stopped() || (!pacer_.may_issue() && !pacer_.waiting());
  return pacer_.started() && sending_over && in_flight_ == 0;
}

uint64_t PingWorkload::next_deadline() const {
  uint64_t d = pacer_.next_due();
  if (oldest_ < next_reqno_) {
    const Slot& s = slots_[oldest_ % kSlots];
    if (s.in_flight) d = std::min(d, s.intended + cfg_.timeout_ns);
  }
  return d;
}

GenStats PingWorkload::final_stats() const {
  GenStats s = stats_;
  s.errors += in_flight_;
  s.open = 0;
  return s;
}

util::Histogram PingWorkload::take_interval() {
  util::Histogram h;
  std::swap(h, interval_);
  return h;
}

void PingWorkload::on_echo_reply(const stack::EchoReply& r, uint64_t now) {
  if (r.from != cfg_.target || r.ident != kIdent || r.payload.size() < kMinPayload) {
    ++stats_.foreign;
    return;
  }
  const uint8_t* p = r.payload.data();
  const uint64_t reqno = uint64_t(wire::load_be32(p)) << 32 | wire::load_be32(p + 4);
  Slot& s = slots_[reqno % kSlots];
  if (reqno >= next_reqno_ || s.reqno != reqno || uint16_t(reqno) != r.seq) {
    // Not a request we sent recently: either long given up, or damaged.
    if (reqno < next_reqno_ && uint16_t(reqno) == r.seq)
      ++stats_.late_replies;
    else
      ++stats_.responses_bad;
    return;
  }
  if (!s.in_flight) {
    // Answered already, or counted lost by the timeout.
    ++(s.intended + cfg_.timeout_ns <= now ? stats_.late_replies : stats_.duplicates);
    return;
  }
  fill_payload(reqno, s.intended);
  if (r.payload.size() != payload_.size() ||
      std::memcmp(r.payload.data(), payload_.data(), payload_.size()) != 0) {
    ++stats_.responses_bad;
    return;
  }
  s.in_flight = false;
  stats_.open = --in_flight_;
  ++stats_.responses_ok;
  stats_.bytes_rx += r.payload.size();
  stats_.latency.record(now - s.intended);
  interval_.record(now - s.intended);
}

}  // namespace ts::workload
