// Per-core counters of everything the endpoint does and every reason it drops a
// packet (docs/architecture.md, "Rules", 6). Plain integers written by the owning
// core only; a reader on another core takes a snapshot.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>

#include "tcp/counters.hh"
#include "wire/error.hh"

namespace ts::stack {

// X(name, is_drop, description)
#define TS_STACK_COUNTERS(X)                                                              \
  X(rx_frames, false, "frames received")                                                  \
  X(tx_frames, false, "frames handed to the device")                                      \
  X(tx_headers_written, false, "IPv4 packets whose headers were written field by field, with a route and ARP lookup (not from a template)") \
  X(eth_not_for_us, true, "frame for another MAC address or a group we did not join")     \
  X(eth_unknown_type, true, "EtherType other than IPv4 and ARP")                          \
  X(vlan_mismatch, true, "802.1Q tag other than the interface's")                         \
  X(arp_requests_in, false, "ARP requests for our address")                               \
  X(arp_replies_out, false, "ARP replies sent")                                           \
  X(arp_requests_out, false, "ARP requests sent to resolve a next hop")                   \
  X(arp_replies_in, false, "ARP replies received")                                        \
  X(arp_not_for_us, false, "ARP packets about other hosts (ignored)")                     \
  X(arp_queue_full, true, "packet dropped: too many waiting for ARP resolution")          \
  X(arp_table_full, true, "packet dropped: ARP table full")                               \
  X(arp_resolve_failed, true, "packet dropped: next hop did not answer ARP")              \
  X(ipv4_not_for_us, true, "IPv4 packet for another address")                             \
  X(ipv4_bad_source, true, "IPv4 source that is no single remote host (RFC 1122 3.2.1.3)") \
  X(ipv4_link_broadcast, true, "unicast IPv4 in a link-layer broadcast (RFC 1122 3.3.6)")  \
  X(ipv4_unknown_protocol, true, "IPv4 protocol other than ICMP, TCP and UDP")            \
  X(ipv4_no_route, true, "no route to the destination (off-link, no gateway)")            \
  X(icmp_echo_requests_in, false, "ICMP echo requests received")                          \
  X(icmp_echo_replies_out, false, "ICMP echo replies sent")                               \
  X(icmp_echo_requests_out, false, "ICMP echo requests sent")                             \
  X(icmp_echo_replies_in, false, "ICMP echo replies received")                            \
  X(icmp_other, true, "ICMP messages of other types (ignored)")                           \
  X(udp_no_listener, true, "UDP datagram for a port nobody listens on (answered with ICMP port unreachable)") \
  X(udp_datagrams_in, false, "UDP datagrams delivered to a bound port")                   \
  X(udp_datagrams_out, false, "UDP datagrams sent")                                       \
  X(icmp_unreachable_out, false, "ICMP port unreachable messages sent")                   \
  X(icmp_unreachable_limited, false, "ICMP port unreachable messages not sent: the destination's limit") \
  X(tx_alloc_failed, true, "packet not sent: buffer pool empty")                         \
  X(tx_too_big, true, "packet not sent: larger than the MTU or the buffer")                \
  X(tx_tso_cut, false, "TSO frames sent as their segments: no large buffer was free, or segments shorter than the device cuts")     \
  X(steer_out, false, "received frames passed to the core that owns their flow")         \
  X(steer_in, false, "frames another core received for this core's flows")               \
  X(steer_ring_full, true, "frame dropped: the ring to the owning core was full")        \
  X(steer_tx_relayed, false, "frames sent through the core that holds the port queue")   \
  X(steer_tx_ring_full, true, "frame not sent: the ring to the transmitting core was full")

struct Counters {
#define TS_X(name, drop, desc) uint64_t name = 0;
  TS_STACK_COUNTERS(TS_X)
#undef TS_X
  // TCP's own (connections and the layer that serves them).
  tcp::TcpCounters tcp;
  // Parse failures, one counter per reason (wire::Error).
  std::array<uint64_t, wire::kErrorCount> parse{};

  uint64_t& parse_error(wire::Error e) { return parse[unsigned(e)]; }
  uint64_t parse_error(wire::Error e) const { return parse[unsigned(e)]; }
  uint64_t drops() const;
  void merge(const Counters& o);
  // Visits every counter as (name, value, is_drop, description), in a fixed order.
  void for_each(
      const std::function<void(std::string_view, uint64_t, bool, std::string_view)>& f) const;
  // The value of a counter by name; -1 when no counter has that name.
  int64_t get(std::string_view name) const;
};

}  // namespace ts::stack
