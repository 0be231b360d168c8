#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "stack/arp_cache.hh"
#include "util/histogram.hh"
#include "util/rng.hh"

using namespace ts;

TEST(Histogram, ExactBelowTheSubBucketCount) {
  util::Histogram h;
  for (uint64_t v = 0; v < 100; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 99u);
  EXPECT_EQ(h.quantile(0.5), 49u);
  EXPECT_EQ(h.quantile(1.0), 99u);
  EXPECT_DOUBLE_EQ(h.mean(), 49.5);
}

TEST(Histogram, RelativeErrorIsBounded) {
  util::Rng rng(5);
  std::vector<uint64_t> values;
  util::Histogram h;
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = rng.next() >> (rng.below(60));  // spread over many magnitudes
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const uint64_t exact = values[size_t(std::ceil(q * values.size())) - 1];
    const double got = double(h.quantile(q));
    EXPECT_LE(std::abs(got - double(exact)), double(exact) / 128.0 + 1) << "q=" << q;
  }
  EXPECT_EQ(h.max(), values.back());
}

TEST(Histogram, BucketsTileTheRange) {
  for (unsigned i = 1; i < util::Histogram::kBuckets; ++i)
    ASSERT_EQ(util::Histogram::bucket_low(i), util::Histogram::bucket_high(i - 1) + 1) << i;
  EXPECT_EQ(util::Histogram::index_of(UINT64_MAX), util::Histogram::kBuckets - 1);
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 255ull, 256ull, 1000ull, 123456789ull}) {
    unsigned i = util::Histogram::index_of(v);
    EXPECT_LE(util::Histogram::bucket_low(i), v);
    EXPECT_GE(util::Histogram::bucket_high(i), v);
  }
}

TEST(Histogram, Merge) {
  util::Histogram a, b;
  a.record(10);
  b.record(1000, 3);
  a.merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 10u);
  EXPECT_EQ(a.max(), 1000u);
}

TEST(ArpCache, RandomOperationsMatchAModel) {
  // Inserts and removals (through failed resolutions and eviction) in a small
  // table with many collisions; the cache must agree with a plain map.
  stack::ArpConfig cfg;
  cfg.capacity = 64;
  cfg.max_requests = 1;
  cfg.retry_ns = 10;
  cfg.reachable_ns = 1'000'000;
  stack::ArpCache cache(cfg);
  struct Known {
    uint8_t mac;
    uint64_t expires;
  };
  std::map<uint32_t, Known> model;  // reachable entries
  util::Rng rng(17);
  uint64_t now = 0;
  size_t evictions = 0;
  for (int step = 0; step < 20000; ++step) {
    now += 1;
    const wire::Ipv4Addr ip(0x0a000000u + uint32_t(rng.below(80)));
    const auto before = model;
    const uint32_t version_before = cache.version();
    switch (rng.below(3)) {
      case 0: {  // learn
        wire::MacAddr mac;
        mac.b[5] = uint8_t(rng.next());
        if (auto* e = cache.learn(ip, mac, now, true)) {
          model[ip.v] = {mac.b[5], now + cfg.reachable_ns};
          stack::Packet waiting;
          while (cache.pop(*e, waiting)) {
          }
        }
        break;
      }
      case 1: {  // start a resolution that will fail; may evict the oldest mapping
        if (model.count(ip.v)) break;
        stack::Packet p;
        auto h = cache.hold(ip, p, now);
        EXPECT_TRUE(h.kept || h.table_full);
        std::vector<uint32_t> gone;
        for (const auto& [v, k] : model)
          if (!cache.resolved(wire::Ipv4Addr(v), now)) gone.push_back(v);
        ASSERT_LE(gone.size(), 1u) << "step " << step;
        if (!gone.empty()) {
          for (const auto& [v, k] : model)
            ASSERT_GE(k.expires, model[gone[0]].expires) << "evicted one that is not the oldest";
          model.erase(gone[0]);
          ++evictions;
        }
        break;
      }
      default:  // timers: failed resolutions are removed
        cache.tick(now + 100, [](wire::Ipv4Addr) {}, [](stack::Packet&) {});
        cache.tick(now + 200, [](wire::Ipv4Addr) {}, [](stack::Packet&) {});
        break;
    }
    // A mapping that changed its MAC or left the table changes the version
    // (header templates copy MACs while it holds: docs/performance.md).
    bool changed = false;
    for (const auto& [v, k] : before)
      if (!model.count(v) || model.at(v).mac != k.mac) changed = true;
    if (changed) {
      ASSERT_NE(cache.version(), version_before) << "step " << step;
    }
    for (const auto& [v, k] : model) {
      const stack::ArpCache::Entry* e = cache.resolved(wire::Ipv4Addr(v), now);
      ASSERT_NE(e, nullptr) << "step " << step;
      ASSERT_EQ(e->mac.b[5], k.mac);
    }
    ASSERT_LE(cache.size() * 4, cache.capacity() * 3);
  }
  EXPECT_GT(evictions, 0u);  // the table did fill up
}
