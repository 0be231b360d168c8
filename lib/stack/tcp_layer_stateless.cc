// Stateless listeners (docs/stateless.md): one-segment transactions answered
// with no connection. The handshake is a SYN cookie; the request must be the
// whole of the first data segment, which proves the cookie; the answer goes
// out in one burst with the FIN on its last segment, within the client's
// window, and only that last segment acknowledges the request: if any of it
// is lost before the last arrives, the client sends its request again and
// the answer is made again (requests are idempotent). What comes after
// cannot be checked against anything we kept and is answered by kind.
#include <algorithm>

#include "stack/tcp_layer.hh"
#include "tcp/seq.hh"

namespace ts::stack {

using namespace wire::tcpflag;

namespace {

// Bytes [off, off + len) of a payload of parts.
tcp::Payload slice(const tcp::Payload& p, size_t off, size_t len) {
  tcp::Payload out;
  for (size_t i = 0; i < p.n && len; ++i) {
    const std::span<const uint8_t> part = p.part[i];
    if (off >= part.size()) {
      off -= part.size();
      continue;
    }
    const size_t n = std::min(len, part.size() - off);
    out.part[out.n++] = part.subspan(off, n);
    len -= n;
    off = 0;
  }
  return out;
}

}  // namespace

void TcpLayer::send_stateless(const StatelessTxn& x, uint32_t seq, uint32_t ack_no, uint8_t flags,
                              const tcp::Payload& payload) {
  wire::TcpRepr r;
  r.src_port = x.t.local_port;
  r.dst_port = x.t.remote_port;
  r.seq = seq;
  r.ack = ack_no;
  r.flags = flags;
  // We take no more data: the window only has to be open (a zero window would
  // invite probes); unscaled it is at most 64 KB, which no client exceeds
  // before our answer ends the exchange.
  r.window = 65535;
  if (x.ts) {
    r.options.has_timestamps = true;
    r.options.tsval = uint32_t(now_ / 1'000'000) + x.ts_offset;
    r.options.tsecr = x.ts_recent;
  }
  if (!ip_.send_tcp(x.t.local_ip, x.t.remote_ip, r, payload, now_)) return;
  ++ctr_.tcp_segs_out;
  if (payload.n) ++ctr_.tcp_data_segs_out;
  if (flags & rst) ++ctr_.tcp_rst_out;
}

bool TcpLayer::stateless_answer(const StatelessTxn& x, const tcp::Payload& answer, uint64_t now) {
  now_ = now;
  const size_t size = answer.size();
  if (size > x.window) {
    ++ctr_.tcp_stateless_unfit;
    stateless_reset(x, now);
    return false;
  }
  // The client's MSS leaves out options (RFC 6691): the timestamps come off it.
  const size_t mss = std::clamp<size_t>(std::min<size_t>(x.mss, size_t(mtu_) - 40) - (x.ts ? 12 : 0),
                                        64, 65495);
  size_t off = 0;
  do {
    const size_t n = std::min(mss, size - off);
    const bool last = off + n == size;
    // Earlier segments leave the request unacknowledged (ACK = its first byte).
    send_stateless(x, x.snd + uint32_t(off), last ? x.rcv_end : x.seq,
                   uint8_t(ack | (last ? (psh | fin) : 0)), slice(answer, off, n));
    off += n;
  } while (off < size);
  ++ctr_.tcp_stateless_answers;
  return true;
}

void TcpLayer::stateless_ack(const StatelessTxn& x, uint64_t now) {
  now_ = now;
  ++ctr_.tcp_stateless_late_acks;
  send_stateless(x, x.snd, x.rcv_end, ack, {});
}

void TcpLayer::stateless_reset(const StatelessTxn& x, uint64_t now) {
  now_ = now;
  send_stateless(x, x.snd, 0, rst, {});
}

void TcpLayer::stateless_input(Listener& l, const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                               const tcp::FourTuple& t) {
  if (seg.flags & rst) {  // RFC 9293: a reset for no state is dropped
    ++ctr_.tcp_listen_dropped;
    return;
  }
  const uint8_t f = seg.flags & (syn | ack);
  if (f == syn) {
    // The SYN-ACK of a cookie: everything the request's ACK needs rides in it.
    HalfOpen h = half_open_of(t, seg);
    if (send_cookie_syn_ack(l, h)) ++ctr_.tcp_stateless_syn_acks;
    return;
  }
  if (f != ack) {  // a SYN-ACK, or a SYN with ACK: no state to match it
    reset_for(ip, seg);
    ++ctr_.tcp_listen_dropped;
    return;
  }
  const bool has_fin = seg.flags & fin;
  const uint32_t len = uint32_t(seg.payload.size()) + (has_fin ? 1 : 0);
  uint16_t mss = 0;
  uint32_t ts_offset = 0;
  const uint32_t cookie = seg.ack - 1;
  const tcp::SynCookies::Verdict v = cookies_.check(t, seg.seq - 1, cookie, now_, mss, ts_offset);
  if (v != tcp::SynCookies::Verdict::ok) {
    if (v == tcp::SynCookies::Verdict::stale) ++ctr_.tcp_syncookie_stale;
    stateless_stray(l, ip, seg, t, len);
    return;
  }
  // The cookie checked: the handshake's ACK, or the first data after it.
  StatelessTxn x;
  x.t = t;
  x.seq = seg.seq;
  x.rcv_end = seg.seq + len;
  x.snd = cookie + 1;
  x.mss = mss;
  int wscale = -1;
  bool sack = false;
  x.ts = l.cfg.timestamps && seg.options.has_timestamps;
  if (x.ts) {
    tcp::SynCookies::options_from_ts(seg.options.tsecr, wscale, sack);
    x.ts_recent = seg.options.tsval;
    x.ts_offset = ts_offset;
  }
  x.window = uint32_t(seg.window) << (l.cfg.window_scaling && wscale >= 0 ? wscale : 0);
  if (len == 0) {
    ++ctr_.tcp_stateless_acks;  // the handshake completed; the request follows
    return;
  }
  if (seg.payload.empty()) {
    // A FIN with no request: ours goes with the ACK, and the exchange is over.
    ++ctr_.tcp_stateless_fin_acks;
    send_stateless(x, x.snd, x.rcv_end, ack | fin, {});
    return;
  }
  StatelessApp::Verdict verdict = StatelessApp::Verdict::unfit;
  if (x.window) {
    ++ctr_.tcp_stateless_requests;
    verdict = l.stateless->on_request(x, seg.payload);
  }
  if (verdict != StatelessApp::Verdict::unfit) return;
  if (l.acceptor && slot_obtainable()) {
    // The ordinary path takes over, as if the cookie had been a plain one.
    tcp::Handshake h;
    h.irs = seg.seq - 1;
    h.iss = cookie;
    h.peer_mss = mss;
    h.ts_offset = ts_offset;
    if (x.ts) {
      h.peer_wscale = int8_t(wscale);
      h.sack = sack;
      h.ts = true;
      h.ts_recent = seg.options.tsval;
    }
    if (promote(l, t, h, seg)) ++ctr_.tcp_stateless_fallback;
    return;
  }
  ++ctr_.tcp_stateless_unfit;
  stateless_reset(x, now_);
}

void TcpLayer::stateless_stray(Listener& l, const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                               const tcp::FourTuple& t, uint32_t len) {
  // Not the first data after a handshake: after our answer (or a forgery;
  // nothing here answers one with more than one segment).
  if (!seg.payload.empty()) {
    ++ctr_.tcp_stateless_stray_data;  // nothing acknowledges data we do not take
    reset_for(ip, seg);
    return;
  }
  const bool kept = l.stateless->on_ack(t, seg.seq, seg.ack, seg.flags & fin);
  if (seg.flags & fin) {
    // The client's FIN after our answer's: acknowledged (it is in LAST-ACK).
    ++ctr_.tcp_stateless_fin_acks;
    StatelessTxn x;
    x.t = t;
    x.ts = seg.options.has_timestamps && l.cfg.timestamps;
    x.ts_recent = seg.options.tsval;
    // Our timestamp clock for this exchange came from the cookie, which
    // this segment cannot give back; its echo of our last one can: the
    // ACK repeats it, so the client's PAWS (RFC 7323 5) takes it.
    x.ts_offset = seg.options.tsecr - uint32_t(now_ / 1'000'000);
    send_stateless(x, seg.ack, seg.seq + len, ack, {});
  } else if (seg.options.sack_count && !kept) {
    // The client holds answer bytes beyond a hole: nothing kept can fill it.
    ++ctr_.tcp_stateless_holes;
    reset_for(ip, seg);
  } else {
    ++ctr_.tcp_stateless_acks;  // the ACK of our answer and FIN
  }
}

}  // namespace ts::stack
