#include "tcp/isn.hh"

#include <cstring>
#include <string>

#include "wire/bytes.hh"

namespace ts::tcp {

namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline void sipround(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13);
  v1 ^= v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotl(v1, 17);
  v1 ^= v2;
  v2 = rotl(v2, 32);
}

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;  // the host is little-endian (wire/bytes.hh)
}

// Inlined where the length is known (IsnGenerator::hash: 12 bytes), so that
// the loops unroll and the tail is one load, not a byte at a time.
[[gnu::always_inline]] inline uint64_t siphash24_inline(const std::array<uint8_t, 16>& key,
                                                        const uint8_t* data, size_t len) {
  const uint64_t k0 = load_le64(key.data()), k1 = load_le64(key.data() + 8);
  uint64_t v0 = 0x736f6d6570736575ull ^ k0;
  uint64_t v1 = 0x646f72616e646f6dull ^ k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ k0;
  uint64_t v3 = 0x7465646279746573ull ^ k1;
  const size_t whole = len & ~size_t(7);
  for (size_t i = 0; i < whole; i += 8) {
    const uint64_t m = load_le64(data + i);
    v3 ^= m;
    sipround(v0, v1, v2, v3);
    sipround(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t last = uint64_t(len) << 56;
  for (size_t i = 0; i < (len & 7); ++i) last |= uint64_t(data[whole + i]) << (8 * i);
  v3 ^= last;
  sipround(v0, v1, v2, v3);
  sipround(v0, v1, v2, v3);
  v0 ^= last;
  v2 ^= 0xff;
  for (int r = 0; r < 4; ++r) sipround(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace

uint64_t siphash24(const std::array<uint8_t, 16>& key, const uint8_t* data, size_t len) {
  return siphash24_inline(key, data, len);
}

uint64_t derive_key(const std::array<uint8_t, 16>& secret, const char* label) {
  return siphash24(secret, reinterpret_cast<const uint8_t*>(label), std::strlen(label));
}

std::array<uint8_t, 16> derive_key128(const std::array<uint8_t, 16>& secret, const char* label) {
  const std::string lo = std::string(label) + "/0", hi = std::string(label) + "/1";
  const uint64_t a = derive_key(secret, lo.c_str()), b = derive_key(secret, hi.c_str());
  std::array<uint8_t, 16> k;
  std::memcpy(k.data(), &a, 8);
  std::memcpy(k.data() + 8, &b, 8);
  return k;
}

uint64_t IsnGenerator::hash(const FourTuple& t) const {
  uint8_t b[12];
  wire::store_be32(b, t.local_ip.v);
  wire::store_be32(b + 4, t.remote_ip.v);
  wire::store_be16(b + 8, t.local_port);
  wire::store_be16(b + 10, t.remote_port);
  return siphash24_inline(key_, b, sizeof b);
}

}  // namespace ts::tcp
