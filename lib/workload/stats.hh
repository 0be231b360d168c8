// What a workload counts, whatever its mode: one record per core, merged
// across cores for the progress line, the summary and the JSON results
// (docs/json.md). Fields a mode does not produce stay zero.
#pragma once

#include <array>
#include <cstdint>

#include "util/histogram.hh"

namespace ts::workload {

struct GenStats {
  // TCP modes: connections.
  uint64_t conns_attempted = 0;
  uint64_t conns_established = 0;
  uint64_t conns_failed = 0;     // refused, reset or timed out before done
  uint64_t conns_refused = 0;    // of the failed: the peer reset our SYN (nothing listens)
  uint64_t conns_timed_out = 0;  // of the failed: retransmissions went unanswered
  uint64_t conns_reset = 0;      // of the failed: reset by the peer once established
  uint64_t conns_closed_by_peer = 0;  // slowread: the target ended it with a FIN
  uint64_t resets = 0;           // synflood: resets received for our SYNs
  uint64_t conns_no_slot = 0;    // no local port or connection slot was free
  uint64_t open = 0;             // a gauge: connections open (ping: requests in flight)
  // Requests (all modes but bulk).
  uint64_t requests_sent = 0;
  uint64_t responses_ok = 0;
  uint64_t responses_bad = 0;    // a wrong answer: http status or length, a corrupt echo, unasked bytes
  uint64_t errors = 0;           // requests lost: with their connection, or (ping) past the timeout
  uint64_t late_dropped = 0;     // open loop: the queue of due requests overflowed
  // ICMP echo only.
  uint64_t late_replies = 0;     // a reply after its request was counted lost
  uint64_t duplicates = 0;       // a second reply to one request
  uint64_t foreign = 0;          // replies from another host or for another identifier
  uint64_t send_failed = 0;      // no buffer for a request
  // Payload bytes.
  uint64_t bytes_rx = 0, bytes_tx = 0;
  uint64_t bytes_acked = 0;      // of bytes_tx, acknowledged by the peer (TCP)
  // TCP, filled by Workload::sample(): bytes our connections retransmitted,
  // and the congestion windows of those established now (a gauge: their sum
  // and how many).
  uint64_t retransmitted_bytes = 0;
  uint64_t cwnd_sum = 0;
  uint64_t cwnd_conns = 0;
  // http: responses by status code (100-599; anything else is not HTTP and
  // counts as a bad response only).
  static constexpr unsigned kFirstStatus = 100, kStatusCodes = 500;
  std::array<uint64_t, kStatusCodes> http_status{};
  void count_status(unsigned code) {
    if (code >= kFirstStatus && code < kFirstStatus + kStatusCodes) ++http_status[code - kFirstStatus];
  }
  // dns: answers by RCODE (NOERROR counts ok, the others bad).
  std::array<uint64_t, 16> dns_rcode{};
  util::Histogram latency;       // ns, per completed request
  // synflood with legitimate connections beside it (their connections are
  // counted in the conns_* fields): exchanges completed and lost, and their
  // latency (connect to the whole response).
  uint64_t legit_ok = 0;
  uint64_t legit_errors = 0;
  util::Histogram legit_latency;
  void merge(const GenStats& o);
  // What was counted after `base` was taken (the end of a warm-up): requests,
  // responses, bytes and statuses less base's; requests in flight at that
  // moment count as sent after it (so that every request sent is still
  // answered or lost); connections and the gauge as they are (over the whole
  // run); the latency as it is (cleared when base was taken).
  GenStats since(const GenStats& base) const;
};

}  // namespace ts::workload
