// UDP (RFC 768).
#pragma once

#include <cstdint>
#include <span>

#include "wire/addr.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/error.hh"

namespace ts::wire {

inline constexpr size_t kUdpHeaderLen = 8;

class UdpView {
 public:
  explicit UdpView(std::span<const uint8_t> b) : b_(b) {}
  Error check() const;
  uint16_t src_port() const { return load_be16(&b_[0]); }
  uint16_t dst_port() const { return load_be16(&b_[2]); }
  uint16_t length() const { return load_be16(&b_[4]); }
  uint16_t checksum() const { return load_be16(&b_[6]); }
  // Zero checksum means the sender computed none (RFC 768).
  bool checksum_ok(Ipv4Addr src, Ipv4Addr dst) const;
  std::span<const uint8_t> payload() const {
    return b_.subspan(kUdpHeaderLen, length() - kUdpHeaderLen);
  }

 private:
  std::span<const uint8_t> b_;
};

struct UdpRepr {
  uint16_t src_port = 0, dst_port = 0;
  std::span<const uint8_t> payload;

  static Error parse(UdpView v, Ipv4Addr src, Ipv4Addr dst, UdpRepr& out,
                     CsumCheck csum = CsumCheck::verify);
  size_t len() const { return kUdpHeaderLen + payload.size(); }
  // `dgram` is the whole datagram (len() bytes) with the payload in place.
  void emit_header(std::span<uint8_t> dgram, Ipv4Addr src, Ipv4Addr dst,
                   CsumFill csum = CsumFill::full) const;
};

}  // namespace ts::wire
