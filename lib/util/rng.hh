// A small, fast, seedable PRNG (xoshiro256** seeded through splitmix64), so that
// every random decision in the fault injector and the simulator replays exactly
// from its seed.
#pragma once

#include <cstdint>

namespace ts::util {

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 1) { reseed(seed); }

  void reseed(uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  // True with probability p (p <= 0: never, p >= 1: always).
  bool chance(double p) { return p > 0 && uniform() < p; }
  // Uniform in [0, n); n > 0. The bias of the multiply-shift is below 2^-32 for n < 2^32.
  uint64_t below(uint64_t n) {
    __extension__ using u128 = unsigned __int128;
    return uint64_t(u128(next()) * n >> 64);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace ts::util
