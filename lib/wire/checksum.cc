#include "wire/checksum.hh"

#include <cstring>

#include "wire/bytes.hh"

namespace ts::wire {

// The one's complement sum does not depend on byte order (RFC 1071 section 2(B)):
// summing native little-endian words gives the byte-swapped sum. We add 32-bit
// halves of 64-bit loads into 64-bit accumulators, which cannot overflow for any
// packet, and fold at the end; four accumulators keep the adds independent.
uint16_t ones_sum(const uint8_t* p, size_t len, uint16_t initial) {
  uint64_t a0 = __builtin_bswap16(initial), a1 = 0, a2 = 0, a3 = 0;
  while (len >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    a0 += (w[0] & 0xffffffff) + (w[0] >> 32);
    a1 += (w[1] & 0xffffffff) + (w[1] >> 32);
    a2 += (w[2] & 0xffffffff) + (w[2] >> 32);
    a3 += (w[3] & 0xffffffff) + (w[3] >> 32);
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    a0 += (w & 0xffffffff) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    a1 += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    a2 += w;
    p += 2;
    len -= 2;
  }
  if (len) a3 += p[0];  // the high-order byte of a zero-padded word: low byte in native order

  // For any buffer below 1 GiB each accumulator stays below 2^61, so their sum fits.
  uint64_t s = a0 + a1 + a2 + a3;
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return __builtin_bswap16(uint16_t(s));
}

}  // namespace ts::wire
