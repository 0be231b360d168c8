// Several cores on one port (docs/multicore.md): which core owns a flow, and
// the device each core's stack sees when packets may arrive on the wrong core.
//
// A flow's owner is reta[toeplitz(4-tuple) & (reta size - 1)], the rule a NIC
// applies with RSS. The key is symmetric (0x6d5a repeated), so both directions
// of a connection hash alike. Where the NIC does the hashing with our key and
// table, packets arrive where they belong; everywhere else (no RSS, fewer
// queues than cores) the receiving core finds the owner with the same
// function and passes the packet over a single-producer ring. Active opens
// choose local ports whose flows land on the calling core (TcpLayer), so
// steering is the exception for them, not the rule.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "stack/counters.hh"
#include "stack/device.hh"
#include "util/cache_line.hh"
#include "util/spsc_ring.hh"
#include "wire/addr.hh"

namespace ts::stack {

class FlowPlacement {
 public:
  static constexpr size_t kDefaultRetaSize = 128;
  // 52 bytes of 0x6d5a: symmetric under swapping addresses and ports.
  static std::span<const uint8_t> symmetric_key();

  // `key`: at least 16 bytes. `reta`: entry i names the core that owns hash
  // values whose low bits are i; its size must be a power of two. Every entry
  // must be below `cores`.
  FlowPlacement(std::span<const uint8_t> key, std::vector<uint16_t> reta, unsigned cores);
  // The software default: the symmetric key and 128 entries (more with more
  // cores) dealt round-robin.
  static FlowPlacement spread(unsigned cores);
  // A redirection table of `size` entries naming 0..n-1 in turn.
  static std::vector<uint16_t> round_robin(size_t size, unsigned n);

  unsigned cores() const { return cores_; }
  size_t reta_size() const { return reta_.size(); }
  uint16_t reta(size_t i) const { return reta_[i]; }

  // The Toeplitz hash of (src, dst, sport, dport), as a NIC computes it for
  // IPv4/TCP and IPv4/UDP. Linear: the XOR of each field's contribution.
  uint32_t hash(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t sport, uint16_t dport) const {
    return addr_part(src, 0) ^ addr_part(dst, 4) ^ port_part(sport, 8) ^ port_part(dport, 10);
  }
  uint16_t owner_of_hash(uint32_t h) const { return reta_[h & mask_]; }
  uint16_t owner(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t sport, uint16_t dport) const {
    return owner_of_hash(hash(src, dst, sport, dport));
  }
  // The pieces of hash(local, remote, lport, rport) for choosing lport.
  uint32_t without_local_port(wire::Ipv4Addr local, wire::Ipv4Addr remote, uint16_t rport) const {
    return addr_part(local, 0) ^ addr_part(remote, 4) ^ port_part(rport, 10);
  }
  uint32_t local_port_part(uint16_t lport) const { return port_part(lport, 8); }

 private:
  uint32_t addr_part(wire::Ipv4Addr a, unsigned at) const {
    return t_[at][a.v >> 24] ^ t_[at + 1][(a.v >> 16) & 0xff] ^ t_[at + 2][(a.v >> 8) & 0xff] ^
           t_[at + 3][a.v & 0xff];
  }
  uint32_t port_part(uint16_t p, unsigned at) const { return t_[at][p >> 8] ^ t_[at + 1][p & 0xff]; }

  // t_[i][v]: the hash of an input whose byte i is v and every other byte 0.
  std::array<std::array<uint32_t, 256>, 12> t_{};
  std::vector<uint16_t> reta_;
  uint32_t mask_;
  unsigned cores_;
};

// What the cores of one port share: the placement and the rings between them.
// Cores below `queues` own the port queue of their index; the others receive
// only what is steered to them and transmit through core (index % queues),
// their carrier.
class SteeringFabric {
 public:
  // Received frames between two cores, and a queue-less core's frames to its
  // carrier (larger: a sender's whole window can leave in one poll).
  static constexpr size_t kRingSize = 1024, kTxRingSize = 4096;
  SteeringFabric(FlowPlacement placement, unsigned queues, size_t ring_size = kRingSize,
                 size_t tx_ring_size = kTxRingSize);
  const FlowPlacement& placement() const { return placement_; }
  unsigned cores() const { return placement_.cores(); }
  unsigned queues() const { return queues_; }
  unsigned carrier(unsigned core) const { return core % queues_; }
  // Received packets steered from core `from` to core `to`.
  util::SpscRing<Packet>& rx_ring(unsigned from, unsigned to) { return *rx_[from * cores() + to]; }
  // Packets core `from` (which has no queue) gives its carrier to transmit.
  util::SpscRing<Packet>& tx_ring(unsigned from) { return *tx_[from]; }

 private:
  FlowPlacement placement_;
  unsigned queues_;
  std::vector<std::unique_ptr<util::SpscRing<Packet>>> rx_, tx_;
};

// One core's device on a shared port. `base` is the core's own queue when it
// has one; otherwise only its buffer pool is used (alloc and free must accept
// any buffer of the port, as DPDK's mempools do). Steering costs are counted
// in the stack's counters (steer_*), set with set_counters before polling.
class alignas(util::kCacheLine) SteeringDevice final : public Device {
 public:
  SteeringDevice(SteeringFabric& fabric, unsigned core, Device& base);
  // Frees what is still in the rings addressed to this core. Every core must
  // have stopped polling.
  ~SteeringDevice() override;
  void set_counters(Counters* c) { ctr_ = c; }
  // The end of a run: take nothing more from the port queue (so nothing more
  // is passed to other cores); what they pass on is still received.
  void stop_receiving() { receiving_ = false; }
  bool owns_queue() const { return owns_queue_; }
  // Whether nothing waits in the rings this core empties.
  bool idle() const;

  uint16_t rx_burst(Packet* pkts, uint16_t n, uint64_t now) override;
  bool alloc(Packet& p) override { return base_.alloc(p); }
  bool alloc(Packet& p, uint32_t len) override { return base_.alloc(p, len); }
  void free(Packet& p) override { base_.free(p); }
  void send(Packet& p) override;
  void flush(uint64_t now) override;
  const DeviceInfo& info() const override { return base_.info(); }

 private:
  enum class Kind { local, flow, arp_reply };
  // Where a received frame goes; `owner` set for flows.
  Kind classify(const Packet& p, uint16_t& owner) const;
  uint16_t take_steered(Packet* pkts, uint16_t n);
  void copy_to_others(const Packet& p);
  // Carrier: transmits what the queue-less cores it carries have queued.
  void relay();

  SteeringFabric& f_;
  unsigned core_;
  Device& base_;
  bool owns_queue_;
  bool receiving_ = true;
  unsigned next_from_ = 0;
  Counters scratch_;  // until set_counters
  Counters* ctr_ = &scratch_;
};

}  // namespace ts::stack
