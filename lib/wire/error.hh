// Why a parser rejected a packet. Every reason is distinct so that each kind of
// malformed input has its own drop counter (docs/architecture.md, "Rules", 6).
#pragma once

#include <cstdint>

namespace ts::wire {

// X(name, description)
#define TS_WIRE_ERRORS(X)                                                        \
  X(eth_truncated, "Ethernet header shorter than 14 bytes")                      \
  X(vlan_truncated, "802.1Q tag cut off")                                        \
  X(arp_truncated, "ARP packet shorter than 28 bytes")                           \
  X(arp_unsupported, "ARP for a hardware/protocol other than Ethernet/IPv4")     \
  X(arp_bad_op, "ARP operation neither request nor reply")                       \
  X(ipv4_truncated, "IPv4 header (with options) cut off")                        \
  X(ipv4_bad_version, "IP version field is not 4")                               \
  X(ipv4_bad_ihl, "IPv4 header length below 5 words")                            \
  X(ipv4_len_beyond_buffer, "IPv4 total length larger than the frame")           \
  X(ipv4_len_below_header, "IPv4 total length smaller than its header")          \
  X(ipv4_bad_checksum, "IPv4 header checksum mismatch")                          \
  X(ipv4_fragment, "IPv4 fragment (reassembly not supported)")                   \
  X(icmp_truncated, "ICMP message shorter than 8 bytes")                         \
  X(icmp_bad_checksum, "ICMP checksum mismatch")                                 \
  X(udp_truncated, "UDP header cut off")                                         \
  X(udp_bad_length, "UDP length field below 8 or beyond the IP payload")         \
  X(udp_bad_checksum, "UDP checksum mismatch")                                   \
  X(tcp_truncated, "TCP header shorter than 20 bytes")                           \
  X(tcp_offset_too_small, "TCP data offset below 5 words")                       \
  X(tcp_offset_beyond_packet, "TCP data offset past the end of the segment")     \
  X(tcp_option_len_short, "TCP option length 0 or 1")                            \
  X(tcp_option_overrun, "TCP option runs past the header")                       \
  X(tcp_option_bad_length, "known TCP option with a length it cannot have")      \
  X(tcp_bad_checksum, "TCP checksum mismatch")

enum class Error : uint8_t {
  ok = 0,
#define TS_X(name, desc) name,
  TS_WIRE_ERRORS(TS_X)
#undef TS_X
  count_
};

inline constexpr unsigned kErrorCount = unsigned(Error::count_);

const char* error_name(Error e);
const char* error_description(Error e);

}  // namespace ts::wire
