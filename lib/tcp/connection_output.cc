// The connection's sending side: what to send now (new data under Nagle and
// silly-window avoidance, go-back-N after a timeout, what the recovery unit
// asks for during SACK recovery, FIN, SYN, delayed and immediate ACKs,
// probes), building the segment (window, timestamps, SACK blocks), and the
// timers.
#include <algorithm>

#include "tcp/connection.hh"
#include "tcp/seq.hh"

namespace ts::tcp {

using namespace wire::tcpflag;

// The wire segments `len` bytes of payload in `s` become (a TSO frame: several).
static uint32_t segments_in(const SegmentOut& s, uint32_t len) {
  return s.seg_size ? (len + s.seg_size - 1) / s.seg_size : 1;
}

void Connection::output(uint64_t now) {
  if (!started_ || state_ == State::closed) return;
  if (handshaking(state_)) {
    if (snd_.nxt == snd_.iss) {
      // A Fast Open SYN waits for the data it is to carry (docs/fastopen.md).
      if (!(foc_ && foc_->defer_syn) || sndbuf_.size()) send_syn(now);
    } else if (acks_.now && state_ == State::syn_received) {
      send_ack(now);  // an unacceptable segment is answered here too
    }
    // A Fast Open server answers within the initial window before the
    // handshake completes (RFC 7413 4.2.2): what the SYN-ACK could not carry
    // follows it.
    if (state_ == State::syn_received && fo_accepted_ && snd_.nxt != snd_.iss)
      while (send_data(now, false)) {
      }
    return;
  }
  if (sends_data(state_)) {
    if (rec_ && rec_->pipe_driven()) {
      // RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS, send NextSeg and add its
      // size to pipe. The pipe is computed once and then charged per segment.
      int64_t budget = int64_t(cc_.cwnd()) - int64_t(rec_->pipe(flight_space(), smss_));
      while (budget >= int64_t(smss_)) {
        const uint64_t before = rec_->bytes_sent();
        if (!send_recovery(now)) break;
        budget -= int64_t(std::max<uint64_t>(rec_->bytes_sent() - before, 1));
      }
    } else if (!send_whole(now)) {
      // Only while there is something send_data() could send: new data, a
      // go-back-N resend, or the FIN. (An rr exchange's ACK, which owes output
      // in case it opened the window, finds nothing; and the segment that
      // took the last byte needs no call after it to find that out.)
      while ((unsent() || seq_lt(snd_.nxt, snd_.max)) && send_data(now, false)) {
      }
    }
    // Nothing more to send with room in the window: rate samples until this
    // flight is delivered measure the application, not the path.
    DeliveryRate* r = rate();
    if (r && pos_of(snd_.nxt) >= sndbuf_.end() && flight() + smss_ <= cc_.cwnd())
      r->mark_app_limited(flight());
    update_persist(now);
  }
  if (state_ != State::closed && (acks_.now || (timers_.delack && now >= timers_.delack)))
    send_ack(now);
}

uint32_t Connection::initial_window() const {
  // RFC 6928: min(10 SMSS, max(2 SMSS, 14600 bytes)) for the default of ten.
  if (cfg_.initial_window == 10) return std::min(10 * smss_, std::max(2 * smss_, 14600u));
  return std::max(cfg_.initial_window, 1u) * smss_;
}

uint64_t Connection::pacing_rate_set() const {
  if (const uint64_t r = cc_.pacing_rate()) return r;
  if (!cfg_.pacing || !rtt_.has_sample()) return 0;
  // Linux's default ratios: twice cwnd per SRTT in slow start (so the window
  // can still double), 1.2 times in congestion avoidance.
  const uint64_t srtt = std::max<uint64_t>(rtt_.srtt(), 1000);
  const uint64_t pct = cc_.in_slow_start() ? 200 : 120;
  return uint64_t(cc_.cwnd()) * pct * 10'000'000 / srtt;
}

// The pacing timer fires up to a wheel tick late (stack/timer_wheel.hh): a
// segment may make up that much lost time, so the rate holds on average.
static constexpr uint64_t kPaceSlackNs = 1u << 14;

bool Connection::pace_wait(uint64_t now) {
  const uint64_t next = cold_ ? cold_->pace_next : 0;
  if (next <= now || !pacing_rate()) return false;
  cold_->pace = next;  // next > now: the block is there
  return true;
}

void Connection::pace_sent(uint32_t len, uint64_t now) {
  const uint64_t rate = pacing_rate();
  if (!rate || !len) return;
  const uint64_t floor = now > kPaceSlackNs ? now - kPaceSlackNs : 0;
  uint64_t& next = cold().pace_next;
  next = std::max(next, floor) + uint64_t(len) * 1'000'000'000 / rate;
}

bool Connection::send_data(uint64_t now, bool force) {
  if (!force && pace_wait(now)) return false;
  uint64_t pos = pos_of(snd_.nxt);
  const uint64_t end = sndbuf_.end();
  bool retrans = seq_lt(snd_.nxt, snd_.max);
  if (retrans) {
    // Go-back-N after a timeout: skip what the receiver holds (RFC 6675 5.1).
    const uint64_t p = std::min(scoreboard().skip_sacked(pos), std::max(pos, end));
    if (p != pos) {
      pos = p;
      snd_.nxt = seq_of(p);
      retrans = seq_lt(snd_.nxt, snd_.max);
    }
  }
  uint64_t avail = end > pos ? end - pos : 0;
  if (retrans) avail = std::min(avail, scoreboard().next_sacked(pos) - pos);

  if (!retrans && snd_.max == snd_.una && avail && now - last_tx_ > rto())
    cc_.on_idle(std::min(initial_window(), cc_.cwnd()), now);  // RFC 5681 4.1

  // RFC 5681 2: no more than min(cwnd, rwnd) outstanding. In NewReno fast
  // recovery cwnd is inflated by duplicate ACKs (RFC 6582).
  const uint32_t wnd = std::min(snd_.wnd, cc_.cwnd());
  const uint32_t outstanding = snd_.nxt - snd_.una;
  uint32_t usable = wnd > outstanding ? wnd - outstanding : 0;
  if (force && usable == 0 && snd_.wnd > outstanding) usable = snd_.wnd - outstanding;
  uint32_t len = uint32_t(std::min<uint64_t>({avail, smss_, usable}));
  if (len == smss_ && host_.tso_max && !retrans && avail > smss_ && usable > smss_) [[unlikely]] {
    // A TSO frame: whole segments, but for the last of the data (the device
    // cuts it at its segment size, tso_seg(), so a short piece would go out in
    // the middle of the flight).
    len = uint32_t(std::min<uint64_t>({avail, tso_len(), usable}));
    // The short tail of the data goes in the frame only where Nagle would let
    // it go alone (no short segment unacknowledged, or nodelay: Minshall's
    // rule below); otherwise it waits, as it would without TSO.
    const bool tail_may_go =
        pos + len == end && (force || cfg_.nodelay || !seq_gt(snd_.sml, snd_.una));
    if (!tail_may_go) len -= len % tso_seg();
    if (len <= smss_) len = smss_;  // no room for a frame after all: one segment
  }
  // FIN follows the last byte; it needs no window (a full receiver still takes it).
  const bool with_fin = snd_.fin_queued && pos + len == end && (!snd_.fin_sent || retrans) &&
                        (cfg_.piggyback_fin || len == 0);
  if (len == 0 && !with_fin) return false;
  if (!retrans && !force && len > 0 && len < smss_) {
    // Nagle (RFC 9293 3.7.4) with Minshall's refinement (as Linux): a small
    // segment waits only while another small segment is unacknowledged, so the
    // tail of a bulk transfer does not wait for the whole window to drain.
    // Silly-window avoidance (3.8.6.2.1): send it only if it is all we have,
    // or at least half the largest window the peer has offered.
    const bool all = pos + len == end;
    const bool small_unacked = seq_gt(snd_.sml, snd_.una);
    bool ok = all && (!small_unacked || cfg_.nodelay);
    if (snd_.max_wnd && len >= snd_.max_wnd / 2) ok = true;
    if (!ok) return false;
  }
  const uint32_t seq = snd_.nxt;
  if (!emit_range(pos, len, with_fin, retrans, now)) return false;
  advance_send(seq, len, with_fin);
  if (len < smss_ && !retrans) snd_.sml = snd_.nxt;
  else if (len > smss_ && len % tso_seg()) [[unlikely]] snd_.sml = snd_.nxt;  // a frame's short tail
  return true;
}

bool Connection::send_whole(uint64_t now) {
  // What send_data() would send first, when it is everything queued in one
  // segment: new data only (no resend; the FIN with it, if queued and allowed
  // to ride), no TSO frame, no pacing or rate sampling, no recovery to tell,
  // no SACK blocks to carry, no restart after idle, Nagle satisfied. Anything
  // else goes the general way.
  if (!cfg_.send_whole || snd_.nxt != snd_.max || in_recovery()) return false;
  const bool with_fin = snd_.fin_queued;  // not sent yet: it would be past the data
  if (with_fin && !cfg_.piggyback_fin) return false;
  if (rate() || pacing_rate()) return false;
  const uint64_t pos = pos_of(snd_.nxt);
  const uint64_t end = sndbuf_.end();
  if (end <= pos || end - pos > smss_) return false;
  const uint32_t len = uint32_t(end - pos);
  const uint32_t outstanding = snd_.nxt - snd_.una;
  if (uint64_t(outstanding) + len > std::min(snd_.wnd, cc_.cwnd())) return false;
  if (outstanding == 0 && now - last_tx_ > rto()) return false;  // RFC 5681 4.1
  if (len < smss_ && seq_gt(snd_.sml, snd_.una) && !cfg_.nodelay) return false;  // Nagle
  if (opt_.sack && rcvbuf_.has_out_of_order()) return false;

  SegmentOut s;
  s.seq = snd_.nxt;
  s.flags = ack | psh | (with_fin ? fin : 0);
  s.ack = rcv_.nxt;
  s.window = window_field(false);
  if (opt_.ts) {
    s.options.has_timestamps = true;
    s.options.tsval = ts_now(now);
    s.options.tsecr = ts_.recent;
  }
  if (!send_out(s, sndbuf_.view(pos, len))) {
    ++ctr().tcp_emit_failed;
    if (!timers_.rto) timers_.rto = now + rto();  // try again later rather than stall
    return true;
  }
  ++ctr().tcp_segs_out;
  ++ctr().tcp_data_segs_out;
  ++ctr().tcp_segs_out_whole;
  if (s.window == 0) ++ctr().tcp_zero_window_sent;
  last_tx_ = now;
  acked_all_received();
  timing_.time_if_idle(s.seq, now);
  if (!timers_.rto) timers_.rto = now + rto();
  advance_send(s.seq, len, with_fin);
  if (len < smss_) snd_.sml = snd_.nxt;
  return true;
}

uint32_t Connection::tso_len() const {
  // Whole segments in the device's largest frame (headers: IP, TCP and
  // timestamps, as every data segment carries them)...
  const uint32_t headers = 40 + (opt_.ts ? 12u : 0u);
  const uint32_t seg = tso_seg();
  uint32_t segs = host_.tso_max > headers ? (host_.tso_max - headers) / seg : 1;
  if (host_.tso_segs) segs = std::min<uint32_t>(segs, host_.tso_segs);
  // ...but no more than a millisecond of the pacing rate (at least two
  // segments), as Linux sizes its TSO frames, so that pacing stays smooth.
  if (const uint64_t rate = pacing_rate())
    segs = uint32_t(std::min<uint64_t>(segs, std::max<uint64_t>(rate / 1000 / seg, 2)));
  return std::max(segs, 1u) * seg;
}

bool Connection::send_recovery(uint64_t now) {
  if (pace_wait(now)) return false;
  const uint64_t end = sndbuf_.end();
  const Flight f = flight_space();
  // New data (RFC 6675 NextSeg's second choice), as far as the receiver's
  // window allows.
  const uint64_t pos = pos_of(snd_.nxt);
  const uint32_t wnd_edge = snd_.una + snd_.wnd;
  const uint32_t room = seq_gt(wnd_edge, snd_.max) ? wnd_edge - snd_.max : 0;
  const bool more = pos_of(snd_.max) < end || (snd_.fin_queued && !snd_.fin_sent);
  uint32_t len = 0;
  bool with_fin = false;
  if (more && snd_.nxt == snd_.max && wnd_edge != snd_.max) {
    len = uint32_t(std::min<uint64_t>({end - pos, smss_, room}));
    with_fin = snd_.fin_queued && !snd_.fin_sent && pos + len == end;
  }
  const Transmission t =
      recovery().next_segment(f, smss_, snd_.una_pos + snd_.wnd, len || with_fin);
  if (t.kind != Transmission::Kind::new_data) return send_transmission(t, now);
  const uint32_t seq = snd_.nxt;
  if (!emit_range(pos, len, with_fin, false, now)) return false;
  advance_send(seq, len, with_fin);
  return true;
}

bool Connection::send_transmission(const Transmission& t, uint64_t now) {
  if (!t || !emit_range(t.begin, t.len, t.fin, true, now)) return false;
  if (rec_) rec_->commit(t);
  return true;
}

bool Connection::emit_range(uint64_t pos, uint32_t len, bool with_fin, bool retransmission,
                            uint64_t now) {
  SegmentOut s;
  s.seq = seq_of(pos);
  s.flags = ack | (with_fin ? fin : 0);
  if (len > smss_) s.seg_size = uint16_t(tso_seg());  // a TSO frame (tso_len())
  if (len && pos + len == sndbuf_.end()) s.flags |= psh;
  const Payload payload = len ? sndbuf_.view(pos, len) : Payload{};
  if (!emit(s, payload, now)) {
    if (!timers_.rto) timers_.rto = now + rto();  // try again later rather than stall
    return false;
  }
  if (len) ctr().tcp_data_segs_out += s.seg_size ? segments_in(s, len) : 1;
  if (DeliveryRate* r = rate(); r && len && !retransmission)
    r->on_send(pos, pos + len, flight(), cc_.cwnd() / 16, now);
  pace_sent(len, now);
  if (in_recovery())
    rec_->sent(pos, len, retransmission, std::min(pos_of(snd_.max), sndbuf_.end()));
  const uint32_t span = len + (with_fin ? 1 : 0);
  if (retransmission) {
    ++ctr().tcp_retransmits;
    if (len) cold().retransmitted_bytes += len;
    // Karn: a retransmitted segment gives no RTT sample of its own.
    if (timing_.on && seq_le(s.seq, timing_.seq) && seq_lt(timing_.seq, s.seq + span)) {
      timing_.on = false;
      timing_.need_ts_sample = true;
    }
  } else if (span) {
    timing_.time_if_idle(s.seq, now);
  }
  if (!timers_.rto) timers_.rto = now + rto();
  return true;
}

uint32_t Connection::syn_data_room(const SegmentOut& s) const {
  // RFC 6691: data and options together within the MSS. A client uses the
  // MSS cached with the cookie (536 without one, RFC 7413 4.1.2); a server
  // the one the SYN gave.
  const uint32_t mss = foc_ ? (foc_->mss ? foc_->mss : 536u) : smss_ + (opt_.ts ? 12u : 0u);
  const uint32_t room = std::min<uint32_t>(mss, uint32_t(mtu_) - 40);
  const uint32_t opts = uint32_t(s.options.len());
  return room > opts ? room - opts : 0;
}

void Connection::send_syn(uint64_t now) {
  SegmentOut s;
  s.seq = snd_.iss;
  s.flags = syn | (state_ == State::syn_received ? ack : 0);
  if (foc_) foc_->defer_syn = false;
  // Data with the SYN (docs/fastopen.md): a client's first SYN when it holds
  // a cookie; a server's SYN-ACK (every copy) after it took a Fast Open SYN's
  // data, with the FIN when the application has closed and all of it fits.
  const bool first = retries_.syn_sends == 0;
  uint32_t len = 0;
  bool with_fin = false;
  const bool client_data = foc_ && state_ == State::syn_sent && first && foc_->cookie.len;
  if (client_data || fo_accepted_) {
    SegmentOut probe = s;
    fill_options(probe, now, true);
    len = uint32_t(std::min<uint64_t>(sndbuf_.size(), syn_data_room(probe)));
    with_fin = fo_accepted_ && snd_.fin_queued && len == sndbuf_.size() &&
               (cfg_.piggyback_fin || len == 0);
  }
  if (with_fin) s.flags |= fin;
  if (len && len == sndbuf_.size()) s.flags |= psh;
  if (!emit(s, len ? sndbuf_.view(0, len) : Payload{}, now)) {
    if (!timers_.rto) timers_.rto = now + rto();
    return;
  }
  if (len) ++ctr().tcp_data_segs_out;
  if (foc_ && first) {
    foc_->syn_data_len = len;
    ++(foc_->cookie.len ? ctr().tcp_fastopen_syn_data : ctr().tcp_fastopen_cookie_requests);
  }
  if (retries_.syn_sends > 0) {
    ++ctr().tcp_retransmits;
    retries_.syn_retransmitted = true;
    timing_.on = false;  // Karn
  } else {
    timing_.time(snd_.iss, now);
  }
  ++retries_.syn_sends;
  snd_.nxt = snd_.iss + 1 + len + (with_fin ? 1 : 0);
  if (seq_gt(snd_.nxt, snd_.max)) snd_.max = snd_.nxt;
  if (with_fin && !snd_.fin_sent) {
    snd_.fin_sent = true;
    snd_.fin_seq = snd_.iss + 1 + len;
  }
  timers_.rto = now + rto();
}

void Connection::send_ack(uint64_t now) {
  // The next new sequence number, not snd.nxt: after a timeout rewinds
  // snd.nxt a peer that already has that data would find the ACK outside its
  // window and drop it (FreeBSD does the same).
  SegmentOut s;
  s.seq = snd_.max;
  s.flags = ack;
  // Without a buffer, try again a little later rather than leave the delayed
  // ACK timer in the past (which would make the owner poll without end).
  if (!emit(s, {}, now)) timers_.delack = now + cfg_.delack_ns;
}

void Connection::send_probe(uint64_t now) {
  // An ACK one below SND.UNA: outside the peer's window, so it must answer with
  // an ACK carrying its current window (RFC 9293 3.8.6.1; Linux probes alike).
  SegmentOut s;
  s.seq = snd_.una - 1;
  s.flags = ack;
  emit(s, {}, now);
}

void Connection::send_rst(uint32_t seq) {
  SegmentOut s;
  s.seq = seq;
  s.flags = rst;
  if (send_out(s, {})) {
    ++ctr().tcp_segs_out;
    ++ctr().tcp_rst_out;
  } else {
    ++ctr().tcp_emit_failed;
  }
}

bool Connection::emit(SegmentOut& s, const Payload& payload, uint64_t now) {
  const bool is_syn = s.flags & syn;
  if (s.flags & ack) s.ack = rcv_.nxt;
  s.window = window_field(is_syn);
  fill_options(s, now, is_syn);
  // SACK blocks on a full data segment would exceed the MSS: leave them out.
  if (s.options.sack_count && payload.size() &&
      payload.size() + s.options.len() > smss_ + (opt_.ts ? 12u : 0u))
    s.options.sack_count = 0;
  if (!send_out(s, payload)) {
    ++ctr().tcp_emit_failed;
    return false;
  }
  if (s.seg_size) {
    const uint32_t n = segments_in(s, uint32_t(payload.size()));
    ctr().tcp_segs_out += n;
    ctr().tcp_segs_offloaded += n - 1;
  } else {
    ++ctr().tcp_segs_out;
  }
  if (s.window == 0 && !(s.flags & (syn | rst))) ++ctr().tcp_zero_window_sent;
  last_tx_ = now;
  if (s.flags & ack) acked_all_received();
  return true;
}

[[gnu::always_inline]] inline uint16_t Connection::window_field(bool syn_segment) {
  const uint32_t cap = uint32_t(rcvbuf_.capacity());
  const uint32_t wnd = app_closed_ ? cap : uint32_t(rcvbuf_.window());
  if (syn_segment) {  // never scaled (RFC 7323 2.2)
    const uint32_t w = std::min<uint32_t>(wnd, 65535);
    rcv_.adv = rcv_.nxt + w;
    return uint16_t(w);
  }
  if (seq_lt(rcv_.adv, rcv_.nxt)) rcv_.adv = rcv_.nxt;
  // Receiver-side silly window avoidance (RFC 9293 3.8.6.2.2): the right edge
  // moves only in steps of min(buffer / 2, MSS), and never back. rcv.adv is
  // the edge we promise, never past the buffer's real end.
  const uint32_t edge = rcv_.nxt + wnd;
  const uint32_t step = cfg_.rcv_sws_avoidance ? std::min<uint32_t>(cap / 2, our_mss_) : 1;
  if (seq_gt(edge, rcv_.adv) && edge - rcv_.adv >= step) rcv_.adv = edge;
  // Scaling rounds down: the peer may see the edge up to 2^shift - 1 bytes
  // short of the promise, which RFC 7323 2.4 allows; rounding up would let
  // the edge creep past the buffer a little on every ACK.
  uint32_t field = (rcv_.adv - rcv_.nxt) >> rcv_.wscale;
  if (field > 65535) field = 65535;
  return uint16_t(field);
}

void Connection::fill_options(SegmentOut& s, uint64_t now, bool syn_segment) {
  wire::TcpOptions& o = s.options;  // as constructed: none (every caller's segment is new)
  if (syn_segment) {
    // Offer everything in a SYN; in a SYN-ACK only what the SYN offered.
    const bool active = state_ == State::syn_sent;
    o.has_mss = true;
    o.mss = our_mss_;
    if (cfg_.window_scaling && (active || opt_.ws)) {
      o.has_wscale = true;
      o.wscale = rcv_.wscale;
    }
    o.sack_permitted = cfg_.sack && (active || opt_.sack);
    if (cfg_.timestamps && (active || opt_.ts)) {
      o.has_timestamps = true;
      o.tsval = ts_now(now);
      o.tsecr = active ? 0 : ts_.recent;
    }
    // Fast Open (RFC 7413 4.1): the first SYN presents the cookie or asks for
    // one; a SYN sent again goes without (4.1.3).
    if (active && foc_ && retries_.syn_sends == 0) {
      o.has_fastopen = true;
      o.fastopen_cookie_len = foc_->cookie.len;
      std::copy_n(foc_->cookie.bytes.begin(), foc_->cookie.len, o.fastopen_cookie.begin());
    }
    return;
  }
  if (opt_.ts) {
    o.has_timestamps = true;
    o.tsval = ts_now(now);
    o.tsecr = ts_.recent;
  }
  if (opt_.sack && (s.flags & ack) && rcvbuf_.has_out_of_order()) {
    // RFC 2018 4: the block with the newest data first, then the others.
    RecvBuffer::Range r[wire::kMaxSackBlocks];
    const size_t n = rcvbuf_.ranges_by_recency(r, wire::kMaxSackBlocks);
    for (size_t i = 0; i < n; ++i)
      o.sack[i] = {rcv_.nxt + uint32_t(r[i].begin - rcvbuf_.next()),
                   rcv_.nxt + uint32_t(r[i].end - rcvbuf_.next())};
    o.sack_count = uint8_t(n);
  }
}

// ---------------------------------------------------------------- timers

void Connection::on_timer(uint64_t now) {
  if (!started_ || state_ == State::closed) return;
  if (foc_ && foc_->defer_syn) {
    // A Fast Open SYN that no write came for: it goes now, without data.
    foc_->defer_syn = false;
    timers_.rto = 0;
    output(now);
    notify(now);
    return;
  }
  if (timers_.idle && now >= timers_.idle && waits_2msl()) {
    timers_.idle = 0;
    enter_closed(CloseReason::normal);
    notify(now);
    return;
  }
  if (timers_.rto && now >= timers_.rto) on_rto(now);
  if (state_ != State::closed && cold_ && cold_->persist && now >= cold_->persist)
    on_persist(now);
  if (state_ != State::closed && timers_.idle && now >= timers_.idle) on_keepalive(now);
  if (cold_ && cold_->pace && now >= cold_->pace) cold_->pace = 0;  // output() sends
  if (timers_.park && now >= timers_.park) {
    timers_.park = 0;
    park_rings();  // those still empty
  }
  if (timers_.delack && now >= timers_.delack) {
    // The ACK is owed now; the timer is spent (a failed send re-arms it, and a
    // SYN-ACK that could not go out carries it with the next retransmission).
    timers_.delack = 0;
    acks_.now = true;
  }
  output(now);
  notify(now);
}

void Connection::on_rto(uint64_t now) {
  timers_.rto = 0;
  ++ctr().tcp_rto_timeouts;
  if (handshaking(state_)) {
    if (retries_.syn_sends > cfg_.syn_retries) {
      enter_closed(CloseReason::timeout);
      return;
    }
    if (foc_ && foc_->syn_data_len && !foc_->data_lost && state_ == State::syn_sent) {
      // RFC 7413 4.1.3: a SYN with data unanswered may be a middlebox that
      // drops them; the SYN goes again without data, and the cache is told.
      foc_->data_lost = true;
      foc_->news = FastOpenNews{};
      foc_->news.kind = FastOpenNews::Kind::syn_data_lost;
      ++ctr().tcp_fastopen_syn_data_timeout;
    }
    rtt_.backoff();
    snd_.nxt = snd_.iss;  // output() sends the SYN again
    return;
  }
  if (snd_.una == snd_.max) return;
  if (snd_.wnd == 0) {
    // The peer shrank its window to zero with our data in flight (and maybe
    // its window update was lost). Our retransmission becomes a zero-window
    // probe (RFC 9293 3.8.6.1): no congestion response, and no giving up while
    // the peer answers; only silence for twice the longest RTO ends it.
    if (now - last_rx_ > 2 * cfg_.rto_max_ns) {
      enter_closed(CloseReason::timeout);
      return;
    }
    rtt_.backoff();
    // At most a segment of what is in flight: data queued behind SND.MAX is
    // not sent by a probe (its ACK would lie beyond SND.MAX, unacceptable).
    const uint64_t flight_end = std::min(pos_of(snd_.max), sndbuf_.end());
    const uint32_t len = uint32_t(std::min<uint64_t>(smss_, flight_end - snd_.una_pos));
    const bool with_fin = len == 0 && snd_.fin_sent;
    emit_range(snd_.una_pos, len, with_fin, true, now);
    ++ctr().tcp_window_probes;
    // The rest of the flight lay beyond the window the peer now offers, so it
    // was dropped: when the window opens, send it again from after the probe
    // (go-back-N, skipping what the scoreboard says the peer holds), without
    // a congestion response.
    snd_.nxt = snd_.una + len + (with_fin ? 1 : 0);
    recovery().on_probe_timeout(flight_space(), snd_.una_pos + len);
    timers_.rto = now + rto();
    return;
  }
  if (++retries_.timeouts > cfg_.data_retries) {
    enter_closed(CloseReason::timeout);
    return;
  }
  // RFC 5681 eq. 4 sets ssthresh at the first timeout of a segment only; the
  // loss window is one segment (RFC 5681 3.1); RFC 6298 5.5 backs the timer off.
  if (retries_.timeouts == 1)
    cc_.on_congestion(CongestionSignal::timeout, flight(), now);
  else
    cc_.collapse();
  rtt_.backoff();
  recovery().on_timeout(flight_space());
  if (DeliveryRate* r = rate()) r->on_timeout();
  // Go-back-N from the first unacknowledged byte (RFC 6298 5.4); send_data()
  // skips what the scoreboard says the receiver holds.
  snd_.nxt = snd_.una;
  timing_.on = false;
  timing_.need_ts_sample = true;
  timers_.rto = now + rto();  // RFC 6298 5.6
}

void Connection::update_persist_slow(uint64_t now) {
  const bool waiting = unsent();
  // Data waits, nothing is in flight (so no ACK will come to open the window):
  // the persist timer probes a zero window, or forces out a segment that
  // silly-window avoidance held back (RFC 9293 3.8.6.1, 3.8.6.2.1).
  if (sends_data(state_) && waiting && snd_.max == snd_.una && !timers_.rto) {
    Cold& c = cold();
    if (!c.persist) {
      // Held back by the peer's window from now, unless already.
      ++c.persist_entries;
      if (!c.held_since) {
        c.held_since = std::max<uint64_t>(now, 1);  // 0 means "not held"
        c.acked_at_hold = snd_.una_pos;
      }
      const uint64_t base = std::max(rto(), cfg_.rto_min_ns);
      const uint64_t interval =
          c.persist_backoff >= 20 ? cfg_.persist_max_ns : base << c.persist_backoff;
      c.persist = now + std::min(interval, cfg_.persist_max_ns);
    }
  } else {
    if (cold_) cold_->persist = 0;
    // Released once nothing waits, or once the peer has kept up at least a
    // segment a second on average since it began holding us back and its
    // window is open again.
    if (held_since()) {
      Cold& c = *cold_;
      const uint64_t held = now - c.held_since;
      const uint64_t acked = snd_.una_pos - c.acked_at_hold;
      if (!waiting || (snd_.wnd >= smss_ && acked * 1'000'000'000 >= uint64_t(smss_) * held)) {
        c.held_total += held;
        c.held_since = 0;
      }
    }
  }
}

void Connection::on_persist(uint64_t now) {
  cold_->persist = 0;  // armed there
  if (snd_.wnd == 0) {
    // RFC 6429: keep probing while the peer answers; give up only if it does
    // not. After close() nobody waits for the data, and a peer that keeps its
    // window shut would hold the connection (and its memory) for ever: after
    // as many probes as retransmissions are allowed, reset it (as Linux does
    // with orphans).
    Cold& c = cold();  // taken when the persist timer was armed
    if (app_closed_ && ++c.orphan_probes > cfg_.data_retries) {
      send_rst(snd_.max);
      enter_closed(CloseReason::timeout);
      return;
    }
    send_probe(now);
    ++ctr().tcp_window_probes;
    if (++c.probes_unanswered > cfg_.data_retries) {
      enter_closed(CloseReason::timeout);
      return;
    }
    if (c.persist_backoff < 20) ++c.persist_backoff;
  } else {
    send_data(now, true);
  }
  update_persist(now);
}

void Connection::on_keepalive(uint64_t now) {
  timers_.idle = 0;
  if (!keeps_alive()) return;
  if (snd_.max != snd_.una) {  // data outstanding: the retransmission timer watches
    timers_.idle = now + cfg_.keepalive_idle_ns;
    return;
  }
  if (retries_.keepalives == 0 && now - last_rx_ < cfg_.keepalive_idle_ns) {
    timers_.idle = last_rx_ + cfg_.keepalive_idle_ns;
    return;
  }
  if (retries_.keepalives >= cfg_.keepalive_probes) {
    enter_closed(CloseReason::timeout);
    return;
  }
  send_probe(now);
  ++retries_.keepalives;
  ++ctr().tcp_keepalive_probes;
  timers_.idle = now + cfg_.keepalive_interval_ns;
}

}  // namespace ts::tcp
