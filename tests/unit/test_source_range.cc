// Active opens from a range of source addresses and ports: the endpoint uses
// every (address, port) pair once, answers ARP for each address, refuses (and
// counts) the next connection when all are taken, and the server sees the
// connections arrive from every address.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "tcp/connection.hh"

using namespace ts;

namespace {

struct Sink : tcp::Events, stack::Acceptor {
  tcp::Events* on_accept(const tcp::FourTuple& t) override {
    sources.insert(t.remote_ip.v);
    return this;
  }
  void on_connected(tcp::Connection&) override { ++established; }
  std::set<uint32_t> sources;
  int established = 0;
};

TEST(SourceRange, EveryAddressAndPortIsUsedThenConnectsAreRefused) {
  stack::MemDevice dev_s(*wire::MacAddr::parse("02:00:00:00:00:01"), 4096);
  stack::MemDevice dev_c(*wire::MacAddr::parse("02:00:00:00:00:02"), 4096);
  dev_s.wire_to(&dev_c);
  dev_c.wire_to(&dev_s);
  stack::StackConfig cs, cc;
  cs.addr = *wire::Ipv4Cidr::parse("10.0.0.1/24");
  cc.addr = *wire::Ipv4Cidr::parse("10.0.0.2/24");
  cc.extra_first = *wire::Ipv4Addr::parse("10.0.0.100");
  cc.extra_last = *wire::Ipv4Addr::parse("10.0.0.102");
  cc.tcp.ephemeral_first = 40000;
  cc.tcp.ephemeral_last = 40009;
  cc.secret[0] = 7;
  stack::Stack server(dev_s, cs), client(dev_c, cc);
  Sink srv, cli;
  ASSERT_TRUE(server.tcp().listen(80, &srv));

  uint64_t now = 1'000'000'000;
  std::map<uint32_t, std::set<uint16_t>> used;  // source address -> ports
  for (int i = 0; i < 30; ++i) {
    tcp::Connection* c = client.tcp().connect(cs.addr.addr, 80, &cli, now);
    ASSERT_NE(c, nullptr) << "connection " << i;
    used[c->tuple().local_ip.v].insert(c->tuple().local_port);
    now += 1000;
    client.poll(now);
    server.poll(now);
  }
  // Three addresses, ten ports each, each pair once; the primary address is
  // not a source when a range is given.
  ASSERT_EQ(used.size(), 3u);
  for (auto& [addr, ports] : used) {
    EXPECT_GE(addr, cc.extra_first.v);
    EXPECT_LE(addr, cc.extra_last.v);
    EXPECT_EQ(ports.size(), 10u);
  }
  const uint64_t limit_before = client.counters().tcp.tcp_conn_limit;
  EXPECT_EQ(client.tcp().connect(cs.addr.addr, 80, &cli, now), nullptr);
  EXPECT_EQ(client.counters().tcp.tcp_conn_limit, limit_before + 1);

  for (int i = 0; i < 200; ++i) {
    now += 10'000;
    client.poll(now);
    server.poll(now);
  }
  EXPECT_EQ(cli.established, 30);
  EXPECT_EQ(srv.established, 30);
  EXPECT_EQ(srv.sources.size(), 3u);
  // The server resolved every source address through ARP: the client answered
  // for each of them.
  EXPECT_GE(client.counters().arp_requests_in, 3u);
}

}  // namespace
