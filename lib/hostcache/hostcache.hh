// The host-pair cache (RFC 9040, DESIGN.md section 6): what TCP learned about
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

#include "wire/addr.hh"

namespace ts::hostcache {

enum class Policy { off, temporal, ensemble };
const char* policy_name(Policy p);

struct Key {
  wire::Ipv4Addr local, remote;
  uint64_t packed() const { return uint64_t(local.v) << 32 | remote.v; }
};

// Bounds and ageing. The defaults follow the TCP defaults the cache must
// never do worse than: the first RTO is at most the 1 s initial RTO of RFC
// 6298, an MSS is at least RFC 9293's 536 bytes, and no window a connection
// starts with exceeds max_window_segments segments.
struct Config {
  uint64_t rto_initial_ns = 1'000'000'000;  // default first RTO
  uint64_t rto_min_ns = 200'000'000;        // the stack's minimum RTO
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
};

// What a new connection may start from (everything validated and aged).
struct Hint {
  bool have_rtt = false;
  uint64_t srtt_ns = 0, rttvar_ns = 0;  // with have_rtt: the first RTO follows these
  uint16_t mss = 0;                     // 0: use the negotiated MSS alone
  uint32_t ssthresh = 0;                // 0: the default (infinite)
  uint32_t initial_cwnd = 0;            // bytes; 0: the default initial window
  uint32_t ensemble_peers = 0;          // connections it shares the window with
  uint32_t joins = 0;                   // the entry's joins, counting this one
  uint32_t share = 0;                   // bytes of the ensemble's window it took
};

// What a connection reports when it closes.
struct Report {
  uint16_t mss = 0;
  uint64_t srtt_ns = 0, rttvar_ns = 0, min_rtt_ns = 0;  // srtt 0: no RTT sample
  uint32_t ssthresh = 0;  // 0 or above cwnd_max: not learned (never left slow start)
  uint32_t cwnd = 0;
  bool overridden = false;  // the application set its own parameters: not written
  uint32_t connections = 1;  // closes this report stands for (a core's batch of them)
};

// RFC 9040's temporal update of `into` (an Entry, or a core's batch of
// reports) by a closing connection's report: RTT and variance move a quarter
// of the way to the report's, MSS and ssthresh are the newest, the minimum
// RTT is the least seen.
template <class T>
void temporal_update(T& into, const Report& r) {
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
  // (temporal sharing needs nothing more). Unknown hosts give no hint.
  Hint peek(const Key& k, uint64_t now, Policy p, uint16_t our_mss) const;
  // A connection opens: its starting hint; counts it in the ensemble.
  // `our_mss` is the connection's own MSS and `default_iw` its default initial
  // window in bytes: no hint exceeds either where that would be worse.
  Hint open(const Key& k, uint64_t now, Policy p, uint16_t our_mss, uint32_t default_iw);
  // A connection closes: RFC 9040's temporal update (RTT and variance move a
  // quarter of the way to the connection's own; MSS and ssthresh replaced),
  // and it leaves the ensemble with its window.
  void close(const Key& k, const Report& r, uint64_t now, Policy p);
  // An open connection's window changed by `delta` bytes since its last
  // publication (cores publish at a bounded rate, not per ACK). With
  // `joins_seen` (the entry's join count when it last looked), a connection
  // whose window is `cwnd` also learns whether to give up part of it for
  // newcomers: the window to come down to (toward the ensemble's fair share,
  // no more than is owed), or 0 to keep its own.
  uint32_t publish_window(const Key& k, int64_t delta, uint64_t now, uint32_t cwnd = 0,
                          uint32_t* joins_seen = nullptr);

  // The validated hint an entry gives at `now` (for tests and `stats`).
  Hint hint_of(const Entry& e, uint64_t now, Policy p, uint16_t our_mss) const;
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
