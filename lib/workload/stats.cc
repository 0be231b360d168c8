#include "workload/stats.hh"

#include <cstddef>

namespace ts::workload {

void GenStats::merge(const GenStats& o) {
  conns_attempted += o.conns_attempted;
  conns_established += o.conns_established;
  conns_failed += o.conns_failed;
  conns_refused += o.conns_refused;
  conns_timed_out += o.conns_timed_out;
  conns_reset += o.conns_reset;
  conns_closed_by_peer += o.conns_closed_by_peer;
  resets += o.resets;
  conns_no_slot += o.conns_no_slot;
  open += o.open;
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
  retransmitted_bytes += o.retransmitted_bytes;
  cwnd_sum += o.cwnd_sum;
  cwnd_conns += o.cwnd_conns;
  for (std::size_t i = 0; i < kStatusCodes; ++i) http_status[i] += o.http_status[i];
  for (std::size_t i = 0; i < dns_rcode.size(); ++i) dns_rcode[i] += o.dns_rcode[i];
  latency.merge(o.latency);
  legit_ok += o.legit_ok;
  legit_errors += o.legit_errors;
  legit_latency.merge(o.legit_latency);
}

GenStats GenStats::since(const GenStats& base) const {
  GenStats d = *this;
  auto less = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  const uint64_t ended = base.responses_ok + base.responses_bad + base.errors;
  d.requests_sent = less(requests_sent, ended);
  d.responses_ok = less(responses_ok, base.responses_ok);
  d.responses_bad = less(responses_bad, base.responses_bad);
  d.errors = less(errors, base.errors);
  d.late_dropped = less(late_dropped, base.late_dropped);
  d.late_replies = less(late_replies, base.late_replies);
  d.duplicates = less(duplicates, base.duplicates);
  d.foreign = less(foreign, base.foreign);
  d.send_failed = less(send_failed, base.send_failed);
  d.resets = less(resets, base.resets);
  d.bytes_rx = less(bytes_rx, base.bytes_rx);
  d.bytes_tx = less(bytes_tx, base.bytes_tx);
  d.bytes_acked = less(bytes_acked, base.bytes_acked);
  d.retransmitted_bytes = less(retransmitted_bytes, base.retransmitted_bytes);
  d.legit_ok = less(legit_ok, base.legit_ok);
  d.legit_errors = less(legit_errors, base.legit_errors);
  for (std::size_t i = 0; i < kStatusCodes; ++i)
    d.http_status[i] = less(http_status[i], base.http_status[i]);
  for (std::size_t i = 0; i < dns_rcode.size(); ++i) d.dns_rcode[i] = less(dns_rcode[i], base.dns_rcode[i]);
  return d;
}

}  // namespace ts::workload
