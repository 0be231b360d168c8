// The traffic generator of `touchstone gen`, as an application on one core's
// TCP layer. Modes:
//   cps   connect, one request and its response, close; again
//   rr    persistent connections, request/response after request/response
//   bulk  persistent connections sending as fast as the path allows
//   http  persistent connections with GET requests; status and length checked
// Closed loop: `conns` connections (cps: `conns` at a time) each start the next
// request when the last is answered. Open loop: requests (cps: connections)
// are due at a fixed rate; a request finds an idle connection or waits for
// one, and its latency counts from when it was due, so a server that stalls
// shows up in the tail instead of slowing the generator down (no coordinated
// omission).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stack/tcp_layer.hh"
#include "util/histogram.hh"

namespace ts::workload {

enum class GenMode : uint8_t { cps, rr, bulk, http };
const char* gen_mode_name(GenMode m);
bool parse_gen_mode(std::string_view s, GenMode& out);

struct GenConfig {
  GenMode mode = GenMode::rr;
  wire::Ipv4Addr target;
  uint16_t port = 80;
  uint32_t conns = 32;         // closed loop; the most open at once in open loop
  double rate = 0;             // open loop: requests (cps: connections) per second
  uint32_t req_size = 64;      // cps, rr
  uint32_t resp_size = 64;     // cps, rr: bytes that answer one request
  std::string path = "/";      // http
  std::string host = "touchstone";
  uint64_t requests = 0;       // stop issuing after this many (0: no limit)
  const tcp::TcpConfig* tcp = nullptr;  // per-connection settings (the layer's by default)
};

struct GenStats {
  uint64_t conns_attempted = 0;
  uint64_t conns_established = 0;
  uint64_t conns_failed = 0;     // refused, reset or timed out before done
  uint64_t conns_no_slot = 0;    // no local port or connection slot was free
  uint64_t requests_sent = 0;
  uint64_t responses_ok = 0;
  uint64_t responses_bad = 0;    // http: a status other than 2xx, a bad length or header
  uint64_t errors = 0;           // connections lost with a request outstanding
  uint64_t bytes_rx = 0, bytes_tx = 0;
  uint64_t bytes_acked = 0;      // of bytes_tx, acknowledged by the peer
  uint64_t late_dropped = 0;     // open loop: the queue of due requests overflowed
  util::Histogram latency;       // ns, per completed request
  void merge(const GenStats& o);
};

class Generator final : public tcp::Events {
 public:
  Generator(stack::TcpLayer& tcp, const GenConfig& cfg);
  ~Generator() override;

  // Starts the workload: opens the closed loop's connections.
  void start(uint64_t now);
  // Issues what is due (open loop) and retries what could not start; call on
  // every loop iteration.
  void tick(uint64_t now);
  // Stops issuing; requests in flight may still complete. close_all() ends
  // every connection (FIN).
  void stop();
  void close_all(uint64_t now);
  // Every request allowed by `requests` has been answered (or failed).
  bool done() const;
  // When tick() next has work (open loop), UINT64_MAX for never.
  uint64_t next_deadline() const;

  const GenStats& stats() const { return stats_; }
  // Latency of the requests completed since the last call (for progress lines).
  util::Histogram take_interval();
  const GenConfig& config() const { return cfg_; }

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
    uint64_t req_left = 0;    // bytes of the request still to queue
    uint64_t resp_left = 0;   // bytes of the response still to come (rr, cps)
    bool header_done = false; // http: the header block was parsed
    bool keep_alive = true;   // http: the server keeps the connection
    uint16_t status = 0;      // http: the response's status once parsed
    uint64_t acked_seen = 0;  // the connection's bytes_acked() last counted
  };

  bool open_connection(uint64_t now, uint64_t due);
  void begin_request(Conn& k, tcp::Connection& c, uint64_t due);
  void pump(Conn& k, tcp::Connection& c);
  void read_response(Conn& k, tcp::Connection& c);
  void next_request(Conn& k, tcp::Connection& c, uint64_t now);
  void complete(Conn& k, tcp::Connection& c, bool ok);
  void release(Conn& k, tcp::Connection& c);
  bool may_issue() const { return !stopped_ && (!cfg_.requests || issued_ < cfg_.requests); }
  uint64_t interval_ns() const { return cfg_.rate > 0 ? uint64_t(1e9 / cfg_.rate) : 0; }
  bool pop_due(uint64_t& due);

  stack::TcpLayer& tcp_;
  GenConfig cfg_;
  GenStats stats_;
  util::Histogram interval_;
  std::vector<Conn> conns_;           // by connection tag
  std::vector<uint32_t> idle_;        // tags of idle persistent connections
  std::vector<uint8_t> payload_;      // request bytes
  std::vector<char> scratch_;
  std::string request_;               // http
  uint32_t open_ = 0;                 // connections we hold (not yet closed)
  uint32_t want_open_ = 0;            // closed loop: connections still to (re)open
  uint64_t issued_ = 0, finished_ = 0;
  uint64_t last_now_ = 0;
  uint64_t next_due_ = 0;             // open loop: the next request's due time
  std::vector<uint64_t> due_;         // open loop: due requests waiting (ring)
  size_t due_head_ = 0, due_count_ = 0;
  bool stopped_ = false, started_ = false;
};

}  // namespace ts::workload
