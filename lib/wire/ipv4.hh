// IPv4 headers (RFC 791). Options are skipped on receive and never sent.
#pragma once

#include <cstdint>
#include <span>

#include "wire/addr.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/error.hh"

namespace ts::wire {

namespace ipproto {
inline constexpr uint8_t icmp = 1;
inline constexpr uint8_t tcp = 6;
inline constexpr uint8_t udp = 17;
}  // namespace ipproto

inline constexpr size_t kIpv4HeaderLen = 20;

class Ipv4View {
 public:
  explicit Ipv4View(std::span<const uint8_t> b) : b_(b) {}

  // Structure only (lengths, version); the checksum is checked by Ipv4Repr::parse.
  Error check() const;
  uint8_t version() const { return b_[0] >> 4; }
  size_t header_len() const { return size_t(b_[0] & 0x0f) * 4; }
  uint8_t tos() const { return b_[1]; }
  uint16_t total_len() const { return load_be16(&b_[2]); }
  uint16_t ident() const { return load_be16(&b_[4]); }
  bool dont_frag() const { return (b_[6] & 0x40) != 0; }
  bool more_frags() const { return (b_[6] & 0x20) != 0; }
  uint16_t frag_offset() const { return load_be16(&b_[6]) & 0x1fff; }  // in 8-byte units
  uint8_t ttl() const { return b_[8]; }
  uint8_t protocol() const { return b_[9]; }
  uint16_t checksum() const { return load_be16(&b_[10]); }
  Ipv4Addr src() const { return Ipv4Addr(load_be32(&b_[12])); }
  Ipv4Addr dst() const { return Ipv4Addr(load_be32(&b_[16])); }
  bool checksum_ok() const { return ones_sum(b_.data(), header_len()) == 0xffff; }
  // The payload up to total_len; a longer frame carries Ethernet padding.
  std::span<const uint8_t> payload() const {
    return b_.subspan(header_len(), total_len() - header_len());
  }

 private:
  std::span<const uint8_t> b_;
};

struct Ipv4Repr {
  Ipv4Addr src, dst;
  uint8_t protocol = 0;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t ident = 0;
  bool dont_frag = true;
  uint16_t payload_len = 0;

  static Error parse(Ipv4View v, Ipv4Repr& out, CsumCheck csum = CsumCheck::verify);
  static constexpr size_t header_len() { return kIpv4HeaderLen; }
  // Writes a 20-byte header.
  void emit(std::span<uint8_t> out, CsumFill csum = CsumFill::full) const;
};

}  // namespace ts::wire
