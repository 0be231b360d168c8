// The host-pair cache (RFC 9040, docs/hostcache.md): what TCP learned about
// a (local address, remote address) pair, shared by every core and kept
// across connections. Entries live in a power-of-two number of shards, each a
// TBB concurrent hash map (per-entry locks); cores touch it when a connection
// opens or closes and when they publish window deltas, never per packet.
//
// Every value read is validated: clamped to bounds and aged toward the
// defaults, so a poisoned or stale entry can cost the benefit of sharing but
// never make a connection worse than one that started without the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tcp/config.hh"
#include "tcp/path.hh"
#include "wire/addr.hh"

namespace ts::hostcache {

enum class Policy { off, temporal, ensemble };
const char* policy_name(Policy p);

struct Key {
  wire::Ipv4Addr local, remote;
  uint64_t packed() const { return uint64_t(local.v) << 32 | remote.v; }
};

// Bounds and ageing. The cache must never do worse than the TCP it serves:
// no first RTO above that TCP's initial RTO or below its minimum (both taken
// from its configuration: with_tcp()), no MSS below RFC 9293's 536 bytes, no
// starting window above max_window_segments segments.
struct Config {
  uint64_t rto_initial_ns = tcp::TcpConfig{}.rto_initial_ns;  // the first RTO without a hint
  uint64_t rto_min_ns = tcp::TcpConfig{}.rto_min_ns;
  // The RTO bounds of the TCP configuration the connections use.
  static Config with_tcp(const tcp::TcpConfig& t) {
    Config c;
    c.rto_initial_ns = t.rto_initial_ns;
    c.rto_min_ns = t.rto_min_ns;
    return c;
  }
  uint64_t rtt_min_ns = 1'000;              // a smaller cached RTT is raised to this
  uint16_t mss_min = 536;
  uint32_t max_window_segments = 256;       // cap on a cached ssthresh or window share
  uint64_t max_age_ns = 600'000'000'000;    // fully decayed after 10 minutes
  bool share_ssthresh = true;               // temporal: start from the cached ssthresh
};

// What is stored per host pair.
struct Entry {
  uint16_t mss = 0;            // 0: not known
  uint64_t srtt_ns = 0;        // 0: no RTT known
  uint64_t rttvar_ns = 0;
  uint64_t min_rtt_ns = 0;
  uint32_t ssthresh = 0;       // bytes; 0: not known
  uint64_t ensemble_cwnd = 0;  // bytes: the open connections' windows together
  uint64_t owed = 0;           // bytes newcomers took that the others have yet to give up
  uint32_t joins = 0;          // newcomers that took a share (the others' cue to give)
  uint32_t open = 0;           // connections open now
  uint64_t updated_ns = 0;
  uint64_t closes = 0;         // connections that reported at close
  // Abuse (docs/defences.md): points from time held back by the host's
  // window and connections reclaimed, halved every kAbuseHalfLifeNs since
  // abuse_ns, at most 100; and, for `stats`, the totals.
  double abuse = 0;
  uint64_t abuse_ns = 0;
  uint64_t held_back_ms = 0;
  uint32_t reclaims = 0;
  uint32_t cookie_failures = 0;  // spoofable: shown, never scored
  // Fast Open (docs/fastopen.md), kept whatever the policy: the server's
  // cookie and MSS and when they were learned; until when the server is not
  // to be tried with Fast Open (it dropped a SYN with data, or answered one
  // without the option).
  tcp::FastOpenCookie fastopen;
  uint16_t fastopen_mss = 0;
  uint64_t fastopen_ns = 0;
  uint64_t fastopen_blocked_until = 0;
};

// A Fast Open cookie is used for a day after it was learned; a server that
// dropped SYNs with data is tried again after ten minutes.
inline constexpr uint64_t kFastOpenCookieAgeNs = 24 * 3600'000'000'000ull;
inline constexpr uint64_t kFastOpenBlockNs = 600'000'000'000ull;

// Abuse points: one per 10 s a host's window held a connection back, ten per
// connection reclaimed; halved every 10 minutes, at most 100.
inline constexpr uint64_t kAbuseHalfLifeNs = 600'000'000'000ull;
inline constexpr double kAbuseMax = 100;
// The score at `now` (decayed, clamped).
double abuse_at(const Entry& e, uint64_t now);

// How a close report stands for its connections.
struct Closing {
  bool overridden = false;   // the application set its own parameters: not written
  uint32_t connections = 1;  // closes the report stands for (a core's batch of them)
};

// RFC 9040's temporal update of `into` (an Entry, or a core's batch of
// reports) by a closing connection's report: RTT and variance move a quarter
// of the way to the report's, MSS and ssthresh are the newest, the minimum
// RTT is the least seen.
template <class T>
void temporal_update(T& into, const tcp::PathReport& r) {
  if (r.srtt_ns) {
    if (!into.srtt_ns) {
      into.srtt_ns = r.srtt_ns;
      into.rttvar_ns = r.rttvar_ns;
    } else {
      into.srtt_ns =
          uint64_t(int64_t(into.srtt_ns) + (int64_t(r.srtt_ns) - int64_t(into.srtt_ns)) / 4);
      into.rttvar_ns =
          uint64_t(int64_t(into.rttvar_ns) + (int64_t(r.rttvar_ns) - int64_t(into.rttvar_ns)) / 4);
    }
    if (r.min_rtt_ns && (!into.min_rtt_ns || r.min_rtt_ns < into.min_rtt_ns))
      into.min_rtt_ns = r.min_rtt_ns;
  }
  if (r.mss) into.mss = r.mss;
  if (r.ssthresh) into.ssthresh = r.ssthresh;
}

class HostCache {
 public:
  // `shards` is rounded up to a power of two (at least 1).
  explicit HostCache(const Config& cfg = {}, unsigned shards = 64);
  ~HostCache();
  HostCache(const HostCache&) = delete;
  HostCache& operator=(const HostCache&) = delete;

  // The hint for a new connection, without counting it anywhere: a read
  // (temporal sharing needs nothing more). Unknown hosts give no hint. With
  // Policy::off, only the Fast Open fields.
  tcp::PathHint peek(const Key& k, uint64_t now, Policy p, uint16_t our_mss) const;
  // A connection opens: its starting hint; counts it in the ensemble.
  // `our_mss` is the connection's own MSS and `default_iw` its default initial
  // window in bytes: no hint exceeds either where that would be worse.
  tcp::PathHint open(const Key& k, uint64_t now, Policy p, uint16_t our_mss, uint32_t default_iw);
  // A connection closes: RFC 9040's temporal update (RTT and variance move a
  // quarter of the way to the connection's own; MSS and ssthresh replaced),
  // and it leaves the ensemble with its window.
  void close(const Key& k, const tcp::PathReport& r, uint64_t now, Policy p, Closing how = {});
  // An open connection's window changed by `delta` bytes since its last
  // publication (cores publish at a bounded rate, not per ACK). With
  // `joins_seen` (the entry's join count when it last looked), a connection
  // whose window is `cwnd` also learns whether to give up part of it for
  // newcomers: the window to come down to (toward the ensemble's fair share,
  // no more than is owed), or 0 to keep its own.
  uint32_t publish_window(const Key& k, int64_t delta, uint32_t cwnd = 0,
                          uint32_t* joins_seen = nullptr);
  // Forged SYN cookies from a host the cache already knows (an unknown one is
  // not added: a flood of spoofed sources must not grow the cache).
  void note_cookie_failures(const Key& k, uint32_t n);
  // What a client connection learned about the server's Fast Open.
  void note_fastopen(const Key& k, const tcp::FastOpenNews& n, uint64_t now);

  // The Fast Open fields of the hint an entry gives at `now`, whatever the
  // policy (validated and aged).
  static tcp::PathHint fastopen_of(const Entry& e, uint64_t now);
  // The validated hint an entry gives at `now` (for tests and `stats`).
  tcp::PathHint hint_of(const Entry& e, uint64_t now, Policy p, uint16_t our_mss) const;
  // Copies of every entry (for `touchstone stats hostcache`), from any thread
  // at any time: each shard is walked while no connection uses it.
  std::vector<std::pair<Key, Entry>> snapshot() const;
  size_t size() const;
  unsigned shards() const { return unsigned(mask_ + 1); }
  const Config& config() const { return cfg_; }
  // Writes an entry as is, bypassing validation: for tests of poisoning.
  void poke(const Key& k, const Entry& e);

 private:
  struct Shard;
  Shard& shard_of(const Key& k) const;

  Config cfg_;
  uint64_t mask_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace ts::hostcache
