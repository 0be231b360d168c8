// What a workload counts, whatever its mode: one record per core, merged
// across cores for the progress line, the summary and the JSON results
// (docs/json.md). Fields a mode does not produce stay zero.
#pragma once

#include <cstdint>

#include "util/histogram.hh"

namespace ts::workload {

struct GenStats {
  // TCP modes: connections.
  uint64_t conns_attempted = 0;
  uint64_t conns_established = 0;
  uint64_t conns_failed = 0;     // refused, reset or timed out before done
  uint64_t conns_no_slot = 0;    // no local port or connection slot was free
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
  util::Histogram latency;       // ns, per completed request
  void merge(const GenStats& o);
};

}  // namespace ts::workload
