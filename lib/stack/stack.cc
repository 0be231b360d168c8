#include "stack/stack.hh"

#include <algorithm>
#include <cstring>

#include "stack/steering.hh"
#include "wire/arp.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/ipv4_tcp.hh"
#include "wire/tcp.hh"
#include "wire/udp.hh"

namespace ts::stack {

using wire::Error;
using wire::Ipv4Addr;
using wire::MacAddr;

Stack::Stack(Device& dev, const StackConfig& cfg)
    : dev_(dev),
      cfg_(cfg),
      mac_(dev.info().mac),
      l2_len_(cfg.vlan ? wire::kEthHeaderLen + wire::kVlanTagLen : wire::kEthHeaderLen),
      arp_(cfg.arp),
      // Made last: the TCP layer reads our addresses and MTU (IpOutput) as
      // it is made.
      tcp_(std::make_unique<TcpLayer>(*this, cfg.tcp, cfg.secret, ctr_.tcp)) {}

Stack::~Stack() {
  tcp_.reset();  // connections may still send (nothing leaves: no flush follows)
  arp_.drain([&](Packet& p) { dev_.free(p); });
}

// The steps of every frame's way out (a buffer, the IP header, the next hop,
// the Ethernet header, the device) are written once and used by TCP, UDP, ICMP
// and ARP alike; each sender gets its own copy of them, without a call per step
// (docs/performance.md, "Instructions").
#define TS_HOT_INLINE [[gnu::always_inline]] inline

namespace {

// Moves the start of a frame forward within its buffer.
void advance(Packet& p, uint8_t* start) {
  p.room -= uint32_t(start - p.data);
  p.data = start;
}

}  // namespace

void Stack::poll(uint64_t now) {
  PacketBurst<kBurst> burst;
  Packet* pkts = burst.get();
  const uint16_t n = dev_.rx_burst(pkts, kBurst, now);
  // First the whole burst's headers are read and its TCP segments' flow-table
  // slots prefetched, so that their cache misses overlap (a flood from random
  // sources, or many connections, misses on every lookup); then each frame is
  // processed. Only for bursts of 8 and more, and only where the slots are
  // likely cold (TcpLayer::prefetch_pays: the last burst brought frames for
  // new flows, or the table holds more flows than the cache keeps): a short
  // burst is a light load, and a few connections exchanging find their slots
  // in the cache, where the extra pass (some 30 instructions a frame) buys
  // nothing.
  if (n >= kBurst / 4 && tcp_->prefetch_pays())
    for (uint16_t i = 0; i < n; ++i) prefetch_flow(pkts[i]);
  for (uint16_t i = 0; i < n; ++i) input_frame(pkts[i], now);
  if (n) tcp_->end_of_burst(now);
  if (now >= arp_.next_deadline()) run_timers(now);
  tcp_->poll(now);
  dev_.flush(now);
}

void Stack::prefetch_flow(const Packet& p) const {
  // Untagged IPv4 carrying TCP, read at fixed offsets; anything else (and
  // anything malformed, which input_frame() drops) is simply not prefetched.
  const uint8_t* d = p.data;
  if (p.len < 14 + 20 + 4 || wire::load_be16(d + 12) != wire::ethertype::ipv4) return;
  const uint8_t* ip = d + 14;
  const size_t ihl = size_t(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || p.len < 14 + ihl + 4) return;
  const uint8_t* tcp = ip + ihl;
  tcp_->prefetch({Ipv4Addr{wire::load_be32(ip + 16)}, Ipv4Addr{wire::load_be32(ip + 12)},
                  wire::load_be16(tcp + 2), wire::load_be16(tcp)});
}

void Stack::run_timers(uint64_t now) {
  arp_.tick(
      now, [&](Ipv4Addr ip) { send_arp_request(ip); },
      [&](Packet& p) { drop(p, ctr_.arp_resolve_failed); });
}

void Stack::drop(Packet& p, uint64_t& counter) {
  ++counter;
  dev_.free(p);
}

void Stack::drop(Packet& p, Error e) {
  ++ctr_.parse_error(e);
  dev_.free(p);
}

TS_HOT_INLINE void Stack::transmit(Packet& p) {
  ++ctr_.tx_frames;
  dev_.send(p);
}

void Stack::input(Packet& p, uint64_t now) {
  input_frame(p, now);
  tcp_->end_of_burst(now);
}

void Stack::input_frame(Packet& p, uint64_t now) {
  ++ctr_.rx_frames;
  wire::EthernetView eth({p.data, p.len});
  if (Error e = eth.check(); e != Error::ok) return drop(p, e);
  const MacAddr dst = eth.dst();
  if (dst != mac_ && !dst.is_broadcast()) return drop(p, ctr_.eth_not_for_us);
  if (eth.vlan_id() != cfg_.vlan) return drop(p, ctr_.vlan_mismatch);
  switch (eth.ethertype()) {
    case wire::ethertype::arp:
      return arp_input(p, eth.header_len(), now);
    case wire::ethertype::ipv4:
      return ipv4_input(p, eth.header_len(), dst.is_broadcast(), now);
    default:
      return drop(p, ctr_.eth_unknown_type);
  }
}

void Stack::arp_input(Packet& p, size_t l2, uint64_t now) {
  wire::ArpRepr a;
  if (Error e = wire::ArpRepr::parse({p.data + l2, p.len - l2}, a); e != Error::ok)
    return drop(p, e);
  const bool for_us = is_local(a.target_ip);
  const Ipv4Addr self = a.target_ip;
  // RFC 826 "merge": refresh a mapping we hold whoever the packet was for, and
  // add the sender only when it asked us. Never learn our own address or a
  // group MAC, and never from an RFC 5227 probe (sender 0.0.0.0).
  // Only on-link senders: routing never uses another mapping, and anyone on the
  // link could otherwise fill the table with made-up addresses.
  const bool learnable = cfg_.addr.contains(a.sender_ip) && !bad_source(a.sender_ip) &&
                         !a.sender_mac.is_multicast() && !a.sender_mac.is_zero();
  if (learnable) {
    if (ArpCache::Entry* e = arp_.learn(a.sender_ip, a.sender_mac, now, for_us)) {
      Packet waiting;
      while (arp_.pop(*e, waiting)) {
        write_eth(waiting, e->mac, wire::ethertype::ipv4);
        transmit(waiting);
      }
    }
  }
  if (!for_us) return drop(p, ctr_.arp_not_for_us);
  if (a.op == wire::ArpOp::reply) {
    ++ctr_.arp_replies_in;
    dev_.free(p);
    return;
  }
  ++ctr_.arp_requests_in;
  // Answer in place: the request's buffer becomes the reply, behind our own
  // Ethernet header (a priority tag on the request is not echoed).
  uint8_t* body = p.data + l2;
  wire::ArpRepr{wire::ArpOp::reply, mac_, self, a.sender_mac, a.sender_ip}.emit(
      {body, wire::kArpLen});
  advance(p, body - l2_len_);
  write_eth(p, a.sender_mac, wire::ethertype::arp);
  p.len = uint32_t(l2_len_ + wire::kArpLen);
  if (p.room >= wire::kEthMinFrame && p.len < wire::kEthMinFrame) {
    std::memset(p.data + p.len, 0, wire::kEthMinFrame - p.len);
    p.len = wire::kEthMinFrame;
  }
  p.flags = 0;
  ++ctr_.arp_replies_out;
  transmit(p);
}

bool Stack::bad_source(Ipv4Addr src) const {
  // RFC 1122 3.2.1.3: 0/8, 127/8, class E (240/4, with the limited broadcast),
  // multicast and the directed broadcast name no single remote host; nor does
  // our own address arriving from the wire. Answering would reflect traffic to
  // a group, onto loopback addresses, or to ourselves.
  return !cfg_.addr.names_host(src) || is_local(src);
}

TS_HOT_INLINE bool Stack::accept_ipv4(Packet& p, const wire::Ipv4Repr& r, bool link_broadcast) {
  if (!is_local(r.dst)) return drop(p, ctr_.ipv4_not_for_us), false;
  if (r.src != good_source_ || good_source_.v == 0) {  // 0.0.0.0: none kept yet
    if (bad_source(r.src)) return drop(p, ctr_.ipv4_bad_source), false;
    good_source_ = r.src;
  }
  // RFC 1122 3.3.6: a unicast destination in a link-layer broadcast is discarded.
  if (link_broadcast) return drop(p, ctr_.ipv4_link_broadcast), false;
  return true;
}

void Stack::ipv4_input(Packet& p, size_t l2, bool link_broadcast, uint64_t now) {
  const std::span<const uint8_t> l3{p.data + l2, p.len - l2};
  const auto check = (p.flags & pktflag::rx_ip_csum_good) ? wire::CsumCheck::trust
                                                           : wire::CsumCheck::verify;
  const auto l4_check = (p.flags & pktflag::rx_l4_csum_good) ? wire::CsumCheck::trust
                                                              : wire::CsumCheck::verify;
  // Nearly every packet: a TCP segment in its common form, parsed in one pass
  // (wire/ipv4_tcp.hh). Everything else, and whatever fails a check there,
  // goes the general way, which names the error it drops for and takes
  // every other protocol.
  if (!(p.flags & (pktflag::rx_ip_csum_bad | pktflag::rx_l4_csum_bad)) &&
      wire::parse_ipv4_tcp_common(l3, check, l4_check, rx_ip_, rx_tcp_)) [[likely]] {
    if (!accept_ipv4(p, rx_ip_, link_broadcast)) return;
  } else if (!ipv4_input_general(p, l2, link_broadcast, check, l4_check, now)) {
    return;
  }
  // One call of the TCP layer, so that it stays inlined here.
  wire::TcpRepr& t = rx_tcp_;
  // The peer's TSO frame, passed on whole by an in-process device.
  if ((p.flags & pktflag::rx_tcp_merged) && p.seg_size && t.payload.size() > p.seg_size)
    t.seg_size = p.seg_size;
  // The connection copies what it keeps; the buffer goes back afterwards.
  tcp_->input(rx_ip_, t, now);
  dev_.free(p);
}

bool Stack::ipv4_input_general(Packet& p, size_t l2, bool link_broadcast, wire::CsumCheck check,
                               wire::CsumCheck l4_check, uint64_t now) {
  wire::Ipv4View ip({p.data + l2, p.len - l2});
  wire::Ipv4Repr& r = rx_ip_;  // every field parsed: no zeroing first
  if (Error e = wire::Ipv4Repr::parse(ip, r, check); e != Error::ok) return drop(p, e), false;
  if (p.flags & pktflag::rx_ip_csum_bad) return drop(p, Error::ipv4_bad_checksum), false;
  if (!accept_ipv4(p, r, link_broadcast)) return false;
  const auto l4 = ip.payload();
  switch (r.protocol) {
    case wire::ipproto::icmp:
      icmp_input(p, l2, ip.header_len(), l4, r.src, now);
      return false;
    case wire::ipproto::tcp: {
      if (p.flags & pktflag::rx_l4_csum_bad) return drop(p, Error::tcp_bad_checksum), false;
      if (Error e = wire::TcpRepr::parse(wire::TcpView(l4), r.src, r.dst, rx_tcp_, l4_check);
          e != Error::ok)
        return drop(p, e), false;
      return true;  // the caller hands it to the TCP layer
    }
    case wire::ipproto::udp: {
      wire::UdpRepr u;
      if (p.flags & pktflag::rx_l4_csum_bad) return drop(p, Error::udp_bad_checksum), false;
      if (Error e = wire::UdpRepr::parse(wire::UdpView(l4), r.src, r.dst, u, l4_check);
          e != Error::ok)
        return drop(p, e), false;
      for (const auto& [port, rx] : udp_ports_)
        if (port == u.dst_port) {
          ++ctr_.udp_datagrams_in;
          rx->on_datagram({r.src, r.dst, u.src_port, u.dst_port, u.payload}, now);
          dev_.free(p);
          return false;
        }
      send_port_unreachable({p.data + l2, size_t(ip.header_len()) + l4.size()}, r.dst, r.src, now);
      drop(p, ctr_.udp_no_listener);
      return false;
    }
    default:
      drop(p, ctr_.ipv4_unknown_protocol);
      return false;
  }
}

void Stack::icmp_input(Packet& p, size_t l2, size_t ihl, std::span<const uint8_t> msg,
                       Ipv4Addr src, uint64_t now) {
  wire::IcmpRepr ic;
  if (Error e = wire::IcmpRepr::parse(wire::IcmpView(msg), ic); e != Error::ok)
    return drop(p, e);
  if (ic.type == wire::icmptype::echo_reply) {
    ++ctr_.icmp_echo_replies_in;
    if (echo_) echo_->on_echo_reply({src, ic.ident, ic.seq, ic.payload}, now);
    dev_.free(p);
    return;
  }
  if (ic.type != wire::icmptype::echo_request || ic.code != 0) return drop(p, ctr_.icmp_other);
  ++ctr_.icmp_echo_requests_in;

  // Answer in place (RFC 1122 3.2.2.6: same identifier, sequence and data).
  // Only the ICMP type, the addresses and the TTL change, so the ICMP checksum
  // is updated incrementally instead of re-summing the payload; the 20-byte IP
  // header is summed afresh (a device that verified the request may have left
  // its checksum field unfilled, as the in-process port does).
  uint8_t* l3 = p.data + l2;
  wire::icmp_echo_request_to_reply({l3 + ihl, msg.size()});
  const size_t options = ihl - wire::kIpv4HeaderLen;
  if (options) {
    // RFC 1122 3.2.2.6 would have Record Route and Timestamp updated and a source
    // route reversed; we reply without IP options instead, which every host
    // accepts: the 20-byte header moves up against the ICMP message.
    std::memmove(l3 + options, l3, wire::kIpv4HeaderLen);
    l3 += options;
    l3[0] = 0x45;
    wire::store_be16(l3 + 2, uint16_t(wire::kIpv4HeaderLen + msg.size()));
  }
  uint8_t addr[4];
  std::memcpy(addr, l3 + 12, 4);
  std::memcpy(l3 + 12, l3 + 16, 4);
  std::memcpy(l3 + 16, addr, 4);  // swapping the addresses leaves the sum unchanged
  l3[8] = cfg_.ttl;
  wire::store_be16(l3 + 10, 0);
  wire::store_be16(l3 + 10, wire::checksum(l3, wire::kIpv4HeaderLen));
  // Our Ethernet header goes right before the IP header (this also drops the
  // tag of a priority-tagged request to an untagged interface).
  advance(p, l3 - l2_len_);
  p.len = uint32_t(l2_len_ + wire::kIpv4HeaderLen + msg.size());
  p.flags = 0;
  ++ctr_.icmp_echo_replies_out;
  ip_output(p, src, now);
}

bool Stack::alloc_large(size_t l3_len, Packet& p) {
  if (l3_len > tso_max() || !dev_.alloc(p, uint32_t(l2_len_ + l3_len))) return false;
  if (p.room >= l2_len_ + l3_len) return true;
  dev_.free(p);
  return false;
}

bool Stack::send_cut(Ipv4Addr src, Ipv4Addr dst, const wire::TcpRepr& seg,
                     const tcp::Payload& payload, uint64_t now) {
  ++ctr_.tx_tso_cut;
  wire::TcpRepr s = seg;
  s.seg_size = 0;
  const size_t total = payload.size();
  for (size_t off = 0; off < total; off += seg.seg_size) {
    const size_t n = std::min<size_t>(seg.seg_size, total - off);
    s.seq = seg.seq + uint32_t(off);
    // PSH and FIN belong to the last segment (as a NIC's TSO leaves them).
    s.flags = off + n < total ? uint8_t(seg.flags & ~(wire::tcpflag::psh | wire::tcpflag::fin))
                              : seg.flags;
    // A segment that cannot go is a loss TCP repairs; none at all, a failure.
    if (!send_tcp(src, dst, s, payload.slice(off, n), now)) return off > 0;
  }
  return true;
}

TS_HOT_INLINE bool Stack::alloc_ip(size_t l3_len, Packet& p, const DeviceInfo& info) {
  if (l3_len > info.mtu) {
    ++ctr_.tx_too_big;
    return false;
  }
  if (!dev_.alloc(p)) {
    ++ctr_.tx_alloc_failed;
    return false;
  }
  if (p.room < l2_len_ + l3_len) {
    ++ctr_.tx_too_big;
    dev_.free(p);
    return false;
  }
  return true;
}

TS_HOT_INLINE void Stack::send_ip(Packet& p, Ipv4Addr src, Ipv4Addr dst, uint8_t protocol, bool dont_frag,
                    size_t l4_len, uint32_t l4_flags, uint64_t now, const DeviceInfo& info) {
  const bool offload = info.tx_ip_csum;
  const uint16_t total = uint16_t(wire::kIpv4HeaderLen + l4_len);
  const uint16_t ident = ip_ident_++;
  p.len = uint32_t(l2_len_ + total);
  p.flags = (offload ? pktflag::tx_ip_csum : 0) | l4_flags;
  p.l2_len = uint16_t(l2_len_);
  p.l3_len = uint16_t(wire::kIpv4HeaderLen);
  const uint16_t kind = uint16_t(protocol | (dont_frag ? kDontFragment : 0));
  HeaderTemplate& t = header_template(src, dst);
  if (t.dst == dst && t.src == src && t.kind == kind && now < t.valid_until &&
      t.arp_version == arp_.version()) [[likely]] {
    // The l2_len_ + 20 (34 or 38) bytes as two fixed-size copies that overlap.
    const size_t n = l2_len_ + wire::kIpv4HeaderLen;
    std::memcpy(p.data, t.bytes.data(), 32);
    std::memcpy(p.data + n - 16, t.bytes.data() + n - 16, 16);
    uint8_t* ip = p.data + l2_len_;
    wire::store_be16(ip + 2, total);
    wire::store_be16(ip + 4, ident);
    if (!offload)
      wire::store_be16(ip + 10, uint16_t(~wire::ones_add(wire::ones_add(t.fixed_sum, total), ident)));
    return transmit(p);
  }
  ++ctr_.tx_headers_written;
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = protocol;
  ip.ttl = cfg_.ttl;
  ip.ident = ident;
  ip.dont_frag = dont_frag;
  ip.payload_len = uint16_t(l4_len);
  ip.emit({p.data + l2_len_, wire::kIpv4HeaderLen},
          offload ? wire::CsumFill::offload : wire::CsumFill::full);
  ip_output(p, dst, now, &t);
}

void Stack::remember(HeaderTemplate& t, const Packet& p, uint64_t until) {
  const size_t n = l2_len_ + wire::kIpv4HeaderLen;
  std::memcpy(t.bytes.data(), p.data, n);
  uint8_t* ip = t.bytes.data() + l2_len_;
  wire::store_be16(ip + 2, 0);  // length, identification and checksum: per packet
  wire::store_be16(ip + 4, 0);
  wire::store_be16(ip + 10, 0);
  t.fixed_sum = wire::ones_sum(ip, wire::kIpv4HeaderLen);
  t.src = Ipv4Addr{wire::load_be32(ip + 12)};
  t.dst = Ipv4Addr{wire::load_be32(ip + 16)};
  t.kind = uint16_t(ip[9] | ((wire::load_be16(ip + 6) & 0x4000) ? kDontFragment : 0));
  t.arp_version = arp_.version();
  t.valid_until = until;
}

bool Stack::udp_bind(uint16_t port, UdpReceiver* r) {
  if (!port || !r) return false;
  for (const auto& b : udp_ports_)
    if (b.first == port) return false;
  udp_ports_.emplace_back(port, r);
  return true;
}

uint16_t Stack::udp_bind_ephemeral(Ipv4Addr remote, uint16_t remote_port, UdpReceiver* r,
                                   uint32_t start) {
  // 49152-65535 (RFC 6335's dynamic ports), from `start` on, skipping ports
  // whose flow from `remote` another core owns.
  const FlowPlacement* fp = cfg_.tcp.placement;
  constexpr uint32_t first = 49152, span = 65536 - first;
  for (uint32_t i = 0; i < span; ++i) {
    const uint16_t p = uint16_t(first + (start + i) % span);
    if (fp && fp->owner(remote, cfg_.addr.addr, remote_port, p) != cfg_.tcp.core) continue;
    if (udp_bind(p, r)) return p;
  }
  return 0;
}

void Stack::udp_unbind(uint16_t port) {
  std::erase_if(udp_ports_, [&](const auto& b) { return b.first == port; });
}

bool Stack::send_udp(Ipv4Addr src, Ipv4Addr dst, uint16_t src_port, uint16_t dst_port,
                     std::span<const uint8_t> payload, uint64_t now) {
  wire::UdpRepr u;
  u.src_port = src_port;
  u.dst_port = dst_port;
  u.payload = payload;
  Packet p;
  if (!alloc_ip(wire::kIpv4HeaderLen + u.len(), p, dev_.info())) return false;
  uint8_t* l4 = p.data + l2_len_ + wire::kIpv4HeaderLen;
  if (!payload.empty()) std::memcpy(l4 + wire::kUdpHeaderLen, payload.data(), payload.size());
  const bool offload = dev_.info().tx_udp_csum;
  u.emit_header({l4, u.len()}, src, dst, offload ? wire::CsumFill::offload : wire::CsumFill::full);
  ++ctr_.udp_datagrams_out;
  send_ip(p, src, dst, wire::ipproto::udp, true, u.len(), offload ? pktflag::tx_udp_csum : 0, now,
          dev_.info());
  return true;
}

void Stack::send_port_unreachable(std::span<const uint8_t> l3, Ipv4Addr from, Ipv4Addr to,
                                  uint64_t now) {
  if (!cfg_.icmp_unreachable_per_sec) return;
  IcmpBudget& b = icmp_budget_[(uint32_t(to.v) * 0x9e3779b1u) >> 24];
  const uint64_t second = now / 1'000'000'000;
  if (b.to != to || b.second != second) b = IcmpBudget{to, second, 0};
  if (b.sent >= cfg_.icmp_unreachable_per_sec) {
    ++ctr_.icmp_unreachable_limited;
    return;
  }
  // RFC 1812 4.3.2.3: as much of the datagram as fits in 576 bytes.
  const size_t quote = std::min<size_t>(l3.size(), 576 - wire::kIpv4HeaderLen - wire::kIcmpHeaderLen);
  wire::IcmpRepr ic;
  ic.type = wire::icmptype::dest_unreachable;
  ic.code = 3;  // port unreachable
  ic.payload = l3.first(quote);
  Packet p;
  if (!alloc_ip(wire::kIpv4HeaderLen + ic.len(), p, dev_.info())) return;
  uint8_t* l4 = p.data + l2_len_ + wire::kIpv4HeaderLen;
  std::memcpy(l4 + wire::kIcmpHeaderLen, l3.data(), quote);
  ic.payload = {l4 + wire::kIcmpHeaderLen, quote};
  ic.emit_header({l4, ic.len()});
  ++b.sent;
  ++ctr_.icmp_unreachable_out;
  send_ip(p, from, to, wire::ipproto::icmp, false, ic.len(), 0, now, dev_.info());
}

bool Stack::send_echo_request(Ipv4Addr dst, uint16_t ident, uint16_t seq,
                              std::span<const uint8_t> payload, uint64_t now) {
  const size_t l4_len = wire::kIcmpHeaderLen + payload.size();
  Packet p;
  if (!alloc_ip(wire::kIpv4HeaderLen + l4_len, p, dev_.info())) return false;
  uint8_t* l4 = p.data + l2_len_ + wire::kIpv4HeaderLen;
  std::memcpy(l4 + wire::kIcmpHeaderLen, payload.data(), payload.size());
  wire::IcmpRepr{wire::icmptype::echo_request, 0, ident, seq, payload}.emit_header({l4, l4_len});
  ++ctr_.icmp_echo_requests_out;
  send_ip(p, cfg_.addr.addr, dst, wire::ipproto::icmp, false, l4_len, 0, now, dev_.info());
  return true;
}

bool Stack::send_tcp(Ipv4Addr src, Ipv4Addr dst, const wire::TcpRepr& seg, const tcp::Payload& payload,
                     uint64_t now) {
  const DeviceInfo& info = dev_.info();  // (a virtual call: once a segment)
  const size_t hlen = seg.header_len();
  const size_t l4_len = hlen + payload.size();
  // A TSO frame (TcpRepr::seg_size; only when tso_max() offered it): the
  // device cuts it, up to its own limit rather than the MTU.
  const bool tso = seg.seg_size && payload.size() > seg.seg_size;
  Packet p;
  if (tso) {
    if (seg.seg_size < info.tso_min_seg || !alloc_large(wire::kIpv4HeaderLen + l4_len, p))
      return send_cut(src, dst, seg, payload, now);
  } else if (!alloc_ip(wire::kIpv4HeaderLen + l4_len, p, info)) {
    return false;
  }
  uint8_t* l4 = p.data + l2_len_ + wire::kIpv4HeaderLen;
  payload.copy_to(l4 + hlen);
  const bool offload = info.tx_tcp_csum;
  seg.emit_header({l4, l4_len}, src, dst, offload ? wire::CsumFill::offload : wire::CsumFill::full);
  // A TSO frame's checksum field: the pseudo-header sum without the length,
  // which differs per segment (DPDK's rule for TCP segmentation offload).
  if (tso) wire::store_be16(l4 + 16, wire::pseudo_header_sum(src, dst, wire::ipproto::tcp, 0));
  p.seg_size = tso ? seg.seg_size : 0;
  // (A TSO frame is sent only where the device offers TSO, hence checksum offload.)
  send_ip(p, src, dst, wire::ipproto::tcp, true, l4_len,
          offload ? pktflag::tx_tcp_csum | (tso ? pktflag::tx_tcp_seg : 0) : 0, now, info);
  return true;
}

TS_HOT_INLINE void Stack::ip_output(Packet& p, Ipv4Addr dst, uint64_t now, HeaderTemplate* keep) {
  Ipv4Addr next_hop = dst;
  if (!cfg_.addr.contains(dst)) {
    if (!cfg_.gateway) return drop(p, ctr_.ipv4_no_route);
    next_hop = *cfg_.gateway;
  }
  if (const ArpCache::Entry* e = arp_.resolved(next_hop, now)) {
    write_eth(p, e->mac, wire::ethertype::ipv4);
    if (keep) remember(*keep, p, e->expires);
    return transmit(p);
  }
  const ArpCache::Hold h = arp_.hold(next_hop, p, now);
  if (h.ask) send_arp_request(next_hop);
  if (!h.kept) drop(p, h.table_full ? ctr_.arp_table_full : ctr_.arp_queue_full);
}

TS_HOT_INLINE void Stack::write_eth(Packet& p, const MacAddr& dst, uint16_t type) const {
  wire::EthernetRepr{dst, mac_, type, cfg_.vlan != 0, cfg_.vlan, 0}.emit({p.data, l2_len_});
}

void Stack::send_arp_request(Ipv4Addr target) {
  Packet p;
  if (!dev_.alloc(p)) {
    ++ctr_.tx_alloc_failed;
    return;
  }
  const size_t len = std::max(l2_len_ + wire::kArpLen, wire::kEthMinFrame);
  if (p.room < len) {
    ++ctr_.tx_too_big;
    dev_.free(p);
    return;
  }
  std::memset(p.data, 0, len);
  write_eth(p, MacAddr::broadcast(), wire::ethertype::arp);
  wire::ArpRepr{wire::ArpOp::request, mac_, cfg_.addr.addr, MacAddr{}, target}.emit(
      {p.data + l2_len_, wire::kArpLen});
  p.len = uint32_t(len);
  p.flags = 0;
  ++ctr_.arp_requests_out;
  transmit(p);
}

}  // namespace ts::stack
