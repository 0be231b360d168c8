// The defences of docs/defences.md in the simulator, seeded: attackers that
// ask an echo server for data and never read (their windows shut, the server
// holding the data in persist) spend its buffer budget; legitimate bulk
// transfers to the same server then find no memory. With reclaiming, the
// attackers are reset under pressure and every legitimate transfer completes
// byte-exact; without it, they do not.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "sim/apps.hh"
#include "sim/sim.hh"
#include "workload/server.hh"
#include "workload/slowread.hh"

using namespace ts;
using namespace ts::sim;

namespace {

constexpr uint64_t kMs = 1'000'000, kSec = 1'000'000'000;

struct Outcome {
  size_t legit_complete = 0, legit_corrupt = 0;
  uint64_t reclaimed = 0, attackers_reset = 0, refused = 0;
};

Outcome run(uint64_t seed, uint64_t persist_reclaim_ns) {
  Network net(seed);
  stack::StackConfig server_cfg;
  server_cfg.tcp.max_connections = 256;
  server_cfg.tcp.buffer_memory = 4 << 20;  // 4 MiB of rings
  server_cfg.tcp.persist_reclaim_ns = persist_reclaim_ns;
  Host& server = net.add_host("server", *wire::Ipv4Cidr::parse("10.0.0.1/24"), server_cfg);
  Host& attacker = net.add_host("attacker", *wire::Ipv4Cidr::parse("10.0.0.66/24"));
  Host& client = net.add_host("client", *wire::Ipv4Cidr::parse("10.0.0.2/24"));
  Switch& sw = net.add_switch();
  LinkParams lan;
  lan.rate_bps = 1e9;
  lan.delay_ns = 100'000;
  lan.queue_packets = 1000;
  for (Host* h : {&server, &attacker, &client}) net.connect(*h, sw, lan, lan);
  net.finish();

  workload::ServerConfig echo;
  echo.app = workload::ServerApp::echo;
  echo.port = 7;
  workload::Server srv(server.stack().tcp(), echo);
  EXPECT_TRUE(srv.start());
  BulkReceiver sink(net.sim(), server);
  server.stack().tcp().listen(5001, &sink);

  // 200 attackers, each sending 64 KiB to be echoed and reading none of it:
  // about 60 KiB each stays in the server's send rings, 12 MiB in all.
  workload::GenConfig gc;
  gc.mode = workload::GenMode::slowread;
  gc.target = server.ip();
  gc.port = 7;
  gc.conns = 200;
  gc.req_size = 64 * 1024;
  workload::SlowRead attack(attacker.stack().tcp(), gc);

  // Four legitimate 2 MiB transfers start once the attack has settled.
  std::vector<std::unique_ptr<BulkSender>> legit;
  Simulator& sim = net.sim();
  sim.call_at(sim.now(), [&] {
    attack.start(sim.now());
    attacker.kick(sim.now());
  });
  std::function<void()> tick = [&] {
    attack.tick(sim.now());
    attacker.kick(sim.now());
    if (sim.now() < 60 * kSec) sim.call_at(sim.now() + 10 * kMs, tick);
  };
  sim.call_at(sim.now() + 10 * kMs, tick);
  sim.call_at(2 * kSec, [&] {
    for (int i = 0; i < 4; ++i) {
      legit.push_back(std::make_unique<BulkSender>(sim, client, 2u << 20));
      legit.back()->start(server.ip(), 5001);
    }
    client.kick(sim.now());
  });
  sim.run_until(60 * kSec);

  Outcome o;
  for (const auto& f : sink.flows()) {
    if (f.corrupt) ++o.legit_corrupt;
    if (f.fin && f.received == (2u << 20)) ++o.legit_complete;
  }
  const auto& c = server.stack().counters().tcp;
  o.reclaimed = c.tcp_reclaim_persist;
  o.refused = c.tcp_buffer_refused;
  o.attackers_reset = attack.stats().conns_reset;
  return o;
}

}  // namespace

TEST(Defences, ReclaimingHeldBackConnectionsLetsLegitimateTransfersComplete) {
  for (uint64_t seed : {1, 2, 3}) {
    const Outcome with = run(seed, 5 * kSec);
    EXPECT_EQ(with.legit_complete, 4u) << "seed " << seed;
    EXPECT_EQ(with.legit_corrupt, 0u) << "seed " << seed;
    EXPECT_GT(with.reclaimed, 0u) << "seed " << seed;
    EXPECT_EQ(with.attackers_reset, with.reclaimed) << "seed " << seed;
    std::printf("seed %llu: %zu of 4 legitimate transfers complete, %llu attackers reclaimed, "
                "%llu ring refusals\n",
                (unsigned long long)seed, with.legit_complete, (unsigned long long)with.reclaimed,
                (unsigned long long)with.refused);
  }
  // The same attack without reclaiming: the budget stays spent.
  const Outcome without = run(1, 0);
  EXPECT_LT(without.legit_complete, 4u);
  EXPECT_EQ(without.reclaimed, 0u);
  EXPECT_GT(without.refused, 0u);
  std::printf("without reclaiming: %zu of 4 complete, %llu ring refusals\n",
              without.legit_complete, (unsigned long long)without.refused);
}
