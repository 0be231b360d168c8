// What a request is, for the TCP workload modes: the generator's TCP engine
// (generator.hh) opens connections, paces requests (pacer.hh), counts and
// times them; a TcpMode says what bytes a request is and when its response
// is complete. One file per mode (mode_cps.cc, mode_rr.cc, mode_bulk.cc,
// mode_http.cc); the table in mode.cc makes them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "tcp/connection.hh"
#include "workload/stats.hh"
#include "workload/workload.hh"

namespace ts::workload {

// One connection's request in progress.
struct Exchange {
  uint32_t which = 0;        // http: the request of the mode's list it is
  bool head = false;         // http: a HEAD request (the response has no body)
  uint64_t req_size = 0;     // the request's length
  uint64_t req_left = 0;     // request bytes still to queue
  uint64_t resp_left = 0;    // response bytes still to come (once known)
  bool header_done = false;  // http: the header block was parsed
  uint16_t status = 0;       // http: the response's status once parsed
  bool keep_alive = true;    // http: the server keeps the connection
  bool corrupt = false;      // rr, cps: a response byte differed from the pattern
};

class TcpMode {
 public:
  virtual ~TcpMode() = default;
  // A connection per request: connect, one request and its response, close.
  virtual bool connection_per_request() const { return false; }
  // The client half-closes once its (only) request is queued, so the FIN
  // rides on the request's last segment.
  virtual bool half_close_after_request() const { return false; }
  // Data flows from us without requests (no responses, nothing to time).
  virtual bool streaming() const { return false; }

  // A new request on the connection.
  virtual void begin(Exchange& x) const = 0;
  // The request's bytes from `offset` on (contiguous, non-empty while any
  // are left); they stay valid while the mode lives (sent by reference when
  // large). Streaming modes: what to send next, forever.
  virtual std::span<const uint8_t> request_bytes(const Exchange& x, uint64_t offset) const = 0;
  // Streaming modes: whether this side sends (bulk --reverse only receives).
  virtual bool sends() const { return true; }

  enum class Outcome : uint8_t { pending, ok, bad };
  struct Read {
    Outcome outcome = Outcome::pending;
    bool keep_connection = true;  // false: the connection ends with this response
  };
  // Reads what arrived for the request in progress: consumes the bytes that
  // belong to it (counted in s.bytes_rx) and says whether it is complete.
  virtual Read read(Exchange& x, tcp::Connection& c, GenStats& s, uint64_t now) const = 0;
};

// The modes' makers (each in its own file).
std::unique_ptr<TcpMode> make_cps_mode(const GenConfig& cfg);
std::unique_ptr<TcpMode> make_rr_mode(const GenConfig& cfg);
std::unique_ptr<TcpMode> make_bulk_mode(const GenConfig& cfg);
std::unique_ptr<TcpMode> make_http_mode(const GenConfig& cfg);
std::unique_ptr<TcpMode> make_dns_tcp_mode(const GenConfig& cfg);
// dns over UDP (mode_dns.cc).
std::unique_ptr<Workload> make_dns_udp(stack::Stack& stack, const GenConfig& cfg);

}  // namespace ts::workload
