// How many handshakes a load generator keeps in flight (docs/architecture.md,
// "Workload modes"): a window that starts at kFirstBurst (what the ARP cache
// holds for one unresolved address, so the first SYNs survive resolution,
// and all a dead target gets), grows by one for every handshake answered at
// the first try (doubling per round trip, like slow start), halves when one
// needed its SYN again (once per round: only for a connection opened after
// the last halving), and stops at its maximum (`gen --window`, by default
// kDefaultMax: a lost SYN is seen only after a second, so the window must not
// outgrow what the path queues); at most kPerTick new ones per tick (per
// poll). Given handshake times (an open loop's generator gives them; in cps,
// the whole exchange's), it also halves, once per round, when a
// handshake took far longer than the quickest one seen lately (over 4x it plus
// kQueueSlackNs): a target that cannot keep up queues SYNs before it drops
// them, so the window shrinks on the queue's delay instead of waiting for the
// drops' one-second retransmissions (docs/performance.md, "Overload").
#pragma once

#include <algorithm>
#include <cstdint>

namespace ts::workload {

class HandshakeWindow {
 public:
  static constexpr uint32_t kFirstBurst = 16;
  // The open loop's default maximum: what the smallest ring on our paths
  // holds, a veth's XDP ring (256 frames; a NIC's rings hold 512 to 4096).
  // Over it, the open-loop sweep overflowed that ring under overload
  // (docs/performance.md, "Overload").
  static constexpr uint32_t kDefaultMax = 256;
  // The closed loop's: its --conns bound what it has in flight, and its
  // handshakes queue behind its own saturating data, so a smaller window
  // only slows its ramp (demo --conns 40000 opened 17.6k in 5 s at 256).
  static constexpr uint32_t kClosedLoopMax = 1024;

  explicit HandshakeWindow(uint32_t max = kDefaultMax)
      : max_(std::max<uint32_t>(1, max)), floor_(std::min(kFirstBurst, max_)), window_(floor_) {}

  // A receive burst's worth: a generator that was held up (preempted, or
  // catching up with an open loop's schedule) spreads its SYNs over polls
  // instead of sending a burst that overflows a ring (docs/performance.md).
  static constexpr uint32_t kPerTick = 32;
  static constexpr uint64_t kQueueSlackNs = 500'000;
  static constexpr uint32_t kEpoch = 4096;  // answers over which the quickest is kept

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
  // works); `retried`: its SYN had to be sent again; `rtt_ns`: how long it
  // took (0: unknown).
  void answered(uint64_t seq, bool retried, uint64_t rtt_ns = 0) {
    ended();
    bool queued = false;
    if (rtt_ns && !retried) {
      if (!min_rtt_ || rtt_ns < min_rtt_) min_rtt_ = rtt_ns;
      if (!epoch_min_ || rtt_ns < epoch_min_) epoch_min_ = rtt_ns;
      // The quickest of the last kEpoch answers at most: a path that became
      // slower for good is the new normal, not a queue, after a while.
      if (++epoch_answers_ == kEpoch) {
        min_rtt_ = epoch_min_;
        epoch_min_ = 0;
        epoch_answers_ = 0;
      }
      queued = rtt_ns > 4 * min_rtt_ + kQueueSlackNs;
    }
    if (!retried && !queued) {
      if (window_ < max_) ++window_;
    } else if (seq > halved_at_) {
      window_ = std::max(floor_, window_ / 2);
      halved_at_ = opens_;
    }
  }
  // The handshake ended without an answer (timed out, or given up).
  void ended() {
    if (in_flight_) --in_flight_;
  }
  uint32_t in_flight() const { return in_flight_; }
  uint32_t window() const { return window_; }
  uint32_t max() const { return max_; }

 private:
  uint32_t max_, floor_;  // the window's bounds: it starts at floor_
  uint32_t window_, in_flight_ = 0, this_tick_ = 0;
  uint64_t tick_ = UINT64_MAX, opens_ = 0, halved_at_ = 0;
  uint64_t min_rtt_ = 0;    // the quickest handshake answered at the first try, lately
  uint64_t epoch_min_ = 0;  // ... in the answers since the last epoch began
  uint32_t epoch_answers_ = 0;
};

}  // namespace ts::workload
