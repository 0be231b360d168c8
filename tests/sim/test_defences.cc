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
#include "workload/synflood.hh"

using namespace ts;
using namespace ts::sim;

namespace {

constexpr uint64_t kMs = 1'000'000, kSec = 1'000'000'000;

// Starts `w` on `host` now and ticks it every `period` until `until`; with
// `stop`, the workload is told to stop then (a flood ends, its state drains).
template <class Workload>
void drive(Simulator& sim, Host& host, Workload& w, uint64_t period, uint64_t until, bool stop) {
  sim.call_at(sim.now(), [&sim, &host, &w] {
    w.start(sim.now());
    host.kick(sim.now());
  });
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [&sim, &host, &w, tick_ref = std::weak_ptr<std::function<void()>>(tick), period, until,
           stop] {
    w.tick(sim.now());
    host.kick(sim.now());
    if (sim.now() < until) {
      if (auto t = tick_ref.lock()) sim.call_at(sim.now() + period, [t] { (*t)(); });
    } else if (stop) {
      w.stop();
    }
  };
  sim.call_at(sim.now() + period, [tick] { (*tick)(); });
}

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
  drive(sim, attacker, attack, 10 * kMs, 60 * kSec, false);
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

// A SYN flood from one host (random source ports, no state kept, 100k SYNs a
// second) against an echo server whose listener takes 64 half-open
// connections, with four legitimate cps connections at a time from the same
// host beside it. With cookies (automatic, the default) every SYN is answered
// and the legitimate connections complete; without, the flood's half-open
// entries fill the backlog and the legitimate SYNs are dropped. (The
// legitimate exchanges go past the attacker host's 4096 connection slots,
// which fill with TIME-WAITs: the oldest gives up its slot, docs/tcp.md.)
namespace {

struct FloodOutcome {
  uint64_t syns = 0, syn_acks = 0, cookies = 0, backlog_full = 0;
  uint64_t legit_ok = 0, legit_failed = 0;
};

FloodOutcome flood(uint64_t seed, stack::SynCookieMode mode) {
  Network net(seed);
  stack::StackConfig server_cfg;
  server_cfg.tcp.syncookies = mode;
  Host& server = net.add_host("server", *wire::Ipv4Cidr::parse("10.0.0.1/24"), server_cfg);
  Host& attacker = net.add_host("attacker", *wire::Ipv4Cidr::parse("10.0.0.66/24"));
  Switch& sw = net.add_switch();
  LinkParams lan;
  lan.rate_bps = 1e9;
  lan.delay_ns = 100'000;
  lan.queue_packets = 1000;
  for (Host* h : {&server, &attacker}) net.connect(*h, sw, lan, lan);
  net.finish();

  workload::ServerConfig echo;
  echo.app = workload::ServerApp::echo;
  echo.port = 7;
  echo.backlog = 64;
  workload::Server srv(server.stack().tcp(), echo);
  EXPECT_TRUE(srv.start());

  workload::GenConfig gc;
  gc.mode = workload::GenMode::synflood;
  gc.target = server.ip();
  gc.port = 7;
  gc.rate = 100'000;
  gc.port_first = 1024;
  gc.port_last = 32767;  // below the ephemeral range the legitimate connections use
  gc.legit_conns = 4;
  gc.seed = seed;
  workload::SynFlood attack(attacker.stack(), gc);

  Simulator& sim = net.sim();
  drive(sim, attacker, attack, kMs, 2 * kSec, true);
  sim.run_until(3 * kSec);

  FloodOutcome o;
  const workload::GenStats s = attack.final_stats();
  o.syns = s.requests_sent;
  o.syn_acks = s.responses_ok;
  o.legit_ok = s.legit_ok;
  o.legit_failed = s.conns_failed + s.legit_errors;
  const auto& c = server.stack().counters().tcp;
  o.cookies = c.tcp_syncookie_sent;
  o.backlog_full = c.tcp_backlog_full;
  return o;
}

}  // namespace

TEST(Defences, SynCookiesKeepLegitimateConnectionsGoingThroughAFlood) {
  FloodOutcome first;
  for (uint64_t seed : {1, 2}) {
    const FloodOutcome with = flood(seed, stack::SynCookieMode::automatic);
    if (seed == 1) first = with;
    EXPECT_GT(with.syns, 190'000u) << "seed " << seed;
    // Every SYN answered: the first 64 from the half-open table, the rest with cookies.
    EXPECT_GE(with.syn_acks, with.syns * 99 / 100) << "seed " << seed;
    EXPECT_GT(with.cookies, with.syns * 9 / 10) << "seed " << seed;
    EXPECT_GT(with.legit_ok, 4096u) << "seed " << seed;
    EXPECT_EQ(with.legit_failed, 0u) << "seed " << seed;
    std::printf("seed %llu, cookies: %llu SYNs, %llu SYN-ACKs (%llu cookies); %llu legitimate "
                "exchanges, %llu failed\n",
                (unsigned long long)seed, (unsigned long long)with.syns,
                (unsigned long long)with.syn_acks, (unsigned long long)with.cookies,
                (unsigned long long)with.legit_ok, (unsigned long long)with.legit_failed);
  }
  const FloodOutcome without = flood(1, stack::SynCookieMode::never);
  EXPECT_EQ(without.cookies, 0u);
  EXPECT_GT(without.backlog_full, without.syns / 2);
  EXPECT_LT(without.legit_ok * 10, first.legit_ok);
  std::printf("without cookies: %llu SYN-ACKs, %llu SYNs dropped with the backlog full; %llu "
              "legitimate exchanges, %llu failed\n",
              (unsigned long long)without.syn_acks, (unsigned long long)without.backlog_full,
              (unsigned long long)without.legit_ok, (unsigned long long)without.legit_failed);
}
