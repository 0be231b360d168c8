// One core's endpoint: an IPv4 interface on one device, with ARP and ICMP echo
// answered inline, and the poll step of docs/architecture.md ("One core's
// loop"). Time is always a parameter; nothing here reads a clock.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "stack/arp_cache.hh"
#include "stack/counters.hh"
#include "stack/device.hh"
#include "stack/ip_output.hh"
#include "stack/tcp_layer.hh"
#include "tcp/buffers.hh"
#include "util/cache_line.hh"
#include "wire/addr.hh"
#include "wire/tcp.hh"

namespace ts::stack {

struct StackConfig {
  wire::Ipv4Cidr addr;                    // our address and the on-link prefix
  // More local addresses, [first, last] inside addr's prefix (0.0.0.0: none):
  // answered like addr (ARP, ICMP, TCP) and used in turn as the source of
  // active opens, so a load generator is not limited to one address's ports.
  wire::Ipv4Addr extra_first{}, extra_last{};
  // Whether `a` is one of our addresses.
  bool is_local(wire::Ipv4Addr a) const {
    return a == addr.addr || (extra_first.v && a.v >= extra_first.v && a.v <= extra_last.v);
  }
  std::optional<wire::Ipv4Addr> gateway;  // next hop for everything off-link
  uint16_t vlan = 0;                      // 802.1Q VLAN ID, 0 for untagged
  uint8_t ttl = 64;
  // ICMP port unreachable for UDP to a closed port: at most this many a
  // second to any one destination (0: never). Per destination, not per
  // endpoint: a shared budget would tell an outsider, by what it leaves over,
  // which ports are open (the SAD DNS side channel).
  uint32_t icmp_unreachable_per_sec = 100;
  ArpConfig arp;
  TcpLayerConfig tcp;
  // Keys the ISN generator (RFC 6528), timestamp offsets and the flow-table
  // hash. Random in a real endpoint (the apps draw it at start); fixed in the
  // simulator for replay.
  std::array<uint8_t, 16> secret{};
};

struct EchoReply {
  wire::Ipv4Addr from;
  uint16_t ident = 0, seq = 0;
  std::span<const uint8_t> payload;
};

// A UDP datagram as received, for the receiver bound to its port; the payload
// is valid for the call only.
struct Datagram {
  wire::Ipv4Addr src, dst;
  uint16_t src_port = 0, dst_port = 0;
  std::span<const uint8_t> payload;
};

// Receives the datagrams of a bound UDP port; called on the stack's core.
class UdpReceiver {
 public:
  virtual ~UdpReceiver() = default;
  virtual void on_datagram(const Datagram& d, uint64_t now) = 0;
};

// Receives ICMP echo replies (for a ping client); called on the stack's core.
class EchoHandler {
 public:
  virtual ~EchoHandler() = default;
  virtual void on_echo_reply(const EchoReply& r, uint64_t now) = 0;
};

class alignas(util::kCacheLine) Stack final : public IpOutput {
 public:
  static constexpr uint16_t kBurst = 32;

  Stack(Device& dev, const StackConfig& cfg);
  // Frees the packets still waiting for ARP resolution.
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // One iteration of the core's loop: receive a burst, answer and dispatch it,
  // run due timers, flush transmissions.
  void poll(uint64_t now);
  // Handles one received frame (a burst of one); takes ownership of p.
  void input(Packet& p, uint64_t now);
  // Runs due timers (ARP retries); poll() calls it.
  void run_timers(uint64_t now);
  // When the stack next needs poll() for its timers; UINT64_MAX for never.
  uint64_t next_deadline() const { return std::min(arp_.next_deadline(), tcp_->next_deadline()); }

  TcpLayer& tcp() { return *tcp_; }
  // IpOutput, for the TCP layer. send_tcp: headers, options, the payload
  // copied in, checksums, then the IP output path; false when no buffer was
  // free or the segment does not fit (counted).
  bool send_tcp(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg,
                const tcp::Payload& payload, uint64_t now) override;
  // The extra addresses when there are some, else the primary one.
  uint32_t source_addresses() const override {
    return cfg_.extra_first.v ? cfg_.extra_last.v - cfg_.extra_first.v + 1 : 1;
  }
  wire::Ipv4Addr source_address(uint32_t i) const override {
    return cfg_.extra_first.v ? wire::Ipv4Addr{cfg_.extra_first.v + i} : cfg_.addr.addr;
  }
  uint16_t mtu() const override { return dev_.info().mtu; }
  uint16_t tso_max() const override {
    const DeviceInfo& i = dev_.info();
    return i.tx_ip_csum && i.tx_tcp_csum ? i.tso_max : 0;
  }
  uint16_t tso_segs() const override { return dev_.info().tso_segs; }
  uint16_t tso_trim() const override { return dev_.info().tso_counts_l2 ? uint16_t(l2_len_) : 0; }

  // Sends an ICMP echo request; false if no buffer was available or the payload
  // does not fit the MTU (counted). Resolves the next hop first if needed.
  bool send_echo_request(wire::Ipv4Addr dst, uint16_t ident, uint16_t seq,
                         std::span<const uint8_t> payload, uint64_t now);
  void set_echo_handler(EchoHandler* h) { echo_ = h; }

  // UDP. A port bound to a receiver gets its datagrams (false: the port is 0
  // or taken); a datagram to any other port is counted and answered with ICMP
  // port unreachable (RFC 1122 4.1.3.1), limited per destination.
  bool udp_bind(uint16_t port, UdpReceiver* r);
  void udp_unbind(uint16_t port);
  // Binds a free dynamic port (49152-65535, searched from `start`) whose
  // datagrams from remote:remote_port land on this core (docs/multicore.md);
  // 0 when none is free.
  uint16_t udp_bind_ephemeral(wire::Ipv4Addr remote, uint16_t remote_port, UdpReceiver* r,
                              uint32_t start);
  // Sends one datagram (checksum in software or by the device); false when
  // no buffer was free or it does not fit the MTU (counted).
  bool send_udp(wire::Ipv4Addr src, wire::Ipv4Addr dst, uint16_t src_port, uint16_t dst_port,
                std::span<const uint8_t> payload, uint64_t now);

  // Whether `a` is one of our addresses.
  bool is_local(wire::Ipv4Addr a) const { return cfg_.is_local(a); }
  const Counters& counters() const { return ctr_; }
  Counters& counters() { return ctr_; }
  const ArpCache& arp() const { return arp_; }
  const StackConfig& config() const { return cfg_; }
  const wire::MacAddr& mac() const { return mac_; }
  Device& device() { return dev_; }

 private:
  void input_frame(Packet& p, uint64_t now);
  void prefetch_flow(const Packet& p) const;
  void arp_input(Packet& p, size_t l2, uint64_t now);
  void ipv4_input(Packet& p, size_t l2, bool link_broadcast, uint64_t now);
  // The destination ours, the source acceptable, not a link broadcast; or
  // the packet dropped (counted) and false.
  bool accept_ipv4(Packet& p, const wire::Ipv4Repr& r, bool link_broadcast);
  // Any other IPv4 packet (ICMP, UDP, TCP in a less common form, anything
  // malformed): true when it is a TCP segment now parsed into rx_ip_ and
  // rx_tcp_ for the caller; otherwise the packet was handled or dropped.
  bool ipv4_input_general(Packet& p, size_t l2, bool link_broadcast, wire::CsumCheck check,
                          wire::CsumCheck l4_check, uint64_t now);
  bool bad_source(wire::Ipv4Addr src) const;
  void icmp_input(Packet& p, size_t l2, size_t ihl, std::span<const uint8_t> msg,
                  wire::Ipv4Addr src, uint64_t now);
  // ICMP port unreachable for the datagram whose IP packet is `l3` (quoted:
  // its header and as much of the rest as keeps the message within 576 bytes).
  void send_port_unreachable(std::span<const uint8_t> l3, wire::Ipv4Addr from, wire::Ipv4Addr to,
                             uint64_t now);
  // The link and IPv4 headers last written for one source, destination and
  // kind of packet, copied into the next such packet and patched (length,
  // identification, checksum) instead of written field by field after a
  // route and ARP lookup (docs/performance.md, "Instructions": header templates).
  struct HeaderTemplate {
    wire::Ipv4Addr src, dst;   // with `kind`, the key (valid_until 0: an empty slot)
    uint16_t kind = 0;         // the protocol, with kDontFragment
    uint32_t arp_version = 0;  // ArpCache::version() when it was made
    uint64_t valid_until = 0;  // when the next hop's ARP mapping expires
    uint16_t fixed_sum = 0;    // one's complement sum of the IPv4 header but length, ident, checksum
    std::array<uint8_t, 48> bytes{};  // l2_len_ + 20 of them
  };
  static constexpr uint16_t kDontFragment = 0x100;
  static constexpr unsigned kTemplateBits = 6;  // direct-mapped, 64 of them
  HeaderTemplate& header_template(wire::Ipv4Addr src, wire::Ipv4Addr dst) {
    const uint64_t key = uint64_t(dst.v) << 32 | src.v;
    return templates_[size_t((key * 0x9e3779b97f4a7c15ull) >> (64 - kTemplateBits))];
  }
  // Makes `t` from the headers just written in p (ARP mapping good until `until`).
  void remember(HeaderTemplate& t, const Packet& p, uint64_t until);
  // Sends a packet whose IPv4 header starts l2_len_ bytes into p.data: writes
  // the Ethernet header for the next hop, or holds p while ARP resolves it.
  // With `keep`, a packet that goes out makes it its headers' template.
  void ip_output(Packet& p, wire::Ipv4Addr dst, uint64_t now, HeaderTemplate* keep = nullptr);
  // A buffer for an IPv4 packet of l3_len bytes after our link header; false
  // (counted) when it exceeds the MTU or no buffer is free.
  bool alloc_ip(size_t l3_len, Packet& p, const DeviceInfo& info);
  // A buffer for a TSO frame's IP packet of l3_len bytes (up to tso_max());
  // false, not counted, when none is free (send_cut() then sends it).
  bool alloc_large(size_t l3_len, Packet& p);
  // A TSO frame's segments one by one, cut as the device would have cut them
  // (no large buffer, or segments shorter than the device's tso_min_seg).
  bool send_cut(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg,
                const tcp::Payload& payload, uint64_t now);
  // Writes the IPv4 header in front of the l4_len bytes already in place, sets
  // the packet's length and offload flags, and sends it.
  void send_ip(Packet& p, wire::Ipv4Addr src, wire::Ipv4Addr dst, uint8_t protocol,
               bool dont_frag, size_t l4_len, uint32_t l4_flags, uint64_t now,
               const DeviceInfo& info);
  void send_arp_request(wire::Ipv4Addr target);
  void write_eth(Packet& p, const wire::MacAddr& dst, uint16_t type) const;
  void transmit(Packet& p);
  void drop(Packet& p, uint64_t& counter);
  void drop(Packet& p, wire::Error e);

  Device& dev_;
  StackConfig cfg_;
  wire::MacAddr mac_;
  size_t l2_len_;  // Ethernet header length we write (with our VLAN tag)
  ArpCache arp_;
  Counters ctr_;
  EchoHandler* echo_ = nullptr;
  // Bound UDP ports (a handful: a linear search is fine).
  std::vector<std::pair<uint16_t, UdpReceiver*>> udp_ports_;
  // ICMP errors sent per destination in the present second (direct-mapped;
  // a destination that takes another's slot starts afresh).
  struct IcmpBudget {
    wire::Ipv4Addr to;
    uint64_t second = UINT64_MAX;
    uint32_t sent = 0;
  };
  std::array<IcmpBudget, 256> icmp_budget_{};
  uint16_t ip_ident_ = 0;
  // The last source address bad_source() passed: the next packet from it
  // skips the check (the answer depends only on the address and the fixed
  // configuration). 0.0.0.0 (in 0/8, which never passes) means none yet, and a
  // packet from 0.0.0.0 is always checked.
  wire::Ipv4Addr good_source_{};
  std::array<HeaderTemplate, size_t(1) << kTemplateBits> templates_{};
  // The headers of the packet being received, parsed in place of locals that
  // were initialised for every packet and then overwritten field by field (the
  // TCP options, SACK blocks and cookie among them, were cleared twice).
  // Nothing keeps a reference past its packet.
  wire::Ipv4Repr rx_ip_;
  wire::TcpRepr rx_tcp_;
  std::unique_ptr<TcpLayer> tcp_;
};

}  // namespace ts::stack
