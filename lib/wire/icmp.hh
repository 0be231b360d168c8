// ICMP for IPv4 (RFC 792): echo request and reply; other messages are recognised
// by type and code.
#pragma once

#include <cstdint>
#include <span>

#include "wire/checksum.hh"
#include "wire/bytes.hh"
#include "wire/error.hh"

namespace ts::wire {

namespace icmptype {
inline constexpr uint8_t echo_reply = 0;
inline constexpr uint8_t dest_unreachable = 3;
inline constexpr uint8_t echo_request = 8;
inline constexpr uint8_t time_exceeded = 11;
}  // namespace icmptype

inline constexpr size_t kIcmpHeaderLen = 8;

class IcmpView {
 public:
  explicit IcmpView(std::span<const uint8_t> b) : b_(b) {}
  Error check() const;
  uint8_t type() const { return b_[0]; }
  uint8_t code() const { return b_[1]; }
  uint16_t checksum() const { return load_be16(&b_[2]); }
  uint16_t echo_ident() const { return load_be16(&b_[4]); }
  uint16_t echo_seq() const { return load_be16(&b_[6]); }
  bool checksum_ok() const { return ones_sum(b_.data(), b_.size()) == 0xffff; }
  std::span<const uint8_t> payload() const { return b_.subspan(kIcmpHeaderLen); }

 private:
  std::span<const uint8_t> b_;
};

struct IcmpRepr {
  uint8_t type = icmptype::echo_request;
  uint8_t code = 0;
  uint16_t ident = 0;  // echo only
  uint16_t seq = 0;    // echo only
  std::span<const uint8_t> payload;

  static Error parse(IcmpView v, IcmpRepr& out, CsumCheck csum = CsumCheck::verify);
  size_t len() const { return kIcmpHeaderLen + payload.size(); }
  // `msg` is the whole message (len() bytes) with the payload already in place
  // after the header; writes the header and the checksum over everything.
  void emit_header(std::span<uint8_t> msg) const;
};

// Turns an echo request into its reply in place: only the type changes, so the
// checksum is updated incrementally (RFC 1624) instead of summing the payload.
void icmp_echo_request_to_reply(std::span<uint8_t> msg);

}  // namespace ts::wire
