#include "hostcache/hostcache.hh"

#include <tbb/concurrent_hash_map.h>
#include <tbb/spin_rw_mutex.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace ts::hostcache {

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::off: return "off";
    case Policy::temporal: return "temporal";
    case Policy::ensemble: return "ensemble";
  }
  return "?";
}

// The standard allocator rather than TBB's scalable one: entries are made
// at connection set-up, not per packet, and malloc is what ThreadSanitizer
// can see (tbbmalloc hands memory between threads outside its view, which
// it reports as races).
using Map = tbb::concurrent_hash_map<uint64_t, Entry, tbb::tbb_hash_compare<uint64_t>,
                                     std::allocator<std::pair<const uint64_t, Entry>>>;

// `walk` keeps snapshot() out of a shard while connections use it: they hold
// it shared (entries are still locked one by one through accessors), the walk
// holds it exclusively, since a TBB map can be neither walked while it grows
// nor read while an accessor writes. One more atomic per open and close.
struct alignas(64) HostCache::Shard {
  Map map;
  tbb::spin_rw_mutex walk;
};
using Use = tbb::spin_rw_mutex::scoped_lock;

HostCache::HostCache(const Config& cfg, unsigned shards)
    : cfg_(cfg), mask_(std::bit_ceil(std::max(shards, 1u)) - 1),
      shards_(new Shard[mask_ + 1]) {}

HostCache::~HostCache() = default;

HostCache::Shard& HostCache::shard_of(const Key& k) const {
  uint64_t h = k.packed() * 0x9e3779b97f4a7c15ull;
  h ^= h >> 31;
  return shards_[h & mask_];
}

double abuse_at(const Entry& e, uint64_t now) {
  if (e.abuse <= 0) return 0;
  const double age = now > e.abuse_ns ? double(now - e.abuse_ns) : 0;
  return std::min(kAbuseMax, e.abuse * std::exp2(-age / double(kAbuseHalfLifeNs)));
}

tcp::PathHint HostCache::fastopen_of(const Entry& e, uint64_t now) {
  // A cookie of a length the option can carry, no older than a day; the MSS
  // learned with it at least 536 (a smaller one only shrinks the SYN's data).
  tcp::PathHint h;
  if (now < e.fastopen_blocked_until) {
    h.fastopen_blocked = true;
  } else if (tcp::FastOpenCookie::valid_length(e.fastopen.len) &&
             now - e.fastopen_ns < kFastOpenCookieAgeNs) {
    h.fastopen = e.fastopen;
    h.fastopen_mss = e.fastopen_mss >= 536 ? e.fastopen_mss : 0;
  }
  return h;
}

tcp::PathHint HostCache::hint_of(const Entry& e, uint64_t now, Policy p, uint16_t our_mss) const {
  tcp::PathHint h = fastopen_of(e, now);  // whatever the policy
  if (p == Policy::off) return h;
  h.abuse = uint8_t(std::lround(abuse_at(e, now)));
  // Weight of what was learned: 1 when just written, 0 at max_age and after.
  const uint64_t age = now > e.updated_ns ? now - e.updated_ns : 0;
  const double w = age >= cfg_.max_age_ns ? 0.0 : 1.0 - double(age) / double(cfg_.max_age_ns);

  const uint16_t floor_mss = std::min(cfg_.mss_min, our_mss);
  if (e.mss && w > 0) h.mss = std::clamp(e.mss, floor_mss, our_mss);
  const uint32_t mss = h.mss ? h.mss : our_mss;
  const uint32_t max_window = cfg_.max_window_segments * mss;

  if (e.srtt_ns && w > 0) {
    // The first RTO the cached path suggests, within [rto_min, rto_initial],
    // moved toward the default as the entry ages. SRTT and RTTVAR go to the
    // connection as the path measured them (bounded), never bent to produce
    // that RTO: the connection reports them back when it closes, and a
    // made-up variance would feed on itself.
    const uint64_t srtt = std::clamp(e.srtt_ns, cfg_.rtt_min_ns, cfg_.rto_initial_ns);
    const uint64_t rttvar = std::min(e.rttvar_ns, cfg_.rto_initial_ns);
    const uint64_t cached_rto =
        std::clamp(srtt + 4 * rttvar, cfg_.rto_min_ns, cfg_.rto_initial_ns);
    h.have_rtt = true;
    h.srtt_ns = srtt;
    h.rttvar_ns = rttvar;
    h.rto_ns = uint64_t(double(cached_rto) * w + double(cfg_.rto_initial_ns) * (1.0 - w));
  }
  if (cfg_.share_ssthresh && e.ssthresh && w >= 0.5)
    h.ssthresh = std::clamp<uint32_t>(e.ssthresh, 2 * mss, max_window);
  if (p == Policy::ensemble && e.open > 0 && e.ensemble_cwnd > 0) {
    // A fair share of the ensemble's window instead of a full initial
    // window of its own (the others give up their part as they publish).
    // The aggregate as it stands once earlier newcomers' shares are given up.
    const uint64_t share = (e.ensemble_cwnd - std::min(e.owed, e.ensemble_cwnd)) /
                           (uint64_t(e.open) + 1);
    h.initial_cwnd = uint32_t(std::clamp<uint64_t>(share, 2 * mss, max_window));
    h.ensemble_peers = e.open;
    // The ensemble's window is what the path carried: a fair share of it is
    // where congestion avoidance starts, not a floor for slow start.
    if (!h.ssthresh || h.ssthresh > h.initial_cwnd) h.ssthresh = h.initial_cwnd;
  }
  return h;
}

tcp::PathHint HostCache::peek(const Key& k, uint64_t now, Policy p, uint16_t our_mss) const {
  Shard& s = shard_of(k);
  Use use(s.walk, false);
  Map::const_accessor a;
  if (!s.map.find(a, k.packed())) return {};
  return hint_of(a->second, now, p, our_mss);
}

tcp::PathHint HostCache::open(const Key& k, uint64_t now, Policy p, uint16_t our_mss,
                              uint32_t default_iw) {
  if (p == Policy::off) return {};
  Shard& s = shard_of(k);
  Use use(s.walk, false);
  Map::accessor a;
  if (s.map.insert(a, k.packed())) a->second.updated_ns = now;  // new: nothing learned yet
  Entry& e = a->second;
  tcp::PathHint h = hint_of(e, now, p, our_mss);
  ++e.open;
  if (h.initial_cwnd) {
    // A share, which the connections already open owe back. The connection
    // sends no larger a first burst than default TCP would: a share above
    // the initial window is reached by slow start (up to ssthresh = share).
    e.ensemble_cwnd += h.initial_cwnd;
    e.owed += h.initial_cwnd;
    ++e.joins;
    h.ensemble_share = h.initial_cwnd;
    h.initial_cwnd = std::min(h.initial_cwnd, std::max(default_iw, 2u * our_mss));
  } else {
    e.ensemble_cwnd += default_iw;
  }
  h.ensemble_joins = e.joins;
  return h;
}

void HostCache::close(const Key& k, const tcp::PathReport& r, uint64_t now, Policy p,
                      Closing how) {
  if (p == Policy::off) return;
  Shard& s = shard_of(k);
  Use use(s.walk, false);
  Map::accessor a;
  s.map.insert(a, k.packed());
  Entry& e = a->second;
  if (e.open) --e.open;
  e.ensemble_cwnd -= std::min<uint64_t>(e.ensemble_cwnd, r.cwnd);
  // Its window is back in the pool: that much less is owed.
  e.owed -= std::min<uint64_t>(e.owed, r.cwnd);
  if (e.open == 0) e.ensemble_cwnd = e.owed = 0;
  // Abuse counts whatever the application set.
  if (r.held_back_ns || r.reclaims) {
    e.abuse = std::min(kAbuseMax, abuse_at(e, now) + double(r.held_back_ns) / 10e9 +
                                      10.0 * r.reclaims);
    e.abuse_ns = now;
    e.held_back_ms += r.held_back_ns / 1'000'000;
    e.reclaims += r.reclaims;
  }
  if (how.overridden) return;
  temporal_update(e, r);
  e.updated_ns = now;
  e.closes += std::max<uint32_t>(how.connections, 1);
}

uint32_t HostCache::publish_window(const Key& k, int64_t delta, uint32_t cwnd,
                                   uint32_t* joins_seen) {
  Shard& s = shard_of(k);
  Use use(s.walk, false);
  Map::accessor a;
  if (!s.map.find(a, k.packed())) return 0;
  Entry& e = a->second;
  if (delta < 0)
    e.ensemble_cwnd -= std::min<uint64_t>(e.ensemble_cwnd, uint64_t(-delta));
  else
    e.ensemble_cwnd += uint64_t(delta);
  e.owed = std::min(e.owed, e.ensemble_cwnd);
  if (!joins_seen || *joins_seen == e.joins) return 0;
  *joins_seen = e.joins;
  if (!e.owed || !e.open) return 0;
  // Newcomers joined since this connection last looked: it comes down toward
  // the fair share of what the ensemble will hold once all is given back.
  // (At least a byte stays, so that a nonzero answer always means "give".)
  const uint64_t target = std::max<uint64_t>((e.ensemble_cwnd - e.owed) / e.open, 1);
  if (cwnd <= target) return 0;
  const uint64_t give = std::min<uint64_t>(cwnd - target, e.owed);
  e.owed -= give;
  e.ensemble_cwnd -= give;
  return uint32_t(cwnd - give);
}

void HostCache::note_fastopen(const Key& k, const tcp::FastOpenNews& n, uint64_t now) {
  using Kind = tcp::FastOpenNews::Kind;
  if (n.kind == Kind::none) return;
  if (n.kind == Kind::cookie && !tcp::FastOpenCookie::valid_length(n.cookie.len)) return;
  Shard& s = shard_of(k);
  Use use(s.walk, false);
  Map::accessor a;
  if (s.map.insert(a, k.packed())) a->second.updated_ns = now;
  Entry& e = a->second;
  if (n.kind == Kind::cookie) {
    e.fastopen = n.cookie;
    e.fastopen_mss = n.mss;
    e.fastopen_ns = now;
    e.fastopen_blocked_until = 0;
  } else {
    e.fastopen = {};
    e.fastopen_mss = 0;
    e.fastopen_blocked_until = now + kFastOpenBlockNs;
  }
}

void HostCache::note_cookie_failures(const Key& k, uint32_t n) {
  Shard& s = shard_of(k);
  Use use(s.walk, false);
  Map::accessor a;
  if (s.map.find(a, k.packed())) a->second.cookie_failures += n;
}

std::vector<std::pair<Key, Entry>> HostCache::snapshot() const {
  std::vector<std::pair<Key, Entry>> out;
  for (uint64_t i = 0; i <= mask_; ++i) {
    Use walk(shards_[i].walk, true);
    for (const auto& [packed, e] : shards_[i].map)
      out.push_back({Key{wire::Ipv4Addr{uint32_t(packed >> 32)}, wire::Ipv4Addr{uint32_t(packed)}}, e});
  }
  return out;
}

size_t HostCache::size() const {
  size_t n = 0;
  for (uint64_t i = 0; i <= mask_; ++i) n += shards_[i].map.size();
  return n;
}

void HostCache::poke(const Key& k, const Entry& e) {
  Shard& s = shard_of(k);
  Use use(s.walk, false);
  Map::accessor a;
  s.map.insert(a, k.packed());
  a->second = e;
}

}  // namespace ts::hostcache
