// The engine of the request modes that send one datagram per request and
// match one datagram back (ping over ICMP echo, dns over UDP): a table of the
// requests in flight indexed by request number, the closed loop's window or
// the open loop's pacer (pacer.hh), a timeout after which a request is lost,
// and the counts. A mode says how a request is sent and matches its replies.
#pragma once

#include <cstdint>
#include <vector>

#include "workload/pacer.hh"
#include "workload/workload.hh"

namespace ts::workload {

class DatagramLoad : public Workload {
 public:
  static constexpr size_t kSlots = 65536;  // requests tracked at once

  explicit DatagramLoad(const GenConfig& cfg);

  // Workload.
  void start(uint64_t now) override;
  void tick(uint64_t now) override;
  void stop() override { pacer_.stop(); }
  void close_all(uint64_t) override {}
  // Nothing more will be sent and every request sent was answered or lost.
  bool done() const override;
  uint64_t next_deadline() const override;
  uint64_t drain_ns() const override { return std::min<uint64_t>(cfg_.timeout_ns, 1'000'000'000); }
  const GenStats& stats() const override { return stats_; }
  // Requests never answered by the end count as lost.
  GenStats final_stats() const override;
  util::Histogram take_interval() override;
  void clear_latency() override { stats_.latency = util::Histogram(); }
  const GenConfig& config() const override { return cfg_; }
  uint64_t in_flight() const { return in_flight_; }

 protected:
  struct Slot {
    uint64_t reqno = UINT64_MAX;
    uint64_t intended = 0;
    bool in_flight = false;
  };
  // Sends request `reqno` (its slot is reqno % kSlots); false when no buffer
  // was free (counted by the engine).
  virtual bool transmit(uint64_t reqno, uint64_t intended, uint64_t now) = 0;
  Slot& slot_of(uint64_t reqno) { return slots_[reqno % kSlots]; }
  uint64_t sent() const { return next_reqno_; }
  // A reply for a slot that is no longer in flight: late (its request was
  // counted lost) or a duplicate.
  void count_unmatched(const Slot& s, uint64_t now);
  // The request of `s` answered, well or badly, with `bytes` of payload.
  void finish(Slot& s, uint64_t now, bool ok, size_t bytes);

  GenConfig cfg_;
  GenStats stats_;

 private:
  bool send_one(uint64_t intended, uint64_t now);
  void expire(uint64_t now);

  uint32_t window_;
  Pacer pacer_;
  util::Histogram interval_;
  std::vector<Slot> slots_;
  uint64_t next_reqno_ = 0;
  uint64_t oldest_ = 0;  // no request older than this is in flight
  uint64_t in_flight_ = 0;
  uint64_t start_ = 0;
};

}  // namespace ts::workload
