#include "workload/stats.hh"

namespace ts::workload {

void GenStats::merge(const GenStats& o) {
  conns_attempted += o.conns_attempted;
  conns_established += o.conns_established;
  conns_failed += o.conns_failed;
  conns_no_slot += o.conns_no_slot;
  requests_sent += o.requests_sent;
  responses_ok += o.responses_ok;
  responses_bad += o.responses_bad;
  errors += o.errors;
  late_dropped += o.late_dropped;
  late_replies += o.late_replies;
  duplicates += o.duplicates;
  foreign += o.foreign;
  send_failed += o.send_failed;
  bytes_rx += o.bytes_rx;
  bytes_tx += o.bytes_tx;
  bytes_acked += o.bytes_acked;
  latency.merge(o.latency);
}

}  // namespace ts::workload
