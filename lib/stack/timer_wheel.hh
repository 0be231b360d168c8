// A hierarchical hashed timer wheel (Varghese and Lauck's scheme 7, with
// cascading) over a fixed set of ids, one timer per id: O(1) schedule, cancel
// and reschedule, no allocation after construction, no search on expiry.
//
// Time is cut into ticks of 2^kTickShift ns (16.4 us). Four levels of 256
// buckets cover 256 ticks (4.2 ms), 2^16 ticks (1.07 s), 2^24 ticks (4.6 min)
// and 2^32 ticks (19.5 h); a timer goes to the finest level whose range holds
// it and moves down a level when the coarser bucket comes round. A timer
// fires in the first advance() whose `now` reaches the start of the tick
// after its time, so at most one tick late and never early, except that a
// time beyond 19.5 h is clamped to 19.5 h (the owner checks and re-arms).
// Each bucket is an intrusive doubly linked list threaded through the ids'
// nodes, so nodes live in one array sized at construction.
#pragma once

#include <array>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace ts::stack {

class TimerWheel {
 public:
  static constexpr unsigned kTickShift = 14;
  static constexpr unsigned kLevels = 4;
  static constexpr unsigned kBits = 8;
  static constexpr uint32_t kBuckets = 1u << kBits;
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint32_t kFiring = kLevels * kBuckets;  // the list being fired

  // ids in [0, ids); the wheel starts at time `now`.
  explicit TimerWheel(uint32_t ids, uint64_t now = 0) : nodes_(ids), cur_(now >> kTickShift) {
    heads_.fill(kNone);
  }
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms id's timer for `at`, replacing any time it had; `now` lets an empty
  // wheel catch up with the clock first.
  void schedule(uint32_t id, uint64_t at, uint64_t now) {
    Node& n = nodes_[id];
    if (n.bucket != kNone) unlink(id);
    if (count_ == 0 && (now >> kTickShift) > cur_) cur_ = now >> kTickShift;
    n.at = at;
    link(id);
  }
  void cancel(uint32_t id) {
    if (nodes_[id].bucket != kNone) unlink(id);
  }
  bool armed(uint32_t id) const { return nodes_[id].bucket != kNone; }
  // Starts loading id's node (a hint, before a cancel or a schedule).
  void prefetch(uint32_t id) const { __builtin_prefetch(&nodes_[id]); }
  // The time id was armed for (meaningful while armed).
  uint64_t at(uint32_t id) const { return nodes_[id].at; }
  size_t size() const { return count_; }
  uint32_t ids() const { return uint32_t(nodes_.size()); }

  // Fires, in tick order, every timer whose tick has been reached by `now`:
  // fire(id) is called after id is disarmed, and may arm any timer again.
  template <class F>
  void advance(uint64_t now, F&& fire) {
    const uint64_t target = now >> kTickShift;
    while (cur_ <= target) {
      if (count_ == 0) {
        cur_ = target + 1;
        return;
      }
      if ((cur_ & (kBuckets - 1)) == 0) cascade();
      const uint32_t b = uint32_t(cur_ & (kBuckets - 1));
      if (heads_[b] == kNone) {
        // Nothing in this tick: jump to where something can happen, the next
        // tick if level 0 holds timers, else the next wrap of the finest
        // level that does (where its bucket cascades).
        unsigned level = 0;
        while (level + 1 < kLevels && per_level_[level] == 0) ++level;
        const uint64_t span = uint64_t(1) << (kBits * level);
        const uint64_t next = level == 0 ? cur_ + 1 : (cur_ | (span - 1)) + 1;
        cur_ = next < target + 1 ? next : target + 1;
        continue;
      }
      // Move the bucket to the firing list first: fire() may cancel or re-arm
      // any timer, including ones still waiting in this list, and a re-armed
      // timer lands in a later tick (cur_ has moved past this one).
      size_t n = 0;
      for (uint32_t id = heads_[b]; id != kNone; id = nodes_[id].next, ++n)
        nodes_[id].bucket = kFiring;
      heads_[kFiring] = heads_[b];
      heads_[b] = kNone;
      per_level_[0] -= n;
      per_level_[kLevels] += n;
      ++cur_;
      while (heads_[kFiring] != kNone) {
        const uint32_t id = heads_[kFiring];
        unlink(id);
        fire(id);
      }
    }
  }

  // A time no later than the earliest armed timer's firing: exact for timers
  // within 4.2 ms, else the time its coarser bucket cascades (the simulator
  // polls there and asks again); UINT64_MAX when nothing is armed.
  uint64_t next_deadline() const {
    if (count_ == 0) return UINT64_MAX;
    uint64_t best = UINT64_MAX;
    if (per_level_[0] != 0)
      for (uint64_t t = cur_; t < cur_ + kBuckets; ++t)
        if (heads_[t & (kBuckets - 1)] != kNone) {
          best = t;
          break;
        }
    for (unsigned level = 1; level < kLevels; ++level) {
      if (per_level_[level] == 0) continue;
      // Bucket k blocks ahead cascades at the start of that block; the
      // current block's bucket already did (it now holds the next round's).
      const unsigned shift = kBits * level;
      const uint64_t block = cur_ >> shift;
      const bool at_start = (cur_ & ((uint64_t(1) << shift) - 1)) == 0;
      for (uint64_t k = at_start ? 0 : 1; k <= kBuckets; ++k)
        if (heads_[level * kBuckets + ((block + k) & (kBuckets - 1))] != kNone) {
          best = std::min(best, (block + k) << shift);
          break;
        }
    }
    return best << kTickShift;
  }

 private:
  struct Node {
    uint64_t at = 0;
    uint32_t prev = kNone, next = kNone;
    uint32_t bucket = kNone;  // level * kBuckets + index, kNone when disarmed
  };

  // The tick a time fires in: the first tick starting at or after it.
  static uint64_t tick_of(uint64_t at) {
    const uint64_t t = at >> kTickShift;
    return (t << kTickShift) == at ? t : t + 1;
  }

  void link(uint32_t id) {
    Node& n = nodes_[id];
    uint64_t e = tick_of(n.at);
    if (e < cur_) e = cur_;  // already due: the next tick advance() visits
    uint64_t delta = e - cur_;
    constexpr uint64_t kMaxDelta = (uint64_t(1) << (kBits * kLevels)) - 1;
    if (delta > kMaxDelta) {
      delta = kMaxDelta;
      e = cur_ + kMaxDelta;
    }
    unsigned level = 0;
    while (level + 1 < kLevels && delta >= (uint64_t(1) << (kBits * (level + 1)))) ++level;
    const uint32_t b = level * kBuckets + uint32_t((e >> (kBits * level)) & (kBuckets - 1));
    n.bucket = b;
    n.prev = kNone;
    n.next = heads_[b];
    if (n.next != kNone) nodes_[n.next].prev = id;
    heads_[b] = id;
    ++count_;
    ++per_level_[level];
  }

  void unlink(uint32_t id) {
    Node& n = nodes_[id];
    if (n.prev != kNone)
      nodes_[n.prev].next = n.next;
    else
      heads_[n.bucket] = n.next;
    if (n.next != kNone) nodes_[n.next].prev = n.prev;
    --per_level_[n.bucket / kBuckets];
    n.bucket = kNone;
    --count_;
  }

  // At a wrap of level 0: moves the timers of the coarser buckets that come
  // round now one level (or more) down, coarsest first.
  void cascade() {
    unsigned top = 1;
    while (top + 1 < kLevels && ((cur_ >> (kBits * top)) & (kBuckets - 1)) == 0) ++top;
    for (unsigned level = top; level >= 1; --level) {
      const uint32_t b = level * kBuckets + uint32_t((cur_ >> (kBits * level)) & (kBuckets - 1));
      uint32_t id = heads_[b];
      heads_[b] = kNone;
      while (id != kNone) {
        const uint32_t next = nodes_[id].next;
        nodes_[id].bucket = kNone;
        --count_;
        --per_level_[level];
        link(id);
        id = next;
      }
    }
  }

  std::vector<Node> nodes_;
  std::array<uint32_t, kLevels * kBuckets + 1> heads_;
  uint64_t cur_;  // the next tick to visit
  size_t count_ = 0;
  std::array<size_t, kLevels + 1> per_level_{};  // the last: the firing list
};

}  // namespace ts::stack
