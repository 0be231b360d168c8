// ARP for IPv4 over Ethernet (RFC 826).
#pragma once

#include <cstdint>
#include <span>

#include "wire/addr.hh"
#include "wire/bytes.hh"
#include "wire/error.hh"

namespace ts::wire {

inline constexpr size_t kArpLen = 28;

enum class ArpOp : uint16_t { request = 1, reply = 2 };

class ArpView {
 public:
  explicit ArpView(std::span<const uint8_t> b) : b_(b) {}
  Error check() const;
  uint16_t htype() const { return load_be16(&b_[0]); }
  uint16_t ptype() const { return load_be16(&b_[2]); }
  uint8_t hlen() const { return b_[4]; }
  uint8_t plen() const { return b_[5]; }
  uint16_t op() const { return load_be16(&b_[6]); }
  MacAddr sender_mac() const;
  Ipv4Addr sender_ip() const { return Ipv4Addr(load_be32(&b_[14])); }
  MacAddr target_mac() const;
  Ipv4Addr target_ip() const { return Ipv4Addr(load_be32(&b_[24])); }

 private:
  std::span<const uint8_t> b_;
};

struct ArpRepr {
  ArpOp op = ArpOp::request;
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  MacAddr target_mac;
  Ipv4Addr target_ip;

  static Error parse(std::span<const uint8_t> b, ArpRepr& out);
  static constexpr size_t len() { return kArpLen; }
  void emit(std::span<uint8_t> out) const;
};

}  // namespace ts::wire
