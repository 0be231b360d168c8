// One TCP connection as pure code (docs/architecture.md, "Rules" and "The TCP
// connection"): segments in, segments out through an Output, time always a
// parameter, timers as deadlines. The RFC 9293 state machine with RFC 6298
// timers, RFC 7323 window scaling, timestamps and PAWS, SACK (RFC 2018), ACK
// processing that leaves loss recovery to tcp::Recovery (RFC 6675 with PRR,
// NewReno, Reno or Tahoe) and the window to tcp::Congestion, delayed ACKs,
// Nagle, silly-window avoidance on both sides, the persist timer, keepalive,
// and the RFC 5961 protections.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>

#include "tcp/buffers.hh"
#include "tcp/cc/congestion.hh"
#include "tcp/config.hh"
#include "tcp/counters.hh"
#include "tcp/delivery_rate.hh"
#include "tcp/four_tuple.hh"
#include "tcp/path.hh"
#include "tcp/recovery.hh"
#include "tcp/rtt.hh"
#include "tcp/seq.hh"
#include "wire/tcp.hh"

namespace ts::tcp {

enum class State : uint8_t {
  closed,
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};
const char* state_name(State s);

// The states by what they allow (RFC 9293 3.3.2).
// The handshake is done (or was, before the connection began to close).
constexpr bool synchronized(State s) { return s >= State::established; }
// Our SYN or the peer's has not been acknowledged yet.
constexpr bool handshaking(State s) { return s == State::syn_sent || s == State::syn_received; }
// The application may still queue data (sent once established).
constexpr bool accepts_writes(State s) {
  return handshaking(s) || s == State::established || s == State::close_wait;
}
// Data and FIN may be (re)transmitted: synchronized, and our FIN not yet acknowledged.
constexpr bool sends_data(State s) {
  return s == State::established || s == State::fin_wait_1 || s == State::close_wait ||
         s == State::closing || s == State::last_ack;
}
// The peer may still send data: synchronized, and its FIN not yet received.
constexpr bool receives_data(State s) {
  return s == State::established || s == State::fin_wait_1 || s == State::fin_wait_2;
}

enum class CloseReason : uint8_t {
  normal,     // both sides closed (after TIME-WAIT, or LAST-ACK acknowledged)
  reset,      // the peer reset the connection
  refused,    // the peer reset our SYN
  timeout,    // retransmissions or keepalives went unanswered
  aborted,    // the application aborted
  reclaimed,  // the TCP layer took it back under memory pressure (docs/defences.md)
};
const char* reason_name(CloseReason r);

// A segment as received, already parsed and checksum-verified.
struct SegmentIn {
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire
  uint16_t urgent = 0;
  // Several segments merged (by receive coalescing, or the peer's TSO frame
  // passed on whole): the size of each (the last may be smaller); 0 for a
  // segment as it arrived.
  uint16_t gro_size = 0;
  const wire::TcpOptions* options = nullptr;  // never null for real segments
  std::span<const uint8_t> payload;

  static SegmentIn from(const wire::TcpRepr& r) {
    return {r.seq, r.ack, r.flags, r.window, r.urgent, r.seg_size, &r.options, r.payload};
  }
};

// A segment to send: the TCP header as the wire layer writes it, ports
// included (Connection::send_out fills them from its tuple), so the stack sends it
// as it is, without a copy (docs/performance.md, "Instructions"). The payload
// comes separately; `payload` stays empty. TSO: `seg_size` (wire::TcpRepr).
struct SegmentOut : wire::TcpRepr {
  // The same segment of one connection: the fields the connection chose
  // (the ports are its tuple's).
  bool operator==(const SegmentOut& o) const {
    return seq == o.seq && ack == o.ack && flags == o.flags && window == o.window &&
           urgent == o.urgent && options == o.options && seg_size == o.seg_size;
  }
};

// A passive open's handshake as it was settled outside the connection (the
// TCP layer's table of half-open connections, or a SYN cookie): the
// sequence numbers and what the SYN negotiated.
struct Handshake {
  uint32_t irs = 0, iss = 0;
  uint16_t peer_mss = 0;    // 0: the SYN had no MSS option
  int8_t peer_wscale = -1;  // -1: the SYN had no window scale option
  bool sack = false;        // SACK-permitted was in the SYN
  bool ts = false;          // timestamps were in the SYN
  uint32_t ts_recent = 0;   // its TSval
  uint32_t ts_offset = 0;   // ours (RFC 7323 5.4)
  uint64_t rtt_ns = 0;      // the SYN-ACK's round trip, when one was measured
};

// What an active open tries Fast Open with (docs/fastopen.md): the server's
// cookie from the path cache (len 0: ask for one) and the MSS cached with it.
struct FastOpenClient {
  FastOpenCookie cookie;
  uint16_t mss = 0;
};

// The receive window scale we offer for a receive buffer of `rcvbuf` bytes.
uint8_t window_shift_for(uint32_t rcvbuf);

class Connection;

// Where segments go (the stack builds packets; a test records them).
class Output {
 public:
  virtual ~Output() = default;
  // Returns false when the segment could not be sent (no buffer).
  virtual bool emit(const Connection& c, const SegmentOut& seg, const Payload& payload) = 0;
};

// The application's side, called on the connection's own core.
class Events {
 public:
  virtual ~Events() = default;
  virtual void on_connected(Connection&) {}
  // New in-order data: read it with readable() and consume().
  virtual void on_readable(Connection&) {}
  // Space opened in the send buffer, for an application that wants it: one
  // whose send() took less than offered, or that asked send_space() while
  // data waited, since the last on_writable (docs/tcp.md, "Writable").
  virtual void on_writable(Connection&) {}
  // The peer sent FIN after its last byte: no more data will arrive.
  virtual void on_peer_closed(Connection&) {}
  // The connection is finished; it may be reused once this returns.
  virtual void on_closed(Connection&, CloseReason) {}
};

// Told at the end of an operation on a connection when its state changed, it
// has Fast Open news, or it needs on_timer() earlier than set_timer_armed()
// last said (the owner keeps its timer structure and reclaims finished
// connections without scanning).
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_schedule(Connection& c) = 0;
  // The connection owes an ACK it may send at the end of the receive burst
  // (see Connection::set_ack_coalescing); called once until end_of_burst().
  virtual void on_ack_deferred(Connection&) {}
};

// What the connections of one TCP layer (or one test's harness) share, which
// each would otherwise carry pointers to: where their segments go, the
// counters, and whom they tell of changes (none without a layer).
struct Host {
  Output& out;
  TcpCounters& ctr;
  Observer* observer = nullptr;
  // The largest IP packet the device below cuts into segments for us (TCP
  // segmentation offload); 0 without TSO. Data segments may then carry up to
  // that much new data (docs/performance.md, "Segmentation offload").
  uint16_t tso_max = 0;
  uint16_t tso_segs = 0;  // the most segments in one such frame; 0: no limit but tso_max
  // A frame's segments are this much shorter than SMSS (the device's own
  // limit: DPDK's TAP port counts the Ethernet header against the MTU).
  uint16_t tso_trim = 0;
};

// Ending a connection. The application has three verbs; the TCP layer one:
//   shutdown()  half-close: FIN after the queued data; data still arrives.
//   close()     shutdown(), and from now on whatever arrives is discarded
//               (the application will not read again); FIN-WAIT-2 and zero
//               windows are then bounded in time.
//   abort()     RST now; queued and unacknowledged data is thrown away.
//   abandon()   (the TCP layer) forgets a connection without a segment: a
//               TIME-WAIT one whose 4-tuple (or, every slot taken, whose
//               slot) a new connection takes over.
// Every way into CLOSED (these, the peer's RST, the end of TIME-WAIT, giving
// up after retries) goes through enter_closed() with a CloseReason, and the
// application hears of it once, in on_closed().
class Connection {
 public:
  // `pool` supplies the rings' storage (the heap without one). `cfg` and
  // `host` are shared, not copied: they must outlive the connection (the TCP
  // layer keeps one copy of each distinct configuration, and is the host of
  // all its connections; docs/performance.md, "Memory").
  Connection(const TcpConfig* cfg, const FourTuple& tuple, const Host& host, Events* events,
             uint16_t mtu = 1500, BufferPool* pool = nullptr);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts from a cached path (before connect() or accept()): the RTT seeds
  // the estimator, so the first RTO follows the path; ssthresh and the
  // initial window apply when the connection is established (unless the
  // handshake had to be retransmitted: then RFC 5681's one segment).
  void apply_hint(const PathHint& h);
  // Ensemble sharing: comes down to `cap` bytes of window (at least 2 SMSS)
  // for connections that joined its host, continuing in congestion avoidance
  // from there; before the handshake completes, lowers the window it will
  // start with.
  void cap_window(uint32_t cap, uint64_t now);
  PathReport report(uint64_t now) const;
  // The default initial window (RFC 6928) for the present MSS, in bytes.
  uint32_t initial_window() const;
  // Active open: send SYN (RFC 9293 3.10.1). With `fast_open` (RFC 7413) the
  // SYN waits for the application's first write in this operation (or goes
  // at the next timer pass): with a cookie it carries the data, without one
  // it asks for a cookie.
  void connect(uint32_t iss, uint32_t ts_offset, uint64_t now,
               const FastOpenClient* fast_open = nullptr);
  // Passive open from LISTEN: the SYN `syn` arrived (RFC 9293 3.10.7.2).
  // With `fast_open` (the listener checked its cookie) the SYN's data goes to
  // the application at once, and the SYN-ACK carries the first segment of
  // its answer (and the FIN, if it closed).
  void accept(const SegmentIn& syn, uint32_t iss, uint32_t ts_offset, uint64_t now,
              bool fast_open = false);
  // Passive open whose SYN-ACK was sent without a connection: SYN-RECEIVED
  // as if this connection had sent it; the ACK that completes the handshake
  // goes to input() next.
  void accept_handshake(const Handshake& h, uint64_t now);

  // A segment for this connection arrived (RFC 9293 3.10.7.3, 3.10.7.4).
  void input(const SegmentIn& seg, uint64_t now);
  // In TIME-WAIT: whether this SYN may start a new connection on the same
  // 4-tuple; then abandon() ends the old one at once.
  bool accepts_new_syn(const SegmentIn& syn) const;
  // In TIME-WAIT: whether a new connection of ours may take over the 4-tuple
  // now (timestamps in use, so the peer's RFC 6191 check and PAWS tell the
  // incarnations apart, and our clock has ticked since the last segment).
  bool reusable_for_connect(uint64_t now) const;
  void abandon();

  // Runs whatever timers are due; call when now >= next_deadline().
  void on_timer(uint64_t now);
  // When on_timer() is next needed; UINT64_MAX for never.
  uint64_t next_deadline() const {
    return cold_ ? std::min(timers_.next(), cold_->next()) : timers_.next();
  }
  // The owner's timer structure will call on_timer() at `at` (UINT64_MAX:
  // not at all). Until the connection needs an earlier call, or changes
  // state, it does not tell its Observer at the end of an operation: most
  // operations only move its deadline later, and the call that is armed then
  // finds nothing due and asks again (docs/performance.md, "Instructions").
  void set_timer_armed(uint64_t at) { armed_at_ = at; }

  // Application calls. send() queues what fits in the send buffer and returns
  // how much.
  size_t send(std::span<const uint8_t> data, uint64_t now);
  // Like send(), but by reference (zero-copy): `data` must stay unchanged
  // until the peer has acknowledged it (SendBuffer::write_ref; small pieces
  // are copied).
  size_t send_ref(std::span<const uint8_t> data, uint64_t now);
  // The bytes received in order and not yet consumed. The spans are valid
  // only until the handler (or the call) that took them returns: they may
  // point into the segment that brought the bytes (docs/performance.md,
  // "Receive in place"), and what stays unread moves into the ring after it.
  Bytes2 readable() const { return rcvbuf_.readable(); }
  // readable().size(), without making the spans.
  size_t readable_size() const { return rcvbuf_.readable_size(); }
  void consume(size_t n, uint64_t now);
  void shutdown(uint64_t now);
  void close(uint64_t now);
  void abort();
  // Reset by the TCP layer to free its memory (the application hears
  // CloseReason::reclaimed).
  void reclaim();
  void set_events(Events* e) { ev_ = e; }
  Events* events() const { return ev_; }
  // The host's observer tells its connections apart by this.
  void set_tag(uint32_t tag) { tag_ = tag; }
  uint32_t tag() const { return tag_; }
  // ACK coalescing across a receive burst (like GRO): the ACK that every
  // second full-sized segment calls for is deferred to end_of_burst(), which
  // the endpoint calls once its burst is processed, so a burst of in-order
  // segments is acknowledged once, with the freshest window. Out-of-order
  // data, duplicates and window updates are still acknowledged at once.
  void set_ack_coalescing(bool on) { acks_.coalesce = on; }
  void end_of_burst(uint64_t now);

  State state() const { return state_; }
  bool finished() const { return state_ == State::closed && started_; }
  const FourTuple& tuple() const { return tuple_; }
  const TcpConfig& config() const { return cfg_; }
  // Asking while data waits in the buffer registers interest: the next ACK
  // that frees room raises on_writable, as after a send() that took less than
  // offered. (With the buffer empty no ACK can add room: an application that
  // checks the room before writing a whole message wants nothing more.)
  size_t send_space() const {
    const size_t room = sndbuf_.free_space();
    if (room < sndbuf_.capacity()) write_wanted_ = true;
    return room;
  }
  size_t send_queued() const { return sndbuf_.size(); }
  // Introspection for tests, statistics and the host cache.
  uint32_t cwnd() const { return cc_.cwnd(); }
  // Whether the handshake ever completed.
  bool was_established() const { return was_established_; }
  uint32_t ssthresh() const { return cc_.ssthresh(); }
  uint32_t smss() const { return smss_; }
  uint32_t snd_wnd() const { return snd_.wnd; }
  uint32_t snd_una() const { return snd_.una; }
  uint32_t snd_nxt() const { return snd_.nxt; }
  uint32_t rcv_nxt() const { return rcv_.nxt; }
  // Whether data starting at `seq` would be taken in order now, with nothing
  // waiting in reassembly: receive coalescing (docs/performance.md) merges
  // only such data, so out-of-order segments keep their ACK each.
  bool in_order_at(uint32_t seq) const {
    return receives_data(state_) && seq == rcv_.nxt && !rcvbuf_.has_out_of_order();
  }
  uint32_t rcv_window() const { return uint32_t(rcvbuf_.window()); }
  uint8_t snd_wscale() const { return snd_.wscale; }
  uint8_t rcv_wscale() const { return rcv_.wscale; }
  bool sack_enabled() const { return opt_.sack; }
  bool timestamps_enabled() const { return opt_.ts; }
  bool in_recovery() const { return rec_ && rec_->in_recovery(); }
  // Whether the connection has taken its loss-recovery state (at its first
  // sign of loss; docs/performance.md, "Memory").
  bool holds_recovery_state() const { return rec_ != nullptr; }
  const RttEstimator& rtt() const { return rtt_; }
  // The retransmission timeout to use now (after backoff).
  uint64_t rto() const { return rtt_.rto(cfg_.rto_max_ns); }
  const CongestionControl& cc() const { return cc_.algorithm(); }
  uint64_t rto_deadline() const { return timers_.rto; }
  uint64_t delack_deadline() const { return timers_.delack; }
  uint64_t persist_deadline() const { return cold_ ? cold_->persist : 0; }
  uint64_t keepalive_deadline() const { return waits_2msl() ? 0 : timers_.idle; }
  uint64_t time_wait_deadline() const { return waits_2msl() ? timers_.idle : 0; }
  uint64_t bytes_acked() const { return snd_.syn_acked ? snd_.una_pos : 0; }
  uint64_t bytes_received() const { return rcvbuf_.next(); }
  uint64_t bytes_consumed() const { return rcvbuf_.read_offset(); }
  uint64_t retransmitted_bytes() const { return cold_ ? cold_->retransmitted_bytes : 0; }
  // What the TCP layer judges reclaiming by (docs/defences.md). A connection
  // is held back by its peer's window from when it first had to wait for a
  // window (persist) until the peer has since acknowledged at least one
  // segment per second on average with its window open again, or nothing is
  // left to send: a peer that opens its window by a byte now and then does
  // not end it.
  uint64_t held_back_for(uint64_t now) const {
    return held_since() && now > held_since() ? now - held_since() : 0;
  }
  // Bytes acknowledged since it was first held back.
  uint64_t acked_while_held() const {
    return held_since() ? snd_.una_pos - cold_->acked_at_hold : 0;
  }
  uint32_t persist_entries() const { return cold_ ? cold_->persist_entries : 0; }
  // How long its peer, still sending us segments, has made no progress
  // (acknowledged nothing new, sent nothing new) while data waits to be sent;
  // 0 when nothing waits, when the peer is silent (that is the network's
  // problem, left to the retransmission timer's retry limit), or when it is
  // held back by the window (see held_back_for).
  uint64_t stalled_for(uint64_t now) const;
  // Smaller buffers than its configuration's, before any data (the TCP
  // layer's allowance for an abusive host under pressure).
  void limit_buffers(uint32_t snd, uint32_t rcv) {
    sndbuf_.limit(snd);
    rcvbuf_.limit(rcv);
  }
  // Memory it holds: the connection itself, its rings' storage, and its
  // recovery state, Fast Open client state and cold block when taken.
  size_t memory() const {
    return sizeof(Connection) + ring_storage() + (rec_ ? sizeof(Recovery) : 0) +
           (foc_ ? sizeof(FastOpenClientState) : 0) + (cold_ ? sizeof(Cold) : 0);
  }
  // Bytes of the core's buffer pool its two rings hold.
  size_t ring_storage() const { return sndbuf_.storage() + rcvbuf_.storage(); }
  // Fast Open: whether the SYN's data was taken before the handshake
  // (server), and what the host cache should learn (client; once).
  bool fast_open_accepted() const { return fo_accepted_; }
  bool has_fastopen_news() const { return foc_ && foc_->news.kind != FastOpenNews::Kind::none; }
  bool take_fastopen_news(FastOpenNews& n) {
    if (!has_fastopen_news()) return false;
    n = foc_->news;
    foc_->news.kind = FastOpenNews::Kind::none;
    return true;
  }
  // Whether our SYN (or SYN-ACK) had to be sent again.
  bool syn_retransmitted() const { return retries_.syn_retransmitted; }
  // Milliseconds since the handshake completed (0: it never did). Kept in 32
  // bits of milliseconds, so the count starts again after 49.7 days.
  uint64_t established_for_ms(uint64_t now) const {
    return was_established_ ? uint32_t(uint32_t(now / 1'000'000) - established_ms_) : 0;
  }
  CloseReason close_reason() const { return reason_; }

 private:
  // Every state change (asserts that RFC 9293's diagram has the transition).
  void set_state(State s);
  size_t queue(std::span<const uint8_t> data, bool by_ref, uint64_t now);
  // --- input (connection.cc) ---
  void input_syn_sent(const SegmentIn& seg, uint64_t now);
  void input_synchronized(const SegmentIn& seg, uint64_t now);
  // Header prediction: the segment an established exchange is made of (in
  // order, an ACK within [SND.UNA, SND.MAX], no timestamp older than
  // TS.Recent, no SYN or RST) skips the checks of input_synchronized() it
  // would pass and goes to its last steps. True when it was such a segment
  // (processed); false, having done nothing, for the general way
  // (docs/performance.md, "Instructions").
  bool input_predicted(const SegmentIn& seg, uint64_t now);
  // A segment passed input_synchronized()'s checks up to the RST step (or
  // header prediction's): the peer is heard from, and TS.Recent takes its
  // timestamp where RFC 7323 4.3 says so. Both input paths call it.
  void accepted(const SegmentIn& seg, uint64_t now);
  // The peer's SYN (in a SYN or SYN-ACK): its sequence number, options,
  // timestamp and unscaled window.
  void take_peer_syn(const SegmentIn& syn, uint64_t now);
  // Our SYN is acknowledged: SND.UNA moves past it and data offsets begin.
  void syn_acknowledged();
  // A SYN-ACK that acknowledges our SYN establishes us (SYN-SENT, or
  // SYN-RECEIVED after a simultaneous open).
  void accept_syn_ack(const SegmentIn& seg, uint64_t now);
  // A client's SYN-ACK, for Fast Open: what of the SYN's data it
  // acknowledged, and the cookie it brought.
  void take_fastopen_answer(const SegmentIn& seg);
  bool acceptable(const SegmentIn& seg) const;
  bool paws_reject(const SegmentIn& seg, uint64_t now);
  void take_syn_options(const wire::TcpOptions& o);
  void process_ack(const SegmentIn& seg, uint64_t now);
  // RFC 2018: the blocks within (SND.UNA, SND.MAX], as offsets; returns how many.
  size_t sack_ranges(const wire::TcpOptions& o, SackScoreboard::Range* out) const;
  // Steps seven and eight of RFC 9293 3.10.7.4: the segment's data, then its FIN.
  void process_text(const SegmentIn& seg, uint64_t now);
  // Receive in place: what the application left unread goes into the ring
  // (before the segment's memory goes), counted as copied.
  void settle_received() {
    if (const size_t n = rcvbuf_.settle()) ctr().tcp_recv_bytes_copied += n;
  }
  void process_data(const SegmentIn& seg, uint64_t now);
  void take_fin(const SegmentIn& seg, uint64_t now);
  void process_fin(uint64_t now);
  void our_fin_acknowledged(uint64_t now);
  void enter_established(uint64_t now);
  void challenge_ack(uint64_t now);
  void oow_ack(const SegmentIn& seg, uint64_t now);
  void enter_closed(CloseReason r);
  void enter_time_wait(uint64_t now);
  // Delivers the events collected while processing, after the state is
  // consistent, and then sends what the handlers queued (output_soon) at
  // `now`, the time of the operation whose events they are (a closed
  // connection sends nothing: the calls that close pass 0).
  void notify(uint64_t now);
  // After an application call: output now, or, inside an event handler, once
  // the handlers are done.
  void output_soon(uint64_t now);
  // Room opened in the send buffer: on_writable, if the application wants it.
  // One that wrote all it had hears nothing (an rr exchange: a virtual call
  // and its handler's checks saved at each ACK).
  void wake_writer() {
    if (write_wanted_) pending_ |= kEvWritable;
  }

  // --- output (connection_output.cc) ---
  void output(uint64_t now);
  bool send_data(uint64_t now, bool force);
  // The common case of output(): everything queued goes in one segment of new
  // data, built without send_data()'s general cases. True when it was this
  // case (sent, or the send failed as send_data() would have); false, having
  // done nothing, for the general way (docs/performance.md, "Instructions").
  bool send_whole(uint64_t now);
  // The most new data one segment may carry: SMSS, or with TSO a frame of
  // whole segments (docs/performance.md, "Segmentation offload").
  uint32_t tso_len() const;
  // The payload of each segment the device cuts from a TSO frame.
  uint32_t tso_seg() const { return smss_ - host_.tso_trim; }
  // Queued data not yet sent, or the FIN not yet sent.
  bool unsent() const { return pos_of(snd_.nxt) < sndbuf_.end() || (snd_.fin_queued && !snd_.fin_sent); }
  bool send_recovery(uint64_t now);
  Recovery& recovery();  // takes the state on first use
  template <class FlightFn>
  Recovery::AckResult recovery_on_ack(const Recovery::Ack& a, FlightFn&& flight, uint64_t now) {
    // An ACK that is no sign of loss gets a fresh Recovery's answer without one.
    if (!rec_ && !Recovery::fresh_acts_on(a, cfg_.dupthresh)) return {{}, a.advanced};
    return recovery().on_ack(a, flight, cc_, smss_, now);
  }
  const SackScoreboard& scoreboard() const;
  // Sends what recovery asked for; false if nothing went out.
  bool send_transmission(const Transmission& t, uint64_t now);
  bool emit_range(uint64_t pos, uint32_t len, bool with_fin, bool retransmission, uint64_t now);
  // After data [seq, seq + len) (and the FIN, with_fin) went out.
  void advance_send(uint32_t seq, uint32_t len, bool with_fin) {
    snd_.nxt = seq + len + (with_fin ? 1 : 0);
    if (seq_gt(snd_.nxt, snd_.max)) snd_.max = snd_.nxt;
    if (with_fin && !snd_.fin_sent) {
      snd_.fin_sent = true;
      snd_.fin_seq = seq + len;
    }
  }
  void send_syn(uint64_t now);
  // Data bytes a SYN (client, Fast Open) or SYN-ACK (server, Fast Open) can
  // carry with the options of `s` (filled).
  uint32_t syn_data_room(const SegmentOut& s) const;
  void send_ack(uint64_t now);
  void send_probe(uint64_t now);
  void send_rst(uint32_t seq);
  bool emit(SegmentOut& seg, const Payload& payload, uint64_t now);
  // A segment acknowledging all received data went out: no ACK is owed.
  void acked_all_received() {
    ts_.last_ack_sent = rcv_.nxt;
    acks_.now = false;
    acks_.deferred = false;
    acks_.unacked_full = 0;
    timers_.delack = 0;
  }
  // The segment with our tuple's ports, to the output.
  bool send_out(SegmentOut& seg, const Payload& payload) {
    seg.src_port = tuple_.local_port;
    seg.dst_port = tuple_.remote_port;
    return host_.out.emit(*this, seg, payload);
  }
  uint16_t window_field(bool syn_segment);
  // Fills the options of a new segment (whose options are none yet).
  void fill_options(SegmentOut& seg, uint64_t now, bool syn);
  // The send space as the recovery unit sees it.
  Flight flight_space() const {
    Flight f;
    f.end = sndbuf_.end();
    f.una = snd_.una_pos;
    f.max = std::min(pos_of(snd_.max), f.end);
    f.bytes = flight();
    f.fin_sent = snd_.fin_sent;
    // In the sequence space the FIN takes the offset after the data.
    const bool fin_acked = snd_.fin_sent && seq_gt(snd_.una, snd_.fin_seq);
    f.acked_to = f.una + (fin_acked ? 1 : 0);
    f.sent_to = fin_acked ? f.end + 1 : pos_of(snd_.max);
    return f;
  }
  void on_rto(uint64_t now);
  // The congestion window starts (handshake done, or Fast Open data).
  void start_window(uint32_t cwnd, uint32_t ssthresh);
  // An ACK of new data or new SACK information: the algorithm's AckSample.
  void sample_ack(uint32_t acked, uint64_t rtt_ns, bool cwnd_limited, uint64_t now);
  // Bytes per second data is paced at; 0: not paced. (Inline where neither
  // the algorithm nor the configuration paces: the common case.)
  uint64_t pacing_rate() const {
    if (!cfg_.pacing && !cc_.sets_pacing_rate()) return 0;
    return pacing_rate_set();
  }
  uint64_t pacing_rate_set() const;
  // Pacing holds data back now (and arms the pacing timer).
  bool pace_wait(uint64_t now);
  void pace_sent(uint32_t len, uint64_t now);
  void on_persist(uint64_t now);
  // A ring was emptied: both go back to the pool ring_park_ns later, if
  // empty then (at once with 0). `done`: no more data can come to this ring
  // (our FIN is queued, or the peer's arrived), so it goes back at once.
  template <class Ring>
  void ring_emptied(Ring& ring, bool done, uint64_t now) {
    if (done || cfg_.ring_park_ns == 0)
      ring.drop_storage();
    else if (!timers_.park)
      timers_.park = now + cfg_.ring_park_ns;
  }
  void park_rings() {
    sndbuf_.drop_storage();
    rcvbuf_.drop_storage();
  }
  void on_keepalive(uint64_t now);
  // Arms or disarms the persist timer and ends a hold (held_back_for()).
  // Nothing to do with data in flight (an ACK will come) and no cold state (no
  // timer to disarm, no hold to end): the common case, decided here inline.
  void update_persist(uint64_t now) {
    if (cold_ || snd_.max == snd_.una) update_persist_slow(now);
  }
  void update_persist_slow(uint64_t now);

  // Sequence <-> stream offset of sent data (valid near snd.una).
  uint64_t pos_of(uint32_t seq) const { return snd_.una_pos + int64_t(int32_t(seq - snd_.una)); }
  uint32_t seq_of(uint64_t pos) const { return snd_.una + uint32_t(pos - snd_.una_pos); }
  uint32_t ts_now(uint64_t now) const { return uint32_t(now / 1'000'000) + ts_.offset; }
  uint32_t flight() const { return snd_.max - snd_.una; }
  bool fin_in_seq_space() const { return snd_.fin_queued && snd_.fin_sent; }
  uint64_t held_since() const { return cold_ ? cold_->held_since : 0; }
  // Timers::idle holds the 2 MSL wait, not the keepalive timer.
  bool waits_2msl() const {
    return state_ == State::time_wait || (state_ == State::fin_wait_2 && app_closed_);
  }
  void wait_2msl(uint64_t now) { timers_.idle = now + 2 * cfg_.msl_ns; }
  // Keepalive probes only while we may still send: the states it is armed
  // and acted on in.
  bool keeps_alive() const {
    return cfg_.keepalive && (state_ == State::established || state_ == State::close_wait);
  }
  TcpCounters& ctr() const { return host_.ctr; }
  RtoBounds rto_bounds() const { return {cfg_.rto_min_ns, cfg_.rto_max_ns}; }
  // The receive window we last promised, from RCV.NXT.
  uint32_t advertised() const { return seq_gt(rcv_.adv, rcv_.nxt) ? rcv_.adv - rcv_.nxt : 0; }

  // The members are ordered so that the small ones fill what alignment
  // would otherwise leave empty, including the tail padding of the member
  // structs ([[no_unique_address]] lets the next member start there); see
  // docs/performance.md, "Memory". The comments give the groups, not the
  // order.
  const TcpConfig& cfg_;
  const Host& host_;
  Events* ev_;
  FourTuple tuple_;
  uint32_t smss_ = 536;  // data bytes per segment

  // Send sequence variables (RFC 9293 3.3.1) and our FIN.
  struct SendSeq {
    uint64_t una_pos = 0;  // stream offset of the byte at una (once the SYN is acknowledged)
    uint32_t iss = 0, una = 0, nxt = 0;
    uint32_t max = 0;  // after the highest sequence sent (nxt is wound back below it by a timeout)
    uint32_t wl1 = 0, wl2 = 0;
    uint32_t wnd = 0, max_wnd = 0;
    uint32_t sml = 0;      // end of the last small segment sent (Minshall's Nagle)
    uint32_t fin_seq = 0;
    uint8_t wscale = 0;    // the peer's window shift
    bool syn_acked = false;
    bool fin_queued = false;  // shutdown(): FIN follows the last byte
    bool fin_sent = false;
  };
  [[no_unique_address]] SendSeq snd_;
  // Receive sequence variables and the peer's FIN.
  struct RecvSeq {
    uint32_t irs = 0, nxt = 0;
    uint32_t adv = 0;      // the right edge we promised (RCV.NXT + RCV.WND as advertised)
    uint32_t mss = 536;    // largest segment seen: what "full-sized" means for delayed ACKs
    // With fin_pending, a FIN seen beyond a hole: it is within the window, so
    // its sequence number tells when RCV.NXT reaches it.
    uint32_t fin_seq = 0;
    uint8_t wscale = 0;    // our window shift
    bool fin_received = false;
    bool fin_pending = false;
  };
  [[no_unique_address]] RecvSeq rcv_;
  State state_ = State::closed;
  bool started_ = false;
  bool was_established_ = false;  // the handshake completed (the MSS is the peer's)
  bool app_closed_ = false;       // close(): nobody reads any more
  CloseReason reason_ = CloseReason::normal;
  uint32_t tag_ = 0;  // set_tag()
  uint32_t established_ms_ = 0;  // when (modulo 2^32 ms): established_for_ms()
  SendBuffer sndbuf_;
  [[no_unique_address]] RecvBuffer rcvbuf_;
  // Small members in the tail of rcvbuf_ (its flag leaves seven bytes; six used).
  // Events waiting for notify().
  static constexpr uint8_t kEvConnected = 1, kEvReadable = 2, kEvWritable = 4,
                           kEvPeerClosed = 8, kEvClosed = 16;
  uint8_t pending_ = 0;
  bool notifying_ = false;
  bool output_owed_ = false;  // an application call inside a handler wants output
  bool state_changed_ = true;  // since the Observer was last told
  bool fo_accepted_ = false;  // Fast Open server: the SYN's data was taken before the handshake
  // The application wants on_writable when room opens: a send() took less
  // than offered, or send_space() was asked while data waited (wake_writer()).
  mutable bool write_wanted_ = false;

  // Timers: absolute deadlines, 0 when off.
  // The persist and pacing timers are in Cold, with the rest of their state.
  struct Timers {
    uint64_t rto = 0, delack = 0;
    // The keepalive timer, or, while waits_2msl(), the 2 MSL wait of
    // TIME-WAIT (or of FIN-WAIT-2 after close()): one slot, as keepalive has
    // nothing to probe once our FIN is acknowledged (on_timer() reads it by
    // the state).
    uint64_t idle = 0;
    uint64_t park = 0;  // emptied rings go back to the pool (TcpConfig::ring_park_ns)
    uint64_t next() const {
      // 0 (off) wraps to the largest value: the earliest of those armed,
      // without a branch per timer (pairwise: conditional moves; a list loops).
      const uint64_t m = std::min(std::min(rto - 1, delack - 1), std::min(idle - 1, park - 1));
      return m == UINT64_MAX ? UINT64_MAX : m + 1;
    }
    void clear() { rto = delack = idle = park = 0; }
  } timers_;
  [[no_unique_address]] RttEstimator rtt_;
  // Sizes and what the handshake negotiated (also smss_ and opt_).
  uint16_t mtu_;
  // The segment being timed for an RTT sample (Karn's rule), and whether the
  // next timestamp echo should stand in for it.
  struct RttTiming {
    uint64_t start = 0;
    uint32_t seq = 0;
    bool on = false;
    bool need_ts_sample = false;  // the timed segment was retransmitted
    // Times the segment starting at `s`, sent at `now`.
    void time(uint32_t s, uint64_t now) {
      on = true;
      seq = s;
      start = now;
    }
    // The same, unless a segment is being timed already.
    void time_if_idle(uint32_t s, uint64_t now) {
      if (!on) time(s, now);
    }
  };
  [[no_unique_address]] RttTiming timing_;
  uint16_t our_mss_;
  uint64_t last_rx_ = 0, last_tx_ = 0;

  // Congestion control and loss recovery. The recovery state (scoreboard,
  // PRR, retransmission records: 152 bytes) is taken at the first sign of
  // loss, a duplicate ACK, a SACK block or a timeout, and kept; until then
  // the connection acts as a fresh Recovery would (recovery_on_ack), so a
  // connection that never loses carries a pointer instead
  // (docs/performance.md, "Memory").
  [[no_unique_address]] Congestion cc_;
  // The path cache's window and ssthresh (0: none), until the handshake
  // completes and the window starts (enter_established).
  uint32_t hint_cwnd_ = 0;
  std::unique_ptr<Recovery> rec_;
  // A Fast Open client's cookie, news and handshake state, out of line:
  // taken when connect() asks for Fast Open, and so also what marks an active
  // open trying it; other connections carry a pointer (docs/fastopen.md,
  // docs/performance.md "Memory").
  struct FastOpenClientState {
    FastOpenCookie cookie;      // the cookie presented (len 0: asked for one)
    FastOpenNews news;          // for the path cache
    bool defer_syn = false;     // the SYN waits for the first write
    bool data_lost = false;     // the SYN with data timed out
    uint16_t mss = 0;           // the server's MSS, as cached
    uint32_t syn_data_len = 0;  // data bytes the first SYN carried
  };
  std::unique_ptr<FastOpenClientState> foc_;
  // What few connections need, in one block out of line, taken at the first
  // need and kept (docs/performance.md, "Memory"): the delivery-rate sampler
  // of the algorithms that ask for it, pacing, the count of bytes sent again,
  // the rate limits of challenge and out-of-window ACKs (RFC 5961), and the
  // state of a peer's zero window (persist, and the reclaim bookkeeping of
  // being held back by it).
  struct Cold {
    std::unique_ptr<DeliveryRate> rate;
    // Pacing (docs/congestion.md): the earliest time the next data segment
    // may leave. A segment that finds it in the future waits on `pace`.
    uint64_t pace_next = 0;
    // Timers, as in Timers: the next paced segment may go; persist probes.
    uint64_t pace = 0, persist = 0;
    uint64_t next() const {
      const uint64_t m = std::min(pace - 1, persist - 1);
      return m == UINT64_MAX ? UINT64_MAX : m + 1;
    }
    uint64_t retransmitted_bytes = 0;
    uint64_t challenge_window = 0;  // challenge ACKs counted since
    uint64_t last_oow = 0;          // the last out-of-window bare ACK answered
    uint32_t challenges = 0;
    uint32_t persist_entries = 0;
    uint64_t held_since = 0;     // 0: not held back by the peer's window
    uint64_t acked_at_hold = 0;  // SND.UNA's offset then
    uint64_t held_total = 0;     // of earlier times it was held back
    unsigned persist_backoff = 0;
    uint32_t probes_unanswered = 0;
    uint32_t orphan_probes = 0;  // persist probes after close(), answered or not
  };
  std::unique_ptr<Cold> cold_;
  Cold& cold() {
    if (!cold_) cold_ = std::make_unique<Cold>();
    return *cold_;
  }
  DeliveryRate* rate() const { return cold_ ? cold_->rate.get() : nullptr; }
  uint64_t last_progress_ = 0;  // when SND.UNA or RCV.NXT last advanced (stalled_for)
  uint64_t armed_at_ = UINT64_MAX;  // set_timer_armed()
  // RFC 7323 timestamps.
  struct Timestamps {
    uint32_t offset = 0, recent = 0, last_ack_sent = 0;
    // When TS.Recent was taken, in seconds (the rule that reads it, RFC
    // 7323 5.5, counts 24 days).
    uint32_t recent_age_s = 0;
    bool recent_valid = false;
  };
  [[no_unique_address]] Timestamps ts_;
  struct Options {
    bool ws = false, ts = false, sack = false;
  } opt_;
  uint32_t hint_ssthresh_ = 0;  // with hint_cwnd_
  // Retries: how many times something went unanswered (the persist
  // timer's count is in Cold).
  struct Retries {
    uint8_t syn_sends = 0;
    bool syn_retransmitted = false;
    uint8_t timeouts = 0;  // consecutive RTOs
    uint8_t keepalives = 0;
  } retries_;
  // ACK generation.
  struct Acks {
    bool now = false;       // owed at once
    bool coalesce = false;  // may be deferred to the end of the receive burst
    bool deferred = false;  // one was deferred to the end of the burst
    uint8_t unacked_full = 0;
  } acks_;
};

// The application's calls of every exchange, inline (a call's register saves
// cost about as much as their checks; docs/performance.md, "Instructions").
[[gnu::always_inline]] inline size_t Connection::queue(std::span<const uint8_t> data, bool by_ref,
                                                       uint64_t now) {
  // (A write refused here stays refused: no ACK makes it wanted.)
  if (!accepts_writes(state_) || snd_.fin_queued) return 0;
  const uint64_t copied = sndbuf_.bytes_copied();
  const size_t n = by_ref ? sndbuf_.write_ref(data) : sndbuf_.write(data);
  if (n < data.size()) write_wanted_ = true;
  const uint64_t c = sndbuf_.bytes_copied() - copied;
  ctr().tcp_send_bytes_copied += c;
  ctr().tcp_send_bytes_referenced += n - c;
  output_soon(now);
  return n;
}

inline size_t Connection::send(std::span<const uint8_t> data, uint64_t now) {
  return queue(data, false, now);
}

inline void Connection::consume(size_t n, uint64_t now) {
  const size_t before = rcvbuf_.window();
  rcvbuf_.consume(n);
  // All read: the ring goes back to the pool soon, until data arrives.
  if (rcvbuf_.readable_size() == 0 && rcvbuf_.storage()) ring_emptied(rcvbuf_, rcv_.fin_received, now);
  // Tell the peer at once when the window has opened enough to matter
  // (receiver-side silly window avoidance decides in window_field()) and the
  // peer may be held back: less than four segments' room left to it.
  // Otherwise the wider window rides on the next ACK, and an exchange that
  // reads its answer and closes sends one segment, not an update and a FIN.
  // (The advertised room first: it is plenty nearly always, and decides.)
  const uint32_t adv = advertised();
  if (adv < 4u * our_mss_ && synchronized(state_) && !rcv_.fin_received) {
    const uint32_t step = std::min<uint32_t>(uint32_t(rcvbuf_.capacity() / 2), our_mss_);
    const size_t wnd = rcvbuf_.window();
    if (wnd >= adv + step && wnd > before) acks_.now = true;
  }
  output_soon(now);
}

inline void Connection::output_soon(uint64_t now) {
  if (notifying_) {
    // Inside an event handler: one output round when the handlers are done,
    // so that what they did together (read, answer, close) leaves in as few
    // segments as possible: the ACK with the answer, the FIN with the last
    // data (docs/fastopen.md, "Fewer segments").
    output_owed_ = true;
    return;
  }
  output(now);
  notify(now);
}

}  // namespace ts::tcp
