// What a run loop drives on each core, whatever the mode (docs/architecture.md,
// "Workload modes"): start, tick on every loop iteration, stop issuing, end
// what is open, and the counts. Made by make_workload() (mode.hh) from a
// GenConfig; the TCP engine (generator.hh) and the ICMP echo engine
// (ping.hh) implement it.
#pragma once

#include <cstdint>
#include <algorithm>
#include <string>
#include <vector>

#include "tcp/config.hh"
#include "util/histogram.hh"
#include "wire/addr.hh"
#include "workload/handshake_window.hh"
#include "workload/mode.hh"
#include "workload/pacer.hh"
#include "workload/stats.hh"

namespace ts::workload {

// bulk: which way the data goes.
enum class BulkDirection : uint8_t { send, receive, both };

struct GenConfig {
  GenMode mode = GenMode::rr;
  wire::Ipv4Addr target;
  uint16_t port = 80;
  uint32_t conns = 32;         // closed loop: requests in flight (TCP: connections, cps: at a time);
                               // open loop: the most open at once
  uint32_t window = 0;         // TCP: the most handshakes in flight (open-loop cps:
                               // connections from SYN to response); 0: window_max()'s default
  double rate = 0;             // open loop: requests (cps: connections) per second
  std::vector<RateStep> steps; // open loop: a schedule of rates instead of `rate`
  uint64_t ramp_ns = 0;        // open loop: `rate` reached linearly over this; closed
                               // loop: `conns` connections (ping: in flight) likewise
  uint64_t requests = 0;       // stop issuing after this many (0: no limit)
  uint32_t req_size = 64;      // cps, rr
  uint32_t resp_size = 64;     // cps, rr: bytes that answer one request
  bool cps_half_close = true;  // cps: the FIN rides on the request (half-close), else the
                              // client closes once it has read the response
  std::string path = "/";      // http: the one path, unless `paths` lists several
  std::vector<std::string> paths;  // http: taken in turn (or at random)
  bool paths_random = false;
  std::string method = "GET";  // http
  std::vector<std::string> headers;  // http: extra "Name: value" lines
  bool http_close = false;     // http: one request per connection, "Connection: close"
  uint64_t body_size = 0;      // http: a request body of this many bytes (POST, PUT, PATCH)
  uint64_t seed = 1;           // http: the random path order
  BulkDirection direction = BulkDirection::send;  // bulk
  uint64_t read_rate = 0;      // slowread: bytes a second each connection reads (0: none)
  bool mode_http = false;      // slowread: ask with an HTTP GET of `path`
  uint16_t port_first = 1024, port_last = 65535;  // synflood: source ports
  uint32_t legit_conns = 0;    // synflood: cps connections at a time beside the flood
  std::string host = "touchstone";
  std::vector<std::string> qnames{"example.test"};  // dns: A queries for these in turn
  bool dns_tcp = false;        // dns: over TCP (else UDP)
  bool dns_keepalive = false;  // dns over TCP: many queries per connection (else one)
  uint16_t size = 56;          // ping: ICMP payload bytes
  uint64_t timeout_ns = 1'000'000'000;  // ping, dns over UDP: a request unanswered this long is lost
  const tcp::TcpConfig* tcp = nullptr;  // per-connection settings (the layer's by default)

  bool open_loop() const { return rate > 0 || !steps.empty(); }
  // The handshake window's maximum: `window`, else the loop's default.
  uint32_t window_max() const {
    return window                 ? window
           : open_loop()          ? HandshakeWindow::kDefaultMax
                                  : HandshakeWindow::kClosedLoopMax;
  }
  // synflood's legitimate connections: a closed loop of `legit_conns` cps
  // connections beside the flood's rate.
  GenConfig legit_config() const {
    GenConfig lc = *this;
    lc.mode = GenMode::cps;
    lc.conns = legit_conns;
    lc.rate = 0;
    lc.steps.clear();
    lc.ramp_ns = 0;
    lc.requests = 0;
    return lc;
  }
  // The open loop's rate schedule (empty: the closed loop).
  std::vector<RateStep> schedule() const {
    return steps.empty() ? constant_rate(rate, ramp_ns) : steps;
  }
  // Closed loop: how many of `conns` may be open (ping: in flight) `t` ns
  // after the start, rising linearly from 1 over the ramp.
  uint32_t conns_at(uint64_t t) const {
    if (!ramp_ns || open_loop() || t >= ramp_ns) return conns;
    return std::max<uint32_t>(1, uint32_t(uint64_t(conns) * t / ramp_ns));
  }
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Starts issuing (the closed loop's connections or requests).
  virtual void start(uint64_t now) = 0;
  // Issues what is due and retries what could not start; every loop iteration.
  virtual void tick(uint64_t now) = 0;
  // Issues nothing more; what is in flight may still complete.
  virtual void stop() = 0;
  // Ends what is open (TCP: FIN on every connection).
  virtual void close_all(uint64_t now) = 0;
  // Every request the limit allows has been answered (or failed).
  virtual bool done() const = 0;
  // When tick() next has work; UINT64_MAX for never.
  virtual uint64_t next_deadline() const = 0;
  // How long requests in flight may still complete after stop().
  virtual uint64_t drain_ns() const = 0;
  // The counts so far; requests still in flight are not counted.
  virtual const GenStats& stats() const = 0;
  // The counts at the end, once nothing more will complete: what is still in
  // flight counted as lost.
  virtual GenStats final_stats() const { return stats(); }
  // Latency of the requests completed since the last call (for progress lines).
  virtual util::Histogram take_interval() = 0;
  // Forgets the latency recorded so far (the end of a warm-up).
  virtual void clear_latency() = 0;
  // Fills what is read off the connections rather than counted as it
  // happens (retransmitted bytes, congestion windows): for progress lines and
  // the results, not per packet.
  virtual void sample(GenStats& into) const { (void)into; }
  virtual const GenConfig& config() const = 0;
};

}  // namespace ts::workload
