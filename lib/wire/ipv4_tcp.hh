// The received packet nearly every segment is, parsed in one pass: a 20-byte
// IPv4 header (no options, not a fragment) carrying TCP. It makes what
// Ipv4Repr::parse and TcpRepr::parse make of such a packet, after the same
// checks, with one test of the first byte and each header length worked out
// once; the options of every segment after the handshake between hosts that
// use timestamps (NOP, NOP, timestamps: RFC 7323 appendix A's layout, ours
// and Linux's) with one test of their first word, any others by the general
// option parser (docs/performance.md, "Instructions").
#pragma once

#include <span>

#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

namespace ts::wire {

// False for any other packet, and for one that fails a check (a length, a
// checksum, an option): the general parsers then take it and name what is
// wrong. On false, `ip` and `tcp` may be partly written.
[[gnu::always_inline]] inline bool parse_ipv4_tcp_common(std::span<const uint8_t> b,
                                                         CsumCheck ip_csum, CsumCheck tcp_csum,
                                                         Ipv4Repr& ip, TcpRepr& tcp) {
  constexpr size_t kBoth = kIpv4HeaderLen + kTcpHeaderLen;
  const uint8_t* p = b.data();
  // Version 4 with a 20-byte header, TCP, the total length within the frame
  // (which may carry Ethernet padding after it) and no fragment (MF, offset).
  if (b.size() < kBoth || p[0] != 0x45 || p[9] != ipproto::tcp) return false;
  const uint16_t total = load_be16(p + 2);
  if (total > b.size() || total < kBoth || (load_be16(p + 6) & 0x3fff) != 0) return false;
  const uint8_t* t = p + kIpv4HeaderLen;
  const size_t l4 = total - kIpv4HeaderLen;
  const size_t hlen = size_t(t[12] >> 4) * 4;
  if (hlen < kTcpHeaderLen || hlen > l4) return false;
  if (ip_csum == CsumCheck::verify && ones_sum(p, kIpv4HeaderLen) != 0xffff) return false;
  ip.src = Ipv4Addr(load_be32(p + 12));
  ip.dst = Ipv4Addr(load_be32(p + 16));
  if (tcp_csum == CsumCheck::verify &&
      ones_sum(t, l4, pseudo_header_sum(ip.src, ip.dst, ipproto::tcp, uint16_t(l4))) != 0xffff)
    return false;
  ip.protocol = ipproto::tcp;
  ip.ttl = p[8];
  ip.tos = p[1];
  ip.ident = load_be16(p + 4);
  ip.dont_frag = (p[6] & 0x40) != 0;
  ip.payload_len = uint16_t(l4);
  tcp.options = TcpOptions{};
  const std::span<const uint8_t> opts{t + kTcpHeaderLen, hlen - kTcpHeaderLen};
  if (!opts.empty() && !tcp.options.take_usual_timestamps(opts) &&
      TcpOptions::parse(opts, tcp.options) != Error::ok)
    return false;
  tcp.src_port = load_be16(t);
  tcp.dst_port = load_be16(t + 2);
  tcp.seq = load_be32(t + 4);
  tcp.ack = load_be32(t + 8);
  tcp.flags = t[13];
  tcp.window = load_be16(t + 14);
  tcp.urgent = load_be16(t + 18);
  tcp.payload = {t + hlen, l4 - hlen};
  tcp.seg_size = 0;
  return true;
}

}  // namespace ts::wire
