// Several cores on one port: the Toeplitz hash against the published RSS
// verification values, its symmetry under the 0x6d5a key, per-core port pools
// (every active open lands on the opening core), and software steering end to
// end: a port with one queue shared by two cores, serving and connecting,
// with ARP replies copied to the core without a queue and its transmissions
// relayed through the core with one.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "stack/steering.hh"
#include "tcp/connection.hh"
#include "util/rng.hh"
#include "util/spsc_ring.hh"

using namespace ts;

namespace {

wire::Ipv4Addr ip(const char* s) { return *wire::Ipv4Addr::parse(s); }

// The key and IPv4/TCP vectors of the Microsoft RSS verification suite.
const std::vector<uint8_t> kMsKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

TEST(FlowPlacement, ToeplitzMatchesTheRssVerificationSuite) {
  stack::FlowPlacement fp(kMsKey, {0}, 1);
  EXPECT_EQ(fp.hash(ip("66.9.149.187"), ip("161.142.100.80"), 2794, 1766), 0x51ccc178u);
  EXPECT_EQ(fp.hash(ip("199.92.111.2"), ip("65.69.140.83"), 14230, 4739), 0xc626b0eau);
  EXPECT_EQ(fp.hash(ip("24.19.198.95"), ip("12.22.207.184"), 12898, 38024), 0x5c2b394au);
}

TEST(FlowPlacement, SymmetricKeyHashesBothDirectionsAlike) {
  const auto fp = stack::FlowPlacement::spread(3);
  util::Rng rng(5);
  int owners[3] = {};
  for (int i = 0; i < 3000; ++i) {
    const wire::Ipv4Addr a{uint32_t(rng.next())}, b{uint32_t(rng.next())};
    const uint16_t pa = uint16_t(rng.next()), pb = uint16_t(rng.next());
    ASSERT_EQ(fp.hash(a, b, pa, pb), fp.hash(b, a, pb, pa));
    ++owners[fp.owner(a, b, pa, pb)];
  }
  // Spread over every core, roughly evenly.
  for (int n : owners) EXPECT_GT(n, 800);
  // A table naming a core beyond the count is refused.
  EXPECT_THROW(stack::FlowPlacement(stack::FlowPlacement::symmetric_key(), {0, 2}, 2),
               std::invalid_argument);
}

TEST(SpscRing, KeepsOrderAndRefusesWhenFull) {
  util::SpscRing<int> r(5);  // rounded up to 8
  EXPECT_EQ(r.capacity(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(r.push(i));
  EXPECT_FALSE(r.push(99));
  int out[16];
  ASSERT_EQ(r.pop(out, 3), 3u);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[2], 2);
  for (int i = 8; i < 11; ++i) EXPECT_TRUE(r.push(i));
  ASSERT_EQ(r.pop(out, 16), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], i + 3);
  EXPECT_EQ(r.pop(out, 16), 0u);
}

struct Sink : tcp::Events, stack::Acceptor {
  tcp::Events* on_accept(const tcp::FourTuple&) override { return this; }
  void on_connected(tcp::Connection& c) override { tuples.push_back(c.tuple()); }
  std::vector<tcp::FourTuple> tuples;
};

// One MemDevice link; our side's device is shared by `cores` stacks through
// SteeringDevices (core 0 holds the only queue); the peer is one plain stack.
struct SharedPort {
  explicit SharedPort(unsigned cores, uint16_t first_port = 32768, uint16_t last_port = 60999)
      : ours(*wire::MacAddr::parse("02:00:00:00:00:01"), 8192),
        theirs(*wire::MacAddr::parse("02:00:00:00:00:02"), 8192),
        fabric(stack::FlowPlacement::spread(cores), 1, 256) {
    ours.wire_to(&theirs);
    theirs.wire_to(&ours);
    stack::StackConfig pc;
    pc.addr = *wire::Ipv4Cidr::parse("10.0.0.2/24");
    pc.secret[0] = 9;
    peer = std::make_unique<stack::Stack>(theirs, pc);
    for (unsigned c = 0; c < cores; ++c) {
      stack::StackConfig sc;
      sc.addr = *wire::Ipv4Cidr::parse("10.0.0.1/24");
      sc.secret[0] = 3;
      sc.tcp.placement = &fabric.placement();
      sc.tcp.core = uint16_t(c);
      sc.tcp.ephemeral_first = first_port;
      sc.tcp.ephemeral_last = last_port;
      devs.push_back(std::make_unique<stack::SteeringDevice>(fabric, c, ours));
      stacks.push_back(std::make_unique<stack::Stack>(*devs.back(), sc));
      devs.back()->set_counters(&stacks.back()->counters());
    }
  }
  void run(uint64_t& now, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      now += 20'000;
      peer->poll(now);
      for (auto& s : stacks) s->poll(now);
    }
  }
  stack::MemDevice ours, theirs;
  stack::SteeringFabric fabric;
  std::unique_ptr<stack::Stack> peer;
  std::vector<std::unique_ptr<stack::SteeringDevice>> devs;
  std::vector<std::unique_ptr<stack::Stack>> stacks;
};

TEST(Steering, ServerCoresReceiveTheirFlowsThroughOneQueue) {
  SharedPort p(2);
  std::vector<Sink> sinks(2);
  for (int c = 0; c < 2; ++c) ASSERT_TRUE(p.stacks[c]->tcp().listen(80, &sinks[c]));
  Sink client;
  uint64_t now = 1'000'000'000;
  for (int i = 0; i < 40; ++i) {
    ASSERT_NE(p.peer->tcp().connect(ip("10.0.0.1"), 80, &client, now), nullptr);
    p.run(now, 2);  // at most a few segments wait for ARP at a time
  }
  p.run(now, 400);
  ASSERT_EQ(client.tuples.size(), 40u);
  size_t accepted = 0;
  for (unsigned c = 0; c < 2; ++c) {
    // Every connection a core accepted is one the placement gives it.
    for (const auto& t : sinks[c].tuples)
      EXPECT_EQ(p.fabric.placement().owner(t.local_ip, t.remote_ip, t.local_port, t.remote_port), c);
    accepted += sinks[c].tuples.size();
    EXPECT_GT(sinks[c].tuples.size(), 5u) << "core " << c;
  }
  EXPECT_EQ(accepted, 40u);
  const auto& c0 = p.stacks[0]->counters();
  const auto& c1 = p.stacks[1]->counters();
  // Core 0 holds the queue: it passed core 1's segments over and carried its
  // transmissions; core 1 learnt the peer's address from a copied ARP reply.
  EXPECT_GT(c0.steer_out, 0u);
  EXPECT_EQ(c1.steer_in, c0.steer_out);
  EXPECT_GT(c1.steer_tx_relayed, 0u);
  EXPECT_GT(c1.arp_replies_in, 0u);
  EXPECT_EQ(c0.steer_ring_full + c1.steer_ring_full + c1.steer_tx_ring_full, 0u);
  EXPECT_EQ(c0.tcp.tcp_no_listener + c1.tcp.tcp_no_listener, 0u);
}

TEST(Steering, ActiveOpensUseOnlyPortsTheirCoreOwns) {
  // 64 ephemeral ports split between two cores by the hash.
  SharedPort p(2, 40000, 40063);
  Sink server;
  ASSERT_TRUE(p.peer->tcp().listen(80, &server));
  std::vector<Sink> sinks(2);
  uint64_t now = 1'000'000'000;
  std::set<uint16_t> ports[2];
  for (unsigned c = 0; c < 2; ++c) {
    for (;;) {
      tcp::Connection* conn = p.stacks[c]->tcp().connect(ip("10.0.0.2"), 80, &sinks[c], now);
      if (!conn) break;
      const auto& t = conn->tuple();
      ASSERT_EQ(p.fabric.placement().owner(t.local_ip, t.remote_ip, t.local_port, t.remote_port), c);
      ASSERT_TRUE(ports[c].insert(t.local_port).second) << "port used twice";
      p.run(now, 2);
    }
  }
  // Each core used exactly the ports whose flows it owns, and together all 64.
  EXPECT_EQ(ports[0].size() + ports[1].size(), 64u);
  EXPECT_GT(ports[0].size(), 16u);
  EXPECT_GT(ports[1].size(), 16u);
  EXPECT_EQ(p.stacks[0]->counters().tcp.tcp_conn_limit, 1u);
  p.run(now, 400);
  EXPECT_EQ(sinks[0].tuples.size(), ports[0].size());
  EXPECT_EQ(sinks[1].tuples.size(), ports[1].size());
  EXPECT_EQ(server.tuples.size(), 64u);
  // Replies for core 1's connections came in on core 0's queue and were passed on.
  EXPECT_GT(p.stacks[0]->counters().steer_out, 0u);
  EXPECT_EQ(p.stacks[1]->counters().steer_in, p.stacks[0]->counters().steer_out);
}

TEST(Steering, FullRingDropsAreCounted) {
  SharedPort p(2);
  std::vector<Sink> sinks(2);
  for (int c = 0; c < 2; ++c) ASSERT_TRUE(p.stacks[c]->tcp().listen(80, &sinks[c]));
  Sink client;
  uint64_t now = 1'000'000'000;
  // Resolve ARP first, then open many connections while core 1 does not poll:
  // the 256-slot ring toward it fills and the rest is dropped and counted.
  ASSERT_NE(p.peer->tcp().connect(ip("10.0.0.1"), 80, &client, now), nullptr);
  p.run(now, 50);
  for (int i = 0; i < 1500; ++i) p.peer->tcp().connect(ip("10.0.0.1"), 80, &client, now);
  for (int i = 0; i < 20; ++i) {
    now += 20'000;
    p.peer->poll(now);
    p.stacks[0]->poll(now);
  }
  const auto& c0 = p.stacks[0]->counters();
  EXPECT_GT(c0.steer_ring_full, 0u);
  EXPECT_GE(c0.drops(), c0.steer_ring_full);
  // Once core 1 polls again it drains its ring: every frame passed on arrived.
  p.run(now, 100);
  EXPECT_EQ(p.stacks[1]->counters().steer_in, c0.steer_out);
}

}  // namespace
