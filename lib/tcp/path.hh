// What TCP learns about a path (a pair of hosts) and what a new connection
// may start from: the values a host-pair cache (RFC 9040, lib/hostcache)
// keeps between connections. A hint comes validated; zero means "the
// default" throughout.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace ts::tcp {

// A TCP Fast Open cookie as the option carries it (RFC 7413 4.1.1: 4 to 16
// bytes; len 0: none). See docs/fastopen.md.
struct FastOpenCookie {
  static constexpr uint8_t kMax = 16;
  uint8_t len = 0;
  std::array<uint8_t, kMax> bytes{};
  bool operator==(const FastOpenCookie& o) const {
    return len == o.len && std::equal(bytes.begin(), bytes.begin() + len, o.bytes.begin());
  }
  // A length the option may carry: 4 to 16, even.
  static bool valid_length(unsigned n) { return n >= 4 && n <= kMax && n % 2 == 0; }
};

// What a client connection learned about a server's Fast Open, for the cache.
struct FastOpenNews {
  enum class Kind : uint8_t {
    none,
    cookie,         // the server gave a cookie (and its MSS)
    unsupported,    // the server answered a Fast Open SYN without the option
    syn_data_lost,  // a SYN with data went unanswered (RFC 7413 4.1.3)
  };
  Kind kind = Kind::none;
  FastOpenCookie cookie;
  uint16_t mss = 0;
};

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
  // Fast Open (docs/fastopen.md): the server's cookie and MSS as cached, or
  // that the server is not to be tried with Fast Open for now.
  FastOpenCookie fastopen;
  uint16_t fastopen_mss = 0;
  bool fastopen_blocked = false;
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
