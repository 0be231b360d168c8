// TCP on one core's endpoint: demultiplexing segments to connections (flow
// table, then listeners, else a reset), opening connections both ways,
// building the segments connections send, and running their timers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stack/flow_table.hh"
#include "stack/ip_output.hh"
#include "stack/path_cache.hh"
#include "stack/timer_wheel.hh"
#include "tcp/connection.hh"
#include "tcp/isn.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

namespace ts::stack {

class FlowPlacement;

// A listening application: decides per SYN whether to take the connection and
// which events object serves it (nullptr refuses it with a reset).
class Acceptor {
 public:
  virtual ~Acceptor() = default;
  virtual tcp::Events* on_syn(const tcp::FourTuple& tuple) = 0;
};

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
  // With several cores on one port: who owns which flow, and this core's
  // index. Active opens then take only local ports whose flows this core owns
  // (the per-core port pool of docs/multicore.md).
  const FlowPlacement* placement = nullptr;
  uint16_t core = 0;
};

class TcpLayer final : public tcp::Output, public tcp::Observer {
 public:
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
  void unlisten(uint16_t port);
  // Opens a connection; nullptr when no slot or local port is free (counted).
  tcp::Connection* connect(wire::Ipv4Addr remote, uint16_t port, tcp::Events* events,
                           uint64_t now, const tcp::TcpConfig* cfg = nullptr);

  // A parsed, checksum-verified segment for our address.
  void input(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, uint64_t now);
  // Runs connection timers that are due and reclaims finished connections.
  void poll(uint64_t now);
  uint64_t next_deadline() const;
  size_t connections() const { return table_.size(); }
  // Connection slots, and the tag of each connection is below this.
  uint32_t capacity() const { return cfg_.max_connections; }
  // Shares path knowledge through `cache` (nullptr: none).
  void set_path_cache(PathCache* cache) {
    paths_ = cache;
    publish_windows_ = cache && cache->wants_windows();
  }
  // Ensemble connections publish their windows at most this often.
  static constexpr uint64_t kPublishNs = 5'000'000;
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

 private:
  struct Listener {
    uint16_t port = 0;
    Acceptor* acceptor = nullptr;
    uint32_t backlog = 0;
    uint32_t half_open = 0;
    tcp::TcpConfig cfg;
  };
  struct Slot {
    tcp::Connection* conn = nullptr;  // in pool_[slot] while in use
    uint32_t generation = 0;
    Listener* listener = nullptr;     // half-open passive connections count against it
    bool half_open = false;
    bool reaping = false;
    bool in_cache = false;    // opened through the path cache: report at the end
    bool overridden = false;  // the application gave its own TcpConfig
    uint32_t published = 0;   // ensemble: the window the cache counts for it
    uint32_t joins_seen = 0;  // ensemble: the joins it has answered
    uint64_t next_publish = 0;
  };
  // Storage for one connection, constructed in place when the slot is used.
  struct alignas(tcp::Connection) ConnStorage {
    unsigned char bytes[sizeof(tcp::Connection)];
  };

  uint32_t new_slot(const tcp::FourTuple& t, const tcp::TcpConfig& cfg, tcp::Events* ev);
  void release(uint32_t slot);
  void settle(Slot& s);
  // Starts a connection from the path cache's hint; report_path tells the
  // cache what it learned (once).
  void open_path(Slot& s, bool overridden, uint64_t now);
  void report_path(Slot& s);
  // Ensemble sharing: tells the cache how the window moved, and gives up
  // part of it when newcomers took a share.
  void publish_window(Slot& s, uint64_t now);
  void reap();
  void reset_for(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg);
  Listener* find_listener(uint16_t port);
  uint16_t pick_port(wire::Ipv4Addr local, wire::Ipv4Addr remote, uint16_t remote_port);
  // Whether local port p can be used toward (remote, remote_port): free, or
  // held by a TIME-WAIT connection that is reclaimed for it.
  bool take_port(tcp::FourTuple& t, uint16_t p);
  void build_port_pool(uint32_t seed);

  IpOutput& ip_;
  const uint16_t mtu_;
  const uint32_t sources_;  // how many source addresses active opens take in turn
  TcpLayerConfig cfg_;
  tcp::IsnGenerator isn_;
  tcp::TcpCounters& ctr_;
  FlowTable table_;
  tcp::BufferPool buffers_;
  // The connection pool: max_connections slots allocated once, not
  // initialized, so pages are touched only as slots are first used.
  std::unique_ptr<ConnStorage[]> pool_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<std::unique_ptr<Listener>> listeners_;  // few: a linear search is fine
  TimerWheel timers_;  // one timer per slot: the connection's next deadline
  std::vector<std::pair<uint32_t, uint32_t>> reap_;  // slot, generation
  std::vector<std::pair<uint32_t, uint32_t>> burst_acks_;  // slot, generation
  uint16_t next_port_;
  // The per-core port pool: the ephemeral ports grouped by the low bits of
  // their share of the flow hash (one group per redirection-table entry),
  // each group with its own cursor. Empty with one core.
  std::vector<uint16_t> pool_ports_;
  std::vector<uint32_t> group_start_, group_next_;
  uint32_t next_group_ = 0;
  uint32_t next_src_ = 0;  // index of the next extra source address
  PathCache* paths_ = nullptr;
  bool publish_windows_ = false;
  uint64_t next_path_tick_ = 0;
  uint64_t now_ = 0;
};

}  // namespace ts::stack
