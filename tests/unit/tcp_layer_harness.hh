// The TCP layer on its own over a recording IP layer (no Stack, no frames),
// for the tests of listeners, cookies and Fast Open (test_tcp_layer.cc,
// test_fastopen.cc).
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "stack/tcp_layer.hh"

namespace ts::layer_harness {

using stack::Acceptor;
using stack::IpOutput;
using stack::SynCookieMode;
using stack::TcpLayer;
using stack::TcpLayerConfig;
using wire::Ipv4Addr;
namespace flag = wire::tcpflag;

constexpr uint64_t kMs = 1'000'000ull;
const Ipv4Addr kOurIp = Ipv4Addr::from_octets(10, 77, 0, 2);
const Ipv4Addr kPeerIp = Ipv4Addr::from_octets(10, 77, 0, 1);
constexpr uint16_t kListenPort = 80, kClosedPort = 81, kPeerPort = 40000;

struct Seg {
  Ipv4Addr src, dst;
  uint16_t sport = 0, dport = 0;
  uint8_t flags = 0;
  uint32_t seq = 0, ack = 0;
  size_t len = 0;
  uint16_t window = 0;
  wire::TcpOptions opts;
};

// The IP layer as the TCP layer sees it, recording what it is asked to send.
struct FakeIp final : IpOutput {
  explicit FakeIp(std::vector<Ipv4Addr> s) : sources(std::move(s)) {}
  bool send_tcp(Ipv4Addr src, Ipv4Addr dst, const wire::TcpRepr& t, const tcp::Payload& p,
                uint64_t) override {
    sent.push_back({src, dst, t.src_port, t.dst_port, t.flags, t.seq, t.ack, p.size(), t.window,
                    t.options});
    return true;
  }
  uint32_t source_addresses() const override { return uint32_t(sources.size()); }
  Ipv4Addr source_address(uint32_t i) const override { return sources.at(i); }
  uint16_t mtu() const override { return 1500; }
  std::vector<Seg> take() {
    std::vector<Seg> v;
    v.swap(sent);
    return v;
  }
  std::vector<Ipv4Addr> sources;
  std::vector<Seg> sent;
};

// Takes every connection (or refuses them all) and remembers the last one;
// with `reads`, reads what arrives (noting the state it arrived in) and, with
// `answer`, answers it at once (and closes after, with `close_after_answer`).
struct App final : Acceptor, tcp::Events {
  tcp::Events* on_accept(const tcp::FourTuple&) override {
    ++asked;
    return refuse ? nullptr : this;
  }
  void on_connected(tcp::Connection& c) override {
    conn = &c;
    ++connected;
  }
  void on_readable(tcp::Connection& c) override {
    if (!reads) return;
    conn = &c;
    const size_t n = std::min(c.readable().size(), read_at_most);
    read += n;
    read_in.push_back(c.state());
    c.consume(n, now);
    if (answer) {
      const std::vector<uint8_t> a(answer, 'a');
      c.send(a, now);
      if (close_after_answer) c.close(now);
    }
  }
  void on_closed(tcp::Connection&, tcp::CloseReason) override { ++closed; }
  tcp::Connection* conn = nullptr;
  int asked = 0, connected = 0, closed = 0;
  bool refuse = false;
  bool reads = false;
  size_t read = 0;                    // bytes read
  size_t read_at_most = SIZE_MAX;     // of what is readable, each time
  std::vector<tcp::State> read_in;    // the state at each read
  size_t answer = 0;                  // bytes to answer each read with
  bool close_after_answer = false;
  uint64_t now = 0;                   // the time of the calls it makes
};

struct Layer {
  explicit Layer(uint32_t max_connections = 64, std::vector<Ipv4Addr> sources = {kOurIp},
                 SynCookieMode cookies = SynCookieMode::automatic, uint32_t backlog = 1024)
      : ip(std::move(sources)), tcp(ip, config(max_connections, cookies), {}, ctr) {
    EXPECT_TRUE(tcp.listen(kListenPort, &app, backlog));
  }
  // A layer of `cfg` whose listener has `listener` (Fast Open tests).
  Layer(const TcpLayerConfig& cfg, const tcp::TcpConfig& listener)
      : ip({kOurIp}), tcp(ip, cfg, {}, ctr) {
    EXPECT_TRUE(tcp.listen(kListenPort, &app, 1024, &listener));
  }
  static TcpLayerConfig config(uint32_t max_connections, SynCookieMode cookies) {
    TcpLayerConfig c;
    c.max_connections = max_connections;
    c.syncookies = cookies;
    return c;
  }
  // A segment from the peer (no payload but `len` bytes of zeros, or `fill`).
  std::vector<Seg> feed(uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, uint64_t now,
                        size_t len = 0, uint16_t sport = kPeerPort,
                        const wire::TcpOptions& opts = {}, uint8_t fill = 0) {
    app.now = now;
    wire::Ipv4Repr ip4;
    ip4.src = kPeerIp;
    ip4.dst = kOurIp;
    ip4.protocol = 6;
    payload.assign(len, fill);
    wire::TcpRepr t;
    t.src_port = sport;
    t.dst_port = dport;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    t.window = 65535;
    t.options = opts;
    t.payload = payload;
    tcp.input(ip4, t, now);
    tcp.end_of_burst(now);
    return ip.take();
  }
  // Opens a connection from the peer (its ISS `irs`); returns our ISS.
  uint32_t open(uint32_t irs, uint64_t now) {
    auto s = feed(kListenPort, flag::syn, irs, 0, now);
    EXPECT_EQ(s.size(), 1u);
    if (s.empty()) return 0;
    EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
    EXPECT_EQ(s[0].ack, irs + 1);
    EXPECT_TRUE(feed(kListenPort, flag::ack, irs + 1, s[0].seq + 1, now).empty());
    return s[0].seq;
  }

  FakeIp ip;
  tcp::TcpCounters ctr;
  TcpLayer tcp;
  App app;
  std::vector<uint8_t> payload;
};

}  // namespace ts::layer_harness
