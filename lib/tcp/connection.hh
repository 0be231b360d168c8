// One TCP connection as pure code (DESIGN.md section 3): segments in, segments
// out through an Output, time always a parameter, timers as deadlines. The
// RFC 9293 state machine with RFC 6298 timers, RFC 7323 window scaling,
// timestamps and PAWS, SACK (RFC 2018) with RFC 6675 loss recovery, NewReno
// (RFC 6582) for peers without SACK, pluggable congestion control, delayed
// ACKs, Nagle, silly-window avoidance on both sides, the persist timer,
// keepalive, and the RFC 5961 protections.
#pragma once

#include <cstdint>
#include <span>
#include <variant>

#include "tcp/buffers.hh"
#include "tcp/fifo.hh"
#include "tcp/cc/cubic.hh"
#include "tcp/cc/hystart.hh"
#include "tcp/cc/newreno.hh"
#include "tcp/config.hh"
#include "tcp/counters.hh"
#include "tcp/isn.hh"
#include "tcp/rtt.hh"
#include "tcp/sack.hh"
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

enum class CloseReason : uint8_t {
  normal,     // both sides closed (after TIME-WAIT, or LAST-ACK acknowledged)
  reset,      // the peer reset the connection
  refused,    // the peer reset our SYN
  timeout,    // retransmissions or keepalives went unanswered
  aborted,    // the application aborted
};
const char* reason_name(CloseReason r);

// A segment as received, already parsed and checksum-verified.
struct SegmentIn {
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire
  uint16_t urgent = 0;
  const wire::TcpOptions* options = nullptr;  // never null for real segments
  std::span<const uint8_t> payload;

  static SegmentIn from(const wire::TcpRepr& r) {
    return {r.seq, r.ack, r.flags, r.window, r.urgent, &r.options, r.payload};
  }
};

// A segment to send: the header fields; the payload comes separately.
struct SegmentOut {
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  wire::TcpOptions options;
};

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
  // Space opened in the send buffer.
  virtual void on_writable(Connection&) {}
  // The peer sent FIN after its last byte: no more data will arrive.
  virtual void on_peer_closed(Connection&) {}
  // The connection is finished; it may be reused once this returns.
  virtual void on_closed(Connection&, CloseReason) {}
};

// Told when a connection's next deadline may have changed or it finished, at
// the end of every operation on it (the owner keeps its timer structure and
// reclaims finished connections without scanning).
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_schedule(Connection& c) = 0;
  // The connection owes an ACK it may send at the end of the receive burst
  // (see Connection::set_ack_coalescing); called once until end_of_burst().
  virtual void on_ack_deferred(Connection&) {}
};

// What a new connection may start from instead of the defaults: a cached
// path's RTT (its first RTO), ssthresh and initial window (RFC 9040). The
// values come validated (lib/hostcache); zero means "the default".
struct PathHint {
  bool have_rtt = false;
  uint64_t srtt_ns = 0, rttvar_ns = 0;
  uint32_t ssthresh = 0;      // bytes
  uint32_t initial_cwnd = 0;  // bytes
  uint32_t ensemble_joins = 0;  // the ensemble's joins when it opened
  uint32_t ensemble_share = 0;  // bytes the ensemble counts for it (0: none)
};

// What a connection learned, for the cache when it ends.
struct PathReport {
  uint16_t mss = 0;
  uint64_t srtt_ns = 0, rttvar_ns = 0, min_rtt_ns = 0;  // srtt 0: no sample
  uint32_t ssthresh = 0;                                // 0: never left slow start
  uint32_t cwnd = 0;
};

class Connection {
 public:
  // `pool` supplies the rings' storage (the heap without one).
  Connection(const TcpConfig& cfg, const FourTuple& tuple, Output& out, TcpCounters& ctr,
             Events* events, uint16_t mtu = 1500, BufferPool* pool = nullptr);
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
  PathReport report() const;
  // The default initial window (RFC 6928) for the present MSS, in bytes.
  uint32_t initial_window() const;
  // Active open: send SYN (RFC 9293 3.10.1).
  void connect(uint32_t iss, uint32_t ts_offset, uint64_t now);
  // Passive open from LISTEN: the SYN `syn` arrived (RFC 9293 3.10.7.2).
  void accept(const SegmentIn& syn, uint32_t iss, uint32_t ts_offset, uint64_t now);

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
  uint64_t next_deadline() const;

  // Application calls. send() queues what fits in the send buffer and returns
  // how much; shutdown() sends FIN after the queued data (half-close); close()
  // also discards whatever arrives from now on; abort() sends RST.
  size_t send(std::span<const uint8_t> data, uint64_t now);
  // Like send(), but by reference (zero-copy): `data` must stay unchanged
  // until the peer has acknowledged it (SendBuffer::write_ref; small pieces
  // are copied).
  size_t send_ref(std::span<const uint8_t> data, uint64_t now);
  Bytes2 readable() const { return rcvbuf_.readable(); }
  void consume(size_t n, uint64_t now);
  void shutdown(uint64_t now);
  void close(uint64_t now);
  void abort(uint64_t now);
  void set_events(Events* e) { ev_ = e; }
  Events* events() const { return ev_; }
  void set_observer(Observer* o, uint32_t tag) {
    observer_ = o;
    tag_ = tag;
  }
  uint32_t tag() const { return tag_; }
  // ACK coalescing across a receive burst (like GRO): the ACK that every
  // second full-sized segment calls for is deferred to end_of_burst(), which
  // the endpoint calls once its burst is processed, so a burst of in-order
  // segments is acknowledged once, with the freshest window. Out-of-order
  // data, duplicates and window updates are still acknowledged at once.
  void set_ack_coalescing(bool on) { coalesce_acks_ = on; }
  void end_of_burst(uint64_t now);

  State state() const { return state_; }
  bool finished() const { return state_ == State::closed && started_; }
  const FourTuple& tuple() const { return tuple_; }
  const TcpConfig& config() const { return cfg_; }
  size_t send_space() const { return sndbuf_.free_space(); }
  size_t send_queued() const { return sndbuf_.size(); }
  // Introspection for tests, statistics and the host cache.
  uint32_t cwnd() const { return cc_.cwnd; }
  // Whether the handshake ever completed.
  bool was_established() const { return was_established_; }
  uint32_t ssthresh() const { return cc_.ssthresh; }
  uint32_t smss() const { return smss_; }
  uint32_t snd_wnd() const { return snd_wnd_; }
  uint32_t snd_una() const { return snd_una_; }
  uint32_t snd_nxt() const { return snd_nxt_; }
  uint32_t rcv_nxt() const { return rcv_nxt_; }
  uint32_t rcv_window() const { return uint32_t(rcvbuf_.window()); }
  uint8_t snd_wscale() const { return snd_wscale_; }
  uint8_t rcv_wscale() const { return rcv_wscale_; }
  bool sack_enabled() const { return sack_ok_; }
  bool timestamps_enabled() const { return ts_ok_; }
  bool in_recovery() const { return in_recovery_; }
  bool in_conservative_slow_start() const { return cc_.css; }
  const RttEstimator& rtt() const { return rtt_; }
  const CongestionControl& cc() const { return *cc_alg_; }
  uint64_t rto_deadline() const { return rto_at_; }
  uint64_t delack_deadline() const { return delack_at_; }
  uint64_t persist_deadline() const { return persist_at_; }
  uint64_t keepalive_deadline() const { return keepalive_at_; }
  uint64_t time_wait_deadline() const { return timewait_at_; }
  uint64_t bytes_acked() const { return snd_una_pos_; }
  uint64_t bytes_received() const { return rcvbuf_.next(); }
  uint64_t bytes_consumed() const { return rcvbuf_.read_offset(); }
  uint64_t retransmitted_bytes() const { return retransmitted_bytes_; }
  CloseReason close_reason() const { return reason_; }

 private:
  size_t queue(std::span<const uint8_t> data, bool by_ref, uint64_t now);
  // --- input (connection.cc) ---
  void input_syn_sent(const SegmentIn& seg, uint64_t now);
  void input_synchronized(const SegmentIn& seg, uint64_t now);
  bool acceptable(const SegmentIn& seg) const;
  bool paws_reject(const SegmentIn& seg, uint64_t now);
  void take_syn_options(const wire::TcpOptions& o);
  void process_ack(const SegmentIn& seg, uint64_t now);
  void process_sack(const wire::TcpOptions& o);
  void detect_loss(bool dup, uint64_t now);
  void prr_update(int64_t delivered);
  void process_data(const SegmentIn& seg, uint64_t now);
  void take_fin(const SegmentIn& seg, uint64_t now);
  void process_fin(uint64_t now);
  void enter_established(uint64_t now);
  void challenge_ack(uint64_t now);
  void oow_ack(const SegmentIn& seg, uint64_t now);
  void finish(CloseReason r);
  void enter_time_wait(uint64_t now);
  // Delivers the events collected while processing, after the state is consistent.
  void notify();

  // --- output (connection_output.cc) ---
  void output(uint64_t now);
  bool send_data(uint64_t now, bool force);
  bool send_recovery(uint64_t now);
  bool emit_range(uint64_t pos, uint32_t len, bool with_fin, bool retransmission, uint64_t now);
  void send_syn(uint64_t now);
  void send_ack(uint64_t now);
  void send_probe(uint64_t now);
  void send_rst(uint32_t seq);
  bool emit(SegmentOut& seg, const Payload& payload, uint64_t now);
  uint16_t window_field(bool syn_segment);
  void fill_options(SegmentOut& seg, uint64_t now, bool syn);
  uint32_t pipe() const;
  void arm_rto(uint64_t now);
  void on_rto(uint64_t now);
  void on_persist(uint64_t now);
  void on_keepalive(uint64_t now);
  void update_persist(uint64_t now);

  // Sequence <-> stream offset of sent data (valid near snd_una).
  uint64_t pos_of(uint32_t seq) const { return snd_una_pos_ + int64_t(int32_t(seq - snd_una_)); }
  uint32_t seq_of(uint64_t pos) const { return snd_una_ + uint32_t(pos - snd_una_pos_); }
  uint32_t ts_now(uint64_t now) const { return uint32_t(now / 1'000'000) + ts_offset_; }
  uint32_t flight() const { return snd_max_ - snd_una_; }
  bool fin_in_seq_space() const { return fin_queued_ && fin_sent_; }
  bool synchronized() const { return state_ >= State::established; }

  TcpConfig cfg_;
  FourTuple tuple_;
  Output& out_;
  TcpCounters& ctr_;
  Events* ev_;
  State state_ = State::closed;
  bool started_ = false;
  CloseReason reason_ = CloseReason::normal;

  // Send side (RFC 9293 3.3.1).
  uint32_t iss_ = 0, snd_una_ = 0, snd_nxt_ = 0, snd_max_ = 0;
  uint32_t snd_wl1_ = 0, snd_wl2_ = 0;
  uint32_t snd_sml_ = 0;  // end of the last small segment sent (Minshall's Nagle)
  uint32_t snd_wnd_ = 0, max_snd_wnd_ = 0;
  uint64_t snd_una_pos_ = 0;  // stream offset of the byte at snd_una (once the SYN is acked)
  bool syn_acked_ = false;
  SendBuffer sndbuf_;
  bool fin_queued_ = false;  // shutdown(): FIN follows the last byte
  bool fin_sent_ = false;
  uint32_t fin_seq_ = 0;

  // Receive side.
  uint32_t irs_ = 0, rcv_nxt_ = 0, rcv_adv_ = 0;
  RecvBuffer rcvbuf_;
  bool fin_received_ = false;
  bool fin_pending_ = false;  // FIN seen beyond a hole, at stream offset fin_pos_
  uint64_t fin_pos_ = 0;
  bool app_closed_ = false;
  uint32_t rcv_mss_ = 536;  // largest segment seen: what "full-sized" means for delayed ACKs

  // Negotiated options and sizes.
  uint16_t mtu_;
  uint16_t our_mss_;
  uint32_t smss_ = 536;  // data bytes per segment
  uint8_t snd_wscale_ = 0, rcv_wscale_ = 0;
  bool ws_ok_ = false, ts_ok_ = false, sack_ok_ = false;
  uint32_t ts_offset_ = 0, ts_recent_ = 0, last_ack_sent_ = 0;
  uint64_t ts_recent_age_ = 0;
  bool ts_recent_valid_ = false;

  // ACK generation.
  bool ack_now_ = false;
  bool coalesce_acks_ = false;
  uint32_t hint_ssthresh_ = 0, hint_cwnd_ = 0;
  bool was_established_ = false;  // the handshake completed (the MSS is the peer's)
  bool ack_burst_ = false;  // an ACK deferred to the end of the burst
  uint8_t unacked_full_ = 0;

  // Timers: absolute deadlines, 0 when off.
  uint64_t rto_at_ = 0, delack_at_ = 0, persist_at_ = 0, keepalive_at_ = 0, timewait_at_ = 0;
  RttEstimator rtt_;
  bool rtt_timing_ = false;
  uint32_t rtt_seq_ = 0;
  uint64_t rtt_start_ = 0;
  uint8_t syn_sends_ = 0;
  uint8_t timeouts_ = 0;  // consecutive RTOs (or unanswered probes)
  bool syn_retransmitted_ = false;
  unsigned persist_backoff_ = 0;
  uint8_t keepalive_sent_ = 0;
  uint32_t orphan_probes_ = 0;  // persist probes after close(), answered or not
  uint64_t last_rx_ = 0, last_tx_ = 0;

  // Congestion control and loss recovery.
  CcState cc_;
  std::variant<NewReno, Cubic> cc_impl_;
  CongestionControl* cc_alg_;
  HyStart hystart_;
  SackScoreboard sb_;
  uint32_t dupacks_ = 0;
  bool in_recovery_ = false;
  uint32_t recover_ = 0;      // RecoveryPoint (RFC 6675) / recover (RFC 6582)
  bool recover_valid_ = false;
  uint64_t high_rxt_ = 0;     // stream offset after the highest byte retransmitted
  bool rescue_done_ = false;
  bool rto_recovery_ = false; // go-back-N after a timeout, until snd_max is acked
  uint64_t prr_delivered_ = 0, prr_out_ = 0, recover_fs_ = 1;  // RFC 6937
  // Retransmissions during SACK recovery, oldest first, each with the highest
  // offset sent when it went out. Once SACKs cover data sent sufficiently
  // after it while its range is still missing, the retransmission itself was
  // lost (RFC 6675 only finds that by timeout); it is queued to be sent again.
  struct Rxt {
    uint64_t begin, end, sent_max;
    uint32_t episode;  // which window reduction it was sent under
  };
  uint32_t episode_ = 0;
  static constexpr size_t kMaxRxtRecords = 1024;
  BoundedFifo<Rxt, kMaxRxtRecords> rxt_records_, relost_;
  void check_lost_retransmissions(uint64_t now);
  uint64_t retransmitted_bytes_ = 0;

  bool need_ts_sample_ = false;  // the timed segment was retransmitted: take the next timestamp sample
  uint32_t probes_unanswered_ = 0;

  // RFC 5961 challenge ACK rate limit.
  uint64_t chack_window_ = 0;
  uint32_t chack_count_ = 0;
  uint64_t last_oow_ack_ = 0;

  // Events waiting for notify().
  static constexpr uint8_t kEvConnected = 1, kEvReadable = 2, kEvWritable = 4,
                           kEvPeerClosed = 8, kEvClosed = 16;
  uint8_t pending_ = 0;
  bool notifying_ = false;
  Observer* observer_ = nullptr;
  uint32_t tag_ = 0;
};

}  // namespace ts::tcp
