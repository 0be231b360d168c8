// The Internet checksum: full computation (RFC 1071) and incremental update (RFC 1624).
//
// Values are handled as host-order numbers equal to the big-endian 16-bit words
// on the wire: store them with store_be16().
#pragma once

#include <cstddef>
#include <cstdint>

#include "wire/addr.hh"

namespace ts::wire {

// One's complement sum of `len` bytes read as big-endian 16-bit words, folded to
// 16 bits, not complemented, added to `initial`. `p` must be the start of a word
// of the checksummed area (an odd trailing byte is padded with zero, RFC 1071).
uint16_t ones_sum(const uint8_t* p, size_t len, uint16_t initial = 0);

inline uint16_t ones_add(uint16_t a, uint16_t b) {
  uint32_t s = uint32_t(a) + b;
  return uint16_t((s & 0xffff) + (s >> 16));
}

// The checksum to store: the complement of the sum.
inline uint16_t checksum(const uint8_t* p, size_t len, uint16_t initial = 0) {
  return uint16_t(~ones_sum(p, len, initial));
}

// Sum of the IPv4 pseudo-header used by TCP and UDP (RFC 9293 3.1, RFC 768).
inline uint16_t pseudo_header_sum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint16_t l4_len) {
  uint32_t s = (src.v >> 16) + (src.v & 0xffff) + (dst.v >> 16) + (dst.v & 0xffff) + proto + l4_len;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return uint16_t(s);
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), when one 16-bit word changes from m to m'.
inline uint16_t checksum_update16(uint16_t hc, uint16_t old_word, uint16_t new_word) {
  return uint16_t(~ones_add(ones_add(uint16_t(~hc), uint16_t(~old_word)), new_word));
}

inline uint16_t checksum_update32(uint16_t hc, uint32_t old_value, uint32_t new_value) {
  hc = checksum_update16(hc, uint16_t(old_value >> 16), uint16_t(new_value >> 16));
  return checksum_update16(hc, uint16_t(old_value), uint16_t(new_value));
}

}  // namespace ts::wire

namespace ts::wire {

// Receive side: verify in software, or trust a device that already checked.
enum class CsumCheck : uint8_t { verify, trust };
// Transmit side: compute the whole checksum, or prepare for a device that fills it
// in (IPv4: zero; TCP/UDP: the pseudo-header sum, as NICs expect).
enum class CsumFill : uint8_t { full, offload };

}  // namespace ts::wire
