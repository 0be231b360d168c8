// The connection's sending side: what to send now (new data under Nagle and
// silly-window avoidance, go-back-N after a timeout, RFC 6675 NextSeg during
// SACK recovery, FIN, SYN, delayed and immediate ACKs, probes), building the
// segment (window, timestamps, SACK blocks), and the timers.
#include <algorithm>

#include "tcp/connection.hh"
#include "tcp/seq.hh"

namespace ts::tcp {

using namespace wire::tcpflag;

void Connection::output(uint64_t now) {
  if (!started_ || state_ == State::closed) return;
  if (state_ == State::syn_sent || state_ == State::syn_received) {
    if (snd_nxt_ == iss_)
      send_syn(now);
    else if (ack_now_ && state_ == State::syn_received)
      send_ack(now);  // an unacceptable segment is answered here too
    return;
  }
  const bool may_send = state_ == State::established || state_ == State::fin_wait_1 ||
                        state_ == State::close_wait || state_ == State::closing ||
                        state_ == State::last_ack;
  if (may_send) {
    if (in_recovery_ && sack_ok_) {
      // RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS, send NextSeg and add its
      // size to pipe. pipe() is computed once and then charged per segment.
      int64_t budget = int64_t(cc_.cwnd) - int64_t(pipe());
      while (budget >= int64_t(smss_)) {
        const uint64_t before = prr_out_;
        if (!send_recovery(now)) break;
        budget -= int64_t(std::max<uint64_t>(prr_out_ - before, 1));
      }
    } else {
      while (send_data(now, false)) {
      }
    }
    update_persist(now);
  }
  if (state_ != State::closed && (ack_now_ || (delack_at_ && now >= delack_at_))) send_ack(now);
}

uint32_t Connection::initial_window() const {
  // RFC 6928: min(10 SMSS, max(2 SMSS, 14600 bytes)) for the default of ten.
  if (cfg_.initial_window == 10) return std::min(10 * smss_, std::max(2 * smss_, 14600u));
  return std::max(cfg_.initial_window, 1u) * smss_;
}

bool Connection::send_data(uint64_t now, bool force) {
  uint64_t pos = pos_of(snd_nxt_);
  const uint64_t end = sndbuf_.end();
  bool retrans = seq_lt(snd_nxt_, snd_max_);
  if (retrans && sack_ok_) {
    // Go-back-N after a timeout: skip what the receiver holds (RFC 6675 5.1).
    const uint64_t p = std::min(sb_.skip_sacked(pos), std::max(pos, end));
    if (p != pos) {
      pos = p;
      snd_nxt_ = seq_of(p);
      retrans = seq_lt(snd_nxt_, snd_max_);
    }
  }
  uint64_t avail = end > pos ? end - pos : 0;
  if (retrans && sack_ok_) avail = std::min(avail, sb_.next_sacked(pos) - pos);

  if (!retrans && snd_max_ == snd_una_ && avail && now - last_tx_ > rtt_.rto())
    cc_alg_->on_idle(cc_, std::min(initial_window(), cc_.cwnd), now);  // RFC 5681 4.1

  // RFC 5681 2: no more than min(cwnd, rwnd) outstanding. In NewReno fast
  // recovery cwnd is inflated by duplicate ACKs (RFC 6582).
  const uint32_t wnd = std::min(snd_wnd_, cc_.cwnd);
  const uint32_t outstanding = snd_nxt_ - snd_una_;
  uint32_t usable = wnd > outstanding ? wnd - outstanding : 0;
  if (force && usable == 0 && snd_wnd_ > outstanding) usable = snd_wnd_ - outstanding;
  const uint32_t len = uint32_t(std::min<uint64_t>({avail, smss_, usable}));
  // FIN follows the last byte; it needs no window (a full receiver still takes it).
  const bool with_fin = fin_queued_ && pos + len == end && (!fin_sent_ || retrans);
  if (len == 0 && !with_fin) return false;
  if (!retrans && !force && len > 0 && len < smss_) {
    // Nagle (RFC 9293 3.7.4) with Minshall's refinement (as Linux): a small
    // segment waits only while another small segment is unacknowledged, so the
    // tail of a bulk transfer does not wait for the whole window to drain.
    // Silly-window avoidance (3.8.6.2.1): send it only if it is all we have,
    // or at least half the largest window the peer has offered.
    const bool all = pos + len == end;
    const bool small_unacked = seq_gt(snd_sml_, snd_una_);
    bool ok = all && (!small_unacked || cfg_.nodelay);
    if (max_snd_wnd_ && len >= max_snd_wnd_ / 2) ok = true;
    if (!ok) return false;
  }
  const uint32_t seq = snd_nxt_;
  if (!emit_range(pos, len, with_fin, retrans, now)) return false;
  snd_nxt_ = seq + len + (with_fin ? 1 : 0);
  if (seq_gt(snd_nxt_, snd_max_)) snd_max_ = snd_nxt_;
  if (len < smss_ && !retrans) snd_sml_ = snd_nxt_;
  if (with_fin && !fin_sent_) {
    fin_sent_ = true;
    fin_seq_ = seq + len;
  }
  return true;
}

uint32_t Connection::pipe() const {
  // RFC 6675 SetPipe: every unSACKed byte not presumed lost counts once, and
  // every retransmitted byte (below HighRxt) once more. One walk from the top:
  // whether a hole is lost depends only on what is SACKed above it.
  const uint64_t top = std::min(pos_of(snd_max_), sndbuf_.end());
  const uint64_t lost_bytes = uint64_t(cfg_.dupthresh - 1) * smss_;
  uint64_t pipe = 0, above = 0;
  unsigned ranges_above = 0;
  auto hole = [&](uint64_t b, uint64_t e) {
    if (e <= b) return;
    const bool lost = ranges_above >= cfg_.dupthresh || above > lost_bytes;
    if (!lost) pipe += e - b;
    if (high_rxt_ > b) pipe += std::min(high_rxt_, e) - b;
  };
  uint64_t hi = top;
  for (size_t i = sb_.size(); i-- > 0;) {
    const auto& r = sb_.range(i);
    if (r.end <= snd_una_pos_) break;
    hole(std::max(r.end, snd_una_pos_), hi);
    above += r.end - std::max(r.begin, snd_una_pos_);
    ++ranges_above;
    hi = std::min(hi, r.begin);
  }
  hole(snd_una_pos_, hi);
  return uint32_t(std::min<uint64_t>(pipe, UINT32_MAX));
}

bool Connection::send_recovery(uint64_t now) {
  const uint64_t end = sndbuf_.end();
  // Nothing starting beyond the peer's window goes out, retransmission or
  // not, except the segment at SND.UNA (as Linux): a shrunk window is obeyed.
  const uint64_t wnd_end = snd_una_pos_ + snd_wnd_;
  auto in_window = [&](uint64_t at) { return at < wnd_end || at == snd_una_pos_; };
  const uint64_t hi = std::min(sb_.highest(), end);
  const uint64_t s = sb_.skip_sacked(std::max(high_rxt_, snd_una_pos_));
  auto retransmit_hole = [&]() {
    const uint64_t hole_end = std::min(sb_.next_sacked(s), hi);
    const uint32_t len = uint32_t(std::min<uint64_t>(smss_, hole_end - s));
    if (!emit_range(s, len, false, true, now)) return false;
    high_rxt_ = s + len;
    return true;
  };
  // First, retransmissions found lost themselves (check_lost_retransmissions).
  while (!relost_.empty()) {
    Rxt& r = relost_.front();
    const uint64_t b = sb_.skip_sacked(std::max(r.begin, snd_una_pos_));
    if (b >= r.end) {
      relost_.pop_front();
      continue;
    }
    if (!in_window(b)) break;
    const uint64_t e = std::min({r.end, sb_.next_sacked(b), b + smss_});
    if (!emit_range(b, uint32_t(e - b), false, true, now)) return false;
    r.begin = e;
    return true;
  }
  // NextSeg (RFC 6675 4): (1) the first lost hole above HighRxt;
  if (s < hi && in_window(s) && sb_.is_lost(s, cfg_.dupthresh, smss_)) return retransmit_hole();
  // (2) new data, as far as the receiver's window allows;
  const bool new_data = pos_of(snd_max_) < end || (fin_queued_ && !fin_sent_);
  if (new_data && snd_nxt_ == snd_max_ && snd_una_ + snd_wnd_ != snd_max_) {
    const uint64_t pos = pos_of(snd_nxt_);
    const uint32_t room = seq_gt(snd_una_ + snd_wnd_, snd_max_) ? snd_una_ + snd_wnd_ - snd_max_ : 0;
    const uint32_t len = uint32_t(std::min<uint64_t>({end - pos, smss_, room}));
    const bool with_fin = fin_queued_ && !fin_sent_ && pos + len == end;
    if (len || with_fin) {
      const uint32_t seq = snd_nxt_;
      if (!emit_range(pos, len, with_fin, false, now)) return false;
      snd_nxt_ = snd_max_ = seq + len + (with_fin ? 1 : 0);
      if (with_fin) {
        fin_sent_ = true;
        fin_seq_ = seq + len;
      }
      return true;
    }
  }
  // (3) an unSACKed hole not yet presumed lost;
  if (s < hi && in_window(s)) return retransmit_hole();
  // (4) once per recovery, the highest outstanding segment (the rescue).
  if (!rescue_done_) {
    rescue_done_ = true;
    const uint64_t top = std::min(pos_of(snd_max_), end);
    const uint64_t start = std::max(snd_una_pos_, top > smss_ ? top - smss_ : 0);
    if (top > snd_una_pos_ && !sb_.is_sacked(top - 1) && in_window(start)) {
      return emit_range(start, uint32_t(top - start), fin_sent_ && top == end, true, now);
    }
  }
  return false;
}

bool Connection::emit_range(uint64_t pos, uint32_t len, bool with_fin, bool retransmission,
                            uint64_t now) {
  SegmentOut s;
  s.seq = seq_of(pos);
  s.flags = ack | (with_fin ? fin : 0);
  if (len && pos + len == sndbuf_.end()) s.flags |= psh;
  const Payload payload = len ? sndbuf_.view(pos, len) : Payload{};
  if (!emit(s, payload, now)) {
    if (!rto_at_) rto_at_ = now + rtt_.rto();  // try again later rather than stall
    return false;
  }
  if (len) ++ctr_.tcp_data_segs_out;
  if (in_recovery_) {
    prr_out_ += len;
    if (retransmission && sack_ok_ && len && rxt_records_.size() < kMaxRxtRecords)
      rxt_records_.push_back({pos, pos + len, std::min(pos_of(snd_max_), sndbuf_.end()), episode_});
  }
  const uint32_t span = len + (with_fin ? 1 : 0);
  if (retransmission) {
    ++ctr_.tcp_retransmits;
    retransmitted_bytes_ += len;
    // Karn: a retransmitted segment gives no RTT sample of its own.
    if (rtt_timing_ && seq_le(s.seq, rtt_seq_) && seq_lt(rtt_seq_, s.seq + span)) {
      rtt_timing_ = false;
      need_ts_sample_ = true;
    }
  } else if (!rtt_timing_ && span) {
    rtt_timing_ = true;
    rtt_seq_ = s.seq;
    rtt_start_ = now;
  }
  if (!rto_at_) rto_at_ = now + rtt_.rto();
  return true;
}

void Connection::send_syn(uint64_t now) {
  SegmentOut s;
  s.seq = iss_;
  s.flags = syn | (state_ == State::syn_received ? ack : 0);
  if (!emit(s, {}, now)) {
    if (!rto_at_) rto_at_ = now + rtt_.rto();
    return;
  }
  if (syn_sends_ > 0) {
    ++ctr_.tcp_retransmits;
    syn_retransmitted_ = true;
    rtt_timing_ = false;  // Karn
  } else {
    rtt_timing_ = true;
    rtt_seq_ = iss_;
    rtt_start_ = now;
  }
  ++syn_sends_;
  snd_nxt_ = iss_ + 1;
  if (seq_gt(snd_nxt_, snd_max_)) snd_max_ = snd_nxt_;
  rto_at_ = now + rtt_.rto();
}

void Connection::send_ack(uint64_t now) {
  // The next new sequence number, not snd_nxt_: after a timeout rewinds
  // snd_nxt_ a peer that already has that data would find the ACK outside its
  // window and drop it (FreeBSD does the same).
  SegmentOut s;
  s.seq = snd_max_;
  s.flags = ack;
  // Without a buffer, try again a little later rather than leave the delayed
  // ACK timer in the past (which would make the owner poll without end).
  if (!emit(s, {}, now)) delack_at_ = now + cfg_.delack_ns;
}

void Connection::send_probe(uint64_t now) {
  // An ACK one below SND.UNA: outside the peer's window, so it must answer with
  // an ACK carrying its current window (RFC 9293 3.8.6.1; Linux probes alike).
  SegmentOut s;
  s.seq = snd_una_ - 1;
  s.flags = ack;
  emit(s, {}, now);
}

void Connection::send_rst(uint32_t seq) {
  SegmentOut s;
  s.seq = seq;
  s.flags = rst;
  if (out_.emit(*this, s, {})) {
    ++ctr_.tcp_segs_out;
    ++ctr_.tcp_rst_out;
  } else {
    ++ctr_.tcp_emit_failed;
  }
}

bool Connection::emit(SegmentOut& s, const Payload& payload, uint64_t now) {
  const bool is_syn = s.flags & syn;
  if (s.flags & ack) s.ack = rcv_nxt_;
  s.window = window_field(is_syn);
  fill_options(s, now, is_syn);
  // SACK blocks on a full data segment would exceed the MSS: leave them out.
  if (s.options.sack_count && payload.size() &&
      payload.size() + s.options.len() > smss_ + (ts_ok_ ? 12u : 0u))
    s.options.sack_count = 0;
  if (!out_.emit(*this, s, payload)) {
    ++ctr_.tcp_emit_failed;
    return false;
  }
  ++ctr_.tcp_segs_out;
  if (s.window == 0 && !(s.flags & (syn | rst))) ++ctr_.tcp_zero_window_sent;
  last_tx_ = now;
  if (s.flags & ack) {
    last_ack_sent_ = rcv_nxt_;
    ack_now_ = false;
    ack_burst_ = false;
    unacked_full_ = 0;
    delack_at_ = 0;
  }
  return true;
}

uint16_t Connection::window_field(bool syn_segment) {
  const uint32_t cap = uint32_t(rcvbuf_.capacity());
  const uint32_t wnd = app_closed_ ? cap : uint32_t(rcvbuf_.window());
  if (syn_segment) {  // never scaled (RFC 7323 2.2)
    const uint32_t w = std::min<uint32_t>(wnd, 65535);
    rcv_adv_ = rcv_nxt_ + w;
    return uint16_t(w);
  }
  if (seq_lt(rcv_adv_, rcv_nxt_)) rcv_adv_ = rcv_nxt_;
  // Receiver-side silly window avoidance (RFC 9293 3.8.6.2.2): the right edge
  // moves only in steps of min(buffer / 2, MSS), and never back. rcv_adv_ is
  // the edge we promise, never past the buffer's real end.
  const uint32_t edge = rcv_nxt_ + wnd;
  const uint32_t step = std::min<uint32_t>(cap / 2, our_mss_);
  if (seq_gt(edge, rcv_adv_) && edge - rcv_adv_ >= step) rcv_adv_ = edge;
  // Scaling rounds down: the peer may see the edge up to 2^shift - 1 bytes
  // short of the promise, which RFC 7323 2.4 allows; rounding up would let
  // the edge creep past the buffer a little on every ACK.
  uint32_t field = (rcv_adv_ - rcv_nxt_) >> rcv_wscale_;
  if (field > 65535) field = 65535;
  return uint16_t(field);
}

void Connection::fill_options(SegmentOut& s, uint64_t now, bool syn_segment) {
  wire::TcpOptions& o = s.options;
  o = wire::TcpOptions{};
  if (syn_segment) {
    // Offer everything in a SYN; in a SYN-ACK only what the SYN offered.
    const bool active = state_ == State::syn_sent;
    o.has_mss = true;
    o.mss = our_mss_;
    if (cfg_.window_scaling && (active || ws_ok_)) {
      o.has_wscale = true;
      o.wscale = rcv_wscale_;
    }
    o.sack_permitted = cfg_.sack && (active || sack_ok_);
    if (cfg_.timestamps && (active || ts_ok_)) {
      o.has_timestamps = true;
      o.tsval = ts_now(now);
      o.tsecr = active ? 0 : ts_recent_;
    }
    return;
  }
  if (ts_ok_) {
    o.has_timestamps = true;
    o.tsval = ts_now(now);
    o.tsecr = ts_recent_;
  }
  if (sack_ok_ && (s.flags & ack) && rcvbuf_.has_out_of_order()) {
    // RFC 2018 4: the block with the newest data first, then the others.
    RecvBuffer::Range r[wire::kMaxSackBlocks];
    const size_t n = rcvbuf_.ranges_by_recency(r, wire::kMaxSackBlocks);
    for (size_t i = 0; i < n; ++i)
      o.sack[i] = {rcv_nxt_ + uint32_t(r[i].begin - rcvbuf_.next()),
                   rcv_nxt_ + uint32_t(r[i].end - rcvbuf_.next())};
    o.sack_count = uint8_t(n);
  }
}

// ---------------------------------------------------------------- timers

uint64_t Connection::next_deadline() const {
  uint64_t d = UINT64_MAX;
  for (uint64_t t : {rto_at_, delack_at_, persist_at_, keepalive_at_, timewait_at_})
    if (t && t < d) d = t;
  return d;
}

void Connection::on_timer(uint64_t now) {
  if (!started_ || state_ == State::closed) return;
  if (timewait_at_ && now >= timewait_at_) {
    timewait_at_ = 0;
    if (state_ == State::time_wait || state_ == State::fin_wait_2) {
      finish(CloseReason::normal);
      notify();
      return;
    }
  }
  if (rto_at_ && now >= rto_at_) on_rto(now);
  if (state_ != State::closed && persist_at_ && now >= persist_at_) on_persist(now);
  if (state_ != State::closed && keepalive_at_ && now >= keepalive_at_) on_keepalive(now);
  if (delack_at_ && now >= delack_at_) {
    // The ACK is owed now; the timer is spent (a failed send re-arms it, and a
    // SYN-ACK that could not go out carries it with the next retransmission).
    delack_at_ = 0;
    ack_now_ = true;
  }
  output(now);
  notify();
}

void Connection::on_rto(uint64_t now) {
  rto_at_ = 0;
  ++ctr_.tcp_rto_timeouts;
  if (state_ == State::syn_sent || state_ == State::syn_received) {
    if (syn_sends_ > cfg_.syn_retries) {
      finish(CloseReason::timeout);
      return;
    }
    rtt_.backoff();
    snd_nxt_ = iss_;  // output() sends the SYN again
    return;
  }
  if (snd_una_ == snd_max_) return;
  if (snd_wnd_ == 0) {
    // The peer shrank its window to zero with our data in flight (and maybe
    // its window update was lost). Our retransmission becomes a zero-window
    // probe (RFC 9293 3.8.6.1): no congestion response, and no giving up while
    // the peer answers; only silence for twice the longest RTO ends it.
    if (now - last_rx_ > 2 * cfg_.rto_max_ns) {
      finish(CloseReason::timeout);
      return;
    }
    rtt_.backoff();
    const uint32_t len = uint32_t(std::min<uint64_t>(smss_, sndbuf_.end() - snd_una_pos_));
    emit_range(snd_una_pos_, len, len == 0 && fin_sent_, true, now);
    ++ctr_.tcp_window_probes;
    // The rest of the flight lay beyond the window the peer now offers, so it
    // was dropped: when the window opens, send it again from after the probe
    // (go-back-N, skipping what the scoreboard says the peer holds), without
    // a congestion response.
    snd_nxt_ = snd_una_ + len + (len == 0 && fin_sent_ ? 1 : 0);
    high_rxt_ = std::max(high_rxt_, snd_una_pos_ + len);
    rto_recovery_ = true;
    recover_ = snd_max_;
    recover_valid_ = true;
    rto_at_ = now + rtt_.rto();
    return;
  }
  if (++timeouts_ > cfg_.data_retries) {
    finish(CloseReason::timeout);
    return;
  }
  // RFC 5681 eq. 4 sets ssthresh at the first timeout of a segment only; the
  // loss window is one segment (RFC 5681 3.1); RFC 6298 5.5 backs the timer off.
  cc_.flight = flight();
  hystart_.stop(cc_);
  if (timeouts_ == 1)
    cc_alg_->on_congestion(cc_, CongestionSignal::timeout, now);
  else
    cc_.cwnd = smss_;
  rtt_.backoff();
  in_recovery_ = false;
  dupacks_ = 0;
  rto_recovery_ = true;
  recover_ = snd_max_;
  recover_valid_ = true;
  rxt_records_.clear();
  relost_.clear();
  // Go-back-N from the first unacknowledged byte (RFC 6298 5.4); send_data()
  // skips what the scoreboard says the receiver holds.
  snd_nxt_ = snd_una_;
  high_rxt_ = snd_una_pos_;
  rtt_timing_ = false;
  need_ts_sample_ = true;
  rto_at_ = now + rtt_.rto();  // RFC 6298 5.6
}

void Connection::update_persist(uint64_t now) {
  const bool sending = state_ == State::established || state_ == State::fin_wait_1 ||
                       state_ == State::close_wait || state_ == State::closing ||
                       state_ == State::last_ack;
  const bool waiting = pos_of(snd_nxt_) < sndbuf_.end() || (fin_queued_ && !fin_sent_);
  // Data waits, nothing is in flight (so no ACK will come to open the window):
  // the persist timer probes a zero window, or forces out a segment that
  // silly-window avoidance held back (RFC 9293 3.8.6.1, 3.8.6.2.1).
  if (sending && waiting && snd_max_ == snd_una_ && !rto_at_) {
    if (!persist_at_) {
      const uint64_t base = std::max(rtt_.rto(), cfg_.rto_min_ns);
      const uint64_t interval =
          persist_backoff_ >= 20 ? cfg_.persist_max_ns : base << persist_backoff_;
      persist_at_ = now + std::min(interval, cfg_.persist_max_ns);
    }
  } else {
    persist_at_ = 0;
  }
}

void Connection::on_persist(uint64_t now) {
  persist_at_ = 0;
  if (snd_wnd_ == 0) {
    // RFC 6429: keep probing while the peer answers; give up only if it does
    // not. After close() nobody waits for the data, and a peer that keeps its
    // window shut would hold the connection (and its memory) for ever: after
    // as many probes as retransmissions are allowed, reset it (as Linux does
    // with orphans).
    if (app_closed_ && ++orphan_probes_ > cfg_.data_retries) {
      send_rst(snd_max_);
      finish(CloseReason::timeout);
      return;
    }
    send_probe(now);
    ++ctr_.tcp_window_probes;
    if (++probes_unanswered_ > cfg_.data_retries) {
      finish(CloseReason::timeout);
      return;
    }
    if (persist_backoff_ < 20) ++persist_backoff_;
  } else {
    send_data(now, true);
  }
  update_persist(now);
}

void Connection::on_keepalive(uint64_t now) {
  keepalive_at_ = 0;
  if (!cfg_.keepalive || (state_ != State::established && state_ != State::close_wait)) return;
  if (snd_max_ != snd_una_) {  // data outstanding: the retransmission timer watches
    keepalive_at_ = now + cfg_.keepalive_idle_ns;
    return;
  }
  if (keepalive_sent_ == 0 && now - last_rx_ < cfg_.keepalive_idle_ns) {
    keepalive_at_ = last_rx_ + cfg_.keepalive_idle_ns;
    return;
  }
  if (keepalive_sent_ >= cfg_.keepalive_probes) {
    finish(CloseReason::timeout);
    return;
  }
  send_probe(now);
  ++keepalive_sent_;
  ++ctr_.tcp_keepalive_probes;
  keepalive_at_ = now + cfg_.keepalive_interval_ns;
}

}  // namespace ts::tcp
