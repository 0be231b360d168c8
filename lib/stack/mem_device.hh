// A Device in memory: a fixed pool of buffers, a receive queue that tests (or a
// peer device) fill, and a record of what was sent. Two MemDevices can be wired
// back to back; frames then move between them by handle, without copying and
// without allocating. Used by unit tests, fuzz targets, benchmarks and the
// simulator.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "stack/device.hh"

namespace ts::stack {

// Takes the frames a MemDevice flushes (a simulated link, for one).
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Ownership of p passes to the sink.
  virtual void take(Packet& p, uint64_t now) = 0;
};

class MemDevice : public Device {
 public:
  MemDevice(const wire::MacAddr& mac, size_t buffers = 1024, uint32_t buffer_size = 2048);
  ~MemDevice() override;
  MemDevice(const MemDevice&) = delete;
  MemDevice& operator=(const MemDevice&) = delete;

  // Queues a copy of frame for the next rx_burst; false when no buffer is free
  // or the frame does not fit one.
  bool inject(std::span<const uint8_t> frame, uint32_t flags = 0);
  // Frames flushed since the last call, oldest first (only when not wired).
  std::vector<std::vector<uint8_t>> take_sent();
  // Flushed frames go to peer's receive queue instead of being recorded.
  void wire_to(MemDevice* peer);
  // Like the in-process ring port (drivers-glue): offers checksum offload,
  // and a wired peer takes the checksums left to "the device" as verified.
  void set_in_process(bool on) {
    in_process_ = on;
    info_.tx_ip_csum = info_.tx_tcp_csum = info_.tx_udp_csum = on;
    if (!on) info_.tso_max = info_.tso_segs = 0;
  }
  // Offers TCP segmentation offload to a wired in-process peer, as Linux's
  // veth does: a TSO frame (up to `max` bytes of IP packet, no larger than a
  // buffer) reaches the peer whole, marked with its segment size
  // (pktflag::rx_tcp_merged), cut into at most `segs` segments (0: no
  // limit). 0 turns it off.
  void set_tso(uint16_t max, uint16_t segs = 0, uint16_t min_seg = 0) {
    const uint32_t fits = std::min<uint32_t>(max, buffer_size_ > 18 ? buffer_size_ - 18 : 0);
    info_.tso_max = in_process_ && fits > info_.mtu ? uint16_t(fits) : 0;
    info_.tso_segs = info_.tso_max ? segs : 0;
    info_.tso_min_seg = info_.tso_max ? min_seg : 0;
  }
  // Flushed frames go to the sink instead (the simulator's links), as sent.
  void set_sink(FrameSink* sink) { sink_ = sink; }
  // `p`, sent by this device, as it arrives at a wired peer (the offload
  // requests of an in-process device become the receiver's verdicts).
  Packet arriving(const Packet& p) const {
    Packet q = p;
    q.flags = 0;
    if (in_process_) {
      if (p.flags & pktflag::tx_ip_csum) q.flags |= pktflag::rx_ip_csum_good;
      if (p.flags & (pktflag::tx_tcp_csum | pktflag::tx_udp_csum)) q.flags |= pktflag::rx_l4_csum_good;
      if (p.flags & pktflag::tx_tcp_seg) q.flags |= pktflag::rx_tcp_merged;
    }
    return q;
  }
  // Puts a frame (from any MemDevice's pool) on the receive queue.
  void deliver(const Packet& p) { push_rx(p); }
  // Makes the receive queue large enough for frames from `buffers` more buffers
  // (a simulated link can bring frames from any pool).
  void reserve_rx(size_t buffers);
  // Frees every frame waiting to be received.
  void drop_rx();

  size_t buffers_in_use() const { return in_use_; }
  size_t rx_pending() const { return rx_count_; }
  // Fails alloc() while set, to exercise pool exhaustion.
  void set_alloc_fails(bool f) { alloc_fails_ = f; }
  // Fails only the allocations for TSO frames (a device's pool of large
  // buffers empty), while set.
  void set_large_alloc_fails(bool f) { large_alloc_fails_ = f; }
  DeviceInfo& mutable_info() { return info_; }

  uint16_t rx_burst(Packet* pkts, uint16_t n, uint64_t now) override;
  bool alloc(Packet& p) override;
  bool alloc(Packet& p, uint32_t) override { return !large_alloc_fails_ && alloc(p); }
  void free(Packet& p) override;
  void send(Packet& p) override;
  void flush(uint64_t now) override;
  const DeviceInfo& info() const override { return info_; }

 private:
  struct Desc {
    MemDevice* owner;
    uint32_t index;
  };
  bool take_buffer(Packet& p);
  void release(uint32_t index);
  void push_rx(const Packet& p);
  // Queues hold at most every buffer that could be in flight: ours and the peer's.
  void size_queues();

  DeviceInfo info_;
  bool in_process_ = false;
  uint32_t buffer_size_;
  // Zeroed by calloc, which for a large pool maps zero pages lazily: a pool
  // sized for the worst case costs only the buffers used (the simulator makes
  // pools of tens of megabytes per host and run).
  struct FreeDeleter {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t[], FreeDeleter> storage_;
  std::vector<Desc> descs_;
  std::vector<uint32_t> free_;
  size_t in_use_ = 0;
  std::vector<Packet> rx_;  // ring
  size_t rx_head_ = 0, rx_count_ = 0;
  std::vector<Packet> pending_;  // its first pending_count_: sent, not yet flushed
  size_t pending_count_ = 0;
  std::vector<std::vector<uint8_t>> sent_;
  MemDevice* peer_ = nullptr;
  FrameSink* sink_ = nullptr;
  size_t extra_rx_ = 0;
  bool alloc_fails_ = false;
  bool large_alloc_fails_ = false;
};

}  // namespace ts::stack
