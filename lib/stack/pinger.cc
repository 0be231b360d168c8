#include "stack/pinger.hh"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "wire/bytes.hh"

namespace ts::stack {

Pinger::Pinger(Stack& stack, const PingConfig& cfg)
    : stack_(stack), cfg_(cfg), slots_(kSlots), payload_(std::max(cfg.payload_len, kMinPayload)) {
  cfg_.payload_len = uint16_t(payload_.size());
  cfg_.window = std::clamp<uint32_t>(cfg_.window, 1, kSlots);
  if (cfg_.rate > 0) period_ns_ = std::max<uint64_t>(1, uint64_t(std::llround(1e9 / cfg_.rate)));
  stack_.set_echo_handler(this);
}

Pinger::~Pinger() { stack_.set_echo_handler(nullptr); }

void Pinger::fill_payload(uint64_t reqno, uint64_t intended) {
  uint8_t* p = payload_.data();
  wire::store_be32(p, uint32_t(reqno >> 32));
  wire::store_be32(p + 4, uint32_t(reqno));
  wire::store_be32(p + 8, uint32_t(intended >> 32));
  wire::store_be32(p + 12, uint32_t(intended));
  for (size_t i = kMinPayload; i < payload_.size(); ++i) p[i] = uint8_t(reqno * 7 + i);
}

bool Pinger::send_one(uint64_t intended, uint64_t now) {
  const uint64_t reqno = next_reqno_;
  fill_payload(reqno, intended);
  if (!stack_.send_echo_request(cfg_.target, cfg_.ident, uint16_t(reqno), payload_, now)) {
    ++stats_.send_failed;
    return false;
  }
  Slot& s = slots_[reqno % kSlots];
  if (s.in_flight) {  // more than kSlots outstanding: the oldest is given up
    ++stats_.lost;
    --in_flight_;
  }
  s = {reqno, intended, true};
  ++in_flight_;
  ++next_reqno_;
  ++stats_.sent;
  return true;
}

void Pinger::expire(uint64_t now) {
  while (oldest_ < next_reqno_) {
    Slot& s = slots_[oldest_ % kSlots];
    if (s.reqno == oldest_ && s.in_flight) {
      if (now - s.intended < cfg_.timeout_ns) break;
      s.in_flight = false;
      --in_flight_;
      ++stats_.lost;
    }
    ++oldest_;
  }
}

void Pinger::step(uint64_t now) {
  if (!started_) {
    started_ = true;
    next_send_ = now;
  }
  expire(now);
  if (period_ns_ == 0) {
    while (in_flight_ < cfg_.window && !count_reached())
      if (!send_one(now, now)) break;
    return;
  }
  // Open loop: catch up on every send that is due, but in bounded bursts so the
  // core keeps polling for replies.
  for (int burst = 0; burst < 256 && next_send_ <= now && !count_reached(); ++burst) {
    if (!send_one(next_send_, now)) break;
    next_send_ += period_ns_;
  }
}

bool Pinger::done() const { return count_reached() && in_flight_ == 0; }

void Pinger::on_echo_reply(const EchoReply& r, uint64_t now) {
  if (r.from != cfg_.target || r.ident != cfg_.ident || r.payload.size() < kMinPayload) {
    ++stats_.foreign;
    return;
  }
  const uint8_t* p = r.payload.data();
  const uint64_t reqno = uint64_t(wire::load_be32(p)) << 32 | wire::load_be32(p + 4);
  Slot& s = slots_[reqno % kSlots];
  if (reqno >= next_reqno_ || s.reqno != reqno || uint16_t(reqno) != r.seq) {
    // Not a request we sent recently: either long given up, or damaged.
    if (reqno < next_reqno_ && uint16_t(reqno) == r.seq)
      ++stats_.late;
    else
      ++stats_.corrupt;
    return;
  }
  if (!s.in_flight) {
    // Answered already, or counted lost by the timeout.
    ++(s.intended + cfg_.timeout_ns <= now ? stats_.late : stats_.duplicate);
    return;
  }
  fill_payload(reqno, s.intended);
  if (r.payload.size() != payload_.size() ||
      std::memcmp(r.payload.data(), payload_.data(), payload_.size()) != 0) {
    ++stats_.corrupt;
    return;
  }
  s.in_flight = false;
  --in_flight_;
  ++stats_.received;
  stats_.rtt_ns.record(now - s.intended);
  stats_.rtt_interval_ns.record(now - s.intended);
}

}  // namespace ts::stack
