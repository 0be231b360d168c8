// The host-pair cache's rules: RFC 9040's temporal update, ageing toward the
// defaults, ensemble shares, and validation that keeps every poisoned value
// within what default TCP would do.
#include <gtest/gtest.h>

#include <vector>

#include "hostcache/hostcache.hh"
#include "tcp/rtt.hh"
#include "hostcache/path_cache.hh"

using namespace ts;
using namespace ts::hostcache;

namespace {

constexpr uint64_t kMs = 1'000'000, kSec = 1'000'000'000;
const Key kKey{wire::Ipv4Addr::from_octets(10, 0, 0, 2), wire::Ipv4Addr::from_octets(10, 0, 0, 1)};
constexpr uint16_t kMss = 1460;
constexpr uint32_t kIw = 10 * kMss;

tcp::PathReport closing(uint64_t srtt, uint64_t rttvar, uint32_t ssthresh = 0, uint32_t cwnd = kIw) {
  tcp::PathReport r;
  r.mss = kMss;
  r.srtt_ns = srtt;
  r.rttvar_ns = rttvar;
  r.min_rtt_ns = srtt;
  r.ssthresh = ssthresh;
  r.cwnd = cwnd;
  return r;
}

TEST(HostCache, UnknownHostGivesNoHintAndOffDoesNothing) {
  HostCache hc;
  const tcp::PathHint h = hc.open(kKey, kSec, Policy::temporal, kMss, kIw);
  EXPECT_FALSE(h.have_rtt);
  EXPECT_EQ(h.mss, 0);
  EXPECT_EQ(h.ssthresh, 0u);
  EXPECT_EQ(h.initial_cwnd, 0u);
  HostCache off;
  off.close(kKey, closing(100 * kMs, 10 * kMs), kSec, Policy::off);
  EXPECT_EQ(off.size(), 0u);
  EXPECT_FALSE(off.open(kKey, kSec, Policy::off, kMss, kIw).have_rtt);
}

TEST(HostCache, TemporalSharingFollowsRfc9040AndSetsTheFirstRto) {
  HostCache hc;
  hc.open(kKey, kSec, Policy::temporal, kMss, kIw);
  hc.close(kKey, closing(100 * kMs, 40 * kMs, 40 * kMss), kSec, Policy::temporal);
  // The next connection's first RTO is the cached path's (100 + 4 * 40 ms),
  // not the 1 s default.
  tcp::PathHint h = hc.open(kKey, kSec, Policy::temporal, kMss, kIw);
  ASSERT_TRUE(h.have_rtt);
  EXPECT_EQ(h.rto_ns, 260 * kMs);
  // The path's own SRTT and RTTVAR, not values bent to make that RTO.
  EXPECT_EQ(h.srtt_ns, 100 * kMs);
  EXPECT_EQ(h.rttvar_ns, 40 * kMs);
  EXPECT_EQ(h.mss, kMss);
  EXPECT_EQ(h.ssthresh, 40u * kMss);
  // A second close moves the RTT a quarter of the way: 100 + (200 - 100) / 4.
  hc.close(kKey, closing(200 * kMs, 40 * kMs), kSec, Policy::temporal);
  const auto snap = hc.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].second.srtt_ns, 125 * kMs);
  EXPECT_EQ(snap[0].second.min_rtt_ns, 100 * kMs);
  EXPECT_EQ(snap[0].second.open, 0u);
}

TEST(HostCache, AShortRttIsHandedOnAsMeasuredWithTheRtoAtItsMinimum) {
  // A LAN path: 40 us smoothed, 10 us of variance. The first RTO is the
  // minimum, but SRTT and RTTVAR stay the path's: a connection seeded with a
  // variance bent to produce the RTO (about 50 ms here) reported it back when
  // it closed, and the cache showed rttvar 21 ms beside srtt 0.04 ms.
  HostCache hc;
  hc.close(kKey, closing(40'000, 10'000), kSec, Policy::temporal);
  const tcp::PathHint h = hc.open(kKey, kSec, Policy::temporal, kMss, kIw);
  ASSERT_TRUE(h.have_rtt);
  EXPECT_EQ(h.rto_ns, hc.config().rto_min_ns);
  EXPECT_EQ(h.srtt_ns, 40'000u);
  EXPECT_EQ(h.rttvar_ns, 10'000u);
  // A connection that starts from it and measures the same path reports the
  // path's variance back, not the seed's.
  const tcp::RtoBounds b{hc.config().rto_min_ns, 60'000'000'000};
  tcp::RttEstimator est(1'000'000'000);
  est.seed(h.srtt_ns, h.rttvar_ns, h.rto_ns, b);
  EXPECT_EQ(est.rto(b.max_ns), hc.config().rto_min_ns);
  est.sample(40'000, b);
  EXPECT_LE(est.rttvar(), 10'000u);
  EXPECT_EQ(est.rto(b.max_ns), hc.config().rto_min_ns);
}

TEST(HostCache, EntriesAgeTowardTheDefaults) {
  Config cfg;
  cfg.max_age_ns = 100 * kSec;
  HostCache hc(cfg);
  hc.close(kKey, closing(50 * kMs, 10 * kMs, 20 * kMss), 0, Policy::temporal);
  const Entry e = hc.snapshot()[0].second;
  const auto rto = [](const tcp::PathHint& h) { return h.rto_ns; };
  const tcp::PathHint fresh = hc.hint_of(e, 0, Policy::temporal, kMss);
  const tcp::PathHint half = hc.hint_of(e, 50 * kSec, Policy::temporal, kMss);
  const tcp::PathHint old = hc.hint_of(e, 100 * kSec, Policy::temporal, kMss);
  EXPECT_EQ(rto(fresh), 200 * kMs);  // 90 ms, raised to the 200 ms minimum RTO
  EXPECT_EQ(rto(half), 600 * kMs);   // halfway to the 1 s default
  EXPECT_FALSE(old.have_rtt);        // fully decayed: the default
  EXPECT_EQ(fresh.ssthresh, 20u * kMss);
  EXPECT_EQ(hc.hint_of(e, 60 * kSec, Policy::temporal, kMss).ssthresh, 0u);  // too old to trust
}

TEST(HostCache, PoisonedEntriesStayWithinDefaultTcp) {
  HostCache hc;
  const uint64_t now = kSec;
  Entry e;
  e.updated_ns = now;
  for (uint64_t rtt : {uint64_t(1'000), uint64_t(100) * kSec, uint64_t(0) + 1, UINT64_MAX / 8}) {
    e.srtt_ns = rtt;
    e.rttvar_ns = rtt;
    e.mss = 1;
    e.ssthresh = 1;
    e.ensemble_cwnd = uint64_t(1) << 50;  // an enormous window
    e.open = 1;
    hc.poke(kKey, e);
    const tcp::PathHint h = hc.hint_of(e, now, Policy::ensemble, kMss);
    ASSERT_TRUE(h.have_rtt);
    const uint64_t first_rto = h.rto_ns;
    EXPECT_LE(first_rto, hc.config().rto_initial_ns) << "rtt " << rtt;  // never later than default
    EXPECT_GE(first_rto, hc.config().rto_min_ns) << "rtt " << rtt;
    EXPECT_GE(h.mss, hc.config().mss_min);  // an MSS of 1 is not taken
    EXPECT_LE(h.mss, kMss);
    EXPECT_GE(h.ssthresh, 2u * h.mss);
    EXPECT_LE(h.initial_cwnd, hc.config().max_window_segments * uint32_t(h.mss));
  }
  // An MSS above the connection's own is cut to it.
  e.mss = 9000;
  EXPECT_EQ(hc.hint_of(e, now, Policy::temporal, kMss).mss, kMss);
}

TEST(HostCache, EnsembleNewcomersTakeAFairShareAndOverriddenOnesDoNotWrite) {
  HostCache hc;
  // One connection open with a large window (published after slow start).
  EXPECT_EQ(hc.open(kKey, kSec, Policy::ensemble, kMss, kIw).initial_cwnd, 0u);
  hc.publish_window(kKey, 90 * kMss - kIw);  // now 90 segments
  const tcp::PathHint h = hc.open(kKey, kSec, Policy::ensemble, kMss, kIw);
  EXPECT_EQ(h.ensemble_share, 45u * kMss);  // 90 / (1 + 1)
  EXPECT_EQ(h.initial_cwnd, kIw);           // no larger a first burst than default TCP
  EXPECT_EQ(h.ssthresh, 45u * kMss);        // slow start up to the share, then avoidance
  EXPECT_EQ(h.ensemble_peers, 1u);
  tcp::PathReport r = closing(300 * kMs, 10 * kMs);
  r.cwnd = 45 * kMss;
  hc.close(kKey, r, 2 * kSec, Policy::ensemble, {.overridden = true});
  const Entry e = hc.snapshot()[0].second;
  EXPECT_EQ(e.srtt_ns, 0u);  // the overridden connection left no RTT
  EXPECT_EQ(e.open, 1u);
  EXPECT_EQ(e.ensemble_cwnd, 90u * kMss);
  EXPECT_EQ(e.owed, 0u);  // its share went back with it
}

TEST(HostCache, EnsembleGivesBackWhatNewcomersTook) {
  HostCache hc;
  // One connection at 90 segments, then ten newcomers in quick succession.
  hc.open(kKey, kSec, Policy::ensemble, kMss, kIw);
  hc.publish_window(kKey, 90 * kMss - kIw);
  std::vector<uint32_t> cwnd = {90 * kMss}, seen = {0};
  for (int i = 0; i < 10; ++i) {
    const tcp::PathHint h = hc.open(kKey, kSec, Policy::ensemble, kMss, kIw);
    ASSERT_GT(h.ensemble_share, 0u);
    EXPECT_EQ(h.initial_cwnd, std::min(h.ensemble_share, kIw));
    cwnd.push_back(h.ensemble_share);
    seen.push_back(h.ensemble_joins);
  }
  // Each share is taken from what the ensemble will hold once given back:
  // the i-th newcomer gets 90 / (i + 1) segments, not 90 plus earlier shares.
  for (size_t i = 1; i < cwnd.size(); ++i) EXPECT_EQ(cwnd[i], 90u * kMss / (i + 1)) << i;
  // Each publishes once: it comes down to the fair share, and together they
  // give back exactly what was owed.
  for (size_t i = 0; i < cwnd.size(); ++i) {
    const uint32_t cap = hc.publish_window(kKey, 0, cwnd[i], &seen[i]);
    if (cap) cwnd[i] = cap;
  }
  const Entry e = hc.snapshot()[0].second;
  EXPECT_EQ(e.owed, 0u);
  uint64_t total = 0;
  for (uint32_t w : cwnd) {
    total += w;
    EXPECT_NEAR(double(w), 90.0 * kMss / 11, double(kMss));
  }
  EXPECT_NEAR(double(total), 90.0 * kMss, 11.0);
  EXPECT_EQ(e.ensemble_cwnd, total);
  // Nothing more to give until someone else joins.
  EXPECT_EQ(hc.publish_window(kKey, 0, cwnd[0], &seen[0]), 0u);
}

TEST(HostCache, ShardCountIsAPowerOfTwo) {
  EXPECT_EQ(HostCache({}, 0).shards(), 1u);
  EXPECT_EQ(HostCache({}, 48).shards(), 64u);
  EXPECT_EQ(HostCache({}, 64).shards(), 64u);
}

}  // namespace

// A core's adapter batches temporal sharing: hints read from the shared map
// at most once per interval per host, closes blended locally and published
// as one report per interval.
namespace {

TEST(HostCacheAdapter, TemporalReadsAndClosesAreBatchedPerInterval) {
  using ts::hostcache::SharedPathCache;
  HostCache hc;
  SharedPathCache core0(hc, Policy::temporal), core1(hc, Policy::temporal);
  const auto local = kKey.local, remote = kKey.remote;
  const uint64_t t0 = 5 * kSec, dt = SharedPathCache::kRefreshNs;
  ts::tcp::PathReport r;
  r.mss = kMss;
  r.cwnd = kIw;
  for (int i = 0; i < 100; ++i) {
    r.srtt_ns = uint64_t(20 + i % 3) * 1'000'000;
    r.rttvar_ns = 2'000'000;
    core0.close(local, remote, r, false, t0 + uint64_t(i) * 1000);
  }
  // Nothing published yet: the shared map has not been written.
  EXPECT_EQ(hc.size(), 0u);
  EXPECT_FALSE(core1.open(local, remote, t0, kMss, kIw).have_rtt);
  core0.tick(t0 + dt);
  auto snap = hc.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].second.closes, 100u);  // one report standing for 100 closes
  EXPECT_GE(snap[0].second.srtt_ns, 20'000'000u);
  EXPECT_LE(snap[0].second.srtt_ns, 22'000'000u);
  // core1 read (nothing) at t0 and keeps that for an interval, then reads again.
  EXPECT_FALSE(core1.open(local, remote, t0 + dt / 2, kMss, kIw).have_rtt);
  const auto h = core1.open(local, remote, t0 + dt, kMss, kIw);
  EXPECT_TRUE(h.have_rtt);
  // An entry changed behind core1's back shows only after its interval.
  Entry e = hc.snapshot()[0].second;
  e.srtt_ns = 300'000'000;
  e.rttvar_ns = 0;
  e.updated_ns = t0 + dt;
  hc.poke(kKey, e);
  EXPECT_EQ(core1.open(local, remote, t0 + dt + 1000, kMss, kIw).srtt_ns, h.srtt_ns);
  EXPECT_EQ(core1.open(local, remote, t0 + 2 * dt, kMss, kIw).srtt_ns, 300'000'000u);
  // Overridden connections write nothing.
  SharedPathCache core2(hc, Policy::temporal);
  r.srtt_ns = 900'000'000;
  core2.close(local, remote, r, true, t0);
  core2.tick(t0 + 10 * dt);
  EXPECT_EQ(hc.snapshot()[0].second.srtt_ns, 300'000'000u);
}

}  // namespace

TEST(HostCacheAbuse, HeldBackTimeAndReclaimsScoreDecayAndClamp) {
  HostCache hc;
  tcp::PathReport r = closing(1 * kMs, kMs / 2);
  r.held_back_ns = 100 * kSec;  // 10 points
  hc.close(kKey, r, kSec, Policy::temporal);
  EXPECT_EQ(hc.open(kKey, kSec, Policy::temporal, kMss, kIw).abuse, 10);
  tcp::PathReport rec = closing(1 * kMs, kMs / 2);
  rec.reclaims = 1;  // 10 more
  hc.close(kKey, rec, kSec, Policy::temporal);
  EXPECT_EQ(hc.open(kKey, kSec, Policy::temporal, kMss, kIw).abuse, 20);
  // Halved every ten minutes.
  EXPECT_EQ(hc.open(kKey, kSec + kAbuseHalfLifeNs, Policy::temporal, kMss, kIw).abuse, 10);
  EXPECT_EQ(hc.open(kKey, kSec + 4 * kAbuseHalfLifeNs, Policy::temporal, kMss, kIw).abuse, 1);
  // Never above 100, however much is reported.
  tcp::PathReport huge = closing(1 * kMs, kMs / 2);
  huge.held_back_ns = 1'000'000 * kSec;
  huge.reclaims = 1000;
  hc.close(kKey, huge, 2 * kSec, Policy::temporal);
  EXPECT_EQ(hc.open(kKey, 2 * kSec, Policy::temporal, kMss, kIw).abuse, 100);
  const Entry e = hc.snapshot()[0].second;
  EXPECT_EQ(e.reclaims, 1001u);
  EXPECT_EQ(e.held_back_ms, 100'000u + 1'000'000'000u);
  // The rest of the hint is what it would be anyway: abuse changes no TCP value.
  HostCache clean;
  clean.close(kKey, closing(1 * kMs, kMs / 2), 2 * kSec, Policy::temporal);
  tcp::PathHint a = hc.open(kKey, 2 * kSec, Policy::temporal, kMss, kIw);
  const tcp::PathHint b = clean.open(kKey, 2 * kSec, Policy::temporal, kMss, kIw);
  EXPECT_EQ(a.mss, b.mss);
  EXPECT_EQ(a.ssthresh, b.ssthresh);
}

TEST(HostCacheAbuse, CookieFailuresAreShownNeverScoredAndAddNoEntries) {
  HostCache hc;
  // An unknown host (a spoofed source): nothing is stored.
  hc.note_cookie_failures(kKey, 5);
  EXPECT_EQ(hc.size(), 0u);
  hc.close(kKey, closing(1 * kMs, kMs / 2), kSec, Policy::temporal);
  hc.note_cookie_failures(kKey, 5);
  hc.note_cookie_failures(kKey, 7);
  EXPECT_EQ(hc.snapshot()[0].second.cookie_failures, 12u);
  EXPECT_EQ(hc.open(kKey, kSec, Policy::temporal, kMss, kIw).abuse, 0);
}

namespace {

tcp::FastOpenNews cookie_news(uint8_t b, uint8_t len = 8, uint16_t mss = 1460) {
  tcp::FastOpenNews n;
  n.kind = tcp::FastOpenNews::Kind::cookie;
  n.cookie.len = len;
  n.cookie.bytes.fill(b);
  n.mss = mss;
  return n;
}

TEST(HostCacheFastOpen, ACookieIsKeptWhateverThePolicyAgedAndValidated) {
  for (Policy p : {Policy::off, Policy::temporal, Policy::ensemble}) {
    HostCache hc;
    hc.note_fastopen(kKey, cookie_news(0x11), kSec);
    const tcp::PathHint h = hc.peek(kKey, 2 * kSec, p, kMss);
    EXPECT_EQ(h.fastopen.len, 8) << policy_name(p);
    EXPECT_EQ(h.fastopen.bytes[0], 0x11);
    EXPECT_EQ(h.fastopen_mss, 1460);
    EXPECT_FALSE(h.fastopen_blocked);
    // A day later it is no longer offered.
    EXPECT_EQ(hc.peek(kKey, kSec + kFastOpenCookieAgeNs, p, kMss).fastopen.len, 0);
  }
  HostCache hc;
  // A length the option cannot carry is not stored; a tiny MSS is not handed on.
  hc.note_fastopen(kKey, cookie_news(0x22, 3), kSec);
  EXPECT_EQ(hc.peek(kKey, kSec, Policy::temporal, kMss).fastopen.len, 0);
  hc.note_fastopen(kKey, cookie_news(0x22, 8, 100), kSec);
  EXPECT_EQ(hc.peek(kKey, kSec, Policy::temporal, kMss).fastopen.len, 8);
  EXPECT_EQ(hc.peek(kKey, kSec, Policy::temporal, kMss).fastopen_mss, 0);
  // A poisoned entry with a bad length is not handed on either.
  Entry e;
  e.fastopen.len = 17;
  e.fastopen_ns = kSec;
  hc.poke(kKey, e);
  EXPECT_EQ(hc.peek(kKey, kSec, Policy::temporal, kMss).fastopen.len, 0);
}

TEST(HostCacheFastOpen, AServerThatDropsSynDataIsLeftAloneForAWhile) {
  HostCache hc;
  hc.note_fastopen(kKey, cookie_news(0x11), kSec);
  tcp::FastOpenNews lost;
  lost.kind = tcp::FastOpenNews::Kind::syn_data_lost;
  hc.note_fastopen(kKey, lost, 2 * kSec);
  tcp::PathHint h = hc.peek(kKey, 3 * kSec, Policy::temporal, kMss);
  EXPECT_TRUE(h.fastopen_blocked);
  EXPECT_EQ(h.fastopen.len, 0);
  h = hc.peek(kKey, 2 * kSec + kFastOpenBlockNs, Policy::temporal, kMss);
  EXPECT_FALSE(h.fastopen_blocked);  // tried again: asks for a cookie
  EXPECT_EQ(h.fastopen.len, 0);
  // A new cookie ends the block at once.
  hc.note_fastopen(kKey, lost, 4 * kSec);
  hc.note_fastopen(kKey, cookie_news(0x33), 5 * kSec);
  EXPECT_FALSE(hc.peek(kKey, 6 * kSec, Policy::temporal, kMss).fastopen_blocked);
}

TEST(HostCacheFastOpen, TheAdapterHandsANewCookieToTheNextConnectionAtOnce) {
  HostCache hc;
  SharedPathCache core(hc, Policy::temporal);
  EXPECT_EQ(core.open(kKey.local, kKey.remote, kSec, kMss, kIw).fastopen.len, 0);
  core.fastopen(kKey.local, kKey.remote, cookie_news(0x44), kSec + 1);
  // Within the adapter's refresh interval, yet the cookie is there.
  EXPECT_EQ(core.open(kKey.local, kKey.remote, kSec + 2, kMss, kIw).fastopen.len, 8);
}

}  // namespace
