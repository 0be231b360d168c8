// Temporal sharing through the host-pair cache, in the simulator: short
// transfers (connect, 64-byte request and response, close) one after the
// other to a host 100 ms away, the first SYN of every connection but the
// first lost. Without the cache each lost SYN waits out the 1 s initial RTO;
// with it, the RTO the earlier connections measured. Seeded and bounded; the
// ratio is printed (docs/hostcache.md records it).
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "hostcache/path_cache.hh"
#include "sim/sim.hh"
#include "wire/tcp.hh"
#include "workload/generator.hh"
#include "workload/server.hh"

using namespace ts;
using namespace ts::sim;

namespace {

constexpr uint64_t kMs = 1'000'000, kSec = 1'000'000'000;

// p50 latency (ns) of `n` sequential cps requests with the given policy.
struct Outcome {
  uint64_t p50 = 0, ok = 0, syn_dropped = 0;
};

Outcome run(hostcache::Policy policy, int n) {
  Network net(7);
  Host& server = net.add_host("server", *wire::Ipv4Cidr::parse("10.0.0.1/24"));
  Host& client = net.add_host("client", *wire::Ipv4Cidr::parse("10.0.0.2/24"));
  Outcome out;
  std::set<uint16_t> seen;
  LinkParams up, down;
  up.rate_bps = down.rate_bps = 100e6;
  up.delay_ns = down.delay_ns = 50 * kMs;
  // Client to server: drop the first SYN of every connection after the first.
  up.drop_if = [&](std::span<const uint8_t> f) {
    if (f.size() < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6) return false;
    const uint8_t* tcp = f.data() + 14 + (f[14] & 0x0f) * 4;
    const bool syn = (tcp[13] & wire::tcpflag::syn) && !(tcp[13] & wire::tcpflag::ack);
    if (!syn) return false;
    const uint16_t sport = uint16_t(tcp[0] << 8 | tcp[1]);
    const bool first_of_conn = seen.insert(sport).second;
    if (first_of_conn && seen.size() > 1) {
      ++out.syn_dropped;
      return true;
    }
    return false;
  };
  net.connect(client, server, up, down);
  net.finish();

  hostcache::HostCache cache;
  hostcache::SharedPathCache paths(cache, policy);
  client.stack().tcp().set_path_cache(&paths);

  workload::ServerConfig sc;
  sc.app = workload::ServerApp::echo;
  sc.port = 7;
  workload::Server srv(server.stack().tcp(), sc);
  EXPECT_TRUE(srv.start());
  workload::GenConfig gc;
  gc.mode = workload::GenMode::cps;
  gc.target = server.ip();
  gc.port = 7;
  gc.conns = 1;  // one after the other
  gc.requests = uint64_t(n);
  workload::Generator gen(client.stack().tcp(), gc);
  Simulator& sim = net.sim();
  const uint64_t end = sim.now() + 120 * kSec;
  sim.call_at(sim.now(), [&] {
    gen.start(sim.now());
    client.kick(sim.now());
  });
  std::function<void()> tick = [&] {
    gen.tick(sim.now());
    client.kick(sim.now());
    if (sim.now() + kMs < end) sim.call_at(sim.now() + kMs, tick);
  };
  sim.call_at(sim.now() + kMs, tick);
  sim.run_until_done([&] { return gen.done(); }, end);
  out.ok = gen.stats().responses_ok;
  out.p50 = gen.stats().latency.quantile(0.5);
  return out;
}

TEST(HostCacheSim, TemporalSharingRepairsALostSynAfterTheCachedRto) {
  const int n = 21;
  const Outcome off = run(hostcache::Policy::off, n);
  const Outcome on = run(hostcache::Policy::temporal, n);
  ASSERT_EQ(off.ok, uint64_t(n));
  ASSERT_EQ(on.ok, uint64_t(n));
  EXPECT_EQ(off.syn_dropped, uint64_t(n - 1));
  EXPECT_EQ(on.syn_dropped, uint64_t(n - 1));
  std::printf("median completion with a lost SYN, 100 ms path: default %.0f ms, cached %.0f ms, "
              "ratio %.2f\n",
              double(off.p50) / 1e6, double(on.p50) / 1e6, double(off.p50) / double(on.p50));
  // Default: 1 s RTO, then two round trips. Cached: the measured path's RTO
  // (a few hundred ms at most on a 100 ms path), then the same round trips.
  EXPECT_GT(off.p50, 1100 * kMs);
  EXPECT_LT(on.p50, 700 * kMs);
  EXPECT_GT(double(off.p50) / double(on.p50), 1.8);
}

}  // namespace
