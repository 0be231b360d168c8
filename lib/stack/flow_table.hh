// The per-core flow table: 4-tuple -> connection slot. Open addressing with
// linear probing and backward-shift deletion, fixed capacity, a keyed hash so
// that remote hosts cannot aim their addresses and ports at one probe run.
// Lookups never scan the table.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "tcp/isn.hh"

namespace ts::stack {

class FlowTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  FlowTable(size_t capacity, uint64_t key0, uint64_t key1)
      : slots_(std::bit_ceil(capacity < 16 ? size_t(16) : capacity)), k0_(key0), k1_(key1 | 1) {
    mask_ = slots_.size() - 1;
  }

  uint32_t find(const tcp::FourTuple& t) const {
    for (size_t i = home(t);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kNone) return kNone;
      if (s.key == t) return s.value;
    }
  }
  // False when the table is at its load limit (3/4) or the key is present.
  bool insert(const tcp::FourTuple& t, uint32_t value) {
    if ((used_ + 1) * 4 > slots_.size() * 3) return false;
    size_t i = home(t);
    for (; slots_[i].value != kNone; i = (i + 1) & mask_)
      if (slots_[i].key == t) return false;
    slots_[i] = {t, value};
    ++used_;
    return true;
  }
  // Points the present key `t` at `value` (a half-open entry's 4-tuple handed
  // to its connection: no erase and insert); false when `t` is absent.
  bool assign(const tcp::FourTuple& t, uint32_t value) {
    for (size_t i = home(t);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.value == kNone) return false;
      if (s.key == t) {
        s.value = value;
        return true;
      }
    }
  }
  bool erase(const tcp::FourTuple& t) {
    size_t i = home(t);
    for (; slots_[i].value != kNone; i = (i + 1) & mask_) {
      if (!(slots_[i].key == t)) continue;
      // Backward shift: move later members of the run into the hole unless
      // that would put them before their home slot.
      for (size_t j = (i + 1) & mask_; slots_[j].value != kNone; j = (j + 1) & mask_) {
        const size_t k = home(slots_[j].key);
        const bool movable = (j > i) ? (k <= i || k > j) : (k <= i && k > j);
        if (movable) {
          slots_[i] = slots_[j];
          i = j;
        }
      }
      slots_[i] = Slot{};
      --used_;
      return true;
    }
    return false;
  }
  // Starts loading the slot where a search for `t` begins (a hint: a burst
  // prefetches its packets' slots before processing them, so that the cache
  // misses of a large table overlap instead of stalling one by one). Forced
  // inline: as a call, GCC finds it free of side effects and drops the call.
  [[gnu::always_inline]] void prefetch(const tcp::FourTuple& t) const {
    __builtin_prefetch(&slots_[home(t)]);
  }
  size_t size() const { return used_; }
  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    tcp::FourTuple key;
    uint32_t value = kNone;
  };
  [[gnu::always_inline]] size_t home(const tcp::FourTuple& t) const {
    // Keyed multiply-xorshift mixing: cheap per packet, and without the key an
    // attacker cannot predict which tuples collide.
    uint64_t a = (uint64_t(t.local_ip.v) << 32 | t.remote_ip.v) ^ k0_;
    uint64_t b = (uint64_t(t.local_port) << 16 | t.remote_port) * k1_;
    uint64_t h = a * 0x9e3779b97f4a7c15ull ^ b;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return size_t(h) & mask_;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t used_ = 0;
  uint64_t k0_, k1_;
};

}  // namespace ts::stack
