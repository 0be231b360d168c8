// The connection's state machine: opening, segment arrival (RFC 9293
// 3.10.7.3-3.10.7.4 with RFC 5961 and RFC 7323), ACK processing and loss
// detection, received data and FIN, the application calls, and events.
// Sending and timers are in connection_output.cc.
#include "tcp/connection.hh"

#include <algorithm>
#include <bit>
#include <cassert>
#include <iterator>

#include "tcp/cc/registry.hh"
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
    case CloseReason::reclaimed: return "reclaimed";
  }
  return "?";
}

uint8_t window_shift_for(uint32_t rcvbuf) {
  // The least shift that brings the buffer within 16 bits: its bit width
  // beyond 16, at most 14 (RFC 7323 2.3). (A loop cost about 40 instructions
  // at each end of every connection.)
  const int s = std::bit_width(rcvbuf) - 16;
  return uint8_t(std::clamp(s, 0, 14));
}

namespace {

constexpr uint32_t kPawsIdleS = 24u * 24 * 3600;  // RFC 7323 5.5
constexpr uint64_t kSecond = 1'000'000'000;

// The transitions of RFC 9293's state diagram (3.3.2) that this
// implementation makes, as a bit per next state; anything may go to CLOSED.
constexpr uint16_t bit(State s) { return uint16_t(1u << unsigned(s)); }
constexpr uint16_t kLegalNext[] = {
    /* closed       */ bit(State::syn_sent) | bit(State::syn_received),
    /* syn_sent     */ bit(State::syn_received) | bit(State::established),
    /* syn_received */ bit(State::established) | bit(State::close_wait),
    /* established  */ bit(State::fin_wait_1) | bit(State::close_wait),
    /* fin_wait_1   */ bit(State::fin_wait_2) | bit(State::closing),
    /* fin_wait_2   */ bit(State::time_wait),
    /* close_wait   */ bit(State::last_ack),
    /* closing      */ bit(State::time_wait),
    /* last_ack     */ 0,
    /* time_wait    */ 0,
};
static_assert(std::size(kLegalNext) == size_t(State::time_wait) + 1);

}  // namespace

bool Connection::accepts_new_syn(const SegmentIn& s) const {
  // RFC 6191 (with timestamps) and RFC 1122 4.2.2.13 (without): a SYN that is
  // unmistakably newer than the old incarnation may reopen the 4-tuple.
  if (state_ != State::time_wait || (s.flags & (syn | ack | rst)) != syn) return false;
  if (opt_.ts && s.options->has_timestamps) return seq_gt(s.options->tsval, ts_.recent);
  return seq_gt(s.seq, rcv_.nxt);
}

bool Connection::reusable_for_connect(uint64_t now) const {
  if (state_ != State::time_wait || !opt_.ts) return false;
  const uint64_t entered = timers_.idle - 2 * cfg_.msl_ns;
  return now >= entered + 2'000'000;  // two ticks of the 1 ms timestamp clock
}

void Connection::abandon() {
  enter_closed(CloseReason::normal);
  notify(0);  // closed: nothing is sent
}

inline void Connection::set_state(State s) {
  assert(s == State::closed || (kLegalNext[size_t(state_)] & bit(s)));
  state_ = s;
  state_changed_ = true;
}

// The target of docs/performance.md ("Memory"): a connection in at most 512
// bytes, its rarely used parts out of line. A member added without a place
// for it fails here.
static_assert(sizeof(Connection) <= 512, "tcp::Connection grew past 512 bytes");

Connection::Connection(const TcpConfig* config, const FourTuple& tuple, const Host& host,
                       Events* events, uint16_t mtu, BufferPool* pool)
    : cfg_(*config),
      host_(host),
      ev_(events),
      tuple_(tuple),
      sndbuf_(std::max<uint32_t>(cfg_.sndbuf, 1), pool),
      rcvbuf_(std::max<uint32_t>(cfg_.rcvbuf, 1), pool),
      rtt_(cfg_.rto_initial_ns),
      mtu_(mtu),
      our_mss_(uint16_t(std::clamp<int>(std::min<int>(cfg_.mss, int(mtu) - 40), 64, 65495))),
      cc_(cfg_.cc, cfg_.hystart) {
  rcv_.wscale = cfg_.window_scaling ? window_shift_for(uint32_t(rcvbuf_.capacity())) : 0;
  rcv_.mss = std::min<uint32_t>(536, our_mss_);
}

// ---------------------------------------------------------------- opening

void Connection::apply_hint(const PathHint& h) {
  if (h.have_rtt) rtt_.seed(h.srtt_ns, h.rttvar_ns, h.rto_ns, rto_bounds());
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
  if (cc_.cwnd() <= cap) return;
  cc_.set_ssthresh(cap);
  // As after an idle period: the algorithm restarts its growth from here.
  cc_.on_idle(cap, now);
}

PathReport Connection::report(uint64_t now) const {
  PathReport r;
  if (!was_established_) return r;  // nothing learned about the path but that it failed
  r.held_back_ns = (cold_ ? cold_->held_total : 0) + held_back_for(now);
  r.mss = uint16_t(std::min<uint32_t>(smss_, 65535));
  if (rtt_.has_sample()) {
    r.srtt_ns = rtt_.srtt();
    r.rttvar_ns = rtt_.rttvar();
    r.min_rtt_ns = rtt_.min_rtt() == UINT64_MAX ? 0 : rtt_.min_rtt();
  }
  if (cc_.ssthresh() < UINT32_MAX / 2) r.ssthresh = cc_.ssthresh();
  r.cwnd = cc_.cwnd();
  return r;
}

void Connection::connect(uint32_t iss, uint32_t ts_offset, uint64_t now,
                         const FastOpenClient* fast_open) {
  started_ = true;
  snd_.iss = snd_.una = snd_.nxt = snd_.max = snd_.sml = iss;
  ts_.offset = ts_offset;
  set_state(State::syn_sent);
  last_rx_ = last_tx_ = now;
  if (fast_open) {
    foc_ = std::make_unique<FastOpenClientState>();
    foc_->cookie = fast_open->cookie;
    foc_->mss = fast_open->mss;
    foc_->defer_syn = true;
    timers_.rto = now;  // at the latest, the next timer pass sends it
    notify(now);
    return;
  }
  output(now);
  notify(now);
}

void Connection::accept(const SegmentIn& syn, uint32_t iss, uint32_t ts_offset, uint64_t now,
                        bool fast_open) {
  started_ = true;
  snd_.iss = snd_.una = snd_.nxt = snd_.max = snd_.sml = iss;
  ts_.offset = ts_offset;
  take_peer_syn(syn, now);
  set_state(State::syn_received);
  last_rx_ = last_tx_ = now;
  if (fast_open && !syn.payload.empty()) {
    // RFC 7413 4.2.2: the data goes to the application now; whatever it
    // answers in its handlers leaves with the SYN-ACK. (A FIN in the SYN is
    // left for the peer to send again once synchronized.)
    fo_accepted_ = true;
    // Data goes out before the SYN is acknowledged: stream offsets count from
    // ISS + 1 already (the offset of SND.UNA, the SYN, is one before 0), and
    // the window is the initial one.
    snd_.una_pos = UINT64_MAX;
    start_window(initial_window(), UINT32_MAX / 2);
    SegmentIn rest = syn;
    rest.seq = syn.seq + 1;
    rest.flags = uint8_t(rest.flags & ~(wire::tcpflag::syn | wire::tcpflag::fin));
    process_data(rest, now);
    notify(now);
    settle_received();
  }
  output(now);
  notify(now);
}

void Connection::accept_handshake(const Handshake& h, uint64_t now) {
  started_ = true;
  snd_.iss = snd_.una = snd_.sml = h.iss;
  snd_.nxt = snd_.max = h.iss + 1;  // the SYN-ACK is out
  ts_.offset = h.ts_offset;
  wire::TcpOptions o;
  o.has_mss = h.peer_mss != 0;
  o.mss = h.peer_mss;
  o.has_wscale = h.peer_wscale >= 0;
  o.wscale = uint8_t(std::max<int>(h.peer_wscale, 0));
  o.sack_permitted = h.sack;
  o.has_timestamps = h.ts;
  o.tsval = h.ts_recent;
  SegmentIn syn;
  syn.seq = h.irs;
  syn.flags = wire::tcpflag::syn;
  syn.options = &o;
  take_peer_syn(syn, now);  // the window comes with the ACK
  ts_.last_ack_sent = rcv_.nxt;
  retries_.syn_sends = 1;
  if (h.rtt_ns) rtt_.sample(h.rtt_ns, rto_bounds());
  set_state(State::syn_received);
  last_rx_ = last_tx_ = now;
}

void Connection::take_peer_syn(const SegmentIn& syn, uint64_t now) {
  rcv_.irs = syn.seq;
  rcv_.nxt = rcv_.adv = rcv_.irs + 1;
  // An active opener promised its SYN's (unscaled) window before it knew the
  // peer's sequence numbers: that is the edge a SYN-ACK's data lands within.
  if (state_ == State::syn_sent)
    rcv_.adv += std::min<uint32_t>(uint32_t(rcvbuf_.window()), 65535);
  take_syn_options(*syn.options);
  if (opt_.ts) {
    ts_.recent = syn.options->tsval;
    ts_.recent_age_s = uint32_t(now / kSecond);
    ts_.recent_valid = true;
  }
  snd_.wnd = snd_.max_wnd = syn.window;  // never scaled in a SYN (RFC 7323 2.2)
  snd_.wl1 = syn.seq;
  snd_.wl2 = syn.ack;
}

void Connection::take_syn_options(const wire::TcpOptions& o) {
  // RFC 9293 3.7.1: 536 when the peer sends no MSS. A tiny MSS would make us
  // send absurdly many segments: 64 bytes is the floor (no real path is smaller).
  const uint32_t peer_mss = o.has_mss ? std::max<uint32_t>(o.mss, 64) : 536;
  opt_.ws = cfg_.window_scaling && o.has_wscale;
  snd_.wscale = opt_.ws ? std::min<uint8_t>(o.wscale, 14) : 0;  // RFC 7323 2.3
  if (!opt_.ws) rcv_.wscale = 0;
  opt_.sack = cfg_.sack && o.sack_permitted;
  opt_.ts = cfg_.timestamps && o.has_timestamps;
  // The recovery style: SACK's where negotiated, else the algorithm's own
  // (cc/registry.hh).
  if (rec_) rec_->set_style(recovery_for(cfg_, opt_.sack));
  // Data per segment: the smaller MSS less the timestamps every segment carries
  // (RFC 6691: the MSS does not count options).
  const uint32_t room = std::min<uint32_t>(peer_mss, uint32_t(mtu_) - 40);
  smss_ = std::max<uint32_t>(room - (opt_.ts ? 12 : 0), 32);
}

inline void Connection::syn_acknowledged() {
  snd_.syn_acked = true;
  snd_.una = snd_.iss + 1;
  snd_.una_pos = 0;
  if (seq_lt(snd_.nxt, snd_.una)) snd_.nxt = snd_.una;  // a SYN retransmission was pending
}

void Connection::accept_syn_ack(const SegmentIn& seg, uint64_t now) {
  snd_.wnd = snd_.max_wnd = seg.window;  // never scaled in a SYN
  snd_.wl1 = seg.seq;
  snd_.wl2 = seg.ack;
  syn_acknowledged();
  if (foc_) take_fastopen_answer(seg);
  timers_.rto = 0;
  if (timing_.on) {
    rtt_.sample(now - timing_.start, rto_bounds());
    timing_.on = false;
  }
  enter_established(now);
  acks_.now = true;
}

void Connection::take_fastopen_answer(const SegmentIn& seg) {
  const wire::TcpOptions& o = *seg.options;
  const uint32_t acked = seg.ack - (snd_.iss + 1);
  if (foc_->syn_data_len) {
    if (acked) {
      const uint32_t n = std::min(acked, foc_->syn_data_len);
      sndbuf_.release(n);
      snd_.una_pos = n;
      snd_.una = snd_.iss + 1 + n;
      wake_writer();
      ++ctr().tcp_fastopen_syn_data_acked;
    } else {
      // The server took the SYN but not its data: the data goes again once
      // synchronized (not a loss: no congestion response).
      ++ctr().tcp_fastopen_syn_data_unacked;
      snd_.nxt = snd_.una;
    }
  }
  // What the cache should know. Only a SYN-ACK to our first SYN (the one
  // with the option) says anything about the server's Fast Open.
  const bool answers_option = retries_.syn_sends == 1 && !foc_->data_lost;
  if (o.has_fastopen && FastOpenCookie::valid_length(o.fastopen_cookie_len)) {
    FastOpenCookie c;
    c.len = o.fastopen_cookie_len;
    std::copy_n(o.fastopen_cookie.begin(), c.len, c.bytes.begin());
    if (!(c == foc_->cookie)) {
      foc_->news.kind = FastOpenNews::Kind::cookie;
      foc_->news.cookie = c;
      foc_->news.mss = o.has_mss ? o.mss : 0;
    }
  } else if (answers_option && !o.has_fastopen && (foc_->cookie.len == 0 || !acked)) {
    foc_->news.kind = FastOpenNews::Kind::unsupported;
  }
}

void Connection::enter_established(uint64_t now) {
  set_state(State::established);
  was_established_ = true;
  established_ms_ = uint32_t(now / 1'000'000);
  last_progress_ = now;
  ++ctr().tcp_conn_established;
  // One SMSS if the SYN or SYN-ACK had to be retransmitted (RFC 5681 3.1).
  uint32_t cwnd = retries_.syn_retransmitted ? smss_ : initial_window();
  uint32_t ssthresh = UINT32_MAX / 2;
  // A cached path's window and ssthresh (validated by the cache), unless the
  // handshake itself was lost.
  if (!retries_.syn_retransmitted) {
    if (hint_cwnd_) cwnd = std::max(hint_cwnd_, 2 * smss_);
    if (hint_ssthresh_) ssthresh = std::max(hint_ssthresh_, 2 * smss_);
  }
  start_window(cwnd, ssthresh);
  if (retries_.syn_retransmitted && !rtt_.has_sample())
    rtt_.floor_rto(3 * kSecond, cfg_.rto_max_ns);  // RFC 6298 5.7
  if (cfg_.keepalive) timers_.idle = now + cfg_.keepalive_idle_ns;
  if (snd_.fin_queued) set_state(State::fin_wait_1);  // shutdown() came during the handshake
  pending_ |= kEvConnected;
}

// ---------------------------------------------------------------- input

void Connection::input(const SegmentIn& seg, uint64_t now) {
  if (!started_ || state_ == State::closed) return;
  ++ctr().tcp_segs_in;
  if (state_ == State::syn_sent) {
    input_syn_sent(seg, now);
  } else if (!input_predicted(seg, now)) {
    input_synchronized(seg, now);
  }
  // The application first (it may read, which opens the window, or write),
  // then one round of output carries the ACK with the freshest window, then
  // the application hears what that output raised: notify()'s loop, with the
  // output owed. One round, where the application's own writes used to be
  // followed by a second that found nothing (docs/performance.md,
  // "Instructions"). Inside a handler (a segment delivered while the
  // connection's events are being delivered), that loop follows up instead.
  if (notifying_) {
    output(now);
  } else {
    output_owed_ = true;
    notify(now);
  }
  // What the application left unread of data received in place is copied
  // before the segment goes (docs/performance.md, "Receive in place").
  settle_received();
}

void Connection::end_of_burst(uint64_t now) {
  if (!acks_.deferred) return;
  acks_.deferred = false;
  acks_.now = true;
  output(now);
  notify(now);
}

void Connection::input_syn_sent(const SegmentIn& seg, uint64_t now) {
  // RFC 9293 3.10.7.3.
  const bool ack_ok =
      (seg.flags & ack) && seq_gt(seg.ack, snd_.iss) && seq_le(seg.ack, snd_.max);
  if ((seg.flags & ack) && !ack_ok) {
    if (!(seg.flags & rst)) send_rst(seg.ack);
    ++ctr().tcp_bad_ack;
    return;
  }
  if (seg.flags & rst) {
    // RFC 5961 3.2: in SYN-SENT a reset counts only if it acknowledges our SYN.
    if (ack_ok) {
      ++ctr().tcp_rst_in;
      enter_closed(CloseReason::refused);
    }
    return;
  }
  if (!(seg.flags & syn)) return;
  take_peer_syn(seg, now);
  last_rx_ = now;
  if (!ack_ok) {
    // Simultaneous open: answer with SYN-ACK from SYN-RECEIVED.
    set_state(State::syn_received);
    snd_.nxt = snd_.iss;
    timers_.rto = 0;
    return;
  }
  accept_syn_ack(seg, now);
  // Data (and a FIN) on the SYN-ACK start after the SYN's sequence number.
  // A Fast Open server's answer there is acknowledged as data is (delayed,
  // or with what the application sends back, its FIN included), not at once.
  if (!seg.payload.empty()) acks_.now = false;
  if (!seg.payload.empty() || (seg.flags & fin)) {
    SegmentIn rest = seg;
    rest.seq = seg.seq + 1;
    rest.flags &= uint8_t(~syn);
    process_text(rest, now);
  }
}

bool Connection::acceptable(const SegmentIn& seg) const {
  // RFC 9293 3.10.7.4, the four cases. With a zero window a segment starting at
  // RCV.NXT is let through (its data is then trimmed away): that is how ACKs,
  // RSTs and a FIN reach a full receiver.
  const uint32_t len = uint32_t(seg.payload.size()) + ((seg.flags & syn) ? 1 : 0) +
                       ((seg.flags & fin) ? 1 : 0);
  const uint32_t wnd = advertised();
  if (seg.seq == rcv_.nxt) return true;
  if (wnd == 0) return false;
  const uint32_t edge = rcv_.nxt + wnd;
  if (len == 0) return seq_in(seg.seq, rcv_.nxt, edge);
  return seq_in(seg.seq, rcv_.nxt, edge) || seq_in(seg.seq + len - 1, rcv_.nxt, edge);
}

bool Connection::paws_reject(const SegmentIn& seg, uint64_t now) {
  // RFC 7323 5.3 R1.
  if (!opt_.ts || !seg.options->has_timestamps || !ts_.recent_valid || (seg.flags & rst))
    return false;
  if (seq_ge(seg.options->tsval, ts_.recent)) return false;
  // RFC 7323 5.5: TS.Recent too old to trust.
  if (uint32_t(now / kSecond) - ts_.recent_age_s > kPawsIdleS) {
    ts_.recent_valid = false;
    return false;
  }
  return true;
}

void Connection::challenge_ack(uint64_t now) {
  // RFC 5961 7: rate-limited, per connection.
  Cold& c = cold();
  if (now - c.challenge_window >= kSecond) {
    c.challenge_window = now;
    c.challenges = 0;
  }
  if (c.challenges < cfg_.challenge_acks_per_sec) {
    ++c.challenges;
    ++ctr().tcp_challenge_acks;
    acks_.now = true;
  } else {
    ++ctr().tcp_challenge_acks_limited;
  }
}

void Connection::oow_ack(const SegmentIn& seg, uint64_t now) {
  // Segments outside the window are answered with an ACK (RFC 9293 3.10.7.4).
  // Ones carrying data are real retransmissions and always answered; bare
  // ACKs at most every 500 ms, which breaks ACK loops between confused peers
  // and limits what a blind attacker can make us send (as Linux does).
  if (!seg.payload.empty() || now - (cold_ ? cold_->last_oow : 0) >= 500'000'000) {
    cold().last_oow = now;
    acks_.now = true;
  } else {
    ++ctr().tcp_oow_acks_limited;
  }
}

inline void Connection::accepted(const SegmentIn& seg, uint64_t now) {
  const wire::TcpOptions& o = *seg.options;
  last_rx_ = now;
  retries_.keepalives = 0;
  if (keeps_alive()) timers_.idle = now + cfg_.keepalive_idle_ns;
  // RFC 7323 4.3: remember the timestamp to echo.
  if (opt_.ts && o.has_timestamps && seq_le(seg.seq, ts_.last_ack_sent) &&
      (!ts_.recent_valid || seq_ge(o.tsval, ts_.recent))) {
    ts_.recent = o.tsval;
    ts_.recent_age_s = uint32_t(now / kSecond);
    ts_.recent_valid = true;
  }
}

void Connection::input_synchronized(const SegmentIn& seg, uint64_t now) {
  if (state_ == State::time_wait && (seg.flags & fin) && !(seg.flags & rst) &&
      seg.seq + uint32_t(seg.payload.size()) + 1 == rcv_.nxt) {
    // The peer's FIN again: our last ACK was lost. Acknowledge it and restart
    // the 2 MSL timer (RFC 9293 3.10.7.4, TIME-WAIT).
    acks_.now = true;
    wait_2msl(now);
    return;
  }
  if (state_ == State::syn_received && (seg.flags & syn) && !(seg.flags & ack) &&
      seg.seq == rcv_.irs) {
    snd_.nxt = snd_.iss;  // the peer did not get our SYN-ACK: send it again
    return;
  }
  if (state_ == State::syn_received && (seg.flags & (syn | ack | rst)) == (syn | ack) &&
      seg.seq == rcv_.irs && seg.ack == snd_.iss + 1) {
    // Simultaneous open: the peer's SYN-ACK acknowledges our SYN. RFC 9293
    // answers it with an ACK (its SEQ is not acceptable); that ACK is what
    // establishes the peer, and the SYN-ACK establishes us (as Linux).
    accept_syn_ack(seg, now);
    return;
  }
  if ((seg.flags & syn) && !(seg.flags & rst)) {
    challenge_ack(now);  // RFC 5961 4.2: whatever the sequence number
    return;
  }
  if (paws_reject(seg, now)) {
    ++ctr().tcp_paws_drops;
    if (!(seg.flags & rst)) oow_ack(seg, now);
    return;
  }
  if (!acceptable(seg)) {
    ++ctr().tcp_bad_seq;
    if (!(seg.flags & rst)) oow_ack(seg, now);
    return;
  }
  accepted(seg, now);

  if (seg.flags & rst) {
    // RFC 5961 3.2: only a reset at exactly RCV.NXT counts; one elsewhere in
    // the window gets a challenge ACK, which a real peer answers with an exact one.
    if (seg.seq != rcv_.nxt) {
      challenge_ack(now);
      return;
    }
    if (state_ == State::time_wait) return;  // RFC 1337: no TIME-WAIT assassination
    ++ctr().tcp_rst_in;
    const bool closing = state_ == State::closing || state_ == State::last_ack;
    enter_closed(closing ? CloseReason::normal : CloseReason::reset);
    return;
  }
  if (!(seg.flags & ack)) {
    ++ctr().tcp_no_ack_flag;
    return;
  }

  if (state_ == State::syn_received) {
    if (!(seq_gt(seg.ack, snd_.una) && seq_le(seg.ack, snd_.max))) {
      send_rst(seg.ack);  // RFC 9293 3.10.7.4, SYN-RECEIVED
      return;
    }
    snd_.wnd = uint32_t(seg.window) << snd_.wscale;
    snd_.max_wnd = std::max(snd_.max_wnd, snd_.wnd);
    snd_.wl1 = seg.seq;
    snd_.wl2 = seg.ack;
    enter_established(now);
  }
  // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
  if (seq_gt(seg.ack, snd_.max)) {
    ++ctr().tcp_bad_ack;
    acks_.now = true;
    return;
  }
  if (seq_lt(seg.ack, snd_.una - std::max<uint32_t>(snd_.max_wnd, 1))) {
    ++ctr().tcp_bad_ack;
    challenge_ack(now);
    return;
  }
  process_ack(seg, now);
  if (state_ == State::closed) return;
  process_text(seg, now);
}

bool Connection::input_predicted(const SegmentIn& seg, uint64_t now) {
  // Each condition stands for a step of input_synchronized() the segment
  // passes without effect: no TIME-WAIT, SYN-RECEIVED or SYN case (the state
  // and flags); PAWS (no timestamp older than TS.Recent); acceptable
  // (SEG.SEQ = RCV.NXT); no RST; the ACK flag; the ACK within RFC 5961's
  // bounds ([SND.UNA, SND.MAX] lies inside them). What follows is that
  // function's own last steps: SACK blocks, data and a FIN are theirs.
  const wire::TcpOptions& o = *seg.options;
  if (state_ != State::established || !cfg_.predict_input ||
      (seg.flags & (syn | rst | ack)) != ack || seg.seq != rcv_.nxt ||
      seq_lt(seg.ack, snd_.una) || seq_gt(seg.ack, snd_.max))
    return false;
  if (opt_.ts && o.has_timestamps && ts_.recent_valid && seq_lt(o.tsval, ts_.recent))
    return false;  // PAWS decides
  ++ctr().tcp_segs_in_predicted;
  accepted(seg, now);
  process_ack(seg, now);
  if (state_ != State::closed) process_text(seg, now);
  return true;
}

inline void Connection::process_text(const SegmentIn& seg, uint64_t now) {
  // Urgent data stays in the stream (RFC 6093): the pointer is not acted on.
  if (!seg.payload.empty()) process_data(seg, now);
  if (seg.flags & fin) take_fin(seg, now);
}

size_t Connection::sack_ranges(const wire::TcpOptions& o, SackScoreboard::Range* out) const {
  // RFC 2018: blocks outside (SND.UNA, SND.MAX] are stale, a D-SACK, or bogus.
  size_t n = 0;
  for (unsigned i = 0; i < o.sack_count; ++i) {
    const wire::SackBlock& b = o.sack[i];
    if (!seq_lt(b.left, b.right) || !seq_gt(b.left, snd_.una) || seq_gt(b.right, snd_.max))
      continue;
    const uint64_t end = std::min(pos_of(b.right), sndbuf_.end());
    const uint64_t begin = pos_of(b.left);
    if (begin < end) out[n++] = {begin, end};
  }
  return n;
}

void Connection::process_ack(const SegmentIn& seg, uint64_t now) {
  const wire::TcpOptions& o = *seg.options;
  const uint32_t ackno = seg.ack;
  const uint32_t old_wnd = snd_.wnd;
  if (cold_) cold_->probes_unanswered = 0;

  // Window update (RFC 9293 3.10.7.4): only from a segment newer than the one
  // that last set it, so reordered segments cannot shrink it.
  if (seq_lt(snd_.wl1, seg.seq) || (snd_.wl1 == seg.seq && seq_le(snd_.wl2, ackno))) {
    if (seg.window == 0 && snd_.wnd != 0) ++ctr().tcp_zero_window_seen;
    snd_.wnd = uint32_t(seg.window) << snd_.wscale;
    snd_.max_wnd = std::max(snd_.max_wnd, snd_.wnd);
    snd_.wl1 = seg.seq;
    snd_.wl2 = ackno;
    if (snd_.wnd > 0 && cold_) cold_->persist_backoff = 0;
  }
  SackScoreboard::Range blocks[wire::kMaxSackBlocks];
  Recovery::Ack a;
  auto space = [this] { return flight_space(); };
  if (opt_.sack && o.sack_count) a.sacks = {blocks, sack_ranges(o, blocks)};

  if (!seq_gt(ackno, snd_.una)) {
    // RFC 5681 2: a duplicate ACK carries no data, no SYN or FIN, acknowledges
    // nothing new, leaves the window as it was, and data is outstanding.
    // With the window shut they answer our probes and say nothing about loss.
    a.duplicate = ackno == snd_.una && seg.payload.empty() && !(seg.flags & (syn | fin)) &&
                  snd_.wnd == old_wnd && snd_.max != snd_.una && snd_.wnd > 0;
    const uint64_t sacked_before = scoreboard().sacked_bytes();
    const Recovery::AckResult r = recovery_on_ack(a, space, now);
    if (rate() && scoreboard().sacked_bytes() != sacked_before)
      sample_ack(0, 0, false, now);  // SACK delivered data: a rate sample
    if (r.retransmit) send_transmission(r.retransmit, now);
    return;
  }

  // New data acknowledged.
  last_progress_ = now;
  const uint32_t flight_before = flight();
  const uint32_t cwnd = cc_.cwnd();
  // In slow start, half a window in flight counts as limited by it (as Linux).
  const bool cwnd_limited = flight_before + smss_ >= cwnd ||
                            (cc_.in_slow_start() && 2 * uint64_t(flight_before) >= cwnd);
  if (!snd_.syn_acked) syn_acknowledged();
  // Every ACK of new data with a timestamp echo measures one round trip, at
  // the timestamp clock's 1 ms granularity (RFC 7323 4). An echo from the
  // future, or older than the longest RTO, is a broken middlebox or a lie.
  // (The echo is read only where the timed segment gave no precise sample.)
  uint64_t ack_rtt;
  if (timing_.on && seq_gt(ackno, timing_.seq)) {
    ack_rtt = now - timing_.start;  // the precise sample of the timed segment
    rtt_.sample(ack_rtt, rto_bounds());
    timing_.on = false;
    timing_.need_ts_sample = false;
  } else {
    const int32_t ts_ms =
        (opt_.ts && o.has_timestamps && o.tsecr) ? int32_t(ts_now(now) - o.tsecr) : -1;
    ack_rtt = (ts_ms >= 0 && uint64_t(ts_ms) * 1'000'000 <= cfg_.rto_max_ns)
                  ? uint64_t(ts_ms) * 1'000'000 + 500'000
                  : 0;
    if (timing_.need_ts_sample && ack_rtt) {
      // After a retransmission the timestamp echo says which transmission was
      // acknowledged, where Karn's rule leaves the timer without a sample.
      rtt_.sample(ack_rtt, rto_bounds());
      timing_.need_ts_sample = false;
    }
  }
  cc_.set_srtt(rtt_.srtt());
  retries_.timeouts = 0;

  const uint64_t acked_end = std::min(pos_of(ackno), sndbuf_.end());
  a.advanced = true;
  a.acked = uint32_t(acked_end - snd_.una_pos);
  sndbuf_.release(acked_end);
  // Everything acknowledged: the ring goes back to the pool soon, so an idle
  // connection holds none (docs/performance.md, "Memory").
  if (sndbuf_.size() == 0 && sndbuf_.storage()) ring_emptied(sndbuf_, snd_.fin_queued, now);
  snd_.una_pos = acked_end;
  snd_.una = ackno;
  if (seq_lt(snd_.nxt, snd_.una)) snd_.nxt = snd_.una;
  if (seq_lt(snd_.sml, snd_.una)) snd_.sml = snd_.una;  // so the comparison survives the wrap

  const Recovery::AckResult r = recovery_on_ack(a, space, now);
  if (r.retransmit) send_transmission(r.retransmit, now);
  if (r.grow)
    cc_.on_ack(a.acked, ack_rtt, ackno, snd_.max, cwnd_limited, !(rec_ && rec_->going_back()), now);
  if (rate()) sample_ack(a.acked, ack_rtt, cwnd_limited, now);

  // RFC 6298 5.2 / 5.3.
  timers_.rto = snd_.una == snd_.max ? 0 : now + rto();
  if (a.acked) wake_writer();
  if (snd_.fin_sent && seq_gt(ackno, snd_.fin_seq)) our_fin_acknowledged(now);
}

void Connection::start_window(uint32_t cwnd, uint32_t ssthresh) {
  cc_.start(smss_, cwnd, ssthresh);
  if (cc_.wants_rate_samples() && !rate()) cold().rate = std::make_unique<DeliveryRate>();
}

Recovery& Connection::recovery() {
  if (!rec_) {
    rec_ = std::make_unique<Recovery>(ctr(), cfg_.dupthresh);
    rec_->set_style(recovery_for(cfg_, opt_.sack));
  }
  return *rec_;
}

namespace {
const SackScoreboard kNoSacks;  // the scoreboard of a connection without recovery state
}  // namespace

const SackScoreboard& Connection::scoreboard() const {
  return rec_ ? rec_->scoreboard() : kNoSacks;
}

void Connection::sample_ack(uint32_t acked, uint64_t rtt_ns, bool cwnd_limited, uint64_t now) {
  const SackScoreboard& sb = scoreboard();
  AckSample s;
  s.acked = acked;
  s.rtt_ns = rtt_ns;
  s.flight = flight();
  s.cwnd_limited = cwnd_limited;
  s.in_recovery = in_recovery();
  s.ack = snd_.una;
  s.snd_max = snd_.max;
  const uint64_t una = snd_.una_pos == UINT64_MAX ? 0 : snd_.una_pos;
  s.rate = rate()->on_ack(una + sb.sacked_bytes(), una,
                         [&sb](uint64_t pos) { return sb.is_sacked(pos); }, now);
  s.delivered = rate()->delivered();
  s.lost = retransmitted_bytes();
  cc_.on_sample(s, now);
}

void Connection::our_fin_acknowledged(uint64_t now) {
  switch (state_) {
    case State::fin_wait_1:
      set_state(State::fin_wait_2);
      // After close() nobody will read: do not wait for the peer forever.
      if (app_closed_) wait_2msl(now);
      break;
    case State::closing:
      enter_time_wait(now);
      break;
    case State::last_ack:
      enter_closed(CloseReason::normal);
      break;
    default:
      break;
  }
}

void Connection::process_data(const SegmentIn& seg, uint64_t now) {
  // After the peer's FIN no data can follow (RFC 9293 3.10.7.4 step 7). A
  // Fast Open SYN's data arrives in SYN-RECEIVED.
  const bool open = receives_data(state_) || (state_ == State::syn_received && fo_accepted_);
  if (!open || rcv_.fin_received) return;
  const uint32_t before = rcv_.nxt;
  last_progress_ = now;
  const uint64_t pos = rcvbuf_.next() + int64_t(int32_t(seg.seq - rcv_.nxt));
  const bool had_holes = rcvbuf_.has_out_of_order();
  bool dropped = false;
  size_t copied = 0;
  const size_t in_order = rcvbuf_.insert_in_place(pos, seg.payload, dropped, copied);
  if (dropped) ++ctr().tcp_ooo_dropped;
  if (copied) ctr().tcp_recv_bytes_copied += copied;
  rcv_.nxt += uint32_t(in_order);

  if (seq_gt(seg.seq, before)) {
    // Out of order: ACK at once so the sender learns of the hole (RFC 5681 4.2),
    // with SACK blocks.
    ++ctr().tcp_ooo_segments;
    acks_.now = true;
  } else if (in_order == 0 || had_holes) {
    acks_.now = true;  // a duplicate, or the segment filled a hole
  } else {
    // In order: delayed ACK, but at least every `delack_segments` full-sized
    // segments (RFC 9293 3.8.6.3). A coalesced run counts as the segments it
    // was: its full ones are the whole multiples of their size.
    const uint32_t size = seg.gro_size ? seg.gro_size : uint32_t(seg.payload.size());
    rcv_.mss = std::max(rcv_.mss, size);
    if (size >= rcv_.mss) {
      const size_t full = seg.gro_size ? seg.payload.size() / size : 1;
      acks_.unacked_full = uint8_t(std::min<size_t>(acks_.unacked_full + full, 255));
    }
    if (acks_.unacked_full >= cfg_.delack_segments) {
      if (acks_.coalesce && host_.observer) {
        if (!acks_.deferred) {
          acks_.deferred = true;
          host_.observer->on_ack_deferred(*this);
        }
      } else {
        acks_.now = true;
      }
    } else if (!timers_.delack)
      timers_.delack = now + cfg_.delack_ns;
  }
  if (in_order) {
    if (app_closed_) {
      ctr().tcp_data_after_close += in_order;
      rcvbuf_.consume(rcvbuf_.readable_size());
    } else {
      pending_ |= kEvReadable;
    }
  }
  if (rcv_.fin_pending && seq_ge(rcv_.nxt, rcv_.fin_seq)) process_fin(now);
}

void Connection::take_fin(const SegmentIn& seg, uint64_t now) {
  if (rcv_.fin_received) {
    acks_.now = true;  // a retransmitted FIN
    return;
  }
  const uint32_t fin_seq = seg.seq + uint32_t(seg.payload.size());
  if (fin_seq == rcv_.nxt) {
    process_fin(now);
  } else if (seq_gt(fin_seq, rcv_.nxt) &&
             seq_lt(fin_seq, rcv_.nxt + uint32_t(rcvbuf_.capacity()))) {
    // Beyond a hole: act on it once the data before it has arrived.
    rcv_.fin_pending = true;
    rcv_.fin_seq = fin_seq;
  }
}

void Connection::process_fin(uint64_t now) {
  rcv_.fin_received = true;
  rcv_.fin_pending = false;
  rcv_.nxt += 1;
  acks_.now = true;
  switch (state_) {
    case State::syn_received:
    case State::established:
      set_state(State::close_wait);
      pending_ |= kEvPeerClosed;
      break;
    case State::fin_wait_1:
      set_state(State::closing);  // simultaneous close: our FIN is not yet acknowledged
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
  set_state(State::time_wait);
  wait_2msl(now);
  timers_.rto = 0;
  if (cold_) cold_->persist = 0;
  // Nothing is left to send; what the application has not read stays.
  park_rings();
}

void Connection::enter_closed(CloseReason r) {
  if (state_ == State::closed) return;
  set_state(State::closed);
  reason_ = r;
  timers_.clear();
  if (cold_) cold_->pace = cold_->persist = 0;
  switch (r) {
    case CloseReason::normal: ++ctr().tcp_conn_closed; break;
    case CloseReason::reset:
    case CloseReason::refused: ++ctr().tcp_conn_reset; break;
    case CloseReason::timeout: ++ctr().tcp_conn_timeout; break;
    case CloseReason::aborted: ++ctr().tcp_conn_aborted; break;
    case CloseReason::reclaimed: break;  // the TCP layer counts it, by reason
  }
  pending_ |= kEvClosed;
}

// ---------------------------------------------------------------- application

size_t Connection::send_ref(std::span<const uint8_t> data, uint64_t now) {
  return queue(data, true, now);
}

void Connection::shutdown(uint64_t now) {
  switch (state_) {
    case State::syn_sent:
      enter_closed(CloseReason::aborted);  // nothing was established: just forget it
      break;
    case State::syn_received:
      snd_.fin_queued = true;  // sent once established (RFC 9293 3.10.4)
      break;
    case State::established:
      snd_.fin_queued = true;
      set_state(State::fin_wait_1);
      break;
    case State::close_wait:
      snd_.fin_queued = true;
      set_state(State::last_ack);
      break;
    default:
      break;
  }
  output_soon(now);
}

void Connection::close(uint64_t now) {
  const bool waited = waits_2msl();
  app_closed_ = true;
  rcvbuf_.consume(rcvbuf_.readable_size());
  if (state_ == State::fin_wait_2 && !waited) wait_2msl(now);
  shutdown(now);
}

void Connection::reclaim() {
  if (state_ != State::closed && state_ != State::time_wait && state_ != State::syn_sent)
    send_rst(snd_.max);
  enter_closed(CloseReason::reclaimed);
  notify(0);  // closed: nothing is sent
}

uint64_t Connection::stalled_for(uint64_t now) const {
  const bool waiting = sndbuf_.size() > 0 || (snd_.fin_queued && !snd_.fin_sent);
  if (!waiting || !synchronized(state_) || held_since() || retries_.timeouts > 0) return 0;
  if (last_rx_ <= last_progress_) return 0;  // the peer has been silent since
  return now > last_progress_ ? now - last_progress_ : 0;
}

void Connection::abort() {
  // RFC 9293 3.10.5's SND.NXT is the next new sequence number: snd.max here
  // (snd.nxt may have been wound back by a timeout, below what the peer takes).
  if (state_ != State::closed && state_ != State::time_wait && state_ != State::syn_sent)
    send_rst(snd_.max);
  enter_closed(CloseReason::aborted);
  notify(0);  // closed: nothing is sent
}

void Connection::notify(uint64_t now) {
  if (notifying_) return;  // an event handler's own calls are picked up by the loop
  notifying_ = true;
  bool closed = false;
  for (;;) {
    while (pending_ && ev_ && !closed) {
      const uint8_t ev = pending_;
      pending_ = 0;
      if (ev & kEvConnected) ev_->on_connected(*this);
      if ((ev & kEvReadable) && rcvbuf_.readable_size()) ev_->on_readable(*this);
      if ((ev & kEvWritable) && state_ != State::closed) {
        write_wanted_ = false;  // until the handler's own calls want more
        ev_->on_writable(*this);
      }
      if (ev & kEvPeerClosed) ev_->on_peer_closed(*this);
      if (ev & kEvClosed) {
        ev_->on_closed(*this, reason_);
        pending_ = 0;
        closed = true;
      }
    }
    if (!output_owed_ || closed || state_ == State::closed) break;
    output_owed_ = false;
    output(now);  // may raise events of its own (the loop delivers them)
  }
  output_owed_ = false;
  if (!ev_) pending_ = 0;
  notifying_ = false;
  if (host_.observer && (state_changed_ || has_fastopen_news() || next_deadline() < armed_at_)) {
    state_changed_ = false;
    host_.observer->on_schedule(*this);
  }
}

}  // namespace ts::tcp
