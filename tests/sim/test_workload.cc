// The servers and the generator of `touchstone serve` and `gen`, run against
// each other in the simulator: every mode completes its requests with the
// right answers, HTTP keep-alive, pipelining and errors behave, the open loop
// keeps its rate and counts latency from when requests were due.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "sim/sim.hh"
#include "workload/generator.hh"
#include "workload/server.hh"

using namespace ts;
using namespace ts::sim;
using namespace ts::workload;

namespace {

constexpr uint64_t kMs = 1'000'000, kSec = 1'000'000'000;

struct Bed {
  explicit Bed(uint64_t seed = 1, double mbps = 1000, uint64_t one_way_us = 50)
      : net(seed), server(net.add_host("server", *wire::Ipv4Cidr::parse("10.0.0.1/24"))),
        client(net.add_host("client", *wire::Ipv4Cidr::parse("10.0.0.2/24"))) {
    LinkParams p;
    p.rate_bps = mbps * 1e6;
    p.delay_ns = one_way_us * 1000;
    p.queue_packets = 1000;
    net.connect(server, client, p, p);
    net.finish();
  }
  // Runs the generator until it is done or `limit` of simulated time passes;
  // ticks it every 100 us as a poll loop would.
  bool run(Generator& g, uint64_t limit) {
    Simulator& sim = net.sim();
    const uint64_t end = sim.now() + limit;
    sim.call_at(sim.now(), [&] {
      g.start(sim.now());
      client.kick(sim.now());
    });
    std::function<void()> tick = [&] {
      g.tick(sim.now());
      client.kick(sim.now());
      if (sim.now() + 100'000 < end) sim.call_at(sim.now() + 100'000, tick);
    };
    sim.call_at(sim.now() + 100'000, tick);
    const bool ok = sim.run_until_done([&] { return g.done(); }, end);
    sim.run_until(sim.now() + 10 * kMs);  // let the last ACKs and FINs pass
    return ok;
  }
  GenConfig gen_config(GenMode mode, uint16_t port) const {
    GenConfig c;
    c.mode = mode;
    c.target = server.ip();
    c.port = port;
    return c;
  }
  Network net;
  Host& server;
  Host& client;
};

TEST(Workload, RrAgainstEchoAnswersEveryRequest) {
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::echo;
  sc.port = 7;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::rr, 7);
  gc.conns = 4;
  gc.requests = 2000;
  gc.req_size = gc.resp_size = 100;
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  const GenStats& s = gen.stats();
  EXPECT_EQ(s.responses_ok, 2000u);
  EXPECT_EQ(s.responses_bad + s.errors + s.conns_failed, 0u);
  EXPECT_EQ(s.conns_established, 4u);
  EXPECT_EQ(s.latency.count(), 2000u);
  EXPECT_EQ(s.bytes_rx, 200000u);
  EXPECT_EQ(srv.stats().bytes_in, 200000u);
  // One round trip is 100 us of propagation plus serialization: the latency
  // must be at least that and not far above.
  EXPECT_GE(s.latency.quantile(0.5), 100'000u);
  EXPECT_LT(s.latency.quantile(0.5), 400'000u);
}

TEST(Workload, RrServerAnswersEachRequestWithTheSetSize) {
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::rr;
  sc.port = 9000;
  sc.req_size = 50;
  sc.resp_size = 30000;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::rr, 9000);
  gc.conns = 3;
  gc.requests = 300;
  gc.req_size = 50;
  gc.resp_size = 30000;
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 300u);
  EXPECT_EQ(gen.stats().bytes_rx, 300u * 30000);
  EXPECT_EQ(srv.stats().requests, 300u);
}

TEST(Workload, CpsOpensAndClosesAConnectionPerRequest) {
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::echo;
  sc.port = 7;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::cps, 7);
  gc.conns = 8;
  gc.requests = 500;
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 500u);
  EXPECT_EQ(gen.stats().conns_attempted, 500u);
  EXPECT_EQ(gen.stats().conns_established, 500u);
  EXPECT_EQ(srv.stats().accepted, 500u);
  EXPECT_EQ(srv.stats().closed, 500u);  // every server side finished (LAST-ACK)
  EXPECT_EQ(srv.stats().aborted, 0u);
  // Each request costs a handshake too: two round trips at least.
  EXPECT_GE(gen.stats().latency.quantile(0.5), 200'000u);
}

TEST(Workload, CpsReusesPortsThroughTimeWaitBeyondThePortRange) {
  // A port range of 64 and 1000 connections: the generator's TIME-WAITs must
  // give way to new connections from the same ports.
  stack::StackConfig base;
  base.tcp.ephemeral_first = 40000;
  base.tcp.ephemeral_last = 40063;
  Network net(3);
  Host& server = net.add_host("server", *wire::Ipv4Cidr::parse("10.0.0.1/24"));
  Host& client = net.add_host("client", *wire::Ipv4Cidr::parse("10.0.0.2/24"), base);
  LinkParams p;
  p.rate_bps = 1e9;
  p.delay_ns = 50'000;
  net.connect(server, client, p, p);
  net.finish();
  ServerConfig sc;
  sc.app = ServerApp::echo;
  sc.port = 7;
  Server srv(server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc;
  gc.mode = GenMode::cps;
  gc.target = server.ip();
  gc.port = 7;
  gc.conns = 4;
  gc.requests = 1000;
  Generator gen(client.stack().tcp(), gc);
  Simulator& sim = net.sim();
  sim.call_at(0, [&] {
    gen.start(0);
    client.kick(0);
  });
  std::function<void()> tick = [&] {
    gen.tick(sim.now());
    client.kick(sim.now());
    sim.call_at(sim.now() + 100'000, tick);
  };
  sim.call_at(100'000, tick);
  ASSERT_TRUE(sim.run_until_done([&] { return gen.done(); }, 20 * kSec))
      << gen.stats().responses_ok << " done, " << gen.stats().conns_no_slot << " without a port, "
      << gen.stats().conns_failed << " failed, " << gen.stats().errors << " errors, "
      << client.stack().tcp().connections() << " open";
  EXPECT_EQ(gen.stats().responses_ok, 1000u);
  EXPECT_GT(client.stack().counters().tcp.tcp_time_wait_reused, 0u);
}

TEST(Workload, BulkIntoDiscardFillsThePath) {
  Bed bed(1, 100, 1000);  // 100 Mbit/s, 2 ms RTT
  ServerConfig sc;
  sc.app = ServerApp::discard;
  sc.port = 9;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::bulk, 9);
  gc.conns = 1;
  Generator gen(bed.client.stack().tcp(), gc);
  bed.run(gen, 2 * kSec);
  const double goodput = double(gen.stats().bytes_acked) * 8 / 2.0;
  EXPECT_GT(goodput, 0.85 * 100e6 * 1448 / 1514) << goodput;
  EXPECT_GE(srv.stats().bytes_in, gen.stats().bytes_acked - 1);  // acked means received
}

TEST(Workload, HttpGeneratedBodyKeepAlive) {
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::http;
  sc.port = 80;
  sc.http_size = 10000;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::http, 80);
  gc.conns = 2;
  gc.requests = 200;
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 200u);
  EXPECT_EQ(gen.stats().responses_bad, 0u);
  EXPECT_EQ(gen.stats().conns_established, 2u);  // kept alive
  EXPECT_EQ(srv.stats().http_2xx, 200u);
}

// Large bodies leave by reference: after the header and the first 16 KiB,
// segments are built from the shared pattern (or a mapped file), and the
// connection's ring holds nothing of them.
TEST(Workload, HttpLargeBodiesAreSentByReference) {
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::http;
  sc.port = 80;
  sc.http_size = 3 << 20;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::http, 80);
  gc.conns = 2;
  gc.requests = 6;
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 60 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 6u);
  EXPECT_EQ(gen.stats().responses_bad, 0u);
  const auto& t = bed.server.stack().counters().tcp;
  EXPECT_GE(t.tcp_send_bytes_referenced, 6u * ((3u << 20) - 16384));
  EXPECT_LE(t.tcp_send_bytes_copied, 6u * (16384 + 512));
  EXPECT_EQ(t.tcp_send_bytes_referenced + t.tcp_send_bytes_copied, srv.stats().bytes_out);
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/ts-www-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& rel, size_t n) {
    std::filesystem::create_directories(std::filesystem::path(path + rel).parent_path());
    std::ofstream f(path + rel, std::ios::binary);
    for (size_t i = 0; i < n; ++i) f.put(char(i * 7 + 3));
  }
  std::string path;
};

TEST(Workload, HttpFilesAndMissingOnes) {
  TempDir dir;
  dir.write("/big.bin", 300000);
  dir.write("/sub/index.html", 1000);
  FileIndex files;
  ASSERT_EQ(files.load(dir.path), "");
  EXPECT_EQ(files.size(), 2u);
  ASSERT_NE(files.find("/sub/"), nullptr);
  EXPECT_EQ(files.find("/sub")->size, 1000u);
  EXPECT_EQ(files.find("/nothing"), nullptr);

  for (const char* path : {"/big.bin", "/missing"}) {
    Bed bed;
    ServerConfig sc;
    sc.app = ServerApp::http;
    sc.port = 80;
    sc.files = &files;
    Server srv(bed.server.stack().tcp(), sc);
    ASSERT_TRUE(srv.start());
    GenConfig gc = bed.gen_config(GenMode::http, 80);
    gc.conns = 2;
    gc.requests = 20;
    gc.path = path;
    Generator gen(bed.client.stack().tcp(), gc);
    ASSERT_TRUE(bed.run(gen, 10 * kSec)) << path;
    if (std::string(path) == "/big.bin") {
      EXPECT_EQ(gen.stats().responses_ok, 20u);
      EXPECT_GT(gen.stats().bytes_rx, 20u * 300000);
    } else {
      EXPECT_EQ(gen.stats().responses_bad, 20u);  // 404 is not a success
      EXPECT_EQ(srv.stats().http_4xx, 20u);
    }
  }
}

// A raw client: sends a fixed byte string once connected and collects the answer.
struct RawClient final : tcp::Events {
  RawClient(stack::TcpLayer& t, std::string req) : tcp(t), request(std::move(req)) {}
  void on_connected(tcp::Connection& c) override {
    c.send({reinterpret_cast<const uint8_t*>(request.data()), request.size()}, tcp.now());
  }
  void on_readable(tcp::Connection& c) override {
    const tcp::Bytes2 r = c.readable();
    answer.append(reinterpret_cast<const char*>(r.a.data()), r.a.size());
    answer.append(reinterpret_cast<const char*>(r.b.data()), r.b.size());
    c.consume(r.size(), tcp.now());
  }
  void on_peer_closed(tcp::Connection& c) override {
    peer_closed = true;
    c.close(tcp.now());
  }
  stack::TcpLayer& tcp;
  std::string request, answer;
  bool peer_closed = false;
};

std::string http_exchange(const std::string& request, uint64_t body = 5) {
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::http;
  sc.port = 80;
  sc.http_size = body;
  Server srv(bed.server.stack().tcp(), sc);
  EXPECT_TRUE(srv.start());
  RawClient rc(bed.client.stack().tcp(), request);
  bed.net.sim().call_at(0, [&] {
    bed.client.stack().tcp().connect(bed.server.ip(), 80, &rc, 0);
    bed.client.kick(0);
  });
  bed.net.sim().run_until(kSec);
  return rc.answer + (rc.peer_closed ? "<closed>" : "");
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(WorkloadHttp, PipelinedRequestsAreAnsweredInOrder) {
  const std::string a = http_exchange(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(count(a, "HTTP/1.1 200 OK\r\n"), 3u) << a;
  // The bodies: GET, nothing for HEAD, GET; then the server closes.
  const size_t first = a.find("\r\n\r\n"), second = a.find("HTTP/1.1", first);
  EXPECT_EQ(second - first - 4, 5u);
  const size_t third = a.find("HTTP/1.1", second + 1);
  EXPECT_EQ(a.find("\r\n\r\n", second) + 4, third);  // HEAD: no body
  EXPECT_NE(a.find("Connection: close", third), std::string::npos);
  EXPECT_TRUE(a.ends_with("<closed>")) << a;
}

TEST(WorkloadHttp, MalformedRequestGets400AndClose) {
  const std::string a = http_exchange("GARBAGE\r\n\r\n");
  EXPECT_TRUE(a.starts_with("HTTP/1.1 400 Bad Request\r\n")) << a;
  EXPECT_TRUE(a.ends_with("<closed>")) << a;
  const std::string b = http_exchange("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(b.starts_with("HTTP/1.1 501 Not Implemented\r\n")) << b;
  EXPECT_FALSE(b.ends_with("<closed>")) << b;  // well-formed: kept alive
  const std::string c = http_exchange("GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(c.starts_with("HTTP/1.1 200 OK\r\n")) << c;
  EXPECT_TRUE(c.ends_with("<closed>")) << c;  // 1.0 without keep-alive
}

TEST(Workload, OpenLoopKeepsItsRateAndCountsFromTheDueTime) {
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::echo;
  sc.port = 7;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::rr, 7);
  gc.conns = 4;
  gc.rate = 5000;
  gc.requests = 5000;  // one second's worth
  Generator gen(bed.client.stack().tcp(), gc);
  const uint64_t t0 = bed.net.sim().now();
  ASSERT_TRUE(bed.run(gen, 5 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 5000u);
  const double took = double(bed.net.sim().now() - t0) / 1e9;
  EXPECT_GT(took, 0.99);  // not faster than the rate
  EXPECT_LT(took, 1.2);
  EXPECT_LT(gen.stats().latency.quantile(0.5), 200'000u);
}

TEST(Workload, OpenLoopLatencyIncludesTheWaitOfRequestsAServerCannotKeepUpWith) {
  // One connection with a 100 us round trip manages about 9000 requests a
  // second; 20000 are due each second. Counted from the send, every request
  // would take one round trip; counted from when it was due, the backlog shows.
  Bed bed;
  ServerConfig sc;
  sc.app = ServerApp::echo;
  sc.port = 7;
  Server srv(bed.server.stack().tcp(), sc);
  ASSERT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::rr, 7);
  gc.conns = 1;
  gc.rate = 20000;
  gc.requests = 2000;
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 5 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 2000u);
  EXPECT_GT(gen.stats().latency.quantile(0.99), 50 * kMs);
}

}  // namespace
