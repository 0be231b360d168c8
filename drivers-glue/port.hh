// A DPDK ethdev port configured from what the device says it can do, and the
// lib/stack Device for one of its queue pairs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "stack/device.hh"
#include "stack/steering.hh"

struct rte_mempool;
struct rte_mbuf;

namespace ts::glue {

class CaptureQueue;

struct PortConfig {
  uint16_t queues = 1;          // rx/tx queue pairs wanted (capped by the device): one per core
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t extra_mbufs = 16384; // beyond the rings: held by ARP queues, the fault injector
  bool promiscuous = false;
  // The in-memory ring port only: frames up to this MTU (0: 1500), in buffers
  // that large (docs/performance.md, "Large segments"); at most kMaxRingMtu.
  uint16_t ring_mtu = 0;
  static constexpr uint16_t kMaxRingMtu = 64000;
  // Offer TCP segmentation offload where the port has it, in frames of up to
  // kMaxTso bytes from a pool of large buffers of their own
  // (docs/performance.md, "Segmentation offload"): a device that offers
  // RTE_ETH_TX_OFFLOAD_TCP_TSO with checksum offloads (a NIC; DPDK's TAP port
  // cuts in software), and the in-memory ring port at the default MTU, which
  // passes the frame on whole as Linux's veth passes GSO packets. Without the
  // memory for that pool, no TSO. Off: the pool is not made.
  bool tso = false;
  static constexpr uint16_t kMaxTso = 64000;
  static constexpr uint16_t kMaxRingTsoMtu = 1500;  // the ring port's TSO: at this MTU or below
  // The in-memory ring port only: queue i is the device's queue i * queue_stride
  // (ring_queue_stride(): the ring PMD's per-queue counters kept apart).
  uint16_t queue_stride = 1;
  // Frames a core gathers before handing them to the device (1 to
  // kMaxTxBatch; 0: the port's own default, tx_batch_default()). A poll hands
  // over what is left at its end either way (docs/performance.md, "Handing
  // frames over").
  uint16_t tx_batch = 0;
  static constexpr uint16_t kMaxTxBatch = 32;
};

// The port's own transmit batch: 8 frames for a peer that polls the other end
// of shared memory (the in-memory ring and memif), so that it starts on the
// first frames while this core builds the rest; 32 for the rest, where every
// handover costs a doorbell or a system call.
uint16_t tx_batch_default(const std::string& driver);

// What the device offered and what we turned on.
struct PortCaps {
  std::string driver;
  uint16_t max_queues = 1;
  uint16_t queues = 1;
  bool rss = false;
  uint16_t reta_size = 0;   // redirection table entries we filled (queue i % queues)
  bool rss_key_ours = false;  // the NIC hashes with our symmetric key
  bool rx_ip_csum = false, rx_l4_csum = false;
  bool tx_ip_csum = false, tx_tcp_csum = false, tx_udp_csum = false;
  uint16_t tso = 0;  // TCP segmentation offload: the largest frame's IP packet
  uint16_t tx_batch = PortConfig::kMaxTxBatch;  // PortConfig::tx_batch, or the port's default
  bool tx_prepare = false;  // frames with offload requests go through rte_eth_tx_prepare
  // The in-memory ring port: frames never leave this process, so checksums a
  // sender left to "the device" are taken as verified by the receiver, as
  // Linux's loopback does (see docs/architecture.md).
  bool in_process = false;
  uint16_t mtu = 1500;
};

class EthPort {
 public:
  // Configures and starts the port. Throws std::runtime_error with a one-line reason.
  EthPort(uint16_t port_id, std::string label, const PortConfig& cfg);
  ~EthPort();
  EthPort(const EthPort&) = delete;
  EthPort& operator=(const EthPort&) = delete;

  uint16_t id() const { return id_; }
  // The device queue behind queue `q` (PortConfig::queue_stride).
  uint16_t device_queue(uint16_t q) const { return uint16_t(q * stride_); }
  const std::string& label() const { return label_; }
  const PortCaps& caps() const { return caps_; }
  const stack::DeviceInfo& info() const { return info_; }
  rte_mempool* pool() const { return pool_; }
  // The TSO frames' buffers (null without TSO).
  rte_mempool* large_pool() const { return large_pool_; }
  // One line: label, driver, MAC, queues, offloads.
  std::string describe() const;
  // Which core owns which flow when `cores` cores share this port: the NIC's
  // own hashing when it has RSS with our key and a queue per core, else the
  // software default (stack::FlowPlacement::spread), steered by the cores.
  stack::FlowPlacement placement(unsigned cores) const;
  // Whether the NIC itself puts each flow on its owner's queue (RSS).
  bool rss_places(unsigned cores) const;
  // Whether every frame arrives on its flow's owner's queue by construction,
  // so that nothing needs classifying: the in-process ring link with a queue
  // per core, whose queue pair i joins the two sides' cores i, and both sides
  // place flows alike (docs/multicore.md, "Which core owns a flow").
  bool queue_places(unsigned cores) const { return caps_.in_process && caps_.queues >= cores; }
  // Polls the link status until it is up or timeout_ms passes; true when up.
  // (memif, for one, is up only once its peer has connected.)
  bool wait_link_up(unsigned timeout_ms) const;

 private:
  uint16_t id_;
  std::string label_;
  PortCaps caps_;
  stack::DeviceInfo info_;
  rte_mempool* pool_ = nullptr;
  rte_mempool* large_pool_ = nullptr;
  bool started_ = false;
  uint16_t stride_ = 1;
};

// Port-level counters kept by the glue (the stack counts its own), listed
// once: X(name, is_drop, always_shown, description). Reported as port_<name>
// by the counters at exit and by `touchstone stats`.
#define TS_PORT_COUNTERS(X)                                                        \
  X(rx_packets, false, true, "frames received from the port")                    \
  X(tx_packets, false, true, "frames transmitted by the port")                   \
  X(rx_bytes, false, false, "bytes received from the port")                      \
  X(tx_bytes, false, false, "bytes transmitted by the port")                     \
  X(tx_bursts, false, false, "batches of frames handed to the port (--tx-batch)") \
  X(tx_ring_full, true, false, "transmit ring stayed full")                       \
  X(tx_prepare_refused, true, false, "frame the driver's checks refused (rte_eth_tx_prepare)") \
  X(rx_multiseg, true, false, "frame in several buffers")                         \
  X(rx_copied, false, false, "shared receive buffers copied before use")          \
  X(tx_recycled, false, false, "transmit buffers reused from those this core freed (no pool round trip)") \
  X(alloc_failed, true, false, "buffer pool empty")                             \
  X(pcap_frames, false, false, "frames copied to the --pcap writer")              \
  X(pcap_dropped, true, false, "frames left out of --pcap: its writer fell behind")

struct PortDeviceStats {
#define TS_X(name, drop, always, desc) uint64_t name = 0;
  TS_PORT_COUNTERS(TS_X)
#undef TS_X
  void merge(const PortDeviceStats& o) {
#define TS_X(name, drop, always, desc) name += o.name;
    TS_PORT_COUNTERS(TS_X)
#undef TS_X
  }
  // f("port_<name>", value, is_drop, description) for each counter that is
  // non-zero or always shown.
  template <class F>
  void for_each(F&& f) const {
#define TS_X(name, drop, always, desc) \
  if (always || name) f("port_" #name, name, drop, desc);
    TS_PORT_COUNTERS(TS_X)
#undef TS_X
  }
};

// The stack::Device for one queue pair of a port. Owned and used by one lcore,
// and on cache lines of its own: its counters and transmit batch are written
// on every burst, and another core's device may be its neighbour on the heap.
class alignas(64) PortDevice final : public stack::Device {
 public:
  static constexpr uint16_t kTxBatch = PortConfig::kMaxTxBatch;  // tx_'s size

  PortDevice(EthPort& port, uint16_t queue);
  ~PortDevice() override;

  uint16_t rx_burst(stack::Packet* pkts, uint16_t n, uint64_t now) override;
  bool alloc(stack::Packet& p) override;
  bool alloc(stack::Packet& p, uint32_t len) override;
  void free(stack::Packet& p) override;
  void send(stack::Packet& p) override;
  void flush(uint64_t now) override;
  const stack::DeviceInfo& info() const override { return port_.info(); }

  const PortDeviceStats& stats() const { return stats_; }
  // --pcap: every frame received and transmitted from now on is offered to `q`.
  void set_capture(CaptureQueue* q) { cap_ = q; }

 private:
  void transmit();
  bool alloc_from(rte_mempool* pool, stack::Packet& p, bool count_failure);
  static void as_packet(rte_mbuf* mb, stack::Packet& p);
  void capture(const rte_mbuf* mb);

  EthPort& port_;
  uint16_t queue_;
  uint16_t tx_count_ = 0;
  uint16_t tx_batch_;  // the port's caps().tx_batch
  bool prepare_;       // the port's caps().tx_prepare
  rte_mbuf* tx_[kTxBatch];
  // Buffers this core freed (nearly all: frames it received and is done
  // with), kept for its next transmissions, newest first: their lines are in
  // this core's cache, where a buffer from the pool was last written by the
  // other end long before (docs/performance.md, "Handing frames over").
  // Beyond kStash the pool takes them back. Every device must be destroyed
  // before any EthPort: what it keeps may be of another port's pool (the
  // in-process ring pair's other end), freed here.
  static constexpr uint16_t kStash = 32;
  uint16_t stash_count_ = 0;
  uint16_t stash_room_;  // buf_len of port_.pool()'s buffers: one kept is of that size
  rte_mbuf* stash_[kStash];
  PortDeviceStats stats_;
  CaptureQueue* cap_ = nullptr;
  uint64_t now_ = 0;  // the latest time a poll gave (the capture's timestamps)
};

// Two ports joined back to back by rte_rings, inside this process: what one
// transmits on queue i the other receives on queue i. Returns the two port ids.
// Each of `queues` is the device queue i * ring_queue_stride(queues) (the
// ones between are never used): the ring PMD keeps its per-queue packet
// counters side by side, 24 bytes a queue, and updates them on every burst,
// so neighbouring queues polled by two cores would share a cache line and
// pass it back and forth (docs/multicore.md, "The in-memory port").
std::pair<uint16_t, uint16_t> create_ring_pair(const std::string& name, uint16_t queues = 1);
uint16_t ring_queue_stride(uint16_t queues);

// The ethdev port id for a device name (from plan_eal); throws if absent,
// naming the port as the user wrote it.
uint16_t port_by_name(const std::string& name, const std::string& spec_text);

}  // namespace ts::glue
