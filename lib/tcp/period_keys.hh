// Keys that follow a coarse clock: the key of period n is derived from a
// master key and n (tcp::derive_key128), so every core that holds the same
// secret has the same keys without sharing or locking anything, and
// "rotation" is a derivation when a period begins. The keys of the two
// periods last asked for are kept (the current one and the one before, which
// still validates). Used by SYN cookies and Fast Open cookies
// (docs/defences.md, docs/fastopen.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "tcp/isn.hh"

namespace ts::tcp {

class PeriodKeys {
 public:
  PeriodKeys(const std::array<uint8_t, 16>& secret, const char* label)
      : master_(derive_key128(secret, label)) {}
  const std::array<uint8_t, 16>& of(uint64_t period) {
    Key& k = keys_[period & 1];
    if (k.period != period) {
      k.period = period;
      k.key = derive_key128(master_, ("period " + std::to_string(period)).c_str());
    }
    return k.key;
  }

 private:
  struct Key {
    uint64_t period = UINT64_MAX;
    std::array<uint8_t, 16> key{};
  };
  std::array<uint8_t, 16> master_;
  Key keys_[2];
};

}  // namespace ts::tcp
