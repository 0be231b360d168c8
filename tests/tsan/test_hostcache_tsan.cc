// The host-pair cache under contention, built with ThreadSanitizer: threads
// open, publish and close connections to a few shared hosts and many private
// ones at once. TSan reports any data race (and fails the run); the test
// checks the bookkeeping comes out exact: every open is closed, every window
// given back, and each host's close count is the number of its closes; a
// reader takes snapshots (as `touchstone stats hostcache` does) throughout.
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "hostcache/hostcache.hh"

using namespace ts;
using namespace ts::hostcache;

int main() {
  HostCache hc({}, 8);
  constexpr int kThreads = 6, kRounds = 20000, kShared = 4;
  std::atomic<int> go{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      go.fetch_add(1);
      while (go.load() < kThreads) {
      }
      for (int i = 0; i < kRounds; ++i) {
        // Shared hosts collide across threads; private ones spread the shards.
        const uint32_t remote = i % 3 == 0 ? 1 + uint32_t(i % kShared)
                                           : 1000 + uint32_t(t) * 100000 + uint32_t(i);
        const Key k{wire::Ipv4Addr{0x0a000002}, wire::Ipv4Addr{remote}};
        const Policy p = i % 2 ? Policy::ensemble : Policy::temporal;
        const uint64_t now = uint64_t(i) * 1000;
        const tcp::PathHint h = hc.open(k, now, p, 1460, 14600);
        uint32_t cwnd = h.ensemble_share ? h.ensemble_share : 14600;
        hc.publish_window(k, 1460);
        hc.publish_window(k, -1460);
        // Ensemble: give back what newcomers on other threads took.
        uint32_t seen = h.ensemble_joins;
        if (const uint32_t cap = hc.publish_window(k, 0, cwnd, &seen)) cwnd = cap;
        tcp::PathReport r;
        r.mss = 1460;
        r.srtt_ns = 1'000'000 + uint64_t(i % 100) * 1000;
        r.rttvar_ns = 100'000;
        r.cwnd = cwnd;
        hc.close(k, r, now + 500, p);
      }
    });
  // Meanwhile `touchstone stats hostcache` reads the cache again and again.
  size_t walks = 0, seen = 0;
  std::thread reader([&] {
    while (go.load() < kThreads) {
    }
    while (go.load() == kThreads) {
      seen += hc.snapshot().size();
      ++walks;
    }
  });
  for (auto& th : threads) th.join();
  go.store(kThreads + 1);
  reader.join();
  std::printf("%zu snapshots taken while the threads ran (%zu entries seen)\n", walks, seen);
  uint64_t closes = 0, open = 0, window = 0;
  for (const auto& [k, e] : hc.snapshot()) {
    closes += e.closes;
    open += e.open;
    window += e.ensemble_cwnd;
  }
  const uint64_t want = uint64_t(kThreads) * kRounds;
  std::printf("hostcache under %d threads: %zu entries, %llu closes (want %llu), %llu open, "
              "%llu bytes of window left\n",
              kThreads, hc.size(), (unsigned long long)closes, (unsigned long long)want,
              (unsigned long long)open, (unsigned long long)window);
  return closes == want && open == 0 && window == 0 && walks > 0 ? 0 : 1;
}
