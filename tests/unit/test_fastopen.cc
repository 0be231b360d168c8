// TCP Fast Open (RFC 7413, docs/fastopen.md): the server's cookies and
// replay guard; a client connection's SYN with data, its fallbacks and what
// it tells the cache; the listener's every Fast Open transition (cookie
// request, valid cookie with data, invalid or missing cookie, the pending
// limit, SYN cookies, the replay guard) with crafted segments, including that
// a spoofed SYN's data never reaches the application before the handshake;
// and the FIN riding on the last data segment.
#include <gtest/gtest.h>

#include "tcp/fastopen.hh"
#include "tcp_harness.hh"
#include "tcp_layer_harness.hh"

namespace {

using ts::wire::Ipv4Addr;
namespace wire = ts::wire;
constexpr uint64_t kHour = 3600'000'000'000ull;

std::array<uint8_t, 16> secret(uint8_t b) {
  std::array<uint8_t, 16> s{};
  s.fill(b);
  return s;
}

// ---------------------------------------------------------------- cookies

TEST(FastOpenCookie, ValidForItsClientAndServerInItsPeriodAndTheNext) {
  ts::tcp::FastOpenCookies keys(secret(7));
  const Ipv4Addr client = Ipv4Addr::from_octets(10, 0, 0, 2);
  const Ipv4Addr server = Ipv4Addr::from_octets(10, 0, 0, 1);
  const uint64_t t0 = 5 * kHour + 17;
  const ts::tcp::FastOpenCookie c = keys.make(client, server, t0);
  ASSERT_EQ(c.len, ts::tcp::FastOpenCookies::kLen);
  const std::span<const uint8_t> b(c.bytes.data(), c.len);
  EXPECT_TRUE(keys.check(client, server, b, t0));
  EXPECT_TRUE(keys.check(client, server, b, t0 + kHour));       // the next period
  EXPECT_FALSE(keys.check(client, server, b, t0 + 2 * kHour));  // and no further
  EXPECT_FALSE(keys.check(Ipv4Addr::from_octets(10, 0, 0, 3), server, b, t0));
  EXPECT_FALSE(keys.check(client, Ipv4Addr::from_octets(10, 0, 0, 9), b, t0));
  EXPECT_FALSE(keys.check(client, server, b.first(4), t0));
  // Every bit counts.
  for (size_t i = 0; i < c.len * 8; ++i) {
    ts::tcp::FastOpenCookie x = c;
    x.bytes[i / 8] ^= uint8_t(1u << (i % 8));
    EXPECT_FALSE(keys.check(client, server, {x.bytes.data(), x.len}, t0)) << "bit " << i;
  }
  // Another endpoint's secret makes other cookies; the same secret, the same.
  ts::tcp::FastOpenCookies other(secret(8)), same(secret(7));
  EXPECT_FALSE(other.check(client, server, b, t0));
  EXPECT_TRUE(same.check(client, server, b, t0));
  // A new period, a new cookie (the key rotated).
  EXPECT_FALSE(keys.make(client, server, t0 + kHour) == c);
}

TEST(FastOpenReplayGuard, ARepeatIsSeenWithinTheWindowOnly) {
  ts::tcp::ReplayGuard g(secret(1), 1024);
  const Ipv4Addr a = Ipv4Addr::from_octets(10, 0, 0, 2);
  const std::vector<uint8_t> req(100, 'x'), other(100, 'y');
  EXPECT_FALSE(g.seen(a, 1000, req, 1));
  EXPECT_TRUE(g.seen(a, 1000, req, 2));
  EXPECT_FALSE(g.seen(a, 1000, other, 3));  // other data
  EXPECT_FALSE(g.seen(a, 2000, req, 4));    // another ISN
  EXPECT_FALSE(g.seen(Ipv4Addr::from_octets(10, 0, 0, 3), 1000, req, 5));
  EXPECT_FALSE(g.seen(a, 1000, req, 2 + ts::tcp::ReplayGuard::kWindowNs));
}

ts::tcp::FastOpenCookie cookie_of(uint8_t b, uint8_t len = 8) {
  ts::tcp::FastOpenCookie c;
  c.len = len;
  c.bytes.fill(b);
  return c;
}

// ---------------------------------------------------------------- the client

namespace client {

using namespace ts::test;

TcpConfig fast_open_config() {
  TcpConfig c;
  c.fast_open = true;
  return c;
}

// Opens with `fo` and writes `n` bytes of 'q'; returns what was sent.
std::vector<Sent> open_and_write(Harness& h, const FastOpenClient& fo, size_t n) {
  h.conn->connect(1000, 0, h.now, &fo);
  const std::vector<uint8_t> req(n, 'q');
  h.conn->send(req, h.now);
  return h.take();
}

wire::TcpOptions synack_opts(uint32_t tsecr, const ts::tcp::FastOpenCookie* cookie = nullptr) {
  wire::TcpOptions o = Harness::syn_opts();
  o.tsecr = tsecr;
  if (cookie) {
    o.has_fastopen = true;
    o.fastopen_cookie_len = cookie->len;
    std::copy_n(cookie->bytes.begin(), cookie->len, o.fastopen_cookie.begin());
  }
  return o;
}

TEST(FastOpenClient, WithACookieTheSynCarriesTheFirstWriteAndItsAnswerComesWithTheSynAck) {
  Harness h(fast_open_config());
  const FastOpenClient fo{cookie_of(0xab), 1460};
  h.conn->connect(1000, 0, h.now, &fo);
  EXPECT_TRUE(h.take().empty());  // the SYN waits for the data
  const std::vector<uint8_t> req(100, 'q');
  EXPECT_EQ(h.conn->send(req, h.now), 100u);
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::syn | flag::psh);
  EXPECT_EQ(s[0].seg.seq, 1000u);
  EXPECT_EQ(s[0].payload, req);
  EXPECT_TRUE(s[0].seg.options.has_fastopen);
  EXPECT_EQ(s[0].seg.options.fastopen_cookie_len, 8);
  EXPECT_EQ(s[0].seg.options.fastopen_cookie[0], 0xab);
  EXPECT_EQ(h.ctr.tcp_fastopen_syn_data, 1u);
  // The server acknowledges the data and answers with the SYN-ACK.
  h.now += 10 * kMs;
  const std::vector<uint8_t> resp(50, 'r');
  h.in(h.seg(5000, 1101, flag::syn | flag::ack, 65535, resp,
             synack_opts(s[0].seg.options.tsval)));
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_EQ(h.app.data, resp);
  EXPECT_EQ(h.conn->snd_una(), 1101u);
  EXPECT_EQ(h.conn->send_queued(), 0u);
  EXPECT_EQ(h.ctr.tcp_fastopen_syn_data_acked, 1u);
  EXPECT_EQ(h.ctr.tcp_retransmits, 0u);
  // The answer is acknowledged as data is: by the delayed ACK here (or
  // with whatever the application sends next).
  EXPECT_TRUE(h.take().empty());
  h.run_until(h.now + h.cfg.delack_ns);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::ack);
  EXPECT_EQ(s[0].seg.ack, 5051u);
  FastOpenNews n;
  EXPECT_FALSE(h.conn->take_fastopen_news(n));  // nothing new for the cache
}

TEST(FastOpenClient, AnAnswerInTheSynAckAndItsRestAreAcknowledgedByOneSegment) {
  Harness h(fast_open_config());
  // An application that reads everything and closes once the server has (as
  // gen does with an answer to "Connection: close").
  struct Closer final : Events {
    void on_readable(Connection& c) override {
      read += c.readable().size();
      c.consume(c.readable().size(), *now);
    }
    void on_peer_closed(Connection& c) override { c.close(*now); }
    size_t read = 0;
    const uint64_t* now = nullptr;
  } closer;
  closer.now = &h.now;
  h.conn->set_events(&closer);
  auto s = open_and_write(h, FastOpenClient{cookie_of(0xab), 1460}, 100);
  ASSERT_EQ(s.size(), 1u);
  h.now += 10 * kMs;
  // The answer: 1400 bytes with the SYN-ACK, 600 more and the FIN after it.
  h.in(h.seg(5000, 1101, flag::syn | flag::ack, 65535, std::vector<uint8_t>(1400, 'a'),
             synack_opts(s[0].seg.options.tsval)));
  EXPECT_TRUE(h.take().empty());  // no ACK yet: more is coming
  h.in(h.data(6401, std::vector<uint8_t>(600, 'b'), flag::fin));
  EXPECT_EQ(closer.read, 2000u);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);  // the ACK of all of it, with our FIN
  EXPECT_EQ(s[0].seg.flags, flag::ack | flag::fin);
  EXPECT_EQ(s[0].seg.ack, 7002u);
}

TEST(FastOpenClient, WithoutACookieTheSynAsksForOneAndTheDataFollowsTheHandshake) {
  Harness h(fast_open_config());
  const std::vector<uint8_t> req(100, 'q');
  auto s = open_and_write(h, FastOpenClient{}, 100);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::syn);
  EXPECT_TRUE(s[0].payload.empty());
  EXPECT_TRUE(s[0].seg.options.has_fastopen);
  EXPECT_EQ(s[0].seg.options.fastopen_cookie_len, 0);
  EXPECT_EQ(h.ctr.tcp_fastopen_cookie_requests, 1u);
  const auto cookie = cookie_of(0x5a);
  h.now += 10 * kMs;
  h.in(h.seg(5000, 1001, flag::syn | flag::ack, 65535, {}, synack_opts(s[0].seg.options.tsval, &cookie)));
  s = h.take();
  ASSERT_EQ(s.size(), 1u);  // the request, with the handshake's ACK
  EXPECT_EQ(s[0].seg.seq, 1001u);
  EXPECT_EQ(s[0].payload, req);
  FastOpenNews n;
  ASSERT_TRUE(h.conn->take_fastopen_news(n));
  EXPECT_EQ(n.kind, FastOpenNews::Kind::cookie);
  EXPECT_TRUE(n.cookie == cookie);
  EXPECT_EQ(n.mss, 1460);
  EXPECT_FALSE(h.conn->take_fastopen_news(n));  // told once
}

TEST(FastOpenClient, DataTheSynAckLeavesUnacknowledgedGoesAgainAndTheServerIsMarked) {
  Harness h(fast_open_config());
  const std::vector<uint8_t> req(100, 'q');
  auto s = open_and_write(h, FastOpenClient{cookie_of(1), 1460}, 100);
  ASSERT_EQ(s[0].payload.size(), 100u);
  h.now += 10 * kMs;
  // A server without Fast Open: the SYN-ACK acknowledges the SYN alone.
  h.in(h.seg(5000, 1001, flag::syn | flag::ack, 65535, {}, synack_opts(s[0].seg.options.tsval)));
  EXPECT_EQ(h.conn->state(), State::established);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.seq, 1001u);
  EXPECT_EQ(s[0].payload, req);
  EXPECT_EQ(h.ctr.tcp_fastopen_syn_data_unacked, 1u);
  EXPECT_EQ(h.conn->cwnd(), h.conn->initial_window());  // not a loss
  FastOpenNews n;
  ASSERT_TRUE(h.conn->take_fastopen_news(n));
  EXPECT_EQ(n.kind, FastOpenNews::Kind::unsupported);
}

TEST(FastOpenClient, AnUnansweredSynWithDataIsSentAgainWithoutIt) {
  Harness h(fast_open_config());
  const std::vector<uint8_t> req(100, 'q');
  ASSERT_EQ(open_and_write(h, FastOpenClient{cookie_of(1), 1460}, 100).size(), 1u);
  h.run_until(h.now + 1100 * kMs);  // the first RTO (1 s)
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::syn);
  EXPECT_TRUE(s[0].payload.empty());
  EXPECT_FALSE(s[0].seg.options.has_fastopen);
  EXPECT_EQ(h.ctr.tcp_fastopen_syn_data_timeout, 1u);
  FastOpenNews n;
  ASSERT_TRUE(h.conn->take_fastopen_news(n));
  EXPECT_EQ(n.kind, FastOpenNews::Kind::syn_data_lost);
  // The handshake completes and the data goes after it.
  h.in(h.seg(5000, 1001, flag::syn | flag::ack, 65535, {}, synack_opts(s[0].seg.options.tsval)));
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].payload, req);
  EXPECT_FALSE(h.conn->take_fastopen_news(n));  // nothing more: the option was not in that SYN
}

TEST(FastOpenClient, WithoutAWriteTheSynGoesAtTheNextTimerPass) {
  Harness h(fast_open_config());
  const FastOpenClient fo{cookie_of(1), 1460};
  h.conn->connect(1000, 0, h.now, &fo);
  EXPECT_TRUE(h.take().empty());
  EXPECT_LE(h.conn->next_deadline(), h.now);
  h.run_until(h.now);
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::syn);
  EXPECT_TRUE(s[0].payload.empty());
  EXPECT_EQ(h.ctr.tcp_rto_timeouts, 0u);
}

TEST(FastOpenClient, TheSynCarriesNoMoreThanTheCachedMssAllows) {
  Harness h(fast_open_config());
  const std::vector<uint8_t> req(2000, 'q');
  auto s = open_and_write(h, FastOpenClient{cookie_of(1), 600}, 2000);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_GT(s[0].payload.size(), 500u);
  EXPECT_LE(s[0].payload.size() + s[0].seg.options.len(), 600u);
}

}  // namespace client

// ---------------------------------------------------------------- the server

namespace server {

using namespace ts::layer_harness;


struct FastOpenLayer : Layer {
  explicit FastOpenLayer(uint32_t pending = 1024, bool guard = false,
                         SynCookieMode cookies = SynCookieMode::automatic,
                         bool piggyback = true)
      : Layer(layer_config(pending, guard, cookies), listener(piggyback)) {
    app.reads = true;
  }
  static TcpLayerConfig layer_config(uint32_t pending, bool guard, SynCookieMode cookies) {
    TcpLayerConfig c;
    c.max_connections = 64;
    c.syncookies = cookies;
    c.fastopen_max_pending = pending;
    c.fastopen_replay_guard = guard;
    return c;
  }
  static ts::tcp::TcpConfig listener(bool piggyback) {
    ts::tcp::TcpConfig c;
    c.fast_open = true;
    c.piggyback_fin = piggyback;
    return c;
  }
  // Asks for a cookie; returns the one the SYN-ACK carried.
  ts::tcp::FastOpenCookie get_cookie(uint64_t now, uint16_t sport = 30000) {
    wire::TcpOptions o;
    o.has_fastopen = true;
    auto s = feed(kListenPort, flag::syn, 9000, 0, now, 0, sport, o);
    EXPECT_EQ(s.size(), 1u);
    ts::tcp::FastOpenCookie c;
    if (s.empty()) return c;
    EXPECT_TRUE(s[0].opts.has_fastopen);
    c.len = s[0].opts.fastopen_cookie_len;
    std::copy_n(s[0].opts.fastopen_cookie.begin(), c.len, c.bytes.begin());
    return c;
  }
  std::vector<Seg> syn_data(const ts::tcp::FastOpenCookie& c, uint32_t irs, size_t len,
                            uint64_t now, uint16_t sport = kPeerPort) {
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    o.has_fastopen = true;
    o.fastopen_cookie_len = c.len;
    std::copy_n(c.bytes.begin(), c.len, o.fastopen_cookie.begin());
    return feed(kListenPort, flag::syn, irs, 0, now, len, sport, o, 'q');
  }
};

TEST(FastOpenServer, ACookieRequestGetsACookieAndTheDataOfAValidOneGoesUpAtOnce) {
  FastOpenLayer l;
  l.app.answer = 300;
  const auto cookie = l.get_cookie(kMs);
  ASSERT_EQ(cookie.len, 8);
  EXPECT_EQ(l.ctr.tcp_fastopen_cookies_sent, 1u);
  EXPECT_EQ(l.app.asked, 0);  // a cookie request made no connection
  auto s = l.syn_data(cookie, 1000, 120, 2 * kMs);
  // The application read the request before the handshake completed, and
  // its answer left with the SYN-ACK, which acknowledges SYN and data.
  EXPECT_EQ(l.app.read, 120u);
  ASSERT_EQ(l.app.read_in.size(), 1u);
  EXPECT_EQ(l.app.read_in[0], ts::tcp::State::syn_received);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack | flag::psh);
  EXPECT_EQ(s[0].ack, 1000u + 1 + 120);
  EXPECT_EQ(s[0].len, 300u);
  EXPECT_FALSE(s[0].opts.has_fastopen);  // the client's cookie stands
  EXPECT_EQ(l.ctr.tcp_fastopen_accepted, 1u);
  // The ACK of SYN-ACK and answer completes the handshake; nothing is sent again.
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 1121, s[0].seq + 1 + 300, 3 * kMs).empty());
  EXPECT_EQ(l.app.conn->state(), ts::tcp::State::established);
  EXPECT_EQ(l.app.conn->snd_una(), s[0].seq + 1 + 300);
}

// A Fast Open SYN's data is read in place too (docs/performance.md, "Receive
// in place"): what the application leaves unread is copied before the SYN's
// memory goes.
TEST(FastOpenServer, SynDataLeftUnreadOutlivesTheSyn) {
  FastOpenLayer l;
  l.app.read_at_most = 50;
  const auto cookie = l.get_cookie(kMs);
  l.syn_data(cookie, 1000, 120, 2 * kMs);
  EXPECT_EQ(l.app.read, 50u);
  ASSERT_NE(l.app.conn, nullptr);
  std::fill(l.payload.begin(), l.payload.end(), uint8_t('x'));  // the SYN's buffer, reused
  const ts::tcp::Bytes2 r = l.app.conn->readable();
  std::vector<uint8_t> left(r.a.begin(), r.a.end());
  left.insert(left.end(), r.b.begin(), r.b.end());
  EXPECT_EQ(left, std::vector<uint8_t>(70, uint8_t('q')));
  EXPECT_EQ(l.ctr.tcp_recv_bytes_copied, 70u);
}

TEST(FastOpenServer, AnAnswerLongerThanTheSynAckCarriesFollowsItBeforeTheHandshake) {
  FastOpenLayer l;
  l.app.answer = 4000;
  l.app.close_after_answer = true;
  const auto cookie = l.get_cookie(kMs);
  auto s = l.syn_data(cookie, 1000, 80, 2 * kMs);
  // The SYN-ACK with the first part, then the rest within the initial
  // window, the FIN on the last segment; nothing waits for the ACK.
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
  size_t total = 0;
  uint32_t next = s[0].seq + 1;
  for (const auto& x : s) {
    if (&x != &s[0]) {
      EXPECT_EQ(x.seq, next);
      EXPECT_EQ(x.ack, 1081u);
    }
    next += uint32_t(x.len);
    total += x.len;
  }
  EXPECT_EQ(total, 4000u);
  EXPECT_EQ(s[2].flags, flag::ack | flag::psh | flag::fin);
  // One ACK for all of it (and the client's FIN) ends it.
  auto out = l.feed(kListenPort, flag::ack | flag::fin, 1081, next + 1, 3 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1082u);
  EXPECT_EQ(l.app.conn->state(), ts::tcp::State::time_wait);
  EXPECT_EQ(l.ctr.tcp_retransmits, 0u);
}

TEST(FastOpenServer, TheAnswerAndTheFinRideOnTheSynAckWhenTheApplicationCloses) {
  FastOpenLayer l;
  l.app.answer = 200;
  l.app.close_after_answer = true;
  const auto cookie = l.get_cookie(kMs);
  auto s = l.syn_data(cookie, 1000, 80, 2 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack | flag::psh | flag::fin);
  EXPECT_EQ(s[0].len, 200u);
  // The client's ACK with its own FIN: both closed in four segments.
  auto out = l.feed(kListenPort, flag::ack | flag::fin, 1081, s[0].seq + 1 + 200 + 1, 3 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::ack);
  EXPECT_EQ(out[0].ack, 1082u);
  EXPECT_EQ(l.app.conn->state(), ts::tcp::State::time_wait);
}

TEST(FastOpenServer, SpoofedDataNeverReachesTheApplicationBeforeTheHandshake) {
  FastOpenLayer l;
  // A forged cookie (seed 004's rlogin attack), and no cookie at all.
  const ts::tcp::FastOpenCookie forged = cookie_of(0x42);
  auto s = l.syn_data(forged, 1000, 100, kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1001u);          // the SYN alone is acknowledged
  EXPECT_TRUE(s[0].opts.has_fastopen);  // with a fresh cookie
  EXPECT_EQ(l.ctr.tcp_fastopen_cookie_invalid, 1u);
  ts::tcp::FastOpenCookie none;
  s = l.syn_data(none, 2000, 100, kMs, kPeerPort + 1);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 2001u);
  EXPECT_EQ(l.app.asked, 0);
  EXPECT_EQ(l.app.read, 0u);
  EXPECT_EQ(l.ctr.tcp_fastopen_accepted, 0u);
  // A real client completes its handshake and sends the data again: only then is it read.
  const uint32_t iss = s[0].seq;
  l.feed(kListenPort, flag::ack, 2001, iss + 1, 2 * kMs, 100, kPeerPort + 1, {}, 'q');
  EXPECT_EQ(l.app.read, 100u);
  EXPECT_EQ(l.app.read_in[0], ts::tcp::State::established);
}

TEST(FastOpenServer, BeyondThePendingLimitTheDataWaitsForTheHandshake) {
  FastOpenLayer l(1);
  const auto cookie = l.get_cookie(kMs);
  auto a = l.syn_data(cookie, 1000, 50, 2 * kMs, 41000);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].ack, 1051u);
  auto b = l.syn_data(cookie, 2000, 50, 2 * kMs, 41001);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].ack, 2001u);  // the limit: an ordinary handshake
  EXPECT_EQ(l.ctr.tcp_fastopen_pending_full, 1u);
  EXPECT_EQ(l.app.read, 50u);
  // The first one's handshake completes: the next SYN with data is taken.
  l.feed(kListenPort, flag::ack, 1051, a[0].seq + 1, 3 * kMs, 0, 41000);
  auto c = l.syn_data(cookie, 3000, 50, 3 * kMs, 41002);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].ack, 3051u);
  EXPECT_EQ(l.ctr.tcp_fastopen_accepted, 2u);
}

// An application that stops listening from on_accept, as a one-connection
// server would, on a SYN with data: the connection it took goes on, and the
// listener it held is not written to once closed (ASan would see it).
TEST(FastOpenServer, AnUnlistenFromOnAcceptLeavesTheConnectionWorking) {
  struct OneShot final : Acceptor {
    ts::tcp::Events* on_accept(const ts::tcp::FourTuple& t) override {
      layer->unlisten(kListenPort);
      return app->on_accept(t);
    }
    TcpLayer* layer = nullptr;
    App* app = nullptr;
  };
  FastOpenLayer l;
  l.app.answer = 100;
  const auto cookie = l.get_cookie(kMs);
  OneShot one;
  one.layer = &l.tcp;
  one.app = &l.app;
  l.tcp.unlisten(kListenPort);
  const ts::tcp::TcpConfig cfg = FastOpenLayer::listener(true);
  ASSERT_TRUE(l.tcp.listen(kListenPort, &one, 1024, &cfg));
  auto s = l.syn_data(cookie, 1000, 50, 2 * kMs);
  EXPECT_EQ(l.ctr.tcp_fastopen_accepted, 1u);
  EXPECT_EQ(l.app.read, 50u);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1051u);
  EXPECT_EQ(s[0].len, 100u);
  l.tcp.poll(2 * kMs);  // frees the listener
  EXPECT_TRUE(l.feed(kListenPort, flag::ack, 1051, s[0].seq + 1 + 100, 3 * kMs).empty());
  EXPECT_EQ(l.app.conn->state(), ts::tcp::State::established);
  // The port is closed: another SYN gets a reset.
  s = l.feed(kListenPort, flag::syn, 4000, 0, 3 * kMs, 0, kPeerPort + 5);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].flags & flag::rst);
}

TEST(FastOpenServer, WithSynCookiesTheDataWaitsForTheHandshake) {
  FastOpenLayer l(1024, false, SynCookieMode::always);
  const auto cookie = l.get_cookie(kMs);  // cookie SYN-ACKs carry Fast Open cookies too
  ASSERT_EQ(cookie.len, 8);
  auto s = l.syn_data(cookie, 1000, 50, 2 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_EQ(l.ctr.tcp_fastopen_syncookie_wait, 1u);
  EXPECT_EQ(l.app.read, 0u);
  // The handshake completes from the SYN cookie, and the data sent again is read.
  l.feed(kListenPort, flag::ack, 1001, s[0].seq + 1, 3 * kMs, 50, kPeerPort, {}, 'q');
  EXPECT_EQ(l.ctr.tcp_syncookie_valid, 1u);
  EXPECT_EQ(l.app.read, 50u);
}

TEST(FastOpenServer, TheReplayGuardDeliversASynsDataOnce) {
  for (bool guard : {false, true}) {
    FastOpenLayer l(1024, guard);
    const auto cookie = l.get_cookie(kMs);
    auto s = l.syn_data(cookie, 1000, 60, 2 * kMs);
    ASSERT_EQ(s.size(), 1u);
    // The client had gone: it resets the SYN-ACK, and the connection ends.
    l.feed(kListenPort, flag::rst, 1061, 0, 3 * kMs);
    ASSERT_EQ(l.app.closed, 1);
    l.tcp.poll(3 * kMs);  // its slot is reaped
    // The same SYN, duplicated by the network, arrives later.
    s = l.syn_data(cookie, 1000, 60, 4 * kMs);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(l.app.read, guard ? 60u : 120u) << "guard " << guard;
    EXPECT_EQ(s[0].ack, guard ? 1001u : 1061u);
    EXPECT_EQ(l.ctr.tcp_fastopen_replayed, guard ? 1u : 0u);
  }
}

TEST(FastOpenServer, AListenerWithoutFastOpenIgnoresTheOption) {
  Layer l;
  l.app.reads = true;
  wire::TcpOptions o;
  o.has_fastopen = true;
  o.fastopen_cookie_len = 8;
  auto s = l.feed(kListenPort, flag::syn, 1000, 0, kMs, 100, kPeerPort, o);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ack, 1001u);
  EXPECT_FALSE(s[0].opts.has_fastopen);
  EXPECT_EQ(l.app.read, 0u);
}

// ---------------------------------------------------------------- the FIN

TEST(FinPiggyback, AnAnswerAndACloseInOneHandlerLeaveInOneSegmentUnlessSeparate) {
  for (bool piggyback : {true, false}) {
    TcpLayerConfig cfg;
    ts::tcp::TcpConfig listener;
    listener.piggyback_fin = piggyback;
    Layer l(cfg, listener);
    l.app.reads = true;
    l.app.answer = 100;
    l.app.close_after_answer = true;
    const uint32_t iss = l.open(1000, kMs);
    auto s = l.feed(kListenPort, flag::ack | flag::psh, 1001, iss + 1, 2 * kMs, 64);
    if (piggyback) {
      ASSERT_EQ(s.size(), 1u);
      EXPECT_EQ(s[0].flags, flag::ack | flag::psh | flag::fin);
      EXPECT_EQ(s[0].len, 100u);
      EXPECT_EQ(s[0].ack, 1065u);
    } else {
      ASSERT_EQ(s.size(), 2u);
      EXPECT_EQ(s[0].flags, flag::ack | flag::psh);
      EXPECT_EQ(s[1].flags, flag::ack | flag::fin);
      EXPECT_EQ(s[1].len, 0u);
    }
  }
}

}  // namespace server

}  // namespace
