#include "wire/arp.hh"

#include <cstring>

#include "wire/bytes.hh"
#include "wire/ethernet.hh"

namespace ts::wire {

Error ArpView::check() const {
  if (b_.size() < kArpLen) return Error::arp_truncated;
  if (htype() != 1 || ptype() != ethertype::ipv4 || hlen() != 6 || plen() != 4)
    return Error::arp_unsupported;
  if (op() != uint16_t(ArpOp::request) && op() != uint16_t(ArpOp::reply)) return Error::arp_bad_op;
  return Error::ok;
}


MacAddr ArpView::sender_mac() const {
  MacAddr m;
  std::memcpy(m.b.data(), &b_[8], 6);
  return m;
}
MacAddr ArpView::target_mac() const {
  MacAddr m;
  std::memcpy(m.b.data(), &b_[18], 6);
  return m;
}

Error ArpRepr::parse(std::span<const uint8_t> b, ArpRepr& out) {
  ArpView v(b);
  if (Error e = v.check(); e != Error::ok) return e;
  out.op = ArpOp(v.op());
  out.sender_mac = v.sender_mac();
  out.sender_ip = v.sender_ip();
  out.target_mac = v.target_mac();
  out.target_ip = v.target_ip();
  return Error::ok;
}

void ArpRepr::emit(std::span<uint8_t> out) const {
  store_be16(&out[0], 1);
  store_be16(&out[2], ethertype::ipv4);
  out[4] = 6;
  out[5] = 4;
  store_be16(&out[6], uint16_t(op));
  std::memcpy(&out[8], sender_mac.b.data(), 6);
  store_be32(&out[14], sender_ip.v);
  std::memcpy(&out[18], target_mac.b.data(), 6);
  store_be32(&out[24], target_ip.v);
}

}  // namespace ts::wire
