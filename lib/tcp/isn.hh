// Initial sequence numbers (RFC 6528): ISN = M + F(4-tuple, secret), where M is
// a clock ticking every 4 microseconds and F a keyed hash (SipHash-2-4), so
// sequence numbers of one connection's incarnations advance while those of
// different connections cannot be guessed from each other. The same hash gives
// each connection a random timestamp offset (RFC 7323 5.4).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "wire/addr.hh"

namespace ts::tcp {

// SipHash-2-4 (Aumasson and Bernstein, 2012) of `len` bytes under a 128-bit key.
uint64_t siphash24(const std::array<uint8_t, 16>& key, const uint8_t* data, size_t len);

struct FourTuple {
  wire::Ipv4Addr local_ip, remote_ip;
  uint16_t local_port = 0, remote_port = 0;
  bool operator==(const FourTuple&) const = default;
};

class IsnGenerator {
 public:
  explicit IsnGenerator(const std::array<uint8_t, 16>& key) : key_(key) {}
  uint32_t isn(const FourTuple& t, uint64_t now_ns) const;
  uint32_t ts_offset(const FourTuple& t) const;

 private:
  uint64_t hash(const FourTuple& t, uint8_t domain) const;
  std::array<uint8_t, 16> key_;
};

}  // namespace ts::tcp
