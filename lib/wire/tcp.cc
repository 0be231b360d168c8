#include "wire/tcp.hh"

#include <algorithm>
#include <cstring>

#include "wire/bytes.hh"
#include "wire/ipv4.hh"

namespace ts::wire {

Error TcpOptions::parse(std::span<const uint8_t> o, TcpOptions& out) {
  size_t i = 0;
  const size_t n = o.size();
  // NOP, NOP, timestamps (take_usual_timestamps). The loop below reads it
  // (and the SYN layout next) the same way, only slower.
  if (out.take_usual_timestamps(o)) return Error::ok;
  // And what a SYN or SYN-ACK with timestamps carries, ours and Linux's: MSS;
  // SACK-permitted (or two NOPs) and timestamps; NOP and window scale.
  if (n == 20 && o[0] == tcpopt::mss && o[1] == 4 &&
      ((o[4] == tcpopt::sack_permitted && o[5] == 2) || (o[4] == tcpopt::nop && o[5] == tcpopt::nop)) &&
      o[6] == tcpopt::timestamps && o[7] == 10 && o[16] == tcpopt::nop && o[17] == tcpopt::wscale &&
      o[18] == 3) {
    out.has_mss = true;
    out.mss = load_be16(&o[2]);
    out.sack_permitted = o[4] == tcpopt::sack_permitted;
    out.has_timestamps = true;
    out.tsval = load_be32(&o[8]);
    out.tsecr = load_be32(&o[12]);
    out.has_wscale = true;
    out.wscale = o[19];
    return Error::ok;
  }
  while (i < n) {
    const uint8_t kind = o[i];
    if (kind == tcpopt::eol) break;
    if (kind == tcpopt::nop) {
      ++i;
      continue;
    }
    if (i + 1 >= n) return Error::tcp_option_overrun;
    const uint8_t olen = o[i + 1];
    // RFC 9293 3.1: a length below 2 cannot be skipped, so the segment is unusable.
    if (olen < 2) return Error::tcp_option_len_short;
    if (i + olen > n) return Error::tcp_option_overrun;
    const uint8_t* v = &o[i + 2];
    switch (kind) {
      case tcpopt::mss:
        if (olen != 4) return Error::tcp_option_bad_length;
        out.has_mss = true;
        out.mss = load_be16(v);
        break;
      case tcpopt::wscale:
        if (olen != 3) return Error::tcp_option_bad_length;
        out.has_wscale = true;
        out.wscale = v[0];
        break;
      case tcpopt::sack_permitted:
        if (olen != 2) return Error::tcp_option_bad_length;
        out.sack_permitted = true;
        break;
      case tcpopt::sack: {
        // 40 bytes of option space hold at most four blocks (RFC 2018 3).
        if (olen < 10 || olen > 2 + 8 * kMaxSackBlocks || (olen - 2) % 8 != 0)
          return Error::tcp_option_bad_length;
        out.sack_count = uint8_t((olen - 2) / 8);
        for (unsigned b = 0; b < out.sack_count; ++b)
          out.sack[b] = {load_be32(v + 8 * b), load_be32(v + 8 * b + 4)};
        break;
      }
      case tcpopt::timestamps:
        if (olen != 10) return Error::tcp_option_bad_length;
        out.has_timestamps = true;
        out.tsval = load_be32(v);
        out.tsecr = load_be32(v + 4);
        break;
      case tcpopt::fastopen: {
        // RFC 7413 4.1.1: empty (a request) or a cookie of 4 to 16 bytes.
        const size_t clen = olen - 2u;
        if (clen != 0 && (clen < kMinFastOpenCookie || clen > kMaxFastOpenCookie))
          return Error::tcp_option_bad_length;
        out.has_fastopen = true;
        out.fastopen_cookie_len = uint8_t(clen);
        std::memcpy(out.fastopen_cookie.data(), v, clen);
        break;
      }
      default:
        ++out.unknown;
        break;
    }
    i += olen;
  }
  return Error::ok;
}

// Lays the options out the way common stacks do, so that the 32-bit fields stay
// aligned: MSS, SACK-permitted folded into the timestamps' padding, window scale
// after a NOP, SACK blocks after two NOPs, Fast Open padded in front.
bool TcpOptions::operator==(const TcpOptions& o) const {
  if (has_mss != o.has_mss || (has_mss && mss != o.mss)) return false;
  if (has_wscale != o.has_wscale || (has_wscale && wscale != o.wscale)) return false;
  if (sack_permitted != o.sack_permitted || sack_count != o.sack_count) return false;
  if (!std::equal(sack.begin(), sack.begin() + std::min<size_t>(sack_count, kMaxSackBlocks),
                  o.sack.begin()))
    return false;
  if (has_timestamps != o.has_timestamps ||
      (has_timestamps && (tsval != o.tsval || tsecr != o.tsecr)))
    return false;
  if (has_fastopen != o.has_fastopen || fastopen_cookie_len != o.fastopen_cookie_len) return false;
  const size_t cookie = std::min<size_t>(fastopen_cookie_len, kMaxFastOpenCookie);
  return std::equal(fastopen_cookie.begin(), fastopen_cookie.begin() + cookie,
                    o.fastopen_cookie.begin()) &&
         unknown == o.unknown;
}

size_t TcpOptions::measure() const {
  // write()'s layout, by its lengths.
  size_t n = (has_mss ? 4 : 0) + (has_timestamps ? 12 : sack_permitted ? 4 : 0) + (has_wscale ? 4 : 0);
  if (has_fastopen) {
    const size_t need = (2 + std::min<size_t>(fastopen_cookie_len, kMaxFastOpenCookie) + 3) & ~size_t(3);
    if (n + need <= kTcpMaxOptionsLen) n += need;
  }
  if (sack_count > 0 && n + 4 + 8 <= kTcpMaxOptionsLen)
    n += 4 + 8 * std::min<size_t>(sack_count, (kTcpMaxOptionsLen - n - 4) / 8);
  return n;
}

size_t TcpOptions::write(uint8_t* p) const {
  size_t n = 0;
  auto put = [&](uint8_t b) { p[n++] = b; };
  auto put32 = [&](uint32_t v) {
    store_be32(p + n, v);
    n += 4;
  };

  if (has_mss) {
    put(tcpopt::mss);
    put(4);
    store_be16(p + n, mss);
    n += 2;
  }
  if (has_timestamps) {
    if (sack_permitted) {
      put(tcpopt::sack_permitted);
      put(2);
    } else {
      put(tcpopt::nop);
      put(tcpopt::nop);
    }
    put(tcpopt::timestamps);
    put(10);
    put32(tsval);
    put32(tsecr);
  } else if (sack_permitted) {
    put(tcpopt::nop);
    put(tcpopt::nop);
    put(tcpopt::sack_permitted);
    put(2);
  }
  if (has_wscale) {
    put(tcpopt::nop);
    put(tcpopt::wscale);
    put(3);
    put(wscale);
  }
  if (has_fastopen) {
    const size_t clen = std::min<size_t>(fastopen_cookie_len, kMaxFastOpenCookie);
    const size_t need = (2 + clen + 3) & ~size_t(3);
    if (n + need <= kTcpMaxOptionsLen) {
      for (size_t pad = need - (2 + clen); pad > 0; --pad) put(tcpopt::nop);
      put(tcpopt::fastopen);
      put(uint8_t(2 + clen));
      std::memcpy(p + n, fastopen_cookie.data(), clen);
      n += clen;
    }
  }
  if (sack_count > 0 && n + 4 + 8 <= kTcpMaxOptionsLen) {
    size_t blocks = sack_count;
    while (n + 4 + 8 * blocks > kTcpMaxOptionsLen) --blocks;
    put(tcpopt::nop);
    put(tcpopt::nop);
    put(tcpopt::sack);
    put(uint8_t(2 + 8 * blocks));
    for (size_t b = 0; b < blocks; ++b) {
      put32(sack[b].left);
      put32(sack[b].right);
    }
  }
  return n;
}

Error TcpView::check() const {
  if (b_.size() < kTcpHeaderLen) return Error::tcp_truncated;
  if (header_len() < kTcpHeaderLen) return Error::tcp_offset_too_small;
  if (header_len() > b_.size()) return Error::tcp_offset_beyond_packet;
  return Error::ok;
}


bool TcpView::checksum_ok(Ipv4Addr src, Ipv4Addr dst) const {
  uint16_t ph = pseudo_header_sum(src, dst, ipproto::tcp, uint16_t(b_.size()));
  return ones_sum(b_.data(), b_.size(), ph) == 0xffff;
}

Error TcpRepr::parse(TcpView v, Ipv4Addr src, Ipv4Addr dst, TcpRepr& out, CsumCheck csum) {
  if (Error e = v.check(); e != Error::ok) return e;
  if (csum == CsumCheck::verify && !v.checksum_ok(src, dst)) return Error::tcp_bad_checksum;
  out.options = TcpOptions{};
  if (Error e = TcpOptions::parse(v.options(), out.options); e != Error::ok) return e;
  out.src_port = v.src_port();
  out.dst_port = v.dst_port();
  out.seq = v.seq();
  out.ack = v.ack();
  out.flags = v.flags();
  out.window = v.window();
  out.urgent = v.urgent();
  out.payload = v.payload();
  out.seg_size = 0;
  return Error::ok;
}

void TcpRepr::emit_header(std::span<uint8_t> seg, Ipv4Addr src, Ipv4Addr dst,
                          CsumFill csum) const {
  uint8_t* p = seg.data();
  const size_t opt_len = options.emit(p + kTcpHeaderLen);
  const size_t hlen = kTcpHeaderLen + opt_len;
  store_be16(p + 0, src_port);
  store_be16(p + 2, dst_port);
  store_be32(p + 4, seq);
  store_be32(p + 8, ack);
  p[12] = uint8_t((hlen / 4) << 4);
  p[13] = flags;
  store_be16(p + 14, window);
  store_be16(p + 16, 0);
  store_be16(p + 18, urgent);
  uint16_t ph = pseudo_header_sum(src, dst, ipproto::tcp, uint16_t(seg.size()));
  store_be16(p + 16, csum == CsumFill::offload ? ph : checksum(p, seg.size(), ph));
}

}  // namespace ts::wire
