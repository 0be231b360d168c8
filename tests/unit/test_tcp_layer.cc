// The TCP layer on its own, over a recording IP layer (no Stack, no frames):
// what a closed port and a listening port answer (RFC 9293 3.10.7.1 and
// 3.10.7.2), a TIME-WAIT that a newer SYN replaces (RFC 6191) while an old
// one does not, the listener asking the application only once a slot is
// held, and active opens taking the source addresses in turn.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "stack/steering.hh"
#include "stack/tcp_layer.hh"
#include "tcp/seq.hh"
#include "tcp_layer_harness.hh"

using namespace ts;
using namespace ts::stack;
using namespace ts::layer_harness;

namespace {

TEST(TcpLayerClosed, EverythingButAResetIsAnsweredWithAReset) {
  Layer l;
  // A SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, the SYN counting one.
  auto s = l.feed(kClosedPort, flag::syn, 1000, 0, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst | flag::ack);
  EXPECT_EQ(s[0].seq, 0u);
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_EQ(s[0].src, kOurIp);
  EXPECT_EQ(s[0].dst, kPeerIp);
  EXPECT_EQ(s[0].sport, kClosedPort);
  EXPECT_EQ(s[0].dport, kPeerPort);
  // An ACK: <SEQ=SEG.ACK><CTL=RST>.
  s = l.feed(kClosedPort, flag::ack, 1000, 777, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, 777u);
  // A reset is never answered.
  EXPECT_TRUE(l.feed(kClosedPort, flag::rst, 1000, 0, kMs).empty());
  EXPECT_EQ(l.ctr.tcp_no_listener, 3u);
}

TEST(TcpLayerListen, AnAckGetsAResetAResetAndABareSegmentAreDropped) {
  Layer l;
  auto s = l.feed(kListenPort, flag::ack, 1000, 4242, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, 4242u);
  EXPECT_TRUE(l.feed(kListenPort, flag::rst, 1000, 0, kMs).empty());
  EXPECT_TRUE(l.feed(kListenPort, flag::fin, 1000, 0, kMs).empty());
  EXPECT_TRUE(l.feed(kListenPort, 0, 1000, 0, kMs, 10).empty());
  EXPECT_EQ(l.ctr.tcp_listen_dropped, 4u);
  EXPECT_EQ(l.ctr.tcp_no_listener, 0u);
  EXPECT_EQ(l.tcp.connections(), 0u);
  EXPECT_EQ(l.app.asked, 0);
  // A SYN with an ACK is not an opening either: reset.
  s = l.feed(kListenPort, flag::syn | flag::ack, 1000, 99, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, 99u);
}

TEST(TcpLayerListen, AHandshakeInProgressHoldsNoConnection) {
  Layer l;
  auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_TRUE(s[0].opts.has_mss);
  EXPECT_EQ(l.tcp.connections(), 0u);  // an entry of the half-open table only
  EXPECT_EQ(l.tcp.half_open(), 1u);
  EXPECT_EQ(l.app.asked, 0);           // asked when the handshake completes
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 1001, s[0].seq + 1, 2 * kMs).empty());
  EXPECT_EQ(l.tcp.connections(), 1u);
  EXPECT_EQ(l.tcp.half_open(), 0u);
  EXPECT_EQ(l.app.asked, 1);
  EXPECT_EQ(l.app.connected, 1);
  ASSERT_NE(l.app.conn, nullptr);
  EXPECT_EQ(l.app.conn->state(), tcp::State::established);
  EXPECT_EQ(l.app.conn->snd_una(), s[0].seq + 1);
  EXPECT_EQ(l.app.conn->rcv_nxt(), 1001u);
  // The SYN-ACK's round trip (1 ms) is the connection's first RTT sample.
  EXPECT_EQ(l.app.conn->rtt().srtt(), kMs);
}

TEST(TcpLayerListen, DataOnTheThirdAckIsReceived) {
  Layer l;
  auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs);
  ASSERT_EQ(s.size(), 1u);
  l.feed(kListenPort, flag::ack | flag::psh, 1001, s[0].seq + 1, 2 * kMs, 300);
  ASSERT_NE(l.app.conn, nullptr);
  EXPECT_EQ(l.app.conn->rcv_nxt(), 1301u);
  EXPECT_EQ(l.app.conn->readable().size(), 300u);
}

TEST(TcpLayerListen, WithoutASlotTheAckIsDroppedAndTheHandshakeWaits) {
  Layer l(1);
  const uint32_t iss = l.open(1000, kMs);
  ASSERT_EQ(l.app.asked, 1);
  auto s = l.feed(kListenPort, flag::syn, 5000, 0, kMs, 0, kPeerPort + 1);
  ASSERT_EQ(s.size(), 1u);  // the handshake needs no slot
  // Its ACK finds none: dropped (as if lost), the entry kept, the
  // application not asked, so nothing it would make is left without one.
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 5001, s[0].seq + 1, kMs, 0, kPeerPort + 1).empty());
  EXPECT_EQ(l.app.asked, 1);
  EXPECT_EQ(l.ctr.tcp_conn_limit, 1u);
  EXPECT_EQ(l.tcp.half_open(), 1u);
  // The first connection ends; the second's next ACK gets the slot.
  l.app.conn->abort();
  l.tcp.poll(2 * kMs);
  EXPECT_EQ(l.tcp.connections(), 0u);
  const auto rst = l.ip.take();
  ASSERT_EQ(rst.size(), 1u);  // the abort's reset
  EXPECT_EQ(rst[0].flags, flag::rst);
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 5001, s[0].seq + 1, 3 * kMs, 0, kPeerPort + 1).empty());
  EXPECT_EQ(l.app.connected, 2);
  EXPECT_EQ(l.tcp.connections(), 1u);
  (void)iss;
}

TEST(TcpLayerListen, ARefusedConnectionIsResetAndGivesItsSlotBack) {
  Layer l(1);
  l.app.refuse = true;
  auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs);
  ASSERT_EQ(s.size(), 1u);
  const uint32_t iss = s[0].seq;
  s = l.feed(kListenPort, flag::ack, 1001, iss + 1, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(l.ctr.tcp_refused, 1u);
  EXPECT_EQ(l.tcp.connections(), 0u);
  // The handshake's place in the flow table, handed to the connection, went
  // with it: the peer's next ACK meets the listener (a reset), not the entry.
  s = l.feed(kListenPort, flag::ack, 1001, iss + 1, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, iss + 1);
  EXPECT_EQ(l.ctr.tcp_refused, 1u);
  EXPECT_EQ(l.tcp.half_open(), 0u);
  // The one slot is free again for the next connection the application takes.
  l.app.refuse = false;
  l.open(2000, kMs);
  EXPECT_EQ(l.app.connected, 1);
  EXPECT_EQ(l.tcp.connections(), 1u);
}

TEST(TcpLayerListen, SynReceivedWithoutAConnectionFollowsRfc9293And5961) {
  Layer l;
  auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs);
  ASSERT_EQ(s.size(), 1u);
  const uint32_t iss = s[0].seq;
  // The same SYN again: the SYN-ACK again.
  s = l.feed(kListenPort, flag::syn, 1000, 0, 2 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
  EXPECT_EQ(s[0].seq, iss);
  // Another SYN on the 4-tuple, or a reset inside the window but not at
  // RCV.NXT: a challenge ACK.
  s = l.feed(kListenPort, flag::syn, 7777, 0, 3 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::ack);
  EXPECT_EQ(s[0].seq, iss + 1);
  EXPECT_EQ(s[0].ack, 1001u);
  s = l.feed(kListenPort, flag::rst, 1005, 0, 3 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::ack);
  EXPECT_EQ(l.tcp.half_open(), 1u);
  // An ACK of something we never sent: a reset, <SEQ=SEG.ACK>.
  s = l.feed(kListenPort, flag::ack, 1001, iss + 7, 3 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, iss + 7);
  EXPECT_EQ(l.tcp.half_open(), 1u);
  // A reset at RCV.NXT ends the handshake.
  EXPECT_TRUE(l.feed(kListenPort, flag::rst, 1001, 0, 4 * kMs).empty());
  EXPECT_EQ(l.tcp.half_open(), 0u);
  EXPECT_EQ(l.app.asked, 0);
}

TEST(TcpLayerListen, AnUnansweredSynAckIsSentAgainWithBackoffThenGivenUp) {
  Layer l;
  auto s = l.feed(kListenPort, flag::syn, 1000, 0, 0);
  ASSERT_EQ(s.size(), 1u);
  std::vector<uint64_t> resent_at;
  for (uint64_t t = 0; t < 200'000 * kMs; t += 10 * kMs) {
    l.tcp.poll(t);
    for (const Seg& x : l.ip.take())
      if (x.flags == (flag::syn | flag::ack)) resent_at.push_back(t / (10 * kMs) * 10);
  }
  // 1, 3, 7, 15, 31, 63 s after the SYN (RFC 6298 5.5), then given up.
  ASSERT_EQ(resent_at.size(), size_t(tcp::TcpConfig{}.syn_retries));
  // (at the timer wheel's resolution)
  EXPECT_NEAR(double(resent_at[0]), 1000, 40);
  EXPECT_NEAR(double(resent_at[1]), 3000, 40);
  EXPECT_NEAR(double(resent_at[2]), 7000, 40);
  EXPECT_EQ(l.ctr.tcp_half_open_expired, 1u);
  EXPECT_EQ(l.tcp.half_open(), 0u);
}

TEST(TcpLayerListen, ClosingAListenerLeavesItsConnectionsWorking) {
  Layer l;
  // One connection established, one half-open (its SYN-ACK not yet acknowledged).
  const uint32_t iss = l.open(1000, kMs);
  auto s = l.feed(kListenPort, flag::syn, 5000, 0, kMs, 0, kPeerPort + 1);
  ASSERT_EQ(s.size(), 1u);
  const uint32_t iss2 = s[0].seq;
  l.tcp.unlisten(kListenPort);
  // The connection goes on: data is acknowledged
  // (two segments, so that the ACK is not delayed).
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 1001, iss + 1, 2 * kMs, 1000).empty());
  s = l.feed(kListenPort, flag::ack, 2001, iss + 1, 2 * kMs, 1000);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 3001u);
  // The handshake in progress went with the listener: its ACK finds a
  // closed port and gets a reset.
  EXPECT_EQ(l.tcp.half_open(), 0u);
  s = l.feed(kListenPort, flag::ack, 5001, iss2 + 1, 2 * kMs, 0, kPeerPort + 1);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(l.app.connected, 1);
  EXPECT_EQ(l.tcp.connections(), 1u);
  EXPECT_EQ(l.ctr.tcp_no_listener, 1u);
  // The port can be listened on again; unlistening a port nobody listens on
  // does nothing.
  l.tcp.unlisten(kClosedPort);
  EXPECT_TRUE(l.tcp.listen(kListenPort, &l.app));
  s = l.feed(kListenPort, flag::syn, 9000, 0, 4 * kMs, 0, kPeerPort + 2);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
}

// ---------------------------------------------------------------- SYN cookies

namespace {

wire::TcpOptions syn_options(bool ts, int wscale, bool sack, uint16_t mss = 1460) {
  wire::TcpOptions o;
  o.has_mss = true;
  o.mss = mss;
  if (wscale >= 0) {
    o.has_wscale = true;
    o.wscale = uint8_t(wscale);
  }
  o.sack_permitted = sack;
  if (ts) {
    o.has_timestamps = true;
    o.tsval = 5555;
  }
  return o;
}

}  // namespace

TEST(TcpLayerCookies, BeyondTheBacklogSynsGetCookiesAndTheirAcksConnect) {
  Layer l(64, {kOurIp}, SynCookieMode::automatic, 2);
  for (uint16_t i = 0; i < 2; ++i)
    ASSERT_EQ(l.feed(kListenPort, flag::syn, 100 * i, 0, kMs, 0, uint16_t(kPeerPort + i)).size(), 1u);
  EXPECT_EQ(l.tcp.half_open(), 2u);
  // The backlog is full: a cookie, no state.
  auto s = l.feed(kListenPort, flag::syn, 9000, 0, kMs, 0, kPeerPort + 9, syn_options(false, -1, false, 1400));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
  EXPECT_EQ(l.tcp.half_open(), 2u);
  EXPECT_EQ(l.ctr.tcp_syncookie_sent, 1u);
  EXPECT_EQ(l.ctr.tcp_backlog_full, 1u);
  // Its ACK makes the connection, with the MSS the cookie carried.
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 9001, s[0].seq + 1, 2 * kMs, 0, kPeerPort + 9).empty());
  EXPECT_EQ(l.ctr.tcp_syncookie_valid, 1u);
  EXPECT_EQ(l.tcp.connections(), 1u);
  ASSERT_NE(l.app.conn, nullptr);
  EXPECT_EQ(l.app.conn->state(), tcp::State::established);
  EXPECT_EQ(l.app.conn->smss(), 1400u);
  EXPECT_FALSE(l.app.conn->sack_enabled());  // no timestamps: the other options are lost
  // Forged and stale cookies: counted, never answered (no reflection).
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 9001, s[0].seq + 2, 2 * kMs, 0, kPeerPort + 8).empty());
  EXPECT_EQ(l.ctr.tcp_syncookie_forged, 1u);
  s = l.feed(kListenPort, flag::syn, 7000, 0, 3 * kMs, 0, kPeerPort + 7);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 7001, s[0].seq + 1,
                     3 * kMs + 2 * tcp::SynCookies::kPeriodNs + kMs, 0, kPeerPort + 7)
                  .empty());
  EXPECT_EQ(l.ctr.tcp_syncookie_stale, 1u);
  EXPECT_EQ(l.tcp.connections(), 1u);
}

TEST(TcpLayerCookies, TimestampsCarryWindowScaleAndSackThroughACookie) {
  Layer l(64, {kOurIp}, SynCookieMode::always);
  auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs, 0, kPeerPort, syn_options(true, 7, true));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(l.tcp.half_open(), 0u);  // always: no state at all
  ASSERT_TRUE(s[0].opts.has_timestamps);
  EXPECT_EQ(s[0].opts.tsecr, 5555u);
  EXPECT_TRUE(s[0].opts.has_wscale);
  EXPECT_TRUE(s[0].opts.sack_permitted);
  wire::TcpOptions ack_opts;
  ack_opts.has_timestamps = true;
  ack_opts.tsval = 5556;
  ack_opts.tsecr = s[0].opts.tsval;
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 1001, s[0].seq + 1, 2 * kMs, 0, kPeerPort, ack_opts)
                  .empty());
  ASSERT_NE(l.app.conn, nullptr);
  const tcp::Connection& c = *l.app.conn;
  EXPECT_EQ(c.state(), tcp::State::established);
  EXPECT_TRUE(c.timestamps_enabled());
  EXPECT_TRUE(c.sack_enabled());
  EXPECT_EQ(c.snd_wscale(), 7u);
  EXPECT_EQ(c.rcv_wscale(), s[0].opts.wscale);
  EXPECT_EQ(c.smss(), 1460u - 12);  // the cookie's MSS, less the timestamps
}

TEST(TcpLayerCookies, NeverMeansBeyondTheBacklogSynsAreDropped) {
  Layer l(64, {kOurIp}, SynCookieMode::never, 1);
  ASSERT_EQ(l.feed(kListenPort, flag::syn, 1, 0, kMs).size(), 1u);
  EXPECT_TRUE(l.feed(kListenPort, flag::syn, 2, 0, kMs, 0, kPeerPort + 1).empty());
  EXPECT_EQ(l.ctr.tcp_backlog_full, 1u);
  EXPECT_EQ(l.ctr.tcp_syncookie_sent, 0u);
  // With no cookies in use, a stray ACK is answered as RFC 9293 says.
  auto s = l.feed(kListenPort, flag::ack, 50, 60, kMs, 0, kPeerPort + 2);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
}

TEST(TcpLayerConnect, ActiveOpensTakeTheSourceAddressesInTurn) {
  Layer l(64, {Ipv4Addr::from_octets(10, 77, 0, 10), Ipv4Addr::from_octets(10, 77, 0, 11),
               Ipv4Addr::from_octets(10, 77, 0, 12)});
  App client;
  std::vector<Ipv4Addr> used;
  for (int i = 0; i < 6; ++i) {
    tcp::Connection* c = l.tcp.connect(kPeerIp, 80, &client, kMs);
    ASSERT_NE(c, nullptr);
    used.push_back(c->tuple().local_ip);
    const auto s = l.ip.take();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].flags, flag::syn);
    EXPECT_EQ(s[0].src, c->tuple().local_ip);
  }
  for (int i = 0; i < 6; ++i) EXPECT_EQ(used[i], l.ip.sources[i % 3]) << i;
}

// Connections share one copy of each distinct configuration instead of each
// carrying one: equal configurations (whoever passed them, however briefly
// they lived) give the same copy, a different one its own; the copy outlives
// the listener that brought it; past kMaxConfigs distinct ones a connect is
// refused and counted, not given a dangling configuration.
TEST(TcpLayerConnect, ConnectionsShareOneCopyOfEachConfiguration) {
  Layer l(400);
  App client;
  auto open_with = [&](uint32_t sndbuf) {
    tcp::TcpConfig c;  // gone when the lambda returns
    c.sndbuf = sndbuf;
    return l.tcp.connect(kPeerIp, 80, &client, kMs, &c);
  };
  tcp::Connection* a = open_with(100'000);
  tcp::Connection* b = open_with(100'000);
  tcp::Connection* c = open_with(200'000);
  tcp::Connection* d = l.tcp.connect(kPeerIp, 80, &client, kMs);
  ASSERT_TRUE(a && b && c && d);
  EXPECT_EQ(&a->config(), &b->config());
  EXPECT_NE(&a->config(), &c->config());
  EXPECT_EQ(a->config().sndbuf, 100'000u);
  EXPECT_EQ(c->config().sndbuf, 200'000u);
  EXPECT_EQ(d->config().sndbuf, tcp::TcpConfig{}.sndbuf);
  // The listener's configuration, for a connection accepted before unlisten.
  tcp::TcpConfig lc;
  lc.rcvbuf = 12'345;
  ASSERT_TRUE(l.tcp.listen(8080, &l.app, 16, &lc));
  lc.rcvbuf = 1;  // the listener took a copy
  l.ip.take();     // the SYNs of the connects
  auto s = l.feed(8080, flag::syn, 1000, 0, kMs);
  ASSERT_EQ(s.size(), 1u);
  l.feed(8080, flag::ack, 1001, s[0].seq + 1, kMs);
  ASSERT_NE(l.app.conn, nullptr);
  l.tcp.unlisten(8080);
  EXPECT_EQ(l.app.conn->config().rcvbuf, 12'345u);
  // One distinct configuration after another, up to the limit (three are
  // kept already: 100k, 200k and the listener's).
  const uint64_t refused = l.ctr.tcp_conn_limit;
  size_t opened = 0;
  for (uint32_t i = 0; i < stack::TcpLayer::kMaxConfigs; ++i) opened += open_with(300'000 + i) != nullptr;
  EXPECT_EQ(opened, stack::TcpLayer::kMaxConfigs - 3);
  EXPECT_EQ(l.ctr.tcp_conn_limit - refused, 3u);
  EXPECT_NE(open_with(100'000), nullptr);  // a kept one still opens
}

// Connections that end at once (their ports free again) still go through
// every (address, port) pair before one repeats: with 4 addresses and 10
// ports, 40 distinct pairs (moving the port on every connect would give
// lcm(4, 10) = 20 and then repeat).
TEST(TcpLayerConnect, EveryAddressMeetsEveryPort) {
  TcpLayerConfig cfg = Layer::config(64, SynCookieMode::automatic);
  cfg.ephemeral_first = 40000;
  cfg.ephemeral_last = 40009;
  FakeIp ip({Ipv4Addr::from_octets(10, 77, 0, 10), Ipv4Addr::from_octets(10, 77, 0, 11),
             Ipv4Addr::from_octets(10, 77, 0, 12), Ipv4Addr::from_octets(10, 77, 0, 13)});
  tcp::TcpCounters ctr;
  TcpLayer tcp(ip, cfg, {}, ctr);
  App client;
  std::set<std::pair<uint32_t, uint16_t>> pairs;
  for (int i = 0; i < 40; ++i) {
    tcp::Connection* c = tcp.connect(kPeerIp, 80, &client, (i + 1) * kMs);
    ASSERT_NE(c, nullptr);
    pairs.insert({c->tuple().local_ip.v, c->tuple().local_port});
    c->abort();  // the slot and the port are free at the next poll
    tcp.poll((i + 1) * kMs);
  }
  EXPECT_EQ(pairs.size(), 40u);
}

// Connects toward one peer, each checked against the candidates asked for
// before it (the next one's, and the one after's from the round before):
// with `fp`, this layer is core 1 of two; ports run 40000 to `last_port`.
void expect_candidates_taken(const stack::FlowPlacement* fp, uint16_t last_port, int connects) {
  for (size_t sources : {1u, 3u}) {
    TcpLayerConfig cfg = Layer::config(64, SynCookieMode::automatic);
    cfg.ephemeral_first = 40000;
    cfg.ephemeral_last = last_port;
    cfg.placement = fp;
    cfg.core = 1;
    std::vector<Ipv4Addr> addrs;
    for (size_t a = 0; a < sources; ++a) addrs.push_back(Ipv4Addr::from_octets(10, 77, 0, uint8_t(10 + a)));
    FakeIp ip(addrs);
    tcp::TcpCounters ctr;
    TcpLayer tcp(ip, cfg, {}, ctr);
    App client;
    tcp::FourTuple second_before{};
    for (int i = 0; i < connects; ++i) {
      const tcp::FourTuple next = tcp.next_connect_candidate(kPeerIp, 80);
      const tcp::FourTuple second = tcp.next_connect_candidate(kPeerIp, 80, 1);
      if (fp) {
        EXPECT_EQ(fp->owner(next.local_ip, kPeerIp, next.local_port, 80), 1);
      }
      tcp::Connection* c = tcp.connect(kPeerIp, 80, &client, (i + 1) * kMs);
      ASSERT_NE(c, nullptr);
      EXPECT_TRUE(c->tuple() == next) << sources << " sources, connect " << i;
      if (i > 0) {
        EXPECT_TRUE(c->tuple() == second_before)
            << sources << " sources, connect " << i << ": took " << c->tuple().local_ip.v << ":"
            << c->tuple().local_port << ", guessed " << second_before.local_ip.v << ":"
            << second_before.local_port;
      }
      second_before = second;
      c->abort();  // the port is free at the next poll
      tcp.poll((i + 1) * kMs);
    }
  }
}

// What a connect fetches ahead is where the next connects go: with free
// ports, the k-th candidate is the 4-tuple the k-th connect from now takes,
// through the addresses in turn and the ports' wrap.
TEST(TcpLayerConnect, TheCandidatesFetchedAheadAreTheTuplesTaken) {
  expect_candidates_taken(nullptr, 40006, 30);
}

// With flows placed on cores, the candidates skip the ports of other cores'
// groups as the connects do (each address's 32 or so ports of core 1, and
// again).
TEST(TcpLayerConnect, CandidatesSkipThePortsOfOtherCores) {
  const stack::FlowPlacement fp = stack::FlowPlacement::spread(2);
  expect_candidates_taken(&fp, 40063, 100);
}

// The same with several cores: each address meets every port of its own
// whose flow lands on this core.
TEST(TcpLayerConnect, EveryAddressMeetsEveryOwnedPort) {
  const stack::FlowPlacement fp = stack::FlowPlacement::spread(2);
  TcpLayerConfig cfg = Layer::config(64, SynCookieMode::automatic);
  cfg.ephemeral_first = 40000;
  cfg.ephemeral_last = 40063;
  cfg.placement = &fp;
  cfg.core = 1;
  const std::vector<Ipv4Addr> sources{Ipv4Addr::from_octets(10, 77, 0, 10),
                                      Ipv4Addr::from_octets(10, 77, 0, 11),
                                      Ipv4Addr::from_octets(10, 77, 0, 12)};
  size_t owned = 0;
  for (Ipv4Addr a : sources)
    for (uint32_t p = 40000; p <= 40063; ++p)
      owned += fp.owner(a, kPeerIp, uint16_t(p), 80) == 1;
  FakeIp ip(sources);
  tcp::TcpCounters ctr;
  TcpLayer tcp(ip, cfg, {}, ctr);
  App client;
  std::set<std::pair<uint32_t, uint16_t>> pairs;
  for (size_t i = 0; i < owned; ++i) {
    tcp::Connection* c = tcp.connect(kPeerIp, 80, &client, (i + 1) * kMs);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(fp.owner(c->tuple().local_ip, kPeerIp, c->tuple().local_port, 80), 1);
    pairs.insert({c->tuple().local_ip.v, c->tuple().local_port});
    c->abort();
    tcp.poll((i + 1) * kMs);
  }
  EXPECT_EQ(pairs.size(), owned);
}

// Brings a connection from the peer into TIME-WAIT on our side (we close
// first); returns the peer's next sequence number.
uint32_t into_time_wait(Layer& l, uint32_t irs, uint64_t now) {
  const uint32_t iss = l.open(irs, now);
  EXPECT_EQ(l.app.connected, 1);
  l.app.conn->close(now);
  auto s = l.ip.take();
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(!s.empty() && s[0].flags == (flag::fin | flag::ack));
  // The peer acknowledges our FIN and closes too; we acknowledge its FIN.
  s = l.feed(kListenPort, flag::fin | flag::ack, irs + 1, iss + 2, now);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(!s.empty() && s[0].ack == irs + 2);
  EXPECT_EQ(l.app.conn->state(), tcp::State::time_wait);
  return irs + 2;
}

TEST(TcpLayerTimeWait, ANewerSynStartsANewConnectionAtOnce) {
  Layer l;
  const uint32_t next = into_time_wait(l, 1000, kMs);
  ASSERT_EQ(l.tcp.connections(), 1u);
  const uint32_t irs2 = next + 100000;
  auto s = l.feed(kListenPort, flag::syn, irs2, 0, 2 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
  EXPECT_EQ(s[0].ack, irs2 + 1);
  EXPECT_EQ(l.ctr.tcp_time_wait_reused, 1u);
  EXPECT_EQ(l.app.closed, 1);  // the old incarnation is over
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, irs2 + 1, s[0].seq + 1, 2 * kMs).empty());
  EXPECT_EQ(l.app.connected, 2);
  EXPECT_EQ(l.app.conn->state(), tcp::State::established);
  EXPECT_EQ(l.tcp.connections(), 1u);
  // Reaping the old incarnation later leaves the new one alone.
  l.tcp.poll(3 * kMs);
  EXPECT_EQ(l.tcp.connections(), 1u);
  EXPECT_EQ(l.app.conn->state(), tcp::State::established);
}

// Opens a connection to the peer's port 80 and closes it, we first: it ends
// in TIME-WAIT. Returns it.
tcp::Connection* active_into_time_wait(Layer& l, App& client, uint64_t now) {
  tcp::Connection* c = l.tcp.connect(kPeerIp, 80, &client, now);
  if (!c) return nullptr;
  auto s = l.ip.take();
  EXPECT_EQ(s.size(), 1u);
  const uint32_t iss = s.empty() ? 0 : s[0].seq;
  const uint16_t port = c->tuple().local_port;
  l.feed(port, flag::syn | flag::ack, 5000, iss + 1, now, 0, 80);
  c->close(now);
  l.ip.take();
  l.feed(port, flag::fin | flag::ack, 5001, iss + 2, now, 0, 80);
  EXPECT_EQ(c->state(), tcp::State::time_wait);
  return c;
}

TEST(TcpLayerTimeWait, WithEverySlotTakenTheOldestTimeWaitGivesUpItsSlot) {
  Layer l(4);
  App client;
  std::vector<uint16_t> ports;
  for (int i = 0; i < 4; ++i) {
    tcp::Connection* c = active_into_time_wait(l, client, kMs);
    ASSERT_NE(c, nullptr);
    ports.push_back(c->tuple().local_port);
  }
  ASSERT_EQ(l.tcp.connections(), 4u);
  // A fifth connection takes the slot of the first to enter TIME-WAIT.
  tcp::Connection* c = l.tcp.connect(kPeerIp, 80, &client, 2 * kMs);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(l.ip.take().size(), 1u);  // its SYN
  EXPECT_EQ(l.ctr.tcp_time_wait_recycled, 1u);
  EXPECT_EQ(l.ctr.tcp_conn_limit, 0u);
  EXPECT_EQ(l.tcp.connections(), 4u);
  // The first is gone: its peer's retransmitted FIN meets no connection (a
  // reset); the second's is still acknowledged.
  auto s = l.feed(ports[0], flag::fin | flag::ack, 5001, 0, 2 * kMs, 0, 80);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].flags & flag::rst);
  s = l.feed(ports[1], flag::fin | flag::ack, 5001, 0, 2 * kMs, 0, 80);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::ack);
  // Reaping leaves the new connection alone; a sixth takes the second's slot.
  l.tcp.poll(3 * kMs);
  EXPECT_EQ(c->state(), tcp::State::syn_sent);
  ASSERT_NE(l.tcp.connect(kPeerIp, 80, &client, 3 * kMs), nullptr);
  EXPECT_EQ(l.ctr.tcp_time_wait_recycled, 2u);
  s = l.feed(ports[1], flag::fin | flag::ack, 5001, 0, 3 * kMs, 0, 80);
  ASSERT_EQ(s.size(), 2u);  // the new SYN, then the reset
  EXPECT_TRUE(s[1].flags & flag::rst);
}

TEST(TcpLayerTimeWait, AListenersNewConnectionTakesTheOldestTimeWaitsSlotToo) {
  Layer l(2);
  // Two connections from the peer that we close first.
  for (uint16_t sport : {40000, 40001}) {
    auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs, 0, sport);
    ASSERT_EQ(s.size(), 1u);
    const uint32_t iss = s[0].seq;
    EXPECT_TRUE(l.feed(kListenPort, flag::ack, 1001, iss + 1, kMs, 0, sport).empty());
    l.app.conn->close(kMs);
    l.ip.take();
    l.feed(kListenPort, flag::fin | flag::ack, 1001, iss + 2, kMs, 0, sport);
    ASSERT_EQ(l.app.conn->state(), tcp::State::time_wait);
  }
  // A third completes its handshake into the first's slot.
  auto s = l.feed(kListenPort, flag::syn, 7000, 0, 2 * kMs, 0, 40002);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 7001, s[0].seq + 1, 2 * kMs, 0, 40002).empty());
  EXPECT_EQ(l.app.connected, 3);
  EXPECT_EQ(l.app.conn->state(), tcp::State::established);
  EXPECT_EQ(l.ctr.tcp_time_wait_recycled, 1u);
  EXPECT_EQ(l.ctr.tcp_conn_limit, 0u);
  // The first's peer now meets a reset; the second's is still acknowledged.
  s = l.feed(kListenPort, flag::fin | flag::ack, 1001, 0, 2 * kMs, 0, 40000);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].flags & flag::rst);
  s = l.feed(kListenPort, flag::fin | flag::ack, 1001, 0, 2 * kMs, 0, 40001);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::ack);
}

namespace {

// Accepts connections and, once armed, stops listening when one of them closes.
struct UnlistenOnClose final : Acceptor, tcp::Events {
  tcp::Events* on_accept(const tcp::FourTuple&) override {
    ++asked;
    return this;
  }
  void on_connected(tcp::Connection& c) override { conn = &c; }
  void on_closed(tcp::Connection&, tcp::CloseReason) override {
    if (armed) layer->unlisten(kListenPort);
  }
  TcpLayer* layer = nullptr;
  tcp::Connection* conn = nullptr;
  int asked = 0;
  bool armed = false;
};

}  // namespace

// The TIME-WAIT recycled for a new connection closes inside the listener's
// handshake; its application stops listening there. The listener must outlive
// that call (it used to be freed under it) and accept nothing more.
TEST(TcpLayerTimeWait, AnUnlistenFromTheRecycledConnectionsOnClosedRefusesTheNewOne) {
  Layer l(2);
  UnlistenOnClose u;
  u.layer = &l.tcp;
  l.tcp.unlisten(kListenPort);
  ASSERT_TRUE(l.tcp.listen(kListenPort, &u));
  for (uint16_t sport : {40000, 40001}) {
    auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs, 0, sport);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_TRUE(l.feed(kListenPort, flag::ack, 1001, s[0].seq + 1, kMs, 0, sport).empty());
    u.conn->close(kMs);
    l.ip.take();
    l.feed(kListenPort, flag::fin | flag::ack, 1001, s[0].seq + 2, kMs, 0, sport);
    ASSERT_EQ(u.conn->state(), tcp::State::time_wait);
  }
  u.armed = true;
  auto s = l.feed(kListenPort, flag::syn, 7000, 0, 2 * kMs, 0, 40002);
  ASSERT_EQ(s.size(), 1u);
  s = l.feed(kListenPort, flag::ack, 7001, s[0].seq + 1, 2 * kMs, 0, 40002);
  EXPECT_EQ(u.asked, 2);  // not asked about the third
  EXPECT_EQ(l.ctr.tcp_time_wait_recycled, 1u);
  EXPECT_EQ(l.ctr.tcp_no_listener, 1u);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);  // as from a port nobody listens on
  EXPECT_EQ(l.tcp.connections(), 1u);  // the other TIME-WAIT
  // The next poll frees the listener; the port is closed, and can be listened on again.
  l.tcp.poll(3 * kMs);
  s = l.feed(kListenPort, flag::syn, 8000, 0, 3 * kMs, 0, 40003);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].flags & flag::rst);
  EXPECT_TRUE(l.tcp.listen(kListenPort, &l.app));
}

// Our side of a connection from the peer's port `sport` (its ISS `irs`),
// closed by us into TIME-WAIT.
void passive_into_time_wait(Layer& l, uint16_t sport, uint32_t irs, uint64_t now) {
  auto s = l.feed(kListenPort, flag::syn, irs, 0, now, 0, sport);
  ASSERT_EQ(s.size(), 1u);
  const uint32_t iss = s[0].seq;
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, irs + 1, iss + 1, now, 0, sport).empty());
  l.app.conn->close(now);
  l.ip.take();
  l.feed(kListenPort, flag::fin | flag::ack, irs + 1, iss + 2, now, 0, sport);
  ASSERT_EQ(l.app.conn->state(), tcp::State::time_wait);
}

TEST(TcpLayerTimeWait, AFullRingDropsItsStaleEntriesNotALiveOne) {
  // Two slots, both in TIME-WAIT (A, then B: the ring's two places).
  Layer l(2);
  passive_into_time_wait(l, 40000, 1000, kMs);
  passive_into_time_wait(l, 40001, 1000, kMs);
  // A newer SYN takes over B's 4-tuple (its entry goes stale behind A's), and
  // that connection too ends in TIME-WAIT: the ring is full, so the stale
  // entry must make room, not A's.
  passive_into_time_wait(l, 40001, 500000, 2 * kMs);
  EXPECT_EQ(l.ctr.tcp_time_wait_reused, 1u);
  // Both live TIME-WAITs give up their slots, oldest first.
  App client;
  ASSERT_NE(l.tcp.connect(kPeerIp, 80, &client, 3 * kMs), nullptr);
  ASSERT_NE(l.tcp.connect(kPeerIp, 80, &client, 3 * kMs), nullptr);
  EXPECT_EQ(l.ctr.tcp_time_wait_recycled, 2u);
  EXPECT_EQ(l.tcp.connect(kPeerIp, 80, &client, 3 * kMs), nullptr);
  EXPECT_EQ(l.ctr.tcp_conn_limit, 1u);
}

// The flow-table prefetch pass (docs/architecture.md, "The prefetch pass")
// runs after a burst with a frame for no flow or for a half-open entry, or
// while the table holds more than 4,096 flows. A handshake's last ACK finds
// a half-open entry, which alone keeps the pass for the next burst.
TEST(TcpLayerPrefetch, AHandshakesAckForAHalfOpenEntryKeepsThePass) {
  Layer l;
  const auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs);  // for no flow
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(l.tcp.prefetch_pays());
  l.feed(kListenPort, flag::ack, 1001, s[0].seq + 1, kMs);  // for the half-open entry
  ASSERT_NE(l.app.conn, nullptr);
  EXPECT_TRUE(l.tcp.prefetch_pays());
  l.feed(kListenPort, flag::ack | flag::psh, 1001, s[0].seq + 1, 2 * kMs, 10);  // established
  EXPECT_FALSE(l.tcp.prefetch_pays());
}

TEST(TcpLayerPrefetch, MoreThan4096FlowsKeepThePass) {
  Layer l(TcpLayer::kPrefetchFlows + 8);
  App client;
  for (size_t i = 0; i < TcpLayer::kPrefetchFlows; ++i)
    ASSERT_NE(l.tcp.connect(kPeerIp, 80, &client, kMs), nullptr);
  l.ip.take();
  l.tcp.end_of_burst(kMs);  // a burst with no frame for a new flow
  EXPECT_FALSE(l.tcp.prefetch_pays());  // 4,096 flows: not more
  ASSERT_NE(l.tcp.connect(kPeerIp, 80, &client, kMs), nullptr);
  l.tcp.end_of_burst(kMs);
  EXPECT_TRUE(l.tcp.prefetch_pays());
}

TEST(TcpLayerTimeWait, WithoutASlotOrATimeWaitAConnectTakesNoPort) {
  Layer l(2);
  App client;
  tcp::Connection* a = l.tcp.connect(kPeerIp, 80, &client, kMs);
  tcp::Connection* b = l.tcp.connect(kPeerIp, 80, &client, kMs);
  ASSERT_TRUE(a && b);
  const uint16_t last = b->tuple().local_port;
  EXPECT_EQ(l.tcp.connect(kPeerIp, 80, &client, kMs), nullptr);
  EXPECT_EQ(l.ctr.tcp_conn_limit, 1u);
  EXPECT_EQ(l.ctr.tcp_time_wait_recycled, 0u);
  a->abort();
  l.tcp.poll(2 * kMs);
  // The refused connect left the port search where it was.
  tcp::Connection* c = l.tcp.connect(kPeerIp, 80, &client, 2 * kMs);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->tuple().local_port, uint16_t(last + 1));
}

// A connect that comes to our own TIME-WAIT of the same 4-tuple takes over
// its flow-table entry (docs/performance.md, "Instructions"): the new
// connection gets that tuple's segments, and when it is gone so is the entry.
// A connect refused after taking the port (no room for its configuration)
// takes the entry away too, rather than leave it naming a freed slot.
TEST(TcpLayerTimeWait, AConnectReusingOurTimeWaitTakesOverItsFlowEntry) {
  TcpLayerConfig cfg = Layer::config(64, SynCookieMode::automatic);
  cfg.ephemeral_first = cfg.ephemeral_last = 40000;  // one port: each connect reuses it
  Layer l(cfg, tcp::TcpConfig{});
  App client;
  uint64_t now = kMs;
  uint32_t peer_ts = 7000;
  auto ts_opts = [&](uint32_t tsecr) {
    wire::TcpOptions o;
    o.has_timestamps = true;
    o.tsval = ++peer_ts;
    o.tsecr = tsecr;
    return o;
  };
  // Connects and is answered; with `close`, closes first into TIME-WAIT.
  auto open = [&](uint32_t irs, bool close, const tcp::TcpConfig* conf) -> tcp::Connection* {
    tcp::Connection* c = l.tcp.connect(kPeerIp, 80, &client, now, conf);
    if (!c) return nullptr;
    auto s = l.ip.take();
    EXPECT_EQ(s.size(), 1u);
    if (s.empty()) return nullptr;
    EXPECT_EQ(s[0].flags, flag::syn);
    EXPECT_EQ(s[0].sport, 40000);
    wire::TcpOptions o = syn_options(true, 7, true);
    o.tsval = ++peer_ts;
    o.tsecr = s[0].opts.tsval;
    s = l.feed(40000, flag::syn | flag::ack, irs, s[0].seq + 1, now, 0, 80, o);
    EXPECT_EQ(s.size(), 1u);  // our ACK: the lookup found the new connection
    EXPECT_EQ(c->state(), tcp::State::established);
    if (!close || s.empty()) return c;
    const uint32_t iss = s[0].seq - 1;
    c->close(now);
    s = l.ip.take();
    EXPECT_EQ(s.size(), 1u);
    if (s.empty()) return c;
    s = l.feed(40000, flag::fin | flag::ack, irs + 1, iss + 2, now, 0, 80, ts_opts(s[0].opts.tsval));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(c->state(), tcp::State::time_wait);
    return c;
  };
  ASSERT_NE(open(1000, true, nullptr), nullptr);
  now += 3 * kMs;
  tcp::Connection* c = open(500000, true, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(l.ctr.tcp_time_wait_reused, 1u);
  EXPECT_EQ(client.closed, 1);
  EXPECT_EQ(l.tcp.connections(), 1u);
  // Again, and this connection is aborted: its entry goes with its slot, and
  // the tuple's next segment finds no connection (a reset, as to a port
  // nobody uses).
  now += 3 * kMs;
  c = open(900000, false, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(l.ctr.tcp_time_wait_reused, 2u);
  c->abort();
  l.ip.take();
  l.tcp.poll(now);
  EXPECT_EQ(l.tcp.connections(), 0u);
  const uint64_t no_listener = l.ctr.tcp_no_listener;
  auto s = l.feed(40000, flag::ack, 900001, 1, now, 0, 80);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(l.ctr.tcp_no_listener, no_listener + 1);
  // Into TIME-WAIT once more; then connects with a new configuration each,
  // until none has room: the refused one had taken the port from the
  // TIME-WAIT, and the tuple's entry went with it.
  ASSERT_NE(open(1300000, true, nullptr), nullptr);
  now += 3 * kMs;
  const uint64_t refused = l.ctr.tcp_conn_limit;
  tcp::Connection* got = nullptr;
  for (uint32_t i = 0; i <= stack::TcpLayer::kMaxConfigs && l.ctr.tcp_conn_limit == refused; ++i) {
    tcp::TcpConfig conf;
    conf.sndbuf = 300'000 + i;
    got = l.tcp.connect(kPeerIp, 80, &client, now, &conf);
    if (got) {  // a kept configuration: this one opens, and is let go
      got->abort();
      l.ip.take();
      l.tcp.poll(now);
      ASSERT_NE(open(1700000 + i, true, nullptr), nullptr);
      now += 3 * kMs;
    }
  }
  EXPECT_EQ(got, nullptr);
  EXPECT_EQ(l.ctr.tcp_conn_limit, refused + 1);
  EXPECT_EQ(l.tcp.connections(), 0u);
  s = l.feed(40000, flag::ack, 1300001, 1, now, 0, 80);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
}

TEST(TcpLayerTimeWait, AnOldSynIsAnsweredWithAnAckNotANewConnection) {
  Layer l;
  const uint32_t next = into_time_wait(l, 1000, kMs);
  auto s = l.feed(kListenPort, flag::syn, next - 10, 0, 2 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::ack);  // RFC 5961 4: a challenge ACK
  EXPECT_EQ(s[0].ack, next);
  EXPECT_EQ(l.ctr.tcp_time_wait_reused, 0u);
  EXPECT_EQ(l.app.connected, 1);
  EXPECT_EQ(l.app.conn->state(), tcp::State::time_wait);
}

}  // namespace

// ---------------------------------------------------------------- reclaiming

namespace {

// Keeps every connection it accepts and hears how each ended.
struct Keeper final : Acceptor, tcp::Events {
  tcp::Events* on_accept(const tcp::FourTuple&) override { return this; }
  void on_connected(tcp::Connection& c) override { conns.push_back(&c); }
  void on_closed(tcp::Connection& c, tcp::CloseReason r) override {
    ended.push_back({c.tuple().remote_port, r});
  }
  std::vector<tcp::Connection*> conns;
  std::vector<std::pair<uint16_t, tcp::CloseReason>> ended;
};

struct Server {
  explicit Server(uint32_t slots, size_t memory = 0) : Server(config(slots, memory)) {}
  explicit Server(const TcpLayerConfig& cfg) : ip({kOurIp}), tcp(ip, cfg, {}, ctr) {
    EXPECT_TRUE(tcp.listen(kListenPort, &app));
  }
  static TcpLayerConfig config(uint32_t slots, size_t memory) {
    TcpLayerConfig c;
    c.max_connections = slots;
    c.buffer_memory = memory;
    c.persist_reclaim_ns = 5'000 * kMs;
    c.stall_reclaim_ns = 0;
    return c;
  }
  void segment(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t window,
               uint64_t now) {
    wire::Ipv4Repr ip4;
    ip4.src = kPeerIp;
    ip4.dst = kOurIp;
    ip4.protocol = 6;
    wire::TcpRepr t;
    t.src_port = sport;
    t.dst_port = kListenPort;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.window = window;
    tcp.input(ip4, t, now);
    tcp.end_of_burst(now);
  }
  // A connection from `sport` whose peer's window is `window`; it is sent
  // `bytes` at once.
  tcp::Connection* open(uint16_t sport, uint16_t window, size_t bytes, uint64_t now) {
    ip.take();
    segment(sport, flag::syn, 1000, 0, 65535, now);
    const auto s = ip.take();
    EXPECT_EQ(s.size(), 1u);
    segment(sport, flag::ack, 1001, s[0].seq + 1, window, now);
    tcp::Connection* c = app.conns.back();
    std::vector<uint8_t> data(bytes, 7);
    c->send(data, now);
    ip.take();
    return c;
  }
  FakeIp ip;
  tcp::TcpCounters ctr;
  TcpLayer tcp;
  Keeper app;
};

}  // namespace

TEST(TcpLayerReclaim, WithoutPressureNothingIsReclaimed) {
  Server srv(10);
  for (uint16_t i = 0; i < 5; ++i) srv.open(uint16_t(kPeerPort + i), 0, 10000, i * 100 * kMs);
  for (uint64_t t = kMs; t < 100'000 * kMs; t += 500 * kMs) srv.tcp.poll(t);
  EXPECT_TRUE(srv.app.ended.empty());
  EXPECT_EQ(srv.tcp.connections(), 5u);
  EXPECT_EQ(srv.ctr.tcp_reclaim_persist, 0u);
}

TEST(TcpLayerReclaim, UnderPressureTheLongestHeldBackGoFirstAndProgressIsSpared) {
  Server srv(10);
  // Eight connections whose peers keep their windows shut, opened 100 ms
  // apart, and one whose peer reads.
  for (uint16_t i = 0; i < 8; ++i) srv.open(uint16_t(kPeerPort + i), 0, 10000, i * 100 * kMs);
  tcp::Connection* good = srv.open(kPeerPort + 100, 65535, 10000, 800 * kMs);
  ASSERT_EQ(srv.tcp.connections(), 9u);  // 90% of the slots: pressure
  // Before persist_reclaim_ns nothing goes, pressure or not.
  for (uint64_t t = kMs; t < 4'000 * kMs; t += 100 * kMs) srv.tcp.poll(t);
  EXPECT_TRUE(srv.app.ended.empty());
  // The reader acknowledges what it gets as it goes.
  uint64_t t = 4'000 * kMs;
  for (; t < 8'000 * kMs; t += 100 * kMs) {
    srv.segment(kPeerPort + 100, flag::ack, 1001, good->snd_nxt(), 65535, t);
    srv.tcp.poll(t);
  }
  // Back below 80%: two reclaimed, the two held back longest, with a reset
  // each and the reason told to the application.
  ASSERT_EQ(srv.app.ended.size(), 2u);
  EXPECT_EQ(srv.app.ended[0].first, kPeerPort);
  EXPECT_EQ(srv.app.ended[1].first, kPeerPort + 1);
  EXPECT_EQ(srv.app.ended[0].second, tcp::CloseReason::reclaimed);
  EXPECT_EQ(srv.ctr.tcp_reclaim_persist, 2u);
  EXPECT_EQ(srv.tcp.connections(), 7u);
  EXPECT_EQ(good->state(), tcp::State::established);
}

TEST(TcpLayerReclaim, ARefusalIsPressureToo) {
  // Memory for eight 10000-byte send rings (16 KiB each) at just under 90%
  // of the budget; slots to spare.
  Server srv(100, 146000);
  for (uint16_t i = 0; i < 8; ++i) srv.open(uint16_t(kPeerPort + i), 0, 10000, i * 100 * kMs);
  for (uint64_t t = kMs; t < 6'000 * kMs; t += 100 * kMs) srv.tcp.poll(t);
  // 8 of 100 slots and memory below 90%: no pressure yet... unless it is
  // refused: a ninth connection's ring finds no memory.
  EXPECT_TRUE(srv.app.ended.empty());
  const uint64_t refused_before = srv.ctr.tcp_buffer_refused;
  srv.ip.take();
  srv.open(kPeerPort + 50, 65535, 10000, 6'000 * kMs);
  ASSERT_GT(srv.ctr.tcp_buffer_refused, refused_before);
  srv.tcp.poll(6'200 * kMs);
  EXPECT_GE(srv.ctr.tcp_reclaim_persist, 1u);
  EXPECT_EQ(srv.app.ended.front().first, kPeerPort);
}

TEST(TcpLayerReclaim, HeldBackBeforeStalledAndASilentPeerIsLeftToTheRetryLimit) {
  TcpLayerConfig cfg = Server::config(10, 0);
  cfg.stall_reclaim_ns = 5'000 * kMs;
  Server srv(cfg);
  // One held back by a shut window (opened last), seven whose live peers
  // acknowledge nothing, one whose peer went silent.
  std::vector<tcp::Connection*> stalled;
  for (uint16_t i = 1; i <= 7; ++i)
    stalled.push_back(srv.open(uint16_t(kPeerPort + i), 65535, 10000, i * 100 * kMs));
  srv.open(kPeerPort + 9, 65535, 10000, 800 * kMs);  // silent from now on
  srv.open(kPeerPort, 0, 10000, 900 * kMs);
  ASSERT_EQ(srv.tcp.connections(), 9u);
  // The stalled peers keep talking; the layer looks for pressure only at 7 s
  // (timers run, but the check is its own), when all are past their limits.
  for (uint64_t t = 1'000 * kMs; t < 7'000 * kMs; t += 100 * kMs) {
    for (size_t i = 0; i < stalled.size(); ++i)
      srv.segment(uint16_t(kPeerPort + 1 + i), flag::ack, 1001, stalled[i]->snd_una(), 65535, t);
  }
  srv.tcp.poll(7'000 * kMs);
  // The held-back one first (though younger), then the longest stalled; the
  // silent one is in its retransmission backoff, the network's problem.
  ASSERT_EQ(srv.app.ended.size(), 2u);
  EXPECT_EQ(srv.app.ended[0].first, kPeerPort);
  EXPECT_EQ(srv.app.ended[1].first, kPeerPort + 1);
  EXPECT_EQ(srv.ctr.tcp_reclaim_persist, 1u);
  EXPECT_EQ(srv.ctr.tcp_reclaim_stall, 1u);
}

TEST(TcpLayerReclaim, AnAbusiveHostGetsSmallerBuffersOnlyUnderPressure) {
  struct Abusive final : PathCache {
    tcp::PathHint open(Ipv4Addr, Ipv4Addr, uint64_t, uint32_t, uint32_t) override {
      tcp::PathHint h;
      h.abuse = 50;
      return h;
    }
    void close(Ipv4Addr, Ipv4Addr, const tcp::PathReport& r, bool, uint64_t) override {
      reports.push_back(r);
    }
    std::vector<tcp::PathReport> reports;
  } cache;
  Server srv(10);
  srv.tcp.set_path_cache(&cache);
  tcp::Connection* first = srv.open(kPeerPort, 0, 0, kMs);
  EXPECT_EQ(first->send_space(), first->config().sndbuf);  // no pressure: full buffers
  for (uint16_t i = 1; i < 9; ++i) srv.open(uint16_t(kPeerPort + i), 0, 10000, kMs);
  srv.tcp.poll(200 * kMs);  // 9 of 10 slots: pressure noticed
  srv.app.conns.back()->abort();
  srv.tcp.poll(300 * kMs);
  tcp::Connection* late = srv.open(kPeerPort + 20, 0, 0, 300 * kMs);
  EXPECT_EQ(late->send_space(), first->config().sndbuf / 4);
  EXPECT_EQ(srv.ctr.tcp_abusive_limited, 1u);
  // What it reports when reclaimed tells the cache: held back, and reclaimed.
  for (uint64_t t = 400 * kMs; t < 7'000 * kMs; t += 100 * kMs) srv.tcp.poll(t);
  ASSERT_FALSE(cache.reports.empty());
  bool reclaimed = false;
  for (const auto& r : cache.reports)
    if (r.reclaims) {
      reclaimed = true;
      EXPECT_GE(r.held_back_ns, 5'000 * kMs);
    }
  EXPECT_TRUE(reclaimed);
}
