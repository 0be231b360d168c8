// A fault injector that wraps a Device: per direction and seeded, it drops,
// duplicates, corrupts, delays and reorders packets. The Linux kernel on the
// test machines has no netem, so interop tests under loss rely on this.
// It lives in lib/ (no DPDK) so it is tested like the rest; drivers-glue puts it
// on a port when the command line asks for --impair.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stack/device.hh"
#include "util/rng.hh"

namespace ts::stack {

struct ImpairSpec {
  double loss = 0;      // probability a packet is dropped
  double dup = 0;       // ... sent twice
  double reorder = 0;   // ... held back and delivered after the packet behind it
  double corrupt = 0;   // ... has one bit flipped past the Ethernet header
  uint64_t delay_ns = 0;
  uint64_t seed = 1;

  bool active() const { return loss > 0 || dup > 0 || reorder > 0 || corrupt > 0 || delay_ns > 0; }
  std::string str() const;
};

// Parses "[rx:|tx:]key=value,..." with keys loss, dup, reorder, corrupt
// (probabilities, "0.01" or "1%"), delay (a duration: "200us", "5ms") and seed.
// Without a direction prefix the settings apply to both directions. Returns an
// empty string on success, else a one-line error.
std::string parse_impair(std::string_view text, ImpairSpec& rx, ImpairSpec& tx);

struct ImpairStats {
  uint64_t passed = 0, dropped = 0, duplicated = 0, reordered = 0, corrupted = 0, delayed = 0,
           overflow = 0;
  void merge(const ImpairStats& o) {
    passed += o.passed;
    dropped += o.dropped;
    duplicated += o.duplicated;
    reordered += o.reordered;
    corrupted += o.corrupted;
    delayed += o.delayed;
    overflow += o.overflow;
  }
};

class ImpairedDevice : public Device {
 public:
  // Packets held back at once per direction; more are dropped and counted.
  static constexpr size_t kHoldCapacity = 8192;
  // A packet held for reordering leaves after this long even if none follows it.
  static constexpr uint64_t kReorderMaxHoldNs = 2'000'000;

  ImpairedDevice(Device& inner, const ImpairSpec& rx, const ImpairSpec& tx);
  ~ImpairedDevice() override;

  uint16_t rx_burst(Packet* pkts, uint16_t n, uint64_t now) override;
  bool alloc(Packet& p) override { return inner_.alloc(p); }
  bool alloc(Packet& p, uint32_t len) override { return inner_.alloc(p, len); }
  void free(Packet& p) override { inner_.free(p); }
  void send(Packet& p) override;
  void flush(uint64_t now) override;
  // The inner device's, without TSO: an impaired link loses, duplicates and
  // reorders wire segments, never a whole TSO frame's worth at once.
  const DeviceInfo& info() const override {
    info_ = inner_.info();
    info_.tso_max = 0;
    return info_;
  }

  const ImpairStats& rx_stats() const { return rx_.stats; }
  const ImpairStats& tx_stats() const { return tx_.stats; }

 private:
  struct Held {
    Packet pkt;
    uint64_t due = 0;
    bool overtake = false;  // let the next packet pass this one
  };
  // One direction: the random decisions, a FIFO delay line (constant delay keeps
  // it ordered), and one slot for a packet waiting to be overtaken.
  struct Direction {
    ImpairSpec spec;
    util::Rng rng;
    std::vector<Held> line;  // ring buffer of kHoldCapacity
    size_t head = 0, count = 0;
    bool has_swap = false;
    Held swap;
    ImpairStats stats;
  };

  // Applies loss, corruption and duplication to p and queues the survivors on
  // the delay line. `copy_on_corrupt`: transmit buffers may still be referenced
  // by the stack (for retransmission), so they are corrupted in a copy.
  void admit(Direction& d, Packet& p, uint64_t now, bool copy_on_corrupt);
  void push(Direction& d, const Packet& p, uint64_t due, bool overtake);
  // Moves packets that are due off the delay line through the reorder slot;
  // `out` receives them in their new order. Returns how many were emitted.
  template <class Out>
  size_t release(Direction& d, uint64_t now, size_t max, Out&& out);
  bool duplicate(const Packet& p, Packet& copy);

  Device& inner_;
  mutable DeviceInfo info_;
  Direction rx_, tx_;
  uint64_t now_ = 0;
};

}  // namespace ts::stack
