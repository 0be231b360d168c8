// TCP on one core's endpoint: demultiplexing segments to connections (flow
// table, then listeners, else a reset), opening connections both ways,
// building the segments connections send, and running their timers.
//
// A passive open costs no connection until its handshake completes: between
// the SYN and the ACK it is an entry of the half-open table (the handshake's
// numbers and options, a few dozen bytes, no buffers), or, when that table
// or the listener's backlog is full (or always, as configured), nothing at
// all: a SYN cookie (tcp/syncookie.hh). See docs/defences.md.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stack/coalescer.hh"
#include "stack/flow_table.hh"
#include "stack/ip_output.hh"
#include "stack/path_cache.hh"
#include "stack/timer_wheel.hh"
#include "tcp/connection.hh"
#include "tcp/fastopen.hh"
#include "tcp/isn.hh"
#include "tcp/syncookie.hh"
#include "util/cache_line.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

namespace ts::stack {

class FlowPlacement;

// A listening application: asked when a handshake completes (a connection
// slot is then already held) whether to take the connection and which events
// object serves it (nullptr refuses it with a reset).
class Acceptor {
 public:
  virtual ~Acceptor() = default;
  virtual tcp::Events* on_accept(const tcp::FourTuple& tuple) = 0;
};

// Sees the segments that belong to no connection and no listener before the
// layer answers them with a reset: a raw load generator (synflood) counts
// the replies to the SYNs it sent and answers nothing.
class SegmentTap {
 public:
  virtual ~SegmentTap() = default;
  // True when the tap took the segment (no reset is sent).
  virtual bool on_stray(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, uint64_t now) = 0;
};

// A stateless listener's transaction (docs/stateless.md): what answering the
// client needs, taken from its request segment and the SYN cookie that
// segment acknowledged. No connection is ever made for it; an application
// that answers later keeps this (a few dozen bytes) in its own bounded table.
struct StatelessTxn {
  tcp::FourTuple t;
  uint32_t seq = 0;      // the request's first byte (the client's ISN + 1)
  uint32_t rcv_end = 0;  // what the answer acknowledges: past the request and a FIN
  uint32_t snd = 0;      // our first answer byte (the cookie + 1)
  uint32_t window = 0;   // the client's receive window, bytes
  uint16_t mss = 0;      // the client's MSS as the cookie kept it
  bool ts = false;       // timestamps: echo ts_recent, ours from ts_offset
  uint32_t ts_recent = 0, ts_offset = 0;
};

// Answers one-segment requests with no connection state: the layer completes
// handshakes with SYN cookies and hands each request that arrives whole in
// the first data segment to on_request.
class StatelessApp {
 public:
  enum class Verdict : uint8_t {
    answered,  // TcpLayer::stateless_answer was called (or the request is dropped, counted by the app)
    pending,   // the answer comes later (stateless_answer, stateless_ack, stateless_reset)
    unfit,     // not a whole request: the ordinary TCP path takes it, or a reset
  };
  virtual ~StatelessApp() = default;
  virtual Verdict on_request(const StatelessTxn& x, std::span<const uint8_t> request) = 0;
  // A segment without data that is not a request (an ACK, or the client's
  // FIN: after our answer, or sent alone while the answer is being made, in
  // which case our ACK of the FIN acknowledges the request too). True when
  // the application keeps this client's answer (it repeats it: a SACK of a
  // hole is then no reason for a reset).
  virtual bool on_ack(const tcp::FourTuple& t, uint32_t seq, uint32_t ack_no, bool fin) {
    (void)t, (void)seq, (void)ack_no, (void)fin;
    return false;
  }
};

// When listeners answer a SYN with a cookie instead of a half-open entry.
enum class SynCookieMode : uint8_t {
  never,      // a SYN beyond the backlog is dropped (the peer retries)
  automatic,  // when the listener's backlog or the half-open table is full (Linux's default)
  always,     // for every SYN: no half-open state at all
};
const char* syncookie_mode_name(SynCookieMode m);

struct TcpLayerConfig {
  tcp::TcpConfig tcp;             // defaults for every connection
  // Connection slots: the connection pool, the flow table and the timer wheel
  // are sized from this at construction (memory is touched as slots are first
  // used); a connection beyond it is refused and counted (tcp_conn_limit).
  uint32_t max_connections = 4096;
  // Bytes of ring storage the connections may hold together; 0 = no limit.
  // Beyond it rings are refused and counted (tcp_buffer_refused).
  size_t buffer_memory = 0;
  uint16_t ephemeral_first = 32768, ephemeral_last = 60999;
  // Passive opens: entries of the half-open table (0: as many as
  // max_connections), and when SYN cookies answer instead.
  uint32_t max_half_open = 0;
  SynCookieMode syncookies = SynCookieMode::automatic;
  // Reclaiming under pressure (slots or buffer memory 90% spent, or a
  // refusal): connections held back by their peer's window for longer than
  // persist_reclaim_ns with less than a segment a second of progress, then
  // connections whose live peer has made no progress for longer than
  // stall_reclaim_ns while data waits; 0 never. See docs/defences.md.
  uint64_t persist_reclaim_ns = 60'000'000'000;
  uint64_t stall_reclaim_ns = 300'000'000'000;
  // Fast Open listeners (TcpConfig::fast_open, docs/fastopen.md): at most this
  // many connections per listener whose SYN's data was taken and whose
  // handshake is not yet complete (RFC 7413 5.1; beyond it the SYN's data
  // waits for the handshake); with the replay guard, SYN data already
  // delivered within two minutes is not delivered again.
  uint32_t fastopen_max_pending = 1024;
  bool fastopen_replay_guard = false;
  uint32_t fastopen_replay_entries = 16384;
  // With several cores on one port: who owns which flow, and this core's
  // index. Active opens then take only local ports whose flows this core owns
  // (the per-core port pool of docs/multicore.md).
  const FlowPlacement* placement = nullptr;
  uint16_t core = 0;
  // Receive coalescing (docs/performance.md): in-order data segments of one
  // connection within a receive burst reach it as one segment.
  bool coalesce = true;
  // Segmentation offload (docs/performance.md): where the device offers TSO,
  // a data segment carries up to a TSO frame of new data.
  bool tso = true;
};

class alignas(util::kCacheLine) TcpLayer final : public tcp::Output, public tcp::Observer {
 public:
  // Distinct TcpConfigs (beyond the layer's own) that connections and
  // listeners may use over the layer's life; each is kept once and shared.
  static constexpr size_t kMaxConfigs = 256;
  // `ip` sends the segments and says which addresses are ours; `secret`
  // keys the ISNs (RFC 6528), timestamp offsets, the flow table's hash and
  // where the port search starts.
  TcpLayer(IpOutput& ip, const TcpLayerConfig& cfg, const std::array<uint8_t, 16>& secret,
           tcp::TcpCounters& counters);
  ~TcpLayer() override;

  // Accepts connections to `port` with `cfg` (or the layer's default); at most
  // `backlog` of them may be half-open at once.
  bool listen(uint16_t port, Acceptor* acceptor, uint32_t backlog = 1024,
              const tcp::TcpConfig* cfg = nullptr);
  // Stops listening on `port`: its handshakes in progress go, its connections
  // stay. Safe from the application's callbacks (on_accept, on_closed, a
  // stateless request): the listener is kept, closed, until the next poll()
  // (which no callback may call).
  void unlisten(uint16_t port);
  // Answers `port` statelessly with `app` (docs/stateless.md). A request that
  // does not fit becomes an ordinary connection of `fallback` when given
  // (else it is reset); `cfg` is that connection's.
  bool listen_stateless(uint16_t port, StatelessApp* app, Acceptor* fallback = nullptr,
                        const tcp::TcpConfig* cfg = nullptr);
  // The answer to a transaction, in MSS-sized segments with the FIN on the
  // last; only the last acknowledges the request, so that a lost answer
  // brings the request again. False (the client reset, counted) when it does
  // not fit the client's window.
  bool stateless_answer(const StatelessTxn& x, const tcp::Payload& answer, uint64_t now);
  // Acknowledges the request alone (the answer is slower than the client's
  // retransmission timer), or resets the client (no answer will come).
  void stateless_ack(const StatelessTxn& x, uint64_t now);
  void stateless_reset(const StatelessTxn& x, uint64_t now);
  // Opens a connection; nullptr when no slot or local port is free (counted).
  tcp::Connection* connect(wire::Ipv4Addr remote, uint16_t port, tcp::Events* events,
                           uint64_t now, const tcp::TcpConfig* cfg = nullptr);
  // The 4-tuple the k-th connect from now toward (remote, port) tries first,
  // were every port before it free (with flows placed on cores, other cores'
  // ports skipped as the connect skips them): what a connect fetches ahead
  // for the next ones (docs/performance.md, "Stalls found with perf").
  tcp::FourTuple next_connect_candidate(wire::Ipv4Addr remote, uint16_t port, uint32_t k = 0) const;

  // A parsed, checksum-verified segment for our address.
  void input(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, uint64_t now);
  // Runs connection timers that are due and reclaims finished connections.
  void poll(uint64_t now);
  uint64_t next_deadline() const;
  // Connections (half-open entries are not connections).
  size_t connections() const { return table_.size() - half_count_; }
  size_t half_open() const { return half_count_; }
  // Connection slots, and the tag of each connection is below this.
  uint32_t capacity() const { return cfg_.max_connections; }
  void set_tap(SegmentTap* tap) { tap_ = tap; }
  const TcpLayerConfig& config() const { return cfg_; }
  // Shares path knowledge through `cache` (nullptr: none).
  void set_path_cache(PathCache* cache) {
    paths_ = cache;
    publish_windows_ = cache && cache->wants_windows();
  }
  // Ensemble connections publish their windows at most this often.
  static constexpr uint64_t kPublishNs = 5'000'000;
  // How often pressure is looked for (and, under it, connections reclaimed).
  static constexpr uint64_t kReclaimCheckNs = 100'000'000;
  // Visits the live connections in slot order, starting at the `skip`-th, at
  // most `limit` of them (for statistics; never on the per-packet path).
  template <class F>
  void for_each_connection(size_t skip, size_t limit, F&& f) const {
    for (const Slot& s : slots_) {
      if (!s.conn) continue;
      if (skip) {
        --skip;
        continue;
      }
      if (limit-- == 0) return;
      f(static_cast<const tcp::Connection&>(*s.conn));
    }
  }
  // Ring storage held and cached (bytes).
  const tcp::BufferPool& buffers() const { return buffers_; }
  // The time of the operation in progress (for applications inside callbacks).
  uint64_t now() const { return now_; }

  // tcp::Output and tcp::Observer.
  bool emit(const tcp::Connection& c, const tcp::SegmentOut& seg,
            const tcp::Payload& payload) override;
  void on_schedule(tcp::Connection& c) override;
  void on_ack_deferred(tcp::Connection& c) override;
  // Sends the ACKs deferred during a receive burst (Stack::poll calls it).
  void end_of_burst(uint64_t now);
  // A hint that a segment of `t` is coming: its flow-table slot is prefetched.
  [[gnu::always_inline]] void prefetch(const tcp::FourTuple& t) const { table_.prefetch(t); }
  // Whether prefetch() is worth a pass over the next burst: when the last
  // burst had frames for no flow or a half-open one (SYNs, handshakes: slots
  // nobody touched lately), or the table holds more flows than stay in the
  // cache. Otherwise (a few thousand established connections exchanging) the
  // slots a burst touches are there from the bursts before, and the pass
  // would be some 30 instructions a frame for nothing.
  static constexpr size_t kPrefetchFlows = 4096;
  bool prefetch_pays() const { return new_flows_last_ || table_.size() > kPrefetchFlows; }

 private:
  struct Listener {
    uint16_t port = 0;
    Acceptor* acceptor = nullptr;
    uint32_t backlog = 0;
    uint32_t half_open = 0;  // its entries in the half-open table
    uint32_t fastopen_pending = 0;  // its Fast Open connections not yet established
    SynCookieMode syncookies = SynCookieMode::automatic;
    StatelessApp* stateless = nullptr;  // answers without connections (acceptor: the fallback)
    tcp::TcpConfig cfg;
    const tcp::TcpConfig* conn_cfg = nullptr;  // cfg as its connections share it (intern())
    // unlisten()ed while a call of the layer held it: it accepts nothing more
    // and is freed at the next poll() (in retired_ until then).
    bool closed = false;
  };
  // A passive open between its SYN and the ACK that completes it: what the
  // handshake needs and nothing more. Its id in the flow table and the timer
  // wheel is max_connections + its index.
  struct HalfOpen {
    tcp::FourTuple t;
    Listener* listener = nullptr;  // null: the entry is free
    uint32_t irs = 0, iss = 0, ts_recent = 0;
    uint32_t ts_offset = 0;        // ours (with iss, from one keyed hash)
    uint64_t sent_ns = 0;          // when the SYN-ACK last went out
    uint64_t challenged_ns = 0;    // RFC 5961 challenge ACKs: this second's start,
    uint16_t challenges = 0;       // and how many in it (per entry, never host-wide)
    uint16_t peer_mss = 0;
    int8_t peer_wscale = -1;
    uint8_t resent = 0;            // SYN-ACKs sent again
    bool sack = false, ts = false;
    bool fastopen_grant = false;   // its SYN-ACKs carry a Fast Open cookie
  };
  struct Slot {
    tcp::Connection* conn = nullptr;  // in pool_[slot] while in use
    uint32_t generation = 0;
    bool reaping = false;
    bool in_cache = false;    // opened through the path cache: report at the end
    bool abusive = false;     // its host's abuse score was high when it opened
    bool reclaimed = false;   // the layer reclaimed it (reported to the path cache)
    bool overridden = false;  // the application gave its own TcpConfig
    bool time_wait_noted = false;  // in time_wait_ (this generation)
    // A Fast Open connection of this listener whose handshake is pending.
    Listener* fastopen_listener = nullptr;
    uint32_t published = 0;   // ensemble: the window the cache counts for it
    uint32_t joins_seen = 0;  // ensemble: the joins it has answered
    uint64_t next_publish = 0;
  };
  // Storage for one connection, constructed in place when the slot is used.
  struct alignas(tcp::Connection) ConnStorage {
    unsigned char bytes[sizeof(tcp::Connection)];
  };

  // With `flow_held`, the flow table already holds `t` (a half-open entry's,
  // dropped with drop_half_open(index, true)): the slot takes that entry over,
  // and without a slot the entry goes.
  uint32_t new_slot(const tcp::FourTuple& t, const tcp::TcpConfig* cfg, tcp::Events* ev,
                    bool flow_held = false);
  // Ends the oldest connection still in TIME-WAIT, its slot freed; false if
  // none. (Its application hears on_closed() before the slot is free: one
  // that connects again from there finds no slot and takes the next TIME-WAIT's.)
  bool recycle_time_wait();
  void note_time_wait(uint32_t id);
  // Whether a connection still in TIME-WAIT would give new_slot() its slot
  // (stale entries at the head are dropped on the way).
  bool time_wait_to_recycle();
  // An entry of time_wait_ whose slot is still that connection, in TIME-WAIT.
  bool time_wait_live(std::pair<uint32_t, uint32_t> e) const {
    const Slot& s = slots_[e.first];
    return s.generation == e.second && s.conn && s.conn->state() == tcp::State::time_wait;
  }
  void time_wait_pop() {  // drops time_wait_'s oldest entry
    tw_head_ = tw_head_ + 1 == time_wait_.size() ? 0 : tw_head_ + 1;
    --tw_count_;
  }
  // A new connection would get a slot: a free one, or a TIME-WAIT's.
  bool slot_obtainable() { return slot_available() || time_wait_to_recycle(); }
  // The layer's copy of `c`, which connections with that configuration share
  // instead of each carrying its own; nullptr when kMaxConfigs distinct ones
  // are already kept (an application making a new one per connection).
  const tcp::TcpConfig* intern(const tcp::TcpConfig& c);
  // With `keep_flow`, the connection's 4-tuple stays in the flow table, still
  // naming the freed slot: the caller hands it at once to new_slot(flow_held)
  // (a TIME-WAIT's 4-tuple taken over by the connect that reuses it).
  void release(uint32_t slot, bool keep_flow = false);
  // Passive opens (tcp_layer_listen.cc).
  void listen_input(Listener& l, const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                    const tcp::FourTuple& t);
  void half_open_input(uint32_t index, const wire::Ipv4Repr& ip, const wire::TcpRepr& seg);
  void half_open_timer(uint32_t index);
  // With `keep_flow`, the entry's 4-tuple stays in the flow table for the
  // connection that takes its place (new_slot's `flow_held`).
  void drop_half_open(uint32_t index, bool keep_flow = false);
  // A SYN's numbers and options, as a half-open entry would keep them.
  static HalfOpen half_open_of(const tcp::FourTuple& t, const wire::TcpRepr& syn_seg);
  // Answers the SYN of `h` with a cookie (h.iss set; no state kept); false
  // when it could not be sent.
  bool send_cookie_syn_ack(const Listener& l, HalfOpen& h);
  // The SYN-ACK of a handshake (an entry's, or a cookie's with its own TSval).
  bool send_syn_ack(const Listener& l, const tcp::FourTuple& t, const HalfOpen& h,
                    uint32_t tsval);
  // A bare ACK or reset for a handshake that has no connection.
  void send_bare(const tcp::FourTuple& t, uint32_t seq, uint32_t ack, uint8_t flags);
  // The handshake is complete: a connection in its place (false: none was
  // made: no slot, or the application refused).
  bool promote(Listener& l, const tcp::FourTuple& t, const tcp::Handshake& h,
               const wire::TcpRepr& ack, bool flow_held = false);
  // A stateless listener's segments (tcp_layer_stateless.cc).
  void stateless_input(Listener& l, const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                       const tcp::FourTuple& t);
  // A segment whose cookie does not check: answered by kind (docs/stateless.md).
  void stateless_stray(Listener& l, const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                       const tcp::FourTuple& t, uint32_t len);
  void send_stateless(const StatelessTxn& x, uint32_t seq, uint32_t ack_no, uint8_t flags,
                      const tcp::Payload& payload);
  bool is_half_open(uint32_t id) const { return id >= cfg_.max_connections; }
  bool slot_available() const { return !free_.empty() || slots_.size() < cfg_.max_connections; }
  // Starts a connection from the path cache's hint; report_path tells the
  // cache what it learned (once).
  tcp::PathHint open_path(Slot& s, bool overridden, uint64_t now);
  // Fast Open (tcp_layer_listen.cc): a SYN whose cookie checked and whose
  // data the listener takes at once; a connection leaving SYN-RECEIVED.
  void fastopen_open(Listener& l, const wire::TcpRepr& seg, const tcp::FourTuple& t);
  // A connection for the listener's application, made on `seg` (the ACK that
  // completes a handshake, or a Fast Open SYN): its slot, then the
  // application's events; kNone (counted) without a slot, or when the
  // application refuses (the peer is reset).
  uint32_t admit(Listener& l, const tcp::FourTuple& t, const wire::TcpRepr& seg,
                 bool flow_held = false);
  void fastopen_settled(Slot& s);
  void report_path(Slot& s);
  // Ensemble sharing: tells the cache how the window moved, and gives up
  // part of it when newcomers took a share.
  void publish_window(Slot& s, uint64_t now);
  void reap();
  // Under pressure, reclaims what the policy allows (docs/defences.md).
  void reclaim_under_pressure(uint64_t now);
  void reset_for(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg);
  Listener* find_listener(uint16_t port);
  // A free local port toward (remote, remote_port) from `local`, our
  // source address number `src`, from that address's cursor on.
  // `flow_held`: the port came from a TIME-WAIT whose flow-table entry was
  // kept for the new connection (take_port).
  uint16_t pick_port(uint32_t src, wire::Ipv4Addr local, wire::Ipv4Addr remote,
                     uint16_t remote_port, bool& flow_held);
  // The 4-tuple the k-th connect from now toward (remote, remote_port) tries
  // first, were every port before it free.
  tcp::FourTuple connect_candidate(uint32_t k, wire::Ipv4Addr remote, uint16_t remote_port) const;
  // The first index of pool_ports_ from `at` on (wrapping) in a group of
  // ports whose flows, with `rest` the hash of the tuple's other parts, come
  // to this core.
  uint32_t owned_from(uint32_t at, uint32_t rest) const;
  // Fetches ahead what the next connects will touch (docs/performance.md,
  // "Stalls found with perf").
  void prefetch_connects(wire::Ipv4Addr remote, uint16_t remote_port);
  // Whether local port p can be used toward (remote, remote_port): free, or
  // held by a TIME-WAIT connection that is reclaimed for it. Reclaimed, the
  // TIME-WAIT's flow-table entry stays for the new connection (the same
  // 4-tuple): `flow_held` is set, and connect() passes it to new_slot().
  bool take_port(tcp::FourTuple& t, uint16_t p, bool& flow_held);
  void build_port_pool();
  // Input after the coalescing step: to a connection, a half-open entry or
  // a listener; a data segment may be held (may_hold) to start a run.
  // Inlined: it is the body of input(), and otherwise costs a call per segment.
  [[gnu::always_inline]] inline void dispatch(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                                              const tcp::FourTuple& t, bool may_hold);
  // Hands the coalesced run to its connection.
  void deliver_coalesced();

  IpOutput& ip_;
  const uint16_t mtu_;
  const uint32_t sources_;  // how many source addresses active opens take in turn
  TcpLayerConfig cfg_;
  tcp::IsnGenerator isn_;
  tcp::SynCookies cookies_;
  tcp::FastOpenCookies fastopen_cookies_;
  std::unique_ptr<tcp::ReplayGuard> replay_guard_;  // with fastopen_replay_guard
  tcp::TcpCounters& ctr_;
  const tcp::Host host_{*this, ctr_, this, cfg_.tso ? ip_.tso_max() : uint16_t(0), ip_.tso_segs(),
                       ip_.tso_trim()};  // every connection's
  FlowTable table_;
  tcp::BufferPool buffers_;
  // The connection pool: max_connections slots allocated once, not
  // initialized, so pages are touched only as slots are first used.
  std::unique_ptr<ConnStorage[]> pool_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<HalfOpen> half_;         // max_half_open entries
  std::vector<uint32_t> half_free_;
  uint32_t half_count_ = 0;
  uint64_t cookies_until_ = 0;         // cookie ACKs are checked until then
  std::vector<std::unique_ptr<tcp::TcpConfig>> configs_;  // intern(): kept until the layer goes
  std::vector<std::unique_ptr<Listener>> listeners_;  // few: a linear search is fine
  std::vector<std::unique_ptr<Listener>> retired_;    // closed, until the next poll()
  TimerWheel timers_;  // one timer per slot and per half-open entry
  std::vector<std::pair<uint32_t, uint32_t>> reap_;  // slot, generation
  std::vector<std::pair<uint32_t, uint32_t>> burst_acks_;  // slot, generation
  // A frame of the present burst, and of the last one, found no flow or a
  // half-open one (prefetch_pays()).
  bool new_flows_ = false, new_flows_last_ = true;
  // Connections as they entered TIME-WAIT, oldest first (slot, generation; an
  // entry whose slot moved on is skipped): a ring of up to max_connections
  // entries, grown as needed. When every slot is taken, a new connection takes
  // the oldest TIME-WAIT's (recycle_time_wait(); docs/performance.md).
  std::vector<std::pair<uint32_t, uint32_t>> time_wait_;
  size_t tw_head_ = 0, tw_count_ = 0;
  Coalescer gro_;  // the run of segments held during a receive burst
  // Per source address, where its port search starts: an offset into the
  // ephemeral range, or into the pool with several cores.
  std::vector<uint32_t> src_cursor_;
  // The per-core port pool: the ephemeral ports grouped by the low bits of
  // their share of the flow hash (one group per redirection-table entry),
  // and each pool place's group. Empty with one core.
  std::vector<uint16_t> pool_ports_, pool_group_;
  std::vector<uint32_t> group_start_;
  uint32_t next_src_ = 0;  // index of the next extra source address
  PathCache* paths_ = nullptr;
  SegmentTap* tap_ = nullptr;
  bool publish_windows_ = false;
  uint64_t next_path_tick_ = 0;
  uint64_t next_reclaim_check_ = 0;
  uint64_t refused_seen_ = 0;  // refusals counted by the last pressure check
  // Forged SYN cookies per host since the last flush to the path cache (a
  // small direct-mapped table: bounded whatever the flood).
  struct CookieFailures {
    wire::Ipv4Addr local, remote;
    uint32_t n = 0;
  };
  std::array<CookieFailures, 64> cookie_failures_{};
  void note_cookie_failure(const tcp::FourTuple& t);
  void flush_cookie_failures();
  bool pressured_ = false;     // between 90% and back below 80%
  uint64_t now_ = 0;
};

}  // namespace ts::stack
