// Initial sequence numbers (RFC 6528): ISN = M + F(4-tuple, secret), where M is
// a clock ticking every 4 microseconds and F a keyed hash (SipHash-2-4), so
// sequence numbers of one connection's incarnations advance while those of
// different connections cannot be guessed from each other. The same hash gives
// each connection a random timestamp offset (RFC 7323 5.4): one SipHash per
// connection, its upper half for the ISN and its lower half for the offset (a
// keyed pseudo-random function's halves tell nothing of each other).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tcp/four_tuple.hh"

namespace ts::tcp {

// SipHash-2-4 (Aumasson and Bernstein, 2012) of `len` bytes under a 128-bit key.
uint64_t siphash24(const std::array<uint8_t, 16>& key, const uint8_t* data, size_t len);
// A 64-bit key for one purpose, derived from `secret` (SipHash as a keyed
// derivation of the purpose's label): keys for different purposes reveal
// nothing of each other or of the secret.
uint64_t derive_key(const std::array<uint8_t, 16>& secret, const char* label);
// A 128-bit key for one purpose, likewise.
std::array<uint8_t, 16> derive_key128(const std::array<uint8_t, 16>& secret, const char* label);

class IsnGenerator {
 public:
  explicit IsnGenerator(const std::array<uint8_t, 16>& key) : key_(key) {}
  struct Numbers {
    uint32_t isn, ts_offset;
  };
  // Both from one hash: what a connection being opened asks for.
  Numbers numbers(const FourTuple& t, uint64_t now_ns) const {
    const uint64_t h = hash(t);
    return {uint32_t(now_ns / 4000) + uint32_t(h >> 32), uint32_t(h)};
  }
  uint32_t isn(const FourTuple& t, uint64_t now_ns) const { return numbers(t, now_ns).isn; }
  uint32_t ts_offset(const FourTuple& t) const { return uint32_t(hash(t)); }

 private:
  uint64_t hash(const FourTuple& t) const;
  std::array<uint8_t, 16> key_;
};

}  // namespace ts::tcp
