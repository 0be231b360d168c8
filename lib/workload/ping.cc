#include "workload/ping.hh"

#include <algorithm>
#include <cstring>

#include "wire/bytes.hh"

namespace ts::workload {

PingWorkload::PingWorkload(stack::Stack& stack, const GenConfig& cfg)
    : DatagramLoad(cfg), stack_(stack), payload_(std::max(cfg.size, kMinPayload)) {
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

bool PingWorkload::transmit(uint64_t reqno, uint64_t intended, uint64_t now) {
  fill_payload(reqno, intended);
  if (!stack_.send_echo_request(cfg_.target, kIdent, uint16_t(reqno), payload_, now)) return false;
  stats_.bytes_tx += payload_.size();
  return true;
}

void PingWorkload::on_echo_reply(const stack::EchoReply& r, uint64_t now) {
  if (r.from != cfg_.target || r.ident != kIdent || r.payload.size() < kMinPayload) {
    ++stats_.foreign;
    return;
  }
  const uint8_t* p = r.payload.data();
  const uint64_t reqno = uint64_t(wire::load_be32(p)) << 32 | wire::load_be32(p + 4);
  Slot& s = slot_of(reqno);
  if (reqno >= sent() || s.reqno != reqno || uint16_t(reqno) != r.seq) {
    // Not a request we sent recently: either long given up, or damaged.
    if (reqno < sent() && uint16_t(reqno) == r.seq)
      ++stats_.late_replies;
    else
      ++stats_.responses_bad;
    return;
  }
  if (!s.in_flight) {  // answered already, or counted lost by the timeout
    count_unmatched(s, now);
    return;
  }
  fill_payload(reqno, s.intended);
  if (r.payload.size() != payload_.size() ||
      std::memcmp(r.payload.data(), payload_.data(), payload_.size()) != 0) {
    ++stats_.responses_bad;  // damaged: the request stays in flight
    return;
  }
  finish(s, now, true, r.payload.size());
}

}  // namespace ts::workload
