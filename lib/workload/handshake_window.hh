// How many handshakes a load generator keeps in flight (docs/architecture.md,
// "Workload modes"): a window that starts at kFirstBurst (what the ARP cache
// holds for one unresolved address, so the first SYNs survive resolution,
// and all a dead target gets), grows by one for every handshake answered at
// the first try (doubling per round trip, like slow start), halves when one
// needed its SYN again (once per round: only for a connection opened after
// the last halving), and stops at kMax (a NIC's ring: a lost SYN is seen only
// after a second, so the window must not outgrow what a path queues); at
// most kPerTick new ones per tick.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ts::workload {

class HandshakeWindow {
 public:
  static constexpr uint32_t kFirstBurst = 16;
  static constexpr uint32_t kMax = 1024;
  static constexpr uint32_t kPerTick = 256;

  // Whether another handshake may start at `now`.
  bool may_open(uint64_t now) {
    if (now != tick_) {  // callbacks at the same instant share one tick's budget
      tick_ = now;
      this_tick_ = 0;
    }
    return in_flight_ < window_ && this_tick_ < kPerTick;
  }
  // A handshake started; returns its sequence number (for answered()).
  uint64_t opened() {
    ++in_flight_;
    ++this_tick_;
    return ++opens_;
  }
  // The handshake `seq` was answered (established, or refused: the path
  // works); `retried`: its SYN had to be sent again.
  void answered(uint64_t seq, bool retried) {
    ended();
    if (!retried) {
      if (window_ < kMax) ++window_;
    } else if (seq > halved_at_) {
      window_ = std::max(kFirstBurst, window_ / 2);
      halved_at_ = opens_;
    }
  }
  // The handshake ended without an answer (timed out, or given up).
  void ended() {
    if (in_flight_) --in_flight_;
  }
  uint32_t in_flight() const { return in_flight_; }
  uint32_t window() const { return window_; }

 private:
  uint32_t window_ = kFirstBurst, in_flight_ = 0, this_tick_ = 0;
  uint64_t tick_ = UINT64_MAX, opens_ = 0, halved_at_ = 0;
};

}  // namespace ts::workload
