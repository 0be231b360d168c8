#include "wire/ethernet.hh"

#include <cstring>

#include "wire/bytes.hh"

namespace ts::wire {

Error EthernetView::check() const {
  if (b_.size() < kEthHeaderLen) return Error::eth_truncated;
  if (load_be16(&b_[12]) == ethertype::vlan && b_.size() < kEthHeaderLen + kVlanTagLen)
    return Error::vlan_truncated;
  return Error::ok;
}

MacAddr EthernetView::dst() const {
  MacAddr m;
  std::memcpy(m.b.data(), &b_[0], 6);
  return m;
}

MacAddr EthernetView::src() const {
  MacAddr m;
  std::memcpy(m.b.data(), &b_[6], 6);
  return m;
}


Error EthernetRepr::parse(std::span<const uint8_t> frame, EthernetRepr& out) {
  EthernetView v(frame);
  if (Error e = v.check(); e != Error::ok) return e;
  out.dst = v.dst();
  out.src = v.src();
  out.vlan = v.has_vlan();
  out.vlan_id = v.vlan_id();
  out.vlan_priority = v.vlan_priority();
  out.vlan_dei = v.vlan_dei();
  out.ethertype = v.ethertype();
  return Error::ok;
}

void EthernetRepr::emit(std::span<uint8_t> out) const {
  std::memcpy(&out[0], dst.b.data(), 6);
  std::memcpy(&out[6], src.b.data(), 6);
  if (vlan) {
    store_be16(&out[12], ethertype::vlan);
    store_be16(&out[14], uint16_t(vlan_priority << 13 | (vlan_dei ? 0x1000 : 0) | (vlan_id & 0x0fff)));
    store_be16(&out[16], ethertype);
  } else {
    store_be16(&out[12], ethertype);
  }
}

}  // namespace ts::wire
