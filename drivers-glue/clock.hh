// Nanoseconds from the TSC: the clock every lib/ entry point receives as `now`.
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace ts::glue {

class TscClock {
 public:
  TscClock() : base_(rte_rdtsc()) {
    const uint64_t hz = rte_get_tsc_hz();
    // ns = cycles * 1e9 / hz, as a 32.32 fixed-point multiply.
    mult_ = (uint64_t(1'000'000'000) << 32) / (hz ? hz : 1'000'000'000);
  }
  uint64_t now_ns() const {
    __extension__ using u128 = unsigned __int128;
    return uint64_t((u128(rte_rdtsc() - base_) * mult_) >> 32);
  }

 private:
  uint64_t base_;
  uint64_t mult_;
};

}  // namespace ts::glue
