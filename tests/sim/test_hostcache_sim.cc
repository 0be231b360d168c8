// Temporal sharing through the host-pair cache, in the simulator: short
// transfers (connect, 64-byte request and response, close) one after the
// other to a host 100 ms away, the first SYN of every connection but the
// first lost. Without the cache each lost SYN waits out the 1 s initial RTO;
// with it, the RTO the earlier connections measured. Seeded and bounded; the
// ratio is printed (docs/hostcache.md records it).
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <vector>

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
  // The client closes after the answer, so each connection leaves the cache
  // three RTT samples (the bounds below were set so).
  gc.cps_half_close = false;
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

// Ensemble sharing: one bulk connection has the bottleneck (10 Mbit/s, 100 ms
// round trip, a 50-packet queue) to itself for 5 s; then ten more start at
// once. Without ensemble sharing each newcomer adds a full initial window and
// slow-starts on top of a full pipe; with it, each takes a share of what the
// ensemble holds (starting at no more than the initial window, in congestion
// avoidance above its share) and the first connection gives that up.
struct EnsembleOutcome {
  uint64_t drops_first = 0;    // queue drops in the newcomers' first 5 round trips
  uint64_t drops_total = 0;    // ... and in the 10 s after they start
  std::vector<double> jain;    // per 250 ms after they start
  double jain_first_2s = 0;    // the mean of the first 8 intervals
};

double jain_index(const std::vector<double>& x) {
  double sum = 0, sq = 0;
  for (double v : x) {
    sum += v;
    sq += v * v;
  }
  return sq > 0 ? sum * sum / (double(x.size()) * sq) : 0;
}

EnsembleOutcome run_ensemble(hostcache::Policy policy) {
  Network net(11);
  Host& server = net.add_host("server", *wire::Ipv4Cidr::parse("10.0.0.1/24"));
  Host& client = net.add_host("client", *wire::Ipv4Cidr::parse("10.0.0.2/24"));
  LinkParams up, down;
  up.rate_bps = 10e6;
  down.rate_bps = 100e6;
  up.delay_ns = down.delay_ns = 50 * kMs;
  up.queue_packets = 100;
  Link* bottleneck = net.connect(client, server, up, down).first;
  net.finish();

  hostcache::HostCache cache;
  hostcache::SharedPathCache paths(cache, policy);
  client.stack().tcp().set_path_cache(&paths);
  workload::ServerConfig sc;
  sc.app = workload::ServerApp::discard;
  sc.port = 9;
  workload::Server srv(server.stack().tcp(), sc);
  EXPECT_TRUE(srv.start());
  workload::GenConfig gc;
  gc.mode = workload::GenMode::bulk;
  gc.target = server.ip();
  gc.port = 9;
  gc.conns = 1;
  workload::Generator first(client.stack().tcp(), gc);
  gc.conns = 10;
  workload::Generator newcomers(client.stack().tcp(), gc);

  Simulator& sim = net.sim();
  const uint64_t t0 = sim.now(), join = t0 + 5 * kSec, end = join + 10 * kSec;
  const uint64_t interval = 250 * kMs;
  EnsembleOutcome out;
  uint64_t drops_at_join = 0;
  std::map<uint16_t, uint64_t> last;  // local port -> bytes acknowledged
  sim.call_at(t0, [&] { first.start(sim.now()); });
  sim.call_at(join, [&] {
    drops_at_join = bottleneck->stats().queue_drops;
    client.stack().tcp().for_each_connection(0, SIZE_MAX, [&](const tcp::Connection& c) {
      last[c.tuple().local_port] = c.bytes_acked();
    });
    newcomers.start(sim.now());
  });
  sim.call_at(join + 500 * kMs,
              [&] { out.drops_first = bottleneck->stats().queue_drops - drops_at_join; });
  for (uint64_t t = join + interval; t <= end; t += interval)
    sim.call_at(t, [&] {
      std::vector<double> rates;
      client.stack().tcp().for_each_connection(0, SIZE_MAX, [&](const tcp::Connection& c) {
        const uint64_t acked = c.bytes_acked();
        rates.push_back(double(acked - last[c.tuple().local_port]));
        last[c.tuple().local_port] = acked;
      });
      out.jain.push_back(rates.size() == 11 ? jain_index(rates) : 0);
    });
  std::function<void()> tick = [&] {
    first.tick(sim.now());
    newcomers.tick(sim.now());
    client.kick(sim.now());
    if (sim.now() + kMs < end) sim.call_at(sim.now() + kMs, tick);
  };
  sim.call_at(t0 + kMs, tick);
  sim.run_until(end + kMs);
  out.drops_total = bottleneck->stats().queue_drops - drops_at_join;
  for (size_t i = 0; i < 8 && i < out.jain.size(); ++i) out.jain_first_2s += out.jain[i] / 8;
  return out;
}

TEST(HostCacheSim, EnsembleSharingAvoidsTheNewcomersBurstAndConvergesFaster) {
  const EnsembleOutcome alone = run_ensemble(hostcache::Policy::temporal);
  const EnsembleOutcome shared = run_ensemble(hostcache::Policy::ensemble);
  ASSERT_EQ(alone.jain.size(), 40u);
  ASSERT_EQ(shared.jain.size(), 40u);
  std::printf("10 newcomers joining a bulk connection at a 10 Mbit/s, 100 ms, 100-packet "
              "bottleneck:\n  queue drops in their first 5 RTTs: temporal %llu, ensemble %llu; "
              "in 10 s: %llu vs %llu\n  Jain's index, mean of the first 2 s: %.3f vs %.3f\n"
              "  Jain's index every 250 ms (temporal / ensemble):\n",
              (unsigned long long)alone.drops_first, (unsigned long long)shared.drops_first,
              (unsigned long long)alone.drops_total, (unsigned long long)shared.drops_total,
              alone.jain_first_2s, shared.jain_first_2s);
  for (size_t i = 0; i < alone.jain.size(); ++i)
    std::printf("    %5.2f s  %.3f  %.3f\n", double(i + 1) * 0.25, alone.jain[i], shared.jain[i]);
  // Fewer drops when they arrive, and fair shares sooner.
  EXPECT_LT(shared.drops_first * 2, alone.drops_first);
  EXPECT_LT(shared.drops_total, alone.drops_total);
  EXPECT_GT(shared.jain_first_2s, alone.jain_first_2s + 0.15);
}

}  // namespace
