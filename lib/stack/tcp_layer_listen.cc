// Passive opens: LISTEN and SYN-RECEIVED (RFC 9293 3.10.7.2 and 3.10.7.4)
// without a connection, in the half-open table or in a SYN cookie; the
// connection is made when the ACK completes the handshake. See
// docs/defences.md.
#include <algorithm>

#include "stack/tcp_layer.hh"
#include "tcp/seq.hh"

namespace ts::stack {

using namespace wire::tcpflag;

const char* syncookie_mode_name(SynCookieMode m) {
  switch (m) {
    case SynCookieMode::never: return "never";
    case SynCookieMode::automatic: return "auto";
    case SynCookieMode::always: return "always";
  }
  return "?";
}

namespace {

// The window a SYN-ACK offers (never scaled in a SYN, RFC 7323 2.2).
uint16_t syn_window(const tcp::TcpConfig& c) {
  return uint16_t(std::min<uint32_t>(std::max<uint32_t>(c.rcvbuf, 1), 65535));
}

uint32_t ts_clock(uint64_t now, uint32_t offset) { return uint32_t(now / 1'000'000) + offset; }

}  // namespace

void TcpLayer::send_bare(const tcp::FourTuple& t, uint32_t seq, uint32_t ack_no, uint8_t flags) {
  wire::TcpRepr r;
  r.src_port = t.local_port;
  r.dst_port = t.remote_port;
  r.seq = seq;
  r.ack = ack_no;
  r.flags = flags;
  if (!ip_.send_tcp(t.local_ip, t.remote_ip, r, {}, now_)) return;
  ++ctr_.tcp_segs_out;  // every segment the layer sends itself counts too
  if (flags & rst) ++ctr_.tcp_rst_out;
}

bool TcpLayer::send_syn_ack(const Listener& l, const tcp::FourTuple& t, const HalfOpen& h,
                            uint32_t tsval) {
  const tcp::TcpConfig& c = l.cfg;
  wire::TcpRepr r;
  r.src_port = t.local_port;
  r.dst_port = t.remote_port;
  r.seq = h.iss;
  r.ack = h.irs + 1;
  r.flags = syn | ack;
  r.window = syn_window(c);
  // The MSS the connection will use (tcp::Connection's rule).
  r.options.has_mss = true;
  r.options.mss = uint16_t(std::clamp<int>(std::min<int>(c.mss, int(mtu_) - 40), 64, 65495));
  if (c.window_scaling && h.peer_wscale >= 0) {
    r.options.has_wscale = true;
    r.options.wscale = tcp::window_shift_for(std::max<uint32_t>(c.rcvbuf, 1));
  }
  r.options.sack_permitted = c.sack && h.sack;
  if (c.timestamps && h.ts) {
    r.options.has_timestamps = true;
    r.options.tsval = tsval;
    r.options.tsecr = h.ts_recent;
  }
  if (h.fastopen_grant) {
    const tcp::FastOpenCookie k = fastopen_cookies_.make(t.remote_ip, t.local_ip, now_);
    r.options.has_fastopen = true;
    r.options.fastopen_cookie_len = k.len;
    std::copy_n(k.bytes.begin(), k.len, r.options.fastopen_cookie.begin());
    ++ctr_.tcp_fastopen_cookies_sent;
  }
  if (!ip_.send_tcp(t.local_ip, t.remote_ip, r, {}, now_)) return false;
  ++ctr_.tcp_segs_out;
  return true;
}

TcpLayer::HalfOpen TcpLayer::half_open_of(const tcp::FourTuple& t, const wire::TcpRepr& syn_seg) {
  HalfOpen h;
  h.t = t;
  h.irs = syn_seg.seq;
  const wire::TcpOptions& o = syn_seg.options;
  h.peer_mss = o.has_mss ? o.mss : 0;
  h.peer_wscale = o.has_wscale ? int8_t(std::min<uint8_t>(o.wscale, 14)) : -1;
  h.sack = o.sack_permitted;
  h.ts = o.has_timestamps;
  h.ts_recent = o.tsval;
  return h;
}

bool TcpLayer::send_cookie_syn_ack(const Listener& l, HalfOpen& h) {
  // No state: everything the ACK needs rides in the SYN-ACK. Window scale
  // and SACK-permitted come back only in the echoed TSval: without
  // timestamps neither is offered (as Linux's cookies do).
  if (!(l.cfg.timestamps && h.ts)) {
    h.peer_wscale = -1;
    h.sack = false;
  }
  uint32_t ts_offset;
  h.iss = cookies_.make(h.t, h.irs, h.peer_mss, now_, ts_offset);
  const uint32_t tsval = tcp::SynCookies::ts_with_options(
      ts_clock(now_, ts_offset), l.cfg.window_scaling ? h.peer_wscale : -1, l.cfg.sack && h.sack);
  return send_syn_ack(l, h.t, h, tsval);
}

void TcpLayer::listen_input(Listener& l, const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                            const tcp::FourTuple& t) {
  const uint8_t f = seg.flags & (syn | ack | rst);
  // An ACK for a handshake we kept no state for: a SYN cookie, checked only
  // while we have been sending them (a random ACK is a 2^-24 guess).
  if (f == ack && l.syncookies != SynCookieMode::never && now_ < cookies_until_) {
    uint16_t mss = 0;
    uint32_t ts_offset = 0;
    const uint32_t irs = seg.seq - 1, cookie = seg.ack - 1;
    switch (cookies_.check(t, irs, cookie, now_, mss, ts_offset)) {
      case tcp::SynCookies::Verdict::ok: {
        ++ctr_.tcp_syncookie_valid;
        tcp::Handshake h;
        h.irs = irs;
        h.iss = cookie;
        h.peer_mss = mss;
        h.ts_offset = ts_offset;
        if (l.cfg.timestamps && seg.options.has_timestamps) {
          // What else the SYN negotiated came back in the echoed timestamp.
          int wscale;
          bool sack;
          tcp::SynCookies::options_from_ts(seg.options.tsecr, wscale, sack);
          h.peer_wscale = int8_t(wscale);
          h.sack = sack;
          h.ts = true;
          h.ts_recent = seg.options.tsval;
        }
        promote(l, t, h, seg);
        return;
      }
      case tcp::SynCookies::Verdict::stale:
        ++ctr_.tcp_syncookie_stale;
        return;  // no reset: a flood of ACKs must not make us a reflector
      case tcp::SynCookies::Verdict::forged:
        ++ctr_.tcp_syncookie_forged;
        note_cookie_failure(t);
        return;
    }
  }
  // RFC 9293 3.10.7.2, LISTEN: a reset is ignored, an ACK is answered with a
  // reset, and anything else without SYN is dropped.
  if (f != syn) {
    if ((seg.flags & ack) && !(seg.flags & rst)) reset_for(ip, seg);
    ++ctr_.tcp_listen_dropped;
    return;
  }
  HalfOpen h = half_open_of(t, seg);
  const bool full = l.half_open >= l.backlog || half_free_.empty();
  if (full) ++ctr_.tcp_backlog_full;
  const bool stateless = l.syncookies == SynCookieMode::always ||
                         (full && l.syncookies == SynCookieMode::automatic);
  if (l.cfg.fast_open && seg.options.has_fastopen) {
    // RFC 7413 4.2: a cookie request gets one; a valid cookie with data hands
    // the data to the application now (within the limits below); anything
    // else is an ordinary handshake whose SYN-ACK acknowledges the SYN alone,
    // so no data reaches the application before the peer proved its address
    // (seed 004's spoofing). docs/fastopen.md.
    const std::span<const uint8_t> cookie(seg.options.fastopen_cookie.data(),
                                          seg.options.fastopen_cookie_len);
    if (cookie.empty()) {
      h.fastopen_grant = true;
    } else if (!fastopen_cookies_.check(t.remote_ip, t.local_ip, cookie, now_)) {
      ++ctr_.tcp_fastopen_cookie_invalid;
      h.fastopen_grant = true;  // a fresh one (the key may have moved on)
    } else if (!seg.payload.empty()) {
      if (stateless)
        ++ctr_.tcp_fastopen_syncookie_wait;  // no state to keep the data in
      else if (l.fastopen_pending >= cfg_.fastopen_max_pending)
        ++ctr_.tcp_fastopen_pending_full;
      else if (replay_guard_ && replay_guard_->seen(t.remote_ip, seg.seq, seg.payload, now_))
        ++ctr_.tcp_fastopen_replayed;
      else
        return fastopen_open(l, seg, t);
    }
  }
  if (stateless) {
    if (send_cookie_syn_ack(l, h)) ++ctr_.tcp_syncookie_sent;
    // Checked while any cookie sent could come back, and a period beyond, so
    // that late ones are counted as stale rather than reset.
    cookies_until_ = now_ + 3 * tcp::SynCookies::kPeriodNs;
    return;
  }
  if (full) return;  // a dropped SYN is retried by the peer; a reset would refuse it
  const uint32_t index = half_free_.back();
  const uint32_t id = cfg_.max_connections + index;
  if (!table_.insert(t, id)) {
    ++ctr_.tcp_conn_limit;
    return;
  }
  half_free_.pop_back();
  ++half_count_;
  ++l.half_open;
  h.listener = &l;
  const tcp::IsnGenerator::Numbers n = isn_.numbers(t, now_);
  h.iss = n.isn;
  h.ts_offset = n.ts_offset;
  h.sent_ns = now_;
  half_[index] = h;
  send_syn_ack(l, t, half_[index], ts_clock(now_, h.ts_offset));
  timers_.schedule(id, now_ + l.cfg.rto_initial_ns, now_);
}

void TcpLayer::fastopen_open(Listener& l, const wire::TcpRepr& seg, const tcp::FourTuple& t) {
  // A connection at once (the data needs one).
  const uint32_t id = admit(l, t, seg);
  if (id == FlowTable::kNone) return;  // counted; the peer sends the SYN again
  Slot& s = slots_[id];
  if (!l.closed) {  // (on_accept may have unlistened the port)
    s.fastopen_listener = &l;
    ++l.fastopen_pending;
  }
  ++ctr_.tcp_fastopen_accepted;
  const tcp::IsnGenerator::Numbers n = isn_.numbers(t, now_);
  s.conn->accept(tcp::SegmentIn::from(seg), n.isn, n.ts_offset, now_, true);
}

void TcpLayer::fastopen_settled(Slot& s) {
  if (!s.fastopen_listener) return;
  --s.fastopen_listener->fastopen_pending;
  s.fastopen_listener = nullptr;
}

void TcpLayer::drop_half_open(uint32_t index, bool keep_flow) {
  HalfOpen& h = half_[index];
  if (!h.listener) return;
  if (!keep_flow) table_.erase(h.t);
  timers_.cancel(cfg_.max_connections + index);
  --h.listener->half_open;
  --half_count_;
  h.listener = nullptr;
  half_free_.push_back(index);
}

void TcpLayer::half_open_timer(uint32_t index) {
  HalfOpen& h = half_[index];
  if (!h.listener) return;
  const tcp::TcpConfig& c = h.listener->cfg;
  if (h.resent >= c.syn_retries) {
    ++ctr_.tcp_half_open_expired;
    drop_half_open(index);
    return;
  }
  // RFC 6298 5.5: the SYN-ACK again, after twice as long each time.
  ++h.resent;
  ++ctr_.tcp_retransmits;
  h.sent_ns = now_;
  send_syn_ack(*h.listener, h.t, h, ts_clock(now_, h.ts_offset));
  const uint64_t wait = std::min<uint64_t>(c.rto_initial_ns << std::min<int>(h.resent, 20), c.rto_max_ns);
  timers_.schedule(cfg_.max_connections + index, now_ + wait, now_);
}

void TcpLayer::half_open_input(uint32_t index, const wire::Ipv4Repr& ip,
                               const wire::TcpRepr& seg) {
  HalfOpen& h = half_[index];
  Listener& l = *h.listener;
  const uint32_t rcv_nxt = h.irs + 1;
  auto challenge = [&] {
    // RFC 5961 7, rate-limited per entry (a shared limit would be a side
    // channel, as for connections).
    if (now_ - h.challenged_ns >= 1'000'000'000) {
      h.challenged_ns = now_;
      h.challenges = 0;
    }
    if (h.challenges >= l.cfg.challenge_acks_per_sec) {
      ++ctr_.tcp_challenge_acks_limited;
      return;
    }
    ++h.challenges;
    ++ctr_.tcp_challenge_acks;
    send_bare(h.t, h.iss + 1, rcv_nxt, ack);
  };
  if ((seg.flags & syn) && !(seg.flags & (ack | rst))) {
    if (seg.seq == h.irs) {
      // The peer did not get our SYN-ACK: it goes again.
      ++ctr_.tcp_retransmits;
      ++h.resent;  // Karn: the round trip is no longer known
      send_syn_ack(l, h.t, h, ts_clock(now_, h.ts_offset));
    } else {
      challenge();  // RFC 5961 4.2
    }
    return;
  }
  if (seg.flags & rst) {
    // RFC 5961 3.2: exactly RCV.NXT ends the handshake; elsewhere in the
    // window, a challenge.
    if (seg.seq == rcv_nxt) {
      ++ctr_.tcp_rst_in;
      drop_half_open(index);
    } else if (tcp::seq_in(seg.seq, rcv_nxt, rcv_nxt + syn_window(l.cfg))) {
      challenge();
    }
    return;
  }
  if (seg.flags & syn) {
    challenge();
    return;
  }
  if (!(seg.flags & ack)) {
    ++ctr_.tcp_no_ack_flag;
    return;
  }
  if (seg.ack != h.iss + 1) {
    reset_for(ip, seg);  // RFC 9293 3.10.7.4, SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>
    return;
  }
  // RFC 7323 5.3: PAWS, against the SYN's timestamp.
  if (h.ts && l.cfg.timestamps && seg.options.has_timestamps &&
      tcp::seq_lt(seg.options.tsval, h.ts_recent)) {
    ++ctr_.tcp_paws_drops;
    send_bare(h.t, h.iss + 1, rcv_nxt, ack);
    return;
  }
  const uint32_t len = uint32_t(seg.payload.size()) + ((seg.flags & fin) ? 1 : 0);
  if (seg.seq != rcv_nxt &&
      !(len && tcp::seq_in(seg.seq, rcv_nxt, rcv_nxt + syn_window(l.cfg)))) {
    ++ctr_.tcp_bad_seq;
    send_bare(h.t, h.iss + 1, rcv_nxt, ack);
    return;
  }
  tcp::Handshake hs;
  hs.irs = h.irs;
  hs.iss = h.iss;
  hs.peer_mss = h.peer_mss;
  hs.peer_wscale = l.cfg.window_scaling ? h.peer_wscale : -1;
  hs.sack = l.cfg.sack && h.sack;
  hs.ts = l.cfg.timestamps && h.ts;
  hs.ts_recent = h.ts_recent;
  hs.ts_offset = h.ts_offset;
  hs.rtt_ns = h.resent ? 0 : now_ - h.sent_ns;  // Karn: not after a retransmission
  // Without a connection slot (free, or a TIME-WAIT's) the ACK is dropped as
  // if lost: the entry stays, its SYN-ACK goes again, and the peer's next ACK
  // may find one.
  if (!slot_obtainable()) {
    ++ctr_.tcp_conn_limit;
    return;
  }
  // The entry goes first: its 4-tuple, and its place in the flow table,
  // become the connection's.
  const tcp::FourTuple t = h.t;
  drop_half_open(index, true);
  promote(l, t, hs, seg, true);
}

uint32_t TcpLayer::admit(Listener& l, const tcp::FourTuple& t, const wire::TcpRepr& seg,
                         bool flow_held) {
  // The slot first, then the application: what it makes for a connection it
  // accepts always has a connection to go with it.
  const uint32_t id = new_slot(t, l.conn_cfg, nullptr, flow_held);
  if (id == FlowTable::kNone) return id;
  // A TIME-WAIT recycled for the slot may have closed, and its application
  // unlistened the port: as for a port nobody listens on.
  const bool closed = l.closed;
  tcp::Events* ev = closed ? nullptr : l.acceptor->on_accept(t);
  if (!ev) {
    release(id);
    ++(closed ? ctr_.tcp_no_listener : ctr_.tcp_refused);
    wire::Ipv4Repr ip;
    ip.src = t.remote_ip;
    ip.dst = t.local_ip;
    reset_for(ip, seg);  // RFC 9293 3.10.7.1's reset for the segment
    return FlowTable::kNone;
  }
  slots_[id].conn->set_events(ev);
  open_path(slots_[id], false, now_);
  return id;
}

bool TcpLayer::promote(Listener& l, const tcp::FourTuple& t, const tcp::Handshake& h,
                       const wire::TcpRepr& ack_seg, bool flow_held) {
  const uint32_t id = admit(l, t, ack_seg, flow_held);
  if (id == FlowTable::kNone) return false;
  Slot& s = slots_[id];
  s.conn->accept_handshake(h, now_);
  s.conn->input(tcp::SegmentIn::from(ack_seg), now_);
  return true;
}

}  // namespace ts::stack
