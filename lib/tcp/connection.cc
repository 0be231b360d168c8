// The connection's state machine: opening, segment arrival (RFC 9293
// 3.10.7.3-3.10.7.4 with RFC 5961 and RFC 7323), ACK processing and loss
// detection, received data and FIN, the application calls, and events.
// Sending and timers are in connection_output.cc.
#include "tcp/connection.hh"

#include <algorithm>

#include "tcp/seq.hh"

namespace ts::tcp {

using namespace wire::tcpflag;

const char* state_name(State s) {
  switch (s) {
    case State::closed: return "CLOSED";
    case State::syn_sent: return "SYN-SENT";
    case State::syn_received: return "SYN-RECEIVED";
    case State::established: return "ESTABLISHED";
    case State::fin_wait_1: return "FIN-WAIT-1";
    case State::fin_wait_2: return "FIN-WAIT-2";
    case State::close_wait: return "CLOSE-WAIT";
    case State::closing: return "CLOSING";
    case State::last_ack: return "LAST-ACK";
    case State::time_wait: return "TIME-WAIT";
  }
  return "?";
}

const char* reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::normal: return "normal";
    case CloseReason::reset: return "reset";
    case CloseReason::refused: return "refused";
    case CloseReason::timeout: return "timeout";
    case CloseReason::aborted: return "aborted";
  }
  return "?";
}

bool Connection::accepts_new_syn(const SegmentIn& s) const {
  // RFC 6191 (with timestamps) and RFC 1122 4.2.2.13 (without): a SYN that is
  // unmistakably newer than the old incarnation may reopen the 4-tuple.
  if (state_ != State::time_wait || (s.flags & (syn | ack | rst)) != syn) return false;
  if (ts_ok_ && s.options->has_timestamps) return seq_gt(s.options->tsval, ts_recent_);
  return seq_gt(s.seq, rcv_nxt_);
}

bool Connection::reusable_for_connect(uint64_t now) const {
  if (state_ != State::time_wait || !ts_ok_) return false;
  const uint64_t entered = timewait_at_ - 2 * cfg_.msl_ns;
  return now >= entered + 2'000'000;  // two ticks of the 1 ms timestamp clock
}

void Connection::abandon() {
  finish(CloseReason::normal);
  notify();
}

const char* cc_name(CcAlgo a) { return a == CcAlgo::newreno ? "newreno" : "cubic"; }

namespace {

constexpr uint64_t kPawsIdleNs = 24ull * 24 * 3600 * 1'000'000'000;  // RFC 7323 5.5
constexpr uint64_t kSecond = 1'000'000'000;

uint8_t window_shift_for(uint32_t rcvbuf) {
  uint8_t s = 0;
  while (s < 14 && (uint64_t(rcvbuf) >> s) > 65535) ++s;  // RFC 7323 2.3: at most 14
  return s;
}

}  // namespace

Connection::Connection(const TcpConfig& cfg, const FourTuple& tuple, Output& out,
                       TcpCounters& ctr, Events* events, uint16_t mtu, BufferPool* pool)
    : cfg_(cfg),
      tuple_(tuple),
      out_(out),
      ctr_(ctr),
      ev_(events),
      sndbuf_(std::max<uint32_t>(cfg.sndbuf, 1), pool),
      rcvbuf_(std::max<uint32_t>(cfg.rcvbuf, 1), pool),
      mtu_(mtu),
      our_mss_(uint16_t(std::clamp<int>(std::min<int>(cfg.mss, int(mtu) - 40), 64, 65495))),
      rtt_(cfg.rto_initial_ns, cfg.rto_min_ns, cfg.rto_max_ns) {
  if (cfg_.cc == CcAlgo::newreno)
    cc_alg_ = &cc_impl_.emplace<NewReno>();
  else
    cc_alg_ = &cc_impl_.emplace<Cubic>();
  rcv_wscale_ = cfg_.window_scaling ? window_shift_for(uint32_t(rcvbuf_.capacity())) : 0;
  rcv_mss_ = std::min<uint32_t>(536, our_mss_);
}

// ---------------------------------------------------------------- opening

void Connection::apply_hint(const PathHint& h) {
  if (h.have_rtt) rtt_.seed(h.srtt_ns, h.rttvar_ns);
  hint_ssthresh_ = h.ssthresh;
  hint_cwnd_ = h.initial_cwnd;
}

void Connection::cap_window(uint32_t cap, uint64_t now) {
  cap = std::max(cap, 2 * smss_);
  if (!was_established_) {
    if (!hint_cwnd_ || hint_cwnd_ > cap) hint_cwnd_ = cap;
    if (!hint_ssthresh_ || hint_ssthresh_ > cap) hint_ssthresh_ = cap;
    return;
  }
  if (cc_.cwnd <= cap) return;
  cc_.ssthresh = cap;
  // As after an idle period: the algorithm restarts its growth from here.
  cc_alg_->on_idle(cc_, cap, now);
}

PathReport Connection::report() const {
  PathReport r;
  if (!was_established_) return r;  // nothing learned about the path but that it failed
  r.mss = uint16_t(std::min<uint32_t>(smss_, 65535));
  if (rtt_.has_sample()) {
    r.srtt_ns = rtt_.srtt();
    r.rttvar_ns = rtt_.rttvar();
    r.min_rtt_ns = rtt_.min_rtt() == UINT64_MAX ? 0 : rtt_.min_rtt();
  }
  if (cc_.ssthresh < UINT32_MAX / 2) r.ssthresh = cc_.ssthresh;
  r.cwnd = cc_.cwnd;
  return r;
}

void Connection::connect(uint32_t iss, uint32_t ts_offset, uint64_t now) {
  started_ = true;
  iss_ = snd_una_ = snd_nxt_ = snd_max_ = snd_sml_ = iss;
  ts_offset_ = ts_offset;
  state_ = State::syn_sent;
  last_rx_ = last_tx_ = now;
  output(now);
  notify();
}

void Connection::accept(const SegmentIn& syn, uint32_t iss, uint32_t ts_offset, uint64_t now) {
  started_ = true;
  iss_ = snd_una_ = snd_nxt_ = snd_max_ = snd_sml_ = iss;
  ts_offset_ = ts_offset;
  irs_ = syn.seq;
  rcv_nxt_ = rcv_adv_ = irs_ + 1;
  take_syn_options(*syn.options);
  snd_wnd_ = max_snd_wnd_ = syn.window;  // never scaled in a SYN (RFC 7323 2.2)
  snd_wl1_ = syn.seq;
  if (ts_ok_) {
    ts_recent_ = syn.options->tsval;
    ts_recent_age_ = now;
    ts_recent_valid_ = true;
  }
  state_ = State::syn_received;
  last_rx_ = last_tx_ = now;
  output(now);
  notify();
}

void Connection::take_syn_options(const wire::TcpOptions& o) {
  // RFC 9293 3.7.1: 536 when the peer sends no MSS. A tiny MSS would make us
  // send absurdly many segments: 64 bytes is the floor (no real path is smaller).
  const uint32_t peer_mss = o.has_mss ? std::max<uint32_t>(o.mss, 64) : 536;
  ws_ok_ = cfg_.window_scaling && o.has_wscale;
  snd_wscale_ = ws_ok_ ? std::min<uint8_t>(o.wscale, 14) : 0;  // RFC 7323 2.3
  if (!ws_ok_) rcv_wscale_ = 0;
  sack_ok_ = cfg_.sack && o.sack_permitted;
  ts_ok_ = cfg_.timestamps && o.has_timestamps;
  // Data per segment: the smaller MSS less the timestamps every segment carries
  // (RFC 6691: the MSS does not count options).
  const uint32_t room = std::min<uint32_t>(peer_mss, uint32_t(mtu_) - 40);
  smss_ = std::max<uint32_t>(room - (ts_ok_ ? 12 : 0), 32);
}

void Connection::enter_established(uint64_t now) {
  state_ = State::established;
  was_established_ = true;
  ++ctr_.tcp_conn_established;
  cc_.smss = smss_;
  // One SMSS if the SYN or SYN-ACK had to be retransmitted (RFC 5681 3.1).
  cc_.cwnd = syn_retransmitted_ ? smss_ : initial_window();
  cc_.ssthresh = UINT32_MAX / 2;
  // A cached path's window and ssthresh (validated by the cache), unless the
  // handshake itself was lost.
  if (!syn_retransmitted_) {
    if (hint_cwnd_) cc_.cwnd = std::max(hint_cwnd_, 2 * smss_);
    if (hint_ssthresh_) cc_.ssthresh = std::max(hint_ssthresh_, 2 * smss_);
  }
  cc_alg_->init(cc_);
  if (syn_retransmitted_ && !rtt_.has_sample())
    rtt_.floor_rto(3 * kSecond);  // RFC 6298 5.7
  if (cfg_.keepalive) keepalive_at_ = now + cfg_.keepalive_idle_ns;
  if (fin_queued_) state_ = State::fin_wait_1;  // shutdown() came during the handshake
  pending_ |= kEvConnected;
}

// ---------------------------------------------------------------- input

void Connection::input(const SegmentIn& seg, uint64_t now) {
  if (!started_ || state_ == State::closed) return;
  ++ctr_.tcp_segs_in;
  if (state_ == State::syn_sent) {
    input_syn_sent(seg, now);
  } else {
    input_synchronized(seg, now);
  }
  // The application first (it may read, which opens the window, or write),
  // then one round of output carries the ACK with the freshest window.
  notify();
  output(now);
  notify();
}

void Connection::end_of_burst(uint64_t now) {
  if (!ack_burst_) return;
  ack_burst_ = false;
  ack_now_ = true;
  output(now);
  notify();
}

void Connection::input_syn_sent(const SegmentIn& seg, uint64_t now) {
  // RFC 9293 3.10.7.3.
  const bool ack_ok = (seg.flags & ack) && seq_gt(seg.ack, iss_) && seq_le(seg.ack, snd_max_);
  if ((seg.flags & ack) && !ack_ok) {
    if (!(seg.flags & rst)) send_rst(seg.ack);
    ++ctr_.tcp_bad_ack;
    return;
  }
  if (seg.flags & rst) {
    // RFC 5961 3.2: in SYN-SENT a reset counts only if it acknowledges our SYN.
    if (ack_ok) {
      ++ctr_.tcp_rst_in;
      finish(CloseReason::refused);
    }
    return;
  }
  if (!(seg.flags & syn)) return;
  irs_ = seg.seq;
  rcv_nxt_ = rcv_adv_ = irs_ + 1;
  take_syn_options(*seg.options);
  if (ts_ok_) {
    ts_recent_ = seg.options->tsval;
    ts_recent_age_ = now;
    ts_recent_valid_ = true;
  }
  snd_wnd_ = max_snd_wnd_ = seg.window;  // unscaled in a SYN
  snd_wl1_ = seg.seq;
  snd_wl2_ = seg.ack;
  last_rx_ = now;
  if (!ack_ok) {
    // Simultaneous open: answer with SYN-ACK from SYN-RECEIVED.
    state_ = State::syn_received;
    snd_nxt_ = iss_;
    rto_at_ = 0;
    return;
  }
  if (rtt_timing_) {
    rtt_.sample(now - rtt_start_);
    rtt_timing_ = false;
  }
  snd_una_ = seg.ack;
  if (seq_lt(snd_nxt_, snd_una_)) snd_nxt_ = snd_una_;  // a SYN retransmission was pending
  snd_una_pos_ = 0;
  syn_acked_ = true;
  rto_at_ = 0;
  enter_established(now);
  ack_now_ = true;
  // Data on the SYN-ACK starts after the SYN's sequence number.
  if (!seg.payload.empty() || (seg.flags & fin)) {
    SegmentIn rest = seg;
    rest.seq = seg.seq + 1;
    rest.flags &= uint8_t(~syn);
    if (!rest.payload.empty()) process_data(rest, now);
    if (rest.flags & fin) take_fin(rest, now);
  }
}

bool Connection::acceptable(const SegmentIn& seg) const {
  // RFC 9293 3.10.7.4, the four cases. With a zero window a segment starting at
  // RCV.NXT is let through (its data is then trimmed away): that is how ACKs,
  // RSTs and a FIN reach a full receiver.
  const uint32_t len = uint32_t(seg.payload.size()) + ((seg.flags & syn) ? 1 : 0) +
                       ((seg.flags & fin) ? 1 : 0);
  const uint32_t wnd = seq_gt(rcv_adv_, rcv_nxt_) ? rcv_adv_ - rcv_nxt_ : 0;
  if (seg.seq == rcv_nxt_) return true;
  if (wnd == 0) return false;
  const uint32_t edge = rcv_nxt_ + wnd;
  if (len == 0) return seq_in(seg.seq, rcv_nxt_, edge);
  return seq_in(seg.seq, rcv_nxt_, edge) || seq_in(seg.seq + len - 1, rcv_nxt_, edge);
}

bool Connection::paws_reject(const SegmentIn& seg, uint64_t now) {
  // RFC 7323 5.3 R1.
  if (!ts_ok_ || !seg.options->has_timestamps || !ts_recent_valid_ || (seg.flags & rst))
    return false;
  if (seq_ge(seg.options->tsval, ts_recent_)) return false;
  if (now - ts_recent_age_ > kPawsIdleNs) {  // RFC 7323 5.5: TS.Recent too old to trust
    ts_recent_valid_ = false;
    return false;
  }
  return true;
}

void Connection::challenge_ack(uint64_t now) {
  // RFC 5961 7: rate-limited, per connection.
  if (now - chack_window_ >= kSecond) {
    chack_window_ = now;
    chack_count_ = 0;
  }
  if (chack_count_ < cfg_.challenge_acks_per_sec) {
    ++chack_count_;
    ++ctr_.tcp_challenge_acks;
    ack_now_ = true;
  } else {
    ++ctr_.tcp_challenge_acks_limited;
  }
}

void Connection::oow_ack(const SegmentIn& seg, uint64_t now) {
  // Segments outside the window are answered with an ACK (RFC 9293 3.10.7.4).
  // Ones carrying data are real retransmissions and always answered; bare
  // ACKs at most every 500 ms, which breaks ACK loops between confused peers
  // and limits what a blind attacker can make us send (as Linux does).
  if (!seg.payload.empty() || now - last_oow_ack_ >= 500'000'000) {
    last_oow_ack_ = now;
    ack_now_ = true;
  } else {
    ++ctr_.tcp_oow_acks_limited;
  }
}

void Connection::input_synchronized(const SegmentIn& seg, uint64_t now) {
  const wire::TcpOptions& o = *seg.options;
  if (state_ == State::time_wait && (seg.flags & fin) && !(seg.flags & rst) &&
      seg.seq + uint32_t(seg.payload.size()) + 1 == rcv_nxt_) {
    // The peer's FIN again: our last ACK was lost. Acknowledge it and restart
    // the 2 MSL timer (RFC 9293 3.10.7.4, TIME-WAIT).
    ack_now_ = true;
    timewait_at_ = now + 2 * cfg_.msl_ns;
    return;
  }
  if (state_ == State::syn_received && (seg.flags & syn) && !(seg.flags & ack) &&
      seg.seq == irs_) {
    snd_nxt_ = iss_;  // the peer did not get our SYN-ACK: send it again
    return;
  }
  if (state_ == State::syn_received && (seg.flags & (syn | ack | rst)) == (syn | ack) &&
      seg.seq == irs_ && seg.ack == iss_ + 1) {
    // Simultaneous open: the peer's SYN-ACK acknowledges our SYN. RFC 9293
    // answers it with an ACK (its SEQ is not acceptable); that ACK is what
    // establishes the peer, and the SYN-ACK establishes us (as Linux).
    snd_wnd_ = max_snd_wnd_ = seg.window;  // never scaled in a SYN
    snd_wl1_ = seg.seq;
    snd_wl2_ = seg.ack;
    snd_una_ = seg.ack;
    if (seq_lt(snd_nxt_, snd_una_)) snd_nxt_ = snd_una_;
    snd_una_pos_ = 0;
    syn_acked_ = true;
    rto_at_ = 0;
    if (rtt_timing_) {
      rtt_.sample(now - rtt_start_);
      rtt_timing_ = false;
    }
    enter_established(now);
    ack_now_ = true;
    return;
  }
  if ((seg.flags & syn) && !(seg.flags & rst)) {
    challenge_ack(now);  // RFC 5961 4.2: whatever the sequence number
    return;
  }
  if (paws_reject(seg, now)) {
    ++ctr_.tcp_paws_drops;
    if (!(seg.flags & rst)) oow_ack(seg, now);
    return;
  }
  if (!acceptable(seg)) {
    ++ctr_.tcp_bad_seq;
    if (!(seg.flags & rst)) oow_ack(seg, now);
    return;
  }
  last_rx_ = now;
  keepalive_sent_ = 0;
  if (cfg_.keepalive && synchronized()) keepalive_at_ = now + cfg_.keepalive_idle_ns;
  // RFC 7323 4.3: remember the timestamp to echo.
  if (ts_ok_ && o.has_timestamps && seq_le(seg.seq, last_ack_sent_) &&
      (!ts_recent_valid_ || seq_ge(o.tsval, ts_recent_))) {
    ts_recent_ = o.tsval;
    ts_recent_age_ = now;
    ts_recent_valid_ = true;
  }

  if (seg.flags & rst) {
    // RFC 5961 3.2: only a reset at exactly RCV.NXT counts; one elsewhere in
    // the window gets a challenge ACK, which a real peer answers with an exact one.
    if (seg.seq != rcv_nxt_) {
      challenge_ack(now);
      return;
    }
    if (state_ == State::time_wait) return;  // RFC 1337: no TIME-WAIT assassination
    ++ctr_.tcp_rst_in;
    const bool closing = state_ == State::closing || state_ == State::last_ack;
    finish(closing ? CloseReason::normal : CloseReason::reset);
    return;
  }
  if (!(seg.flags & ack)) {
    ++ctr_.tcp_no_ack_flag;
    return;
  }

  if (state_ == State::syn_received) {
    if (!(seq_gt(seg.ack, snd_una_) && seq_le(seg.ack, snd_max_))) {
      send_rst(seg.ack);  // RFC 9293 3.10.7.4, SYN-RECEIVED
      return;
    }
    snd_wnd_ = uint32_t(seg.window) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = seg.seq;
    snd_wl2_ = seg.ack;
    enter_established(now);
  }
  // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
  if (seq_gt(seg.ack, snd_max_)) {
    ++ctr_.tcp_bad_ack;
    ack_now_ = true;
    return;
  }
  if (seq_lt(seg.ack, snd_una_ - std::max<uint32_t>(max_snd_wnd_, 1))) {
    ++ctr_.tcp_bad_ack;
    challenge_ack(now);
    return;
  }
  process_ack(seg, now);
  if (state_ == State::closed) return;

  // Urgent data stays in the stream (RFC 6093): the pointer is not acted on.
  if (!seg.payload.empty()) process_data(seg, now);
  if (seg.flags & fin) take_fin(seg, now);
}

void Connection::process_ack(const SegmentIn& seg, uint64_t now) {
  const wire::TcpOptions& o = *seg.options;
  const uint32_t ackno = seg.ack;
  const uint32_t old_wnd = snd_wnd_;
  probes_unanswered_ = 0;

  // Window update (RFC 9293 3.10.7.4): only from a segment newer than the one
  // that last set it, so reordered segments cannot shrink it.
  if (seq_lt(snd_wl1_, seg.seq) || (snd_wl1_ == seg.seq && seq_le(snd_wl2_, ackno))) {
    if (seg.window == 0 && snd_wnd_ != 0) ++ctr_.tcp_zero_window_seen;
    snd_wnd_ = uint32_t(seg.window) << snd_wscale_;
    max_snd_wnd_ = std::max(max_snd_wnd_, snd_wnd_);
    snd_wl1_ = seg.seq;
    snd_wl2_ = ackno;
    if (snd_wnd_ > 0) persist_backoff_ = 0;
  }
  const uint64_t sacked_before = sb_.sacked_bytes();
  if (sack_ok_ && o.sack_count) process_sack(o);

  if (!seq_gt(ackno, snd_una_)) {
    // RFC 5681 2: a duplicate ACK carries no data, no SYN or FIN, acknowledges
    // nothing new, leaves the window as it was, and data is outstanding.
    // With the window shut they answer our probes and say nothing about loss.
    const bool dup = ackno == snd_una_ && seg.payload.empty() && !(seg.flags & (syn | fin)) &&
                     snd_wnd_ == old_wnd && snd_max_ != snd_una_ && snd_wnd_ > 0;
    const bool was_in_recovery = in_recovery_;
    detect_loss(dup, now);
    if (was_in_recovery && sack_ok_) {
      check_lost_retransmissions(now);
      prr_update(int64_t(sb_.sacked_bytes()) - int64_t(sacked_before));
    }
    return;
  }

  // New data acknowledged.
  const uint32_t flight_before = flight();
  const bool cwnd_limited = flight_before + smss_ >= cc_.cwnd ||
                            (cc_.cwnd < cc_.ssthresh && 2 * uint64_t(flight_before) >= cc_.cwnd);
  if (!syn_acked_) {  // first, our SYN
    syn_acked_ = true;
    snd_una_ = iss_ + 1;
    snd_una_pos_ = 0;
    if (seq_lt(snd_nxt_, snd_una_)) snd_nxt_ = snd_una_;
  }
  // Every ACK of new data with a timestamp echo measures one round trip, at
  // the timestamp clock's 1 ms granularity (RFC 7323 4). An echo from the
  // future, or older than the longest RTO, is a broken middlebox or a lie.
  const int32_t ts_ms = (ts_ok_ && o.has_timestamps && o.tsecr) ? int32_t(ts_now(now) - o.tsecr) : -1;
  const uint64_t ts_rtt = (ts_ms >= 0 && uint64_t(ts_ms) * 1'000'000 <= cfg_.rto_max_ns)
                              ? uint64_t(ts_ms) * 1'000'000 + 500'000
                              : 0;
  uint64_t ack_rtt = ts_rtt;
  if (rtt_timing_ && seq_gt(ackno, rtt_seq_)) {
    ack_rtt = now - rtt_start_;  // the precise sample of the timed segment
    rtt_.sample(ack_rtt);
    rtt_timing_ = false;
    need_ts_sample_ = false;
  } else if (need_ts_sample_ && ts_rtt) {
    // After a retransmission the timestamp echo says which transmission was
    // acknowledged, where Karn's rule leaves the timer without a sample.
    rtt_.sample(ts_rtt);
    need_ts_sample_ = false;
  }
  cc_.srtt_ns = rtt_.srtt();
  cc_.min_rtt_ns = rtt_.has_sample() ? rtt_.min_rtt() : 0;
  timeouts_ = 0;

  const uint64_t acked_end = std::min(pos_of(ackno), sndbuf_.end());
  const uint32_t data_acked = uint32_t(acked_end - snd_una_pos_);
  sndbuf_.release(acked_end);
  snd_una_pos_ = acked_end;
  snd_una_ = ackno;
  if (seq_lt(snd_nxt_, snd_una_)) snd_nxt_ = snd_una_;
  sb_.advance(snd_una_pos_);
  if (!sb_.empty() && sb_.range(0).begin <= snd_una_pos_) {
    // The cumulative ACK stops exactly where data it had SACKed begins: the
    // receiver threw that data away (reneged; Linux prunes its out-of-order
    // queue under memory pressure). Forget every SACK, so that it is sent
    // again (RFC 2018 8).
    sb_.clear();
    ++ctr_.tcp_sack_reneging;
  }
  high_rxt_ = std::max(high_rxt_, snd_una_pos_);
  if (seq_lt(snd_sml_, snd_una_)) snd_sml_ = snd_una_;  // so the comparison survives the wrap
  dupacks_ = 0;

  cc_.flight = flight();
  if (recover_valid_ && !in_recovery_ && !rto_recovery_ && seq_ge(ackno, recover_))
    recover_valid_ = false;  // no comparison against a point the sequence may wrap past
  if (in_recovery_) {
    if (seq_ge(ackno, recover_)) {
      in_recovery_ = false;
      recover_valid_ = false;
      rxt_records_.clear();
      relost_.clear();
      cc_alg_->on_recovery_exit(cc_, now);
    } else if (sack_ok_) {
      check_lost_retransmissions(now);
      prr_update(int64_t(data_acked) + int64_t(sb_.sacked_bytes()) - int64_t(sacked_before));
    } else {
      // RFC 6582 3.2 step 3, a partial ACK: retransmit the next hole at once,
      // deflate the window by what was acknowledged, and restart the timer.
      const uint32_t len = uint32_t(std::min<uint64_t>(smss_, sndbuf_.end() - snd_una_pos_));
      emit_range(snd_una_pos_, len, len == 0 && fin_sent_, true, now);
      cc_.cwnd = cc_.cwnd > data_acked ? cc_.cwnd - data_acked : smss_;
      if (data_acked >= smss_) cc_.cwnd += smss_;
      rto_at_ = now + rtt_.rto();
    }
  } else {
    if (rto_recovery_ && seq_ge(ackno, recover_)) {
      rto_recovery_ = false;
      recover_valid_ = false;
    }
    if (cfg_.hystart && cc_.cwnd < cc_.ssthresh && !rto_recovery_)
      hystart_.on_ack(cc_, ack_rtt, ackno, snd_max_);
    // The window grows only while it limits sending (RFC 7661; RFC 9438 5.8):
    // an application that sends little must not build up a huge cwnd to burst
    // with later. In slow start, half a window in flight counts (as Linux).
    if (data_acked && cwnd_limited) cc_alg_->on_ack(cc_, data_acked, now);
  }

  // RFC 6298 5.2 / 5.3.
  rto_at_ = snd_una_ == snd_max_ ? 0 : now + rtt_.rto();
  if (data_acked) pending_ |= kEvWritable;

  if (fin_sent_ && seq_gt(ackno, fin_seq_)) {  // our FIN is acknowledged
    switch (state_) {
      case State::fin_wait_1:
        state_ = State::fin_wait_2;
        // After close() nobody will read: do not wait for the peer forever.
        if (app_closed_) timewait_at_ = now + 2 * cfg_.msl_ns;
        break;
      case State::closing:
        enter_time_wait(now);
        break;
      case State::last_ack:
        finish(CloseReason::normal);
        break;
      default:
        break;
    }
  }
}

void Connection::process_sack(const wire::TcpOptions& o) {
  // RFC 2018: blocks outside (SND.UNA, SND.MAX] are stale, a D-SACK, or bogus.
  for (unsigned i = 0; i < o.sack_count; ++i) {
    const wire::SackBlock& b = o.sack[i];
    if (!seq_lt(b.left, b.right) || !seq_gt(b.left, snd_una_) || seq_gt(b.right, snd_max_))
      continue;
    const uint64_t end = std::min(pos_of(b.right), sndbuf_.end());
    const uint64_t begin = pos_of(b.left);
    if (begin < end) sb_.add(begin, end);
  }
}

void Connection::detect_loss(bool dup, uint64_t now) {
  if (dup) {
    ++dupacks_;
    ++ctr_.tcp_dup_acks;
  }
  if (in_recovery_) {
    // RFC 6582 3.2 step 4: each further duplicate ACK means a segment left the
    // network, so the window may admit one more.
    if (!sack_ok_ && dup) cc_.cwnd += smss_;
    return;
  }
  if (rto_recovery_ || snd_max_ == snd_una_) return;
  bool lost = dupacks_ >= cfg_.dupthresh;
  if (sack_ok_ && !lost && !sb_.empty())
    lost = sb_.is_lost(snd_una_pos_, cfg_.dupthresh, smss_);  // RFC 6675 5
  if (!lost) return;
  // A new loss event only once the cumulative ACK has passed the previous
  // recovery point (RFC 6582 3.2 step 1, RFC 6675 5).
  if (recover_valid_ && seq_lt(snd_una_, recover_)) return;

  ++ctr_.tcp_fast_recoveries;
  in_recovery_ = true;
  recover_ = snd_max_;
  recover_valid_ = true;
  cc_.flight = flight();
  hystart_.stop(cc_);
  cc_alg_->on_congestion(cc_, CongestionSignal::loss, now);
  prr_delivered_ = prr_out_ = 0;
  recover_fs_ = std::max<uint64_t>(flight(), 1);
  ++episode_;
  high_rxt_ = snd_una_pos_;
  rescue_done_ = false;
  // Retransmit the first segment presumed lost at once (RFC 6675 5 step 4.3,
  // RFC 6582 3.2 step 2), whatever the window says.
  const uint32_t len = uint32_t(std::min<uint64_t>(smss_, sndbuf_.end() - snd_una_pos_));
  const uint64_t hole_end = sack_ok_ ? std::min(sb_.next_sacked(snd_una_pos_), snd_una_pos_ + len)
                                     : snd_una_pos_ + len;
  const uint32_t rlen = uint32_t(hole_end - snd_una_pos_);
  if (emit_range(snd_una_pos_, rlen, rlen == 0 && fin_sent_, true, now))
    high_rxt_ = snd_una_pos_ + rlen;
  if (!sack_ok_) cc_.cwnd = cc_.ssthresh + 3 * smss_;  // RFC 6582 3.2 step 2
}

void Connection::check_lost_retransmissions(uint64_t now) {
  const uint64_t hi = sb_.highest();
  const uint64_t margin = uint64_t(cfg_.dupthresh - 1) * smss_;  // as IsLost tolerates reordering
  bool reduce = false;
  while (!rxt_records_.empty()) {
    const Rxt r = rxt_records_.front();
    if (r.end <= snd_una_pos_) {
      rxt_records_.pop_front();
      continue;
    }
    if (hi <= r.sent_max + margin) break;  // later records were sent later still
    rxt_records_.pop_front();
    const uint64_t s = sb_.skip_sacked(std::max(r.begin, snd_una_pos_));
    if (s < r.end) {
      relost_.push_back({s, r.end, 0, 0});
      ++ctr_.tcp_lost_retransmits;
      reduce |= r.episode == episode_;
    }
  }
  if (!reduce) return;
  // A retransmission sent after the window was reduced was lost as well: the
  // reduction was not enough (after a slow-start overshoot it rarely is), so
  // this is a new congestion signal. Once per episode: what was sent under the
  // previous window cannot tell us about the new one.
  ++episode_;
  recover_ = snd_max_;
  cc_.flight = flight();
  cc_alg_->on_congestion(cc_, CongestionSignal::loss, now);
  prr_delivered_ = prr_out_ = 0;
  recover_fs_ = std::max<uint64_t>(pipe(), 1);
}

void Connection::prr_update(int64_t delivered) {
  // Proportional Rate Reduction (RFC 6937) sets cwnd during SACK recovery, so
  // that the reduction to ssthresh is spread over the recovery instead of
  // stopping transmission and then bursting, and so that a window far above
  // ssthresh (a slow-start overshoot) drains the queue instead of keeping it
  // full and losing the retransmissions too.
  if (!sack_ok_ || !in_recovery_) return;
  if (delivered > 0) prr_delivered_ += uint64_t(delivered);
  const uint64_t p = pipe();
  const uint64_t ssthresh = cc_.ssthresh;
  int64_t sndcnt;
  if (p > ssthresh) {
    sndcnt = int64_t((prr_delivered_ * ssthresh + recover_fs_ - 1) / recover_fs_) - int64_t(prr_out_);
  } else {
    // PRR-SSRB: grow back toward ssthresh no faster than slow start.
    const int64_t limit = std::max<int64_t>(int64_t(prr_delivered_) - int64_t(prr_out_),
                                            std::max<int64_t>(delivered, 0)) + smss_;
    sndcnt = std::min<int64_t>(int64_t(ssthresh - p), limit);
  }
  if (sndcnt < 0) sndcnt = 0;
  cc_.cwnd = uint32_t(std::min<uint64_t>(p + uint64_t(sndcnt), UINT32_MAX / 2));
}

void Connection::process_data(const SegmentIn& seg, uint64_t now) {
  if (state_ != State::established && state_ != State::fin_wait_1 &&
      state_ != State::fin_wait_2)
    return;  // after the peer's FIN no data can follow (RFC 9293 3.10.7.4 step 7)
  if (fin_received_) return;
  const uint32_t before = rcv_nxt_;
  const uint64_t pos = rcvbuf_.next() + int64_t(int32_t(seg.seq - rcv_nxt_));
  const bool had_holes = rcvbuf_.has_out_of_order();
  bool dropped = false;
  const size_t in_order = rcvbuf_.insert(pos, seg.payload, dropped);
  if (dropped) ++ctr_.tcp_ooo_dropped;
  rcv_nxt_ += uint32_t(in_order);

  if (seq_gt(seg.seq, before)) {
    // Out of order: ACK at once so the sender learns of the hole (RFC 5681 4.2),
    // with SACK blocks.
    ++ctr_.tcp_ooo_segments;
    ack_now_ = true;
  } else if (in_order == 0 || had_holes) {
    ack_now_ = true;  // a duplicate, or the segment filled a hole
  } else {
    // In order: delayed ACK, but at least every `delack_segments` full-sized
    // segments (RFC 9293 3.8.6.3).
    rcv_mss_ = std::max<uint32_t>(rcv_mss_, uint32_t(seg.payload.size()));
    if (seg.payload.size() >= rcv_mss_) ++unacked_full_;
    if (unacked_full_ >= cfg_.delack_segments) {
      if (coalesce_acks_ && observer_) {
        if (!ack_burst_) {
          ack_burst_ = true;
          observer_->on_ack_deferred(*this);
        }
      } else {
        ack_now_ = true;
      }
    } else if (!delack_at_)
      delack_at_ = now + cfg_.delack_ns;
  }
  if (in_order) {
    if (app_closed_) {
      ctr_.tcp_data_after_close += in_order;
      rcvbuf_.consume(rcvbuf_.readable_size());
    } else {
      pending_ |= kEvReadable;
    }
  }
  if (fin_pending_ && rcvbuf_.next() >= fin_pos_) process_fin(now);
}

void Connection::take_fin(const SegmentIn& seg, uint64_t now) {
  if (fin_received_) {
    ack_now_ = true;  // a retransmitted FIN
    return;
  }
  const uint32_t fin_seq = seg.seq + uint32_t(seg.payload.size());
  if (fin_seq == rcv_nxt_) {
    process_fin(now);
  } else if (seq_gt(fin_seq, rcv_nxt_) &&
             seq_lt(fin_seq, rcv_nxt_ + uint32_t(rcvbuf_.capacity()))) {
    // Beyond a hole: act on it once the data before it has arrived.
    fin_pending_ = true;
    fin_pos_ = rcvbuf_.next() + (fin_seq - rcv_nxt_);
  }
}

void Connection::process_fin(uint64_t now) {
  fin_received_ = true;
  fin_pending_ = false;
  rcv_nxt_ += 1;
  ack_now_ = true;
  switch (state_) {
    case State::syn_received:
    case State::established:
      state_ = State::close_wait;
      pending_ |= kEvPeerClosed;
      break;
    case State::fin_wait_1:
      state_ = State::closing;  // simultaneous close: our FIN is not yet acknowledged
      pending_ |= kEvPeerClosed;
      break;
    case State::fin_wait_2:
      pending_ |= kEvPeerClosed;
      enter_time_wait(now);
      break;
    default:
      break;
  }
}

void Connection::enter_time_wait(uint64_t now) {
  state_ = State::time_wait;
  timewait_at_ = now + 2 * cfg_.msl_ns;
  rto_at_ = persist_at_ = keepalive_at_ = 0;
  // Nothing is left to send; what the application has not read stays.
  sndbuf_.drop_storage();
  rcvbuf_.drop_storage();
}

void Connection::finish(CloseReason r) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  reason_ = r;
  rto_at_ = delack_at_ = persist_at_ = keepalive_at_ = timewait_at_ = 0;
  switch (r) {
    case CloseReason::normal: ++ctr_.tcp_conn_closed; break;
    case CloseReason::reset:
    case CloseReason::refused: ++ctr_.tcp_conn_reset; break;
    case CloseReason::timeout: ++ctr_.tcp_conn_timeout; break;
    case CloseReason::aborted: ++ctr_.tcp_conn_aborted; break;
  }
  pending_ |= kEvClosed;
}

// ---------------------------------------------------------------- application

size_t Connection::send(std::span<const uint8_t> data, uint64_t now) {
  return queue(data, false, now);
}

size_t Connection::send_ref(std::span<const uint8_t> data, uint64_t now) {
  return queue(data, true, now);
}

size_t Connection::queue(std::span<const uint8_t> data, bool by_ref, uint64_t now) {
  const bool open = state_ == State::syn_sent || state_ == State::syn_received ||
                    state_ == State::established || state_ == State::close_wait;
  if (!open || fin_queued_) return 0;
  const uint64_t copied = sndbuf_.bytes_copied();
  const size_t n = by_ref ? sndbuf_.write_ref(data) : sndbuf_.write(data);
  const uint64_t c = sndbuf_.bytes_copied() - copied;
  ctr_.tcp_send_bytes_copied += c;
  ctr_.tcp_send_bytes_referenced += n - c;
  output(now);
  notify();
  return n;
}

void Connection::consume(size_t n, uint64_t now) {
  const size_t before = rcvbuf_.window();
  rcvbuf_.consume(n);
  // Tell the peer when the window has opened enough to matter (receiver-side
  // silly window avoidance decides in window_field()).
  const uint32_t step = std::min<uint32_t>(uint32_t(rcvbuf_.capacity() / 2), our_mss_);
  const uint32_t adv = seq_gt(rcv_adv_, rcv_nxt_) ? rcv_adv_ - rcv_nxt_ : 0;
  if (synchronized() && rcvbuf_.window() >= adv + step && rcvbuf_.window() > before &&
      !fin_received_)
    ack_now_ = true;
  output(now);
  notify();
}

void Connection::shutdown(uint64_t now) {
  switch (state_) {
    case State::syn_sent:
      finish(CloseReason::aborted);  // nothing was established: just forget it
      break;
    case State::syn_received:
      fin_queued_ = true;  // sent once established (RFC 9293 3.10.4)
      break;
    case State::established:
      fin_queued_ = true;
      state_ = State::fin_wait_1;
      break;
    case State::close_wait:
      fin_queued_ = true;
      state_ = State::last_ack;
      break;
    default:
      break;
  }
  output(now);
  notify();
}

void Connection::close(uint64_t now) {
  app_closed_ = true;
  rcvbuf_.consume(rcvbuf_.readable_size());
  if (state_ == State::fin_wait_2 && !timewait_at_) timewait_at_ = now + 2 * cfg_.msl_ns;
  shutdown(now);
}

void Connection::abort(uint64_t now) {
  (void)now;
  if (state_ == State::closed || state_ == State::time_wait) {
    finish(CloseReason::aborted);
  } else {
    // RFC 9293 3.10.5's SND.NXT is the next new sequence number: snd_max_ here
    // (snd_nxt_ may have been wound back by a timeout, below what the peer takes).
    if (state_ != State::syn_sent) send_rst(snd_max_);
    finish(CloseReason::aborted);
  }
  notify();
}

void Connection::notify() {
  if (notifying_) return;  // an event handler's own calls are picked up by the loop
  notifying_ = true;
  while (pending_ && ev_) {
    const uint8_t ev = pending_;
    pending_ = 0;
    if (ev & kEvConnected) ev_->on_connected(*this);
    if ((ev & kEvReadable) && rcvbuf_.readable_size()) ev_->on_readable(*this);
    if ((ev & kEvWritable) && state_ != State::closed) ev_->on_writable(*this);
    if (ev & kEvPeerClosed) ev_->on_peer_closed(*this);
    if (ev & kEvClosed) {
      ev_->on_closed(*this, reason_);
      pending_ = 0;
      break;
    }
  }
  if (!ev_) pending_ = 0;
  notifying_ = false;
  if (observer_) observer_->on_schedule(*this);
}

}  // namespace ts::tcp
