// The ping workload mode on two stacks wired back to back: one pings, the
// other answers.
#include <gtest/gtest.h>

#include "stack/impair.hh"
#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "workload/ping.hh"

using namespace ts;
using namespace ts::stack;
using workload::GenConfig;
using workload::PingWorkload;

namespace {

struct Pair {
  Pair(const ImpairSpec& server_rx = {}, const ImpairSpec& server_tx = {})
      : dev_a(*wire::MacAddr::parse("02:00:00:00:00:0a"), 4096),
        dev_b(*wire::MacAddr::parse("02:00:00:00:00:0b"), 4096),
        impaired_b(dev_b, server_rx, server_tx),
        client(dev_a, cfg("10.0.0.1/24")),
        server(impaired_b, cfg("10.0.0.2/24")) {
    dev_a.wire_to(&dev_b);
    dev_b.wire_to(&dev_a);
  }
  static StackConfig cfg(const char* cidr) {
    StackConfig c;
    c.addr = *wire::Ipv4Cidr::parse(cidr);
    return c;
  }
  // Runs both stacks and the pinger, advancing time by step_ns per round.
  void run(PingWorkload& p, uint64_t until_ns, uint64_t step_ns = 1000) {
    p.start(now);
    for (; now < until_ns && !p.done(); now += step_ns) {
      p.tick(now);
      client.poll(now);
      server.poll(now);
    }
  }
  MemDevice dev_a, dev_b;
  ImpairedDevice impaired_b;
  Stack client, server;
  uint64_t now = 0;
};

GenConfig ping_cfg(uint64_t count, uint32_t window) {
  GenConfig c;
  c.mode = workload::GenMode::ping;
  c.target = *wire::Ipv4Addr::parse("10.0.0.2");
  c.requests = count;
  c.conns = window;
  return c;
}

}  // namespace

TEST(Ping, ClosedLoopAllAnsweredAndVerified) {
  Pair net;
  PingWorkload p(net.client, ping_cfg(5000, 16));
  net.run(p, 10'000'000'000ull);
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.stats().requests_sent, 5000u);
  EXPECT_EQ(p.stats().responses_ok, 5000u);
  EXPECT_EQ(p.stats().errors + p.stats().responses_bad + p.stats().duplicates + p.stats().foreign, 0u);
  EXPECT_EQ(p.stats().latency.count(), 5000u);
  // One ARP exchange, then echoes only.
  EXPECT_EQ(net.client.counters().arp_requests_out, 1u);
  EXPECT_EQ(net.server.counters().icmp_echo_replies_out, 5000u);
  EXPECT_EQ(net.dev_a.buffers_in_use() + net.dev_b.buffers_in_use(), 0u);
}

TEST(Ping, LossShowsAsTimeouts) {
  ImpairSpec loss;
  loss.loss = 0.2;
  loss.seed = 11;
  Pair net(loss);
  GenConfig c = ping_cfg(2000, 8);
  c.timeout_ns = 10'000'000;
  PingWorkload p(net.client, c);
  net.run(p, 60'000'000'000ull);
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.stats().responses_ok + p.stats().errors, 2000u);
  EXPECT_NEAR(double(p.stats().errors), 400.0, 80.0);
  EXPECT_EQ(p.stats().responses_bad, 0u);
}

TEST(Ping, CorruptedRepliesAreCaught) {
  ImpairSpec corrupt;
  corrupt.corrupt = 1.0;
  Pair net({}, corrupt);
  GenConfig c = ping_cfg(300, 1);
  c.timeout_ns = 5'000'000;
  PingWorkload p(net.client, c);
  net.run(p, 60'000'000'000ull);
  ASSERT_TRUE(p.done());
  // Every reply had one bit flipped: the checksums or the payload check catch
  // each one; none is counted as a good reply.
  EXPECT_EQ(p.stats().responses_ok, 0u);
  const auto& cc = net.client.counters();
  const uint64_t caught = p.stats().responses_bad + p.stats().foreign +
                          cc.parse_error(wire::Error::icmp_bad_checksum) +
                          cc.parse_error(wire::Error::ipv4_bad_checksum) + cc.drops();
  EXPECT_GE(caught, 1u);
  EXPECT_EQ(p.stats().errors, 300u);
}

TEST(Ping, OpenLoopKeepsItsRate) {
  Pair net;
  GenConfig c = ping_cfg(0, 1);
  c.rate = 10000;  // 10k/s for 0.5 s of virtual time
  PingWorkload p(net.client, c);
  net.run(p, 500'000'000ull, 10'000);
  EXPECT_NEAR(double(p.stats().requests_sent), 5000.0, 2.0);
  EXPECT_GE(p.stats().responses_ok + 2, p.stats().requests_sent);
}

TEST(Ping, ReplyFromTheWrongHostIsForeign) {
  Pair net;
  PingWorkload p(net.client, ping_cfg(1, 1));
  EchoReply r{*wire::Ipv4Addr::parse("10.0.0.9"), 0x7473, 0, {}};
  p.on_echo_reply(r, 0);
  EXPECT_EQ(p.stats().foreign, 1u);
}
