// What TCP learns about a path (a pair of hosts) and what a new connection
// may start from: the values a host-pair cache (RFC 9040, lib/hostcache)
// keeps between connections. A hint comes validated; zero means "the
// default" throughout.
#pragma once

#include <cstdint>

namespace ts::tcp {

// What a new connection may start from instead of the defaults.
struct PathHint {
  bool have_rtt = false;
  uint64_t srtt_ns = 0, rttvar_ns = 0;  // with have_rtt: the path's, as measured
  uint64_t rto_ns = 0;                  // with have_rtt: the first RTO (validated, aged)
  uint16_t mss = 0;                     // the MSS the path had (0: only the negotiated one)
  uint32_t ssthresh = 0;                // bytes; 0: "arbitrarily high" (RFC 5681)
  uint32_t initial_cwnd = 0;            // bytes; 0: the default initial window
  uint32_t ensemble_peers = 0;          // open connections it shares the window with
  uint32_t ensemble_joins = 0;          // the ensemble's joins, counting this one
  uint32_t ensemble_share = 0;          // bytes of the ensemble's window it took (0: none)
};

// What a connection learned about its path, reported when it is done.
struct PathReport {
  uint16_t mss = 0;
  uint64_t srtt_ns = 0, rttvar_ns = 0, min_rtt_ns = 0;  // srtt 0: no RTT sample
  uint32_t ssthresh = 0;  // 0: never left slow start
  uint32_t cwnd = 0;
};

}  // namespace ts::tcp
