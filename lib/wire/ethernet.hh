// Ethernet II frames with an optional 802.1Q tag.
#pragma once

#include <cstdint>
#include <span>

#include "wire/addr.hh"
#include "wire/bytes.hh"
#include "wire/error.hh"

namespace ts::wire {

namespace ethertype {
inline constexpr uint16_t ipv4 = 0x0800;
inline constexpr uint16_t arp = 0x0806;
inline constexpr uint16_t vlan = 0x8100;
inline constexpr uint16_t ipv6 = 0x86dd;
}  // namespace ethertype

inline constexpr size_t kEthHeaderLen = 14;
inline constexpr size_t kVlanTagLen = 4;
inline constexpr size_t kEthMinFrame = 60;  // without FCS

// A checked view over a frame's bytes.
class EthernetView {
 public:
  explicit EthernetView(std::span<const uint8_t> frame) : b_(frame) {}

  // Header length including the 802.1Q tag when present; call check() first.
  Error check() const;
  MacAddr dst() const;
  MacAddr src() const;
  bool has_vlan() const { return load_be16(&b_[12]) == ethertype::vlan; }
  uint16_t vlan_id() const { return has_vlan() ? load_be16(&b_[14]) & 0x0fff : 0; }       // 12-bit VID; 0 when untagged
  uint8_t vlan_priority() const { return has_vlan() ? b_[14] >> 5 : 0; }  // PCP
  bool vlan_dei() const { return has_vlan() && (b_[14] & 0x10) != 0; }          // drop eligible
  uint16_t ethertype() const { return load_be16(&b_[has_vlan() ? 16 : 12]); }     // the inner type when tagged
  size_t header_len() const { return has_vlan() ? kEthHeaderLen + kVlanTagLen : kEthHeaderLen; }
  std::span<const uint8_t> payload() const { return b_.subspan(header_len()); }

 private:
  std::span<const uint8_t> b_;
};

struct EthernetRepr {
  MacAddr dst, src;
  uint16_t ethertype = 0;
  bool vlan = false;
  uint16_t vlan_id = 0;
  uint8_t vlan_priority = 0;
  bool vlan_dei = false;

  static Error parse(std::span<const uint8_t> frame, EthernetRepr& out);
  size_t header_len() const { return vlan ? kEthHeaderLen + kVlanTagLen : kEthHeaderLen; }
  // Writes header_len() bytes; `out` must be at least that long.
  void emit(std::span<uint8_t> out) const;
};

}  // namespace ts::wire
