// Per-connection TCP settings and their defaults. Each default is chosen for
// interoperability with common stacks; where it departs from an RFC's
// suggestion the comment says so and why.
#pragma once

#include <cstdint>

namespace ts::tcp {

// The congestion-control algorithms (tcp/cc/, docs/congestion.md); their
// names, descriptions and recovery styles are in cc/registry.hh.
enum class CcAlgo : uint8_t { newreno, cubic, tahoe, reno, vegas, compound, bbr };
const char* cc_name(CcAlgo a);

// How lost segments are found and resent (tcp/recovery.hh).
enum class RecoveryStyle : uint8_t {
  tahoe,    // fast retransmit, then slow start from one segment; no fast recovery
  reno,     // RFC 5681 3.2 fast recovery, ended by the first ACK of new data
  newreno,  // RFC 6582: a partial ACK retransmits the next hole and recovery goes on
  sack,     // RFC 6675 with PRR (RFC 6937); newreno where SACK was not negotiated
};
const char* recovery_style_name(RecoveryStyle s);

struct TcpConfig {
  // Largest segment we accept, advertised in our SYN; clamped to the MTU - 40.
  uint16_t mss = 1460;
  // Buffer sizes in bytes. The receive buffer bounds the advertised window
  // (with window scaling) and the out-of-order data we keep.
  uint32_t sndbuf = 256 * 1024;
  uint32_t rcvbuf = 256 * 1024;
  bool window_scaling = true;  // RFC 7323
  bool timestamps = true;      // RFC 7323
  bool sack = true;            // RFC 2018 / RFC 6675
  bool nodelay = false;        // disables Nagle's algorithm (RFC 9293 3.7.4)
  // Receiver-side silly window avoidance (RFC 9293 3.8.6.2.2). Off only for
  // a load generator that plays a slow reader opening its window by a byte.
  bool rcv_sws_avoidance = true;
  // The FIN rides on the last data segment when the application has closed
  // by the time it is built. Off: the FIN always goes in a segment of its own
  // (as the BSD stacks of T/TCP's day did; for comparisons, docs/fastopen.md).
  bool piggyback_fin = true;
  // TCP Fast Open (RFC 7413, docs/fastopen.md). An active open puts its first
  // data in the SYN when it holds a cookie for the server (else it asks for
  // one); a listener hands the data of a SYN with a valid cookie to the
  // application at once.
  bool fast_open = false;

  // Delayed ACK (RFC 9293 3.8.6.3, RFC 1122 4.2.3.2): at least every second
  // full-sized segment, and no later than this. 40 ms like Linux's minimum;
  // the RFCs' bound is 500 ms.
  uint64_t delack_ns = 40'000'000;
  uint8_t delack_segments = 2;

  // A ring emptied (all sent data acknowledged, all received data read) goes
  // back to the core's pool this long after, if it is still empty then: an
  // idle connection holds no ring storage, and one exchanging messages keeps
  // its rings instead of returning and retaking them on every message
  // (docs/performance.md, "Memory"). 0: at once.
  uint64_t ring_park_ns = 1'000'000;

  // Retransmission timer (RFC 6298). The initial RTO is the RFC's 1 s. The
  // minimum is 200 ms as in Linux and FreeBSD rather than the RFC's 1 s: a 1 s
  // floor makes every timeout on a fast path cost a second. The maximum is the
  // RFC's 60 s.
  uint64_t rto_initial_ns = 1'000'000'000;
  uint64_t rto_min_ns = 200'000'000;
  uint64_t rto_max_ns = 60'000'000'000;
  // Attempts before giving up: SYN (re)transmissions, and consecutive timeouts
  // of data or FIN (RFC 1122 4.2.3.5's R2, as a count like Linux's retries2).
  uint8_t syn_retries = 6;
  uint8_t data_retries = 15;

  // TIME-WAIT lasts 2*MSL (RFC 9293 3.4.2). 30 s like Linux (RFC 793: 2 min).
  uint64_t msl_ns = 30'000'000'000;

  // Keepalive (RFC 1122 4.2.3.6): off by default; when on, probe after this much
  // idle time, then every interval, and give up after `keepalive_probes`.
  bool keepalive = false;
  uint64_t keepalive_idle_ns = 7200'000'000'000;
  uint64_t keepalive_interval_ns = 75'000'000'000;
  uint8_t keepalive_probes = 9;

  // Persist timer (zero window probes): RTO-based, exponential backoff, capped.
  // Probing continues as long as the peer answers (RFC 6429).
  uint64_t persist_max_ns = 60'000'000'000;

  CcAlgo cc = CcAlgo::cubic;
  // HyStart++ (RFC 9406): end slow start on rising delay rather than on loss.
  // Needs timestamps for per-ACK RTT samples; without them it never triggers.
  bool hystart = true;
  uint32_t initial_window = 10;  // segments (RFC 6928)
  // Pace data segments at a rate the algorithm sets (BBR always does), or
  // else at 2 (slow start) or 1.2 (avoidance) times cwnd / SRTT, as Linux's
  // fq does; the next send time waits on the timer wheel (docs/congestion.md).
  bool pacing = false;
  // Output's one-segment path (docs/performance.md, "Instructions"): data that
  // fits one segment with nothing else to consider is sent without the
  // general send path's checks. What goes on the wire is the same either way;
  // off, every segment takes the general path (the tests compare the two).
  bool send_whole = true;
  // Input's header prediction (docs/performance.md, "Instructions"): an
  // in-order ACK in an established connection skips the checks it would
  // pass. Processing is the same either way; off, every segment is checked
  // step by step (the tests compare the two).
  bool predict_input = true;
  uint8_t dupthresh = 3;         // RFC 5681, RFC 6675
  // sack: RFC 6675 where SACK is negotiated, else the algorithm's own style
  // (tahoe, reno or newreno; Tahoe keeps its own even with SACK: it has no
  // fast recovery). Another style is used as given (tests).
  RecoveryStyle recovery = RecoveryStyle::sack;

  // RFC 5961 challenge ACKs, rate-limited per connection (not host-wide: a
  // host-wide limit is itself a side channel, CVE-2016-5696).
  uint32_t challenge_acks_per_sec = 10;

  bool operator==(const TcpConfig&) const = default;
};

}  // namespace ts::tcp
