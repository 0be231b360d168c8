// The generator's TCP engine (`touchstone gen`'s TCP modes), as an application
// on one core's TCP layer: it opens connections, paces requests (pacer.hh),
// counts and times them, and leaves what a request is to the mode's TcpMode
// (tcp_mode.hh). Closed loop: `conns` connections (cps: `conns` at a time)
// each start the next request when the last is answered. Open loop: requests
// (cps: connections) are due at a fixed rate; a request finds an idle
// connection or waits for one.
//
// Connections open at the pace of a HandshakeWindow (handshake_window.hh);
// what cannot open yet opens as handshakes complete (in open loop, the
// requests wait, their latency counting from when they were due).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stack/tcp_layer.hh"
#include "util/cache_line.hh"
#include "util/histogram.hh"
#include "workload/handshake_window.hh"
#include "workload/pacer.hh"
#include "workload/tcp_mode.hh"
#include "workload/workload.hh"

namespace ts::workload {

class alignas(util::kCacheLine) Generator final : public Workload, public tcp::Events {
 public:
  // The mode's TcpMode from the table (mode.hh) unless one is given.
  Generator(stack::TcpLayer& tcp, const GenConfig& cfg, std::unique_ptr<TcpMode> mode = nullptr);
  ~Generator() override;

  // Workload.
  void start(uint64_t now) override;
  void tick(uint64_t now) override;
  void stop() override { pacer_.stop(); }
  void close_all(uint64_t now) override;
  bool done() const override { return pacer_.done(); }
  uint64_t next_deadline() const override;
  uint64_t drain_ns() const override { return 200'000'000; }
  const GenStats& stats() const override { return stats_; }
  util::Histogram take_interval() override;
  void clear_latency() override { stats_.latency = util::Histogram(); }
  void sample(GenStats& into) const override;
  const GenConfig& config() const override { return cfg_; }

  // tcp::Events.
  void on_connected(tcp::Connection& c) override;
  void on_readable(tcp::Connection& c) override;
  void on_writable(tcp::Connection& c) override;
  void on_peer_closed(tcp::Connection& c) override;
  void on_closed(tcp::Connection& c, tcp::CloseReason r) override;

 private:
  enum class Phase : uint8_t { unused, connecting, idle, busy, closing };
  struct Conn {
    Phase phase = Phase::unused;
    tcp::Connection* conn = nullptr;
    uint64_t started = 0;     // when the current request was due (or sent)
    uint64_t acked_seen = 0;  // the connection's bytes_acked() last counted
    uint64_t open_seq = 0;    // which open it was (for the handshake window)
    uint64_t opened_at = 0;   // when its SYN went (open-loop cps: the window's sample)
    bool in_window = false;   // holds a slot of the handshake window
    bool early = false;       // Fast Open: its request began before the handshake
    Exchange x;
  };

  bool open_connection(uint64_t now, uint64_t due);
  void begin_request(Conn& k, tcp::Connection& c, uint64_t due);
  // Fast Open: the request is queued while the connection is still
  // connecting, so the SYN carries it (docs/fastopen.md).
  void begin_early(Conn& k, tcp::Connection& c, uint64_t due);
  void pump(Conn& k, tcp::Connection& c);
  void read_response(Conn& k, tcp::Connection& c);
  void count_acked(Conn& k, const tcp::Connection& c);
  void next_request(Conn& k, tcp::Connection& c, uint64_t now);
  void complete(Conn& k, tcp::Connection& c, bool ok, bool keep_connection);
  // Open-loop cps: a connection keeps its window slot until its response
  // (docs/performance.md, "Overload"); otherwise until it is established.
  bool window_to_response() const { return per_request_ && !streaming_ && pacer_.open_loop(); }
  // The generator is done with the connection (it is closing or closed):
  // no longer idle, no longer counted open.
  void retire(Conn& k, tcp::Connection& c);

  stack::TcpLayer& tcp_;
  GenConfig cfg_;
  std::unique_ptr<TcpMode> mode_;
  bool per_request_, streaming_, half_close_;
  Pacer pacer_;
  GenStats stats_;
  util::Histogram interval_;
  std::vector<Conn> conns_;     // by connection tag
  std::vector<uint32_t> idle_;  // tags of idle persistent connections
  uint32_t open_ = 0;           // connections we hold (not yet closed)
  uint32_t want_open_ = 0;      // closed loop: connections still to (re)open
  HandshakeWindow handshakes_;
  uint64_t last_now_ = 0;
  uint64_t start_ = 0;
  uint64_t retx_closed_ = 0;    // bytes retransmitted by connections now closed
};

}  // namespace ts::workload
