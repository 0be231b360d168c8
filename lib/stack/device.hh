// The two concepts lib/ needs from whatever moves packets: a packet buffer and a
// device with receive and transmit bursts. drivers-glue implements them on DPDK
// (its mbufs and ethdev ports); tests and the simulator implement them in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "wire/addr.hh"

namespace ts::stack {

// Packet flags. Receive: what the device already verified. Transmit: which
// checksums the device should fill in (l2_len and l3_len must then be set).
namespace pktflag {
inline constexpr uint16_t rx_ip_csum_good = 1u << 0;
inline constexpr uint16_t rx_ip_csum_bad = 1u << 1;
inline constexpr uint16_t rx_l4_csum_good = 1u << 2;
inline constexpr uint16_t rx_l4_csum_bad = 1u << 3;
// A TCP segment larger than the MTU that stands for segments of seg_size
// payload bytes each (the last may be shorter): the sender's TSO frame,
// passed on whole as Linux's veth passes a GSO packet (docs/performance.md,
// "Segmentation offload").
inline constexpr uint16_t rx_tcp_merged = 1u << 4;
inline constexpr uint16_t tx_ip_csum = 1u << 8;
inline constexpr uint16_t tx_tcp_csum = 1u << 9;
inline constexpr uint16_t tx_udp_csum = 1u << 10;
// The device cuts the TCP segment into segments of seg_size payload bytes,
// each with a copy of the headers (TSO; implies tx_ip_csum and tx_tcp_csum).
inline constexpr uint16_t tx_tcp_seg = 1u << 11;
}  // namespace pktflag

// One frame in a device-owned buffer. The struct is a handle: copying it does
// not copy the buffer, and exactly one owner must eventually send or free it.
struct Packet {
  uint8_t* data = nullptr;  // first byte of the Ethernet header
  uint32_t len = 0;         // frame length without FCS
  uint32_t room = 0;        // bytes writable from data
  uint16_t flags = 0;       // pktflag bits
  uint16_t seg_size = 0;    // with tx_tcp_seg or rx_tcp_merged
  uint16_t l2_len = 0;      // for transmit offloads
  uint16_t l3_len = 0;
  void* handle = nullptr;   // the device's own buffer object
};

// Room for a burst of N packets for a device to fill, not zeroed on every
// poll as `Packet pkts[N]` would be (every field is written before use).
// Packet is an implicit-lifetime aggregate, so the objects come to exist in
// the byte array's storage as they are written (C++20).
template <size_t N>
struct PacketBurst {
  alignas(Packet) std::byte storage[sizeof(Packet) * N];
  Packet* get() { return std::launder(reinterpret_cast<Packet*>(storage)); }
};

struct DeviceInfo {
  wire::MacAddr mac;
  uint16_t mtu = 1500;
  bool tx_ip_csum = false;   // the device fills IPv4 header checksums
  bool tx_tcp_csum = false;  // ... TCP checksums
  bool tx_udp_csum = false;  // ... UDP checksums
  // The largest IP packet the device takes with tx_tcp_seg (TCP segmentation
  // offload) and cuts into segments that fit the MTU; 0: no TSO.
  uint16_t tso_max = 0;
  // The most segments the device cuts one such frame into; 0: as many as
  // tso_max holds (DPDK's TAP port cuts at most 64, docs/performance.md).
  uint16_t tso_segs = 0;
  // The device checks each segment's Ethernet frame, not its IP packet,
  // against the MTU (DPDK's TAP port): a frame's segments must be the
  // Ethernet header's length shorter than the MTU allows.
  bool tso_counts_l2 = false;
  // The shortest segment the device cuts (a NIC's driver refuses a TSO frame
  // with a smaller tso_segsz: i40e's limit is 256); the stack cuts a frame of
  // shorter segments itself.
  uint16_t tso_min_seg = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  // Fills up to n packets; the caller owns them.
  virtual uint16_t rx_burst(Packet* pkts, uint16_t n, uint64_t now) = 0;
  // A fresh buffer for transmission; false when the pool is empty.
  virtual bool alloc(Packet& p) = 0;
  // One with room for at least `len` bytes (a TSO frame's), where the device
  // keeps larger buffers apart; the caller still checks p.room.
  virtual bool alloc(Packet& p, uint32_t len) {
    (void)len;
    return alloc(p);
  }
  virtual void free(Packet& p) = 0;
  // Queues p for transmission and takes ownership; it may be held until flush().
  virtual void send(Packet& p) = 0;
  virtual void flush(uint64_t now) = 0;
  virtual const DeviceInfo& info() const = 0;
};

}  // namespace ts::stack
