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
  // How much the host has abused us lately (0-100, decayed with time; see
  // docs/defences.md): at kAbusive or above, under pressure its new
  // connections get smaller buffers and it is reclaimed first.
  uint8_t abuse = 0;
  static constexpr uint8_t kAbusive = 10;
};

// What a connection learned about its path, reported when it is done.
struct PathReport {
  uint16_t mss = 0;
  uint64_t srtt_ns = 0, rttvar_ns = 0, min_rtt_ns = 0;  // srtt 0: no RTT sample
  uint32_t ssthresh = 0;  // 0: never left slow start
  uint32_t cwnd = 0;
  // What the host did to us (docs/defences.md): only connections whose
  // handshake completed report it, so a spoofed address cannot be blamed.
  uint64_t held_back_ns = 0;  // time its window held the connection back
  uint32_t reclaims = 0;      // connections reclaimed under pressure
};

}  // namespace ts::tcp
