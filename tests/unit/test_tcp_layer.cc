// The TCP layer of an endpoint, driven with hand-built frames: what a closed
// port and a listening port answer (RFC 9293 3.10.7.1 and 3.10.7.2), and a
// TIME-WAIT that a newer SYN replaces (RFC 6191) while an old one does not.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "fixtures.hh"
#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "tcp/seq.hh"
#include "wire/ethernet.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

using namespace ts;
using namespace ts::stack;
using wire::Ipv4Addr;
using wire::MacAddr;
namespace flag = wire::tcpflag;

namespace {

constexpr uint64_t kMs = 1'000'000ull;
const MacAddr kOurMac = *MacAddr::parse("02:00:00:00:00:02");
const MacAddr kPeerMac = *MacAddr::parse("02:00:00:00:00:01");
const Ipv4Addr kOurIp = Ipv4Addr::from_octets(10, 77, 0, 2);
const Ipv4Addr kPeerIp = Ipv4Addr::from_octets(10, 77, 0, 1);
constexpr uint16_t kListenPort = 80, kClosedPort = 81, kPeerPort = 40000;

struct Seg {
  uint8_t flags = 0;
  uint32_t seq = 0, ack = 0;
  uint16_t window = 0;
  size_t len = 0;
};

// A frame from the peer to us carrying one TCP segment (no options).
std::vector<uint8_t> frame(uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                           size_t len = 0) {
  wire::EthernetRepr eth;
  eth.dst = kOurMac;
  eth.src = kPeerMac;
  eth.ethertype = 0x0800;
  wire::TcpRepr t;
  t.src_port = kPeerPort;
  t.dst_port = dport;
  t.seq = seq;
  t.ack = ack;
  t.flags = flags;
  t.window = 65535;
  wire::Ipv4Repr ip;
  ip.src = kPeerIp;
  ip.dst = kOurIp;
  ip.protocol = 6;
  ip.payload_len = uint16_t(t.header_len() + len);
  std::vector<uint8_t> f(14 + 20 + ip.payload_len, 0x5a);
  eth.emit(f);
  ip.emit(std::span<uint8_t>(f).subspan(14, 20));
  t.emit_header(std::span<uint8_t>(f).subspan(34), kPeerIp, kOurIp);
  return f;
}

// The TCP segments among the frames we sent.
std::vector<Seg> segments(const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<Seg> out;
  for (const auto& f : frames) {
    wire::EthernetRepr eth;
    if (wire::EthernetRepr::parse(f, eth) != wire::Error::ok || eth.ethertype != 0x0800) continue;
    wire::Ipv4View v(std::span<const uint8_t>(f).subspan(eth.header_len()));
    wire::Ipv4Repr ip;
    if (v.check() != wire::Error::ok || wire::Ipv4Repr::parse(v, ip) != wire::Error::ok ||
        ip.protocol != 6)
      continue;
    wire::TcpRepr t;
    EXPECT_EQ(wire::TcpRepr::parse(wire::TcpView(v.payload()), ip.src, ip.dst, t),
              wire::Error::ok);
    EXPECT_EQ(t.dst_port, kPeerPort);
    out.push_back({t.flags, t.seq, t.ack, t.window, t.payload.size()});
  }
  return out;
}

// Takes every connection and remembers the last one.
struct App final : Acceptor, tcp::Events {
  tcp::Events* on_syn(const tcp::FourTuple&) override { return this; }
  void on_connected(tcp::Connection& c) override {
    conn = &c;
    ++connected;
  }
  void on_closed(tcp::Connection&, tcp::CloseReason) override { ++closed; }
  tcp::Connection* conn = nullptr;
  int connected = 0, closed = 0;
};

struct Endpoint {
  Endpoint() : dev(kOurMac), stack(dev, config()) {
    // The peer asks for our address first: we learn its link address.
    dev.inject(test::fixture(test::load_fixtures(), "arp_request").bytes, 0);
    stack.poll(0);
    dev.take_sent();
    EXPECT_TRUE(stack.tcp().listen(kListenPort, &app));
  }
  static StackConfig config() {
    StackConfig c;
    c.addr = *wire::Ipv4Cidr::parse("10.77.0.2/24");
    return c;
  }
  std::vector<Seg> feed(const std::vector<uint8_t>& f, uint64_t now) {
    EXPECT_TRUE(dev.inject(f, 0));
    stack.poll(now);
    return segments(dev.take_sent());
  }
  const tcp::TcpCounters& ctr() const { return stack.counters().tcp; }

  // Opens a connection from the peer (its ISS `irs`); returns our ISS.
  uint32_t open(uint32_t irs, uint64_t now) {
    auto s = feed(frame(kListenPort, flag::syn, irs, 0), now);
    EXPECT_EQ(s.size(), 1u);
    if (s.empty()) return 0;
    EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
    EXPECT_EQ(s[0].ack, irs + 1);
    EXPECT_TRUE(feed(frame(kListenPort, flag::ack, irs + 1, s[0].seq + 1), now).empty());
    return s[0].seq;
  }

  MemDevice dev;
  Stack stack;
  App app;
};

TEST(TcpLayerClosed, EverythingButAResetIsAnsweredWithAReset) {
  Endpoint ep;
  // A SYN: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, the SYN counting one.
  auto s = ep.feed(frame(kClosedPort, flag::syn, 1000, 0), kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst | flag::ack);
  EXPECT_EQ(s[0].seq, 0u);
  EXPECT_EQ(s[0].ack, 1001u);
  // An ACK: <SEQ=SEG.ACK><CTL=RST>.
  s = ep.feed(frame(kClosedPort, flag::ack, 1000, 777), kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, 777u);
  // A reset is never answered.
  EXPECT_TRUE(ep.feed(frame(kClosedPort, flag::rst, 1000, 0), kMs).empty());
  EXPECT_EQ(ep.ctr().tcp_no_listener, 3u);
}

TEST(TcpLayerListen, AnAckGetsAResetAResetAndABareSegmentAreDropped) {
  Endpoint ep;
  auto s = ep.feed(frame(kListenPort, flag::ack, 1000, 4242), kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, 4242u);
  EXPECT_TRUE(ep.feed(frame(kListenPort, flag::rst, 1000, 0), kMs).empty());
  EXPECT_TRUE(ep.feed(frame(kListenPort, flag::fin, 1000, 0), kMs).empty());
  EXPECT_TRUE(ep.feed(frame(kListenPort, 0, 1000, 0, 10), kMs).empty());
  EXPECT_EQ(ep.ctr().tcp_listen_dropped, 4u);
  EXPECT_EQ(ep.ctr().tcp_no_listener, 0u);
  EXPECT_EQ(ep.stack.tcp().connections(), 0u);
  EXPECT_EQ(ep.app.connected, 0);
  // A SYN with an ACK is not an opening either: reset.
  s = ep.feed(frame(kListenPort, flag::syn | flag::ack, 1000, 99), kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::rst);
  EXPECT_EQ(s[0].seq, 99u);
}

// Brings a connection from the peer into TIME-WAIT on our side (we close
// first); returns the peer's next sequence number.
uint32_t into_time_wait(Endpoint& ep, uint32_t irs, uint64_t now) {
  const uint32_t iss = ep.open(irs, now);
  EXPECT_EQ(ep.app.connected, 1);
  ep.app.conn->close(now);
  ep.stack.poll(now);
  auto s = segments(ep.dev.take_sent());
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(!s.empty() && s[0].flags == (flag::fin | flag::ack));
  // The peer acknowledges our FIN and closes too; we acknowledge its FIN.
  s = ep.feed(frame(kListenPort, flag::fin | flag::ack, irs + 1, iss + 2), now);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_TRUE(!s.empty() && s[0].ack == irs + 2);
  EXPECT_EQ(ep.app.conn->state(), tcp::State::time_wait);
  return irs + 2;
}

TEST(TcpLayerTimeWait, ANewerSynStartsANewConnectionAtOnce) {
  Endpoint ep;
  const uint32_t next = into_time_wait(ep, 1000, kMs);
  ASSERT_EQ(ep.stack.tcp().connections(), 1u);
  const uint32_t irs2 = next + 100000;
  auto s = ep.feed(frame(kListenPort, flag::syn, irs2, 0), 2 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
  EXPECT_EQ(s[0].ack, irs2 + 1);
  EXPECT_EQ(ep.ctr().tcp_time_wait_reused, 1u);
  EXPECT_EQ(ep.app.closed, 1);  // the old incarnation is over
  EXPECT_TRUE(ep.feed(frame(kListenPort, flag::ack, irs2 + 1, s[0].seq + 1), 2 * kMs).empty());
  EXPECT_EQ(ep.app.connected, 2);
  EXPECT_EQ(ep.app.conn->state(), tcp::State::established);
  EXPECT_EQ(ep.stack.tcp().connections(), 1u);
  // Reaping the old incarnation later leaves the new one alone.
  ep.stack.poll(3 * kMs);
  EXPECT_EQ(ep.stack.tcp().connections(), 1u);
  EXPECT_EQ(ep.app.conn->state(), tcp::State::established);
}

TEST(TcpLayerTimeWait, AnOldSynIsAnsweredWithAnAckNotANewConnection) {
  Endpoint ep;
  const uint32_t next = into_time_wait(ep, 1000, kMs);
  auto s = ep.feed(frame(kListenPort, flag::syn, next - 10, 0), 2 * kMs);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].flags, flag::ack);  // RFC 5961 4: a challenge ACK
  EXPECT_EQ(s[0].ack, next);
  EXPECT_EQ(ep.ctr().tcp_time_wait_reused, 0u);
  EXPECT_EQ(ep.app.connected, 1);
  EXPECT_EQ(ep.app.conn->state(), tcp::State::time_wait);
}

}  // namespace
