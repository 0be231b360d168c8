// The servers and the generator of `touchstone serve` and `gen`, run against
// each other in the simulator: every mode completes its requests with the
// right answers, HTTP keep-alive, pipelining and errors behave, the open loop
// keeps its rate and counts latency from when requests were due.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hostcache/path_cache.hh"
#include "sim/sim.hh"
#include "workload_bed.hh"
#include "workload/generator.hh"
#include "workload/server.hh"

using namespace ts;
using namespace ts::sim;
using namespace ts::workload;
using namespace ts::workload::testing;

namespace {

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
  // Every request was acknowledged (by its response), though the generator
  // wrote each whole and so heard no on_writable: counted as responses came.
  EXPECT_EQ(s.bytes_acked, 200000u);
  // One round trip is 100 us of propagation plus serialization: the latency
  // must be at least that and not far above.
  EXPECT_GE(s.latency.quantile(0.5), 100'000u);
  EXPECT_LT(s.latency.quantile(0.5), 400'000u);
  // Both ends read each message whole where it arrived (docs/performance.md,
  // "Receive in place"): nothing was copied into a receive ring.
  const auto& st = bed.server.stack().counters().tcp;
  const auto& ct = bed.client.stack().counters().tcp;
  EXPECT_EQ(st.tcp_recv_bytes_copied, 0u);
  EXPECT_EQ(ct.tcp_recv_bytes_copied, 0u);
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

// A server that answers every 64 bytes with 64 bytes of the wrong content:
// every response arrives whole, and every one is counted bad.
TEST(Workload, RrCountsAResponseThatIsNotThePatternBad) {
  Bed bed;
  struct Wrong final : stack::Acceptor, tcp::Events {
    explicit Wrong(stack::TcpLayer& l) : layer(l) {}
    tcp::Events* on_accept(const tcp::FourTuple&) override { return this; }
    void on_readable(tcp::Connection& c) override {
      const size_t n = c.readable().size();
      c.consume(n, layer.now());
      const std::vector<uint8_t> junk(n, 'x');
      c.send(junk, layer.now());
    }
    void on_peer_closed(tcp::Connection& c) override { c.close(layer.now()); }
    stack::TcpLayer& layer;
  } wrong(bed.server.stack().tcp());
  ASSERT_TRUE(bed.server.stack().tcp().listen(7, &wrong));
  GenConfig gc = bed.gen_config(GenMode::rr, 7);
  gc.conns = 2;
  gc.requests = 50;
  Generator gen(bed.client.stack().tcp(), gc);
  bed.run(gen, 5 * kSec);
  EXPECT_EQ(gen.stats().responses_ok, 0u);
  EXPECT_EQ(gen.stats().responses_bad, 50u);
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
  // Each file's 200 heads are built once at load, with its own length.
  const OkHeads& h = files.find("/big.bin")->heads;
  EXPECT_TRUE(h.keep.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_NE(h.keep.find("Content-Length: 300000\r\n"), std::string::npos);
  EXPECT_EQ(h.keep.find("Connection: close"), std::string::npos);
  EXPECT_NE(h.close.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(h.close.ends_with("\r\n\r\n"));
  EXPECT_NE(files.find("/sub/")->heads.keep.find("Content-Length: 1000\r\n"), std::string::npos);

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

// ---------------------------------------------------------------- issue 12

// A server of `app` on `port`, listening.
struct Serving {
  Serving(Bed& bed, ServerApp app, uint16_t port, const FileIndex* files = nullptr,
          uint32_t backlog = 1024)
      : srv(bed.server.stack().tcp(), config(app, port, files, backlog)) {
    EXPECT_TRUE(srv.start());
  }
  static ServerConfig config(ServerApp app, uint16_t port, const FileIndex* files,
                             uint32_t backlog) {
    ServerConfig sc;
    sc.app = app;
    sc.port = port;
    sc.files = files;
    sc.backlog = backlog;
    return sc;
  }
  const ServerStats& stats() const { return srv.stats(); }
  Server srv;
};

TEST(WorkloadHttp, A404KeepsTheConnectionAndIsCountedByStatus) {
  TempDir dir;
  dir.write("/here.txt", 100);
  FileIndex files;
  ASSERT_EQ(files.load(dir.path), "");
  Bed bed;
  Serving srv(bed, ServerApp::http, 80, &files);
  GenConfig gc = bed.gen_config(GenMode::http, 80);
  gc.conns = 3;
  gc.requests = 300;
  gc.path = "/missing";
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  const GenStats& s = gen.stats();
  EXPECT_EQ(s.responses_bad, 300u);  // not 2xx
  EXPECT_EQ(s.http_status[404 - GenStats::kFirstStatus], 300u);
  EXPECT_EQ(s.conns_established, 3u);  // no reconnection per 404 (as wrk)
  EXPECT_EQ(srv.stats().http_4xx, 300u);
}

TEST(WorkloadHttp, PathsInTurnPostBodiesAndHead) {
  TempDir dir;
  dir.write("/a", 10);
  dir.write("/b", 2000);
  FileIndex files;
  ASSERT_EQ(files.load(dir.path), "");
  Bed bed;
  Serving srv(bed, ServerApp::http, 80, &files);
  // In turn over /a, /b, /nope: a third of the answers are 404.
  GenConfig gc = bed.gen_config(GenMode::http, 80);
  gc.conns = 1;
  gc.requests = 300;
  gc.paths = {"/a", "/b", "/nope"};
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().http_status[200 - GenStats::kFirstStatus], 200u);
  EXPECT_EQ(gen.stats().http_status[404 - GenStats::kFirstStatus], 100u);
  EXPECT_EQ(gen.stats().bytes_rx - srv.stats().bytes_out, 0u);
  // 100 of each file's body plus the headers.
  EXPECT_GT(gen.stats().bytes_rx, 100u * (10 + 2000));

  // POST with a 50 000-byte body: answered once the body is in, so every
  // response is ok (an answer before the whole request was sent would not be).
  GenConfig post = bed.gen_config(GenMode::http, 80);
  post.conns = 2;
  post.requests = 20;
  post.method = "POST";
  post.path = "/a";
  post.body_size = 50000;
  post.headers = {"X-Run: post"};
  Generator poster(bed.client.stack().tcp(), post);
  const uint64_t in_before = srv.stats().bytes_in;
  ASSERT_TRUE(bed.run(poster, 10 * kSec));
  EXPECT_EQ(poster.stats().responses_ok, 20u);
  EXPECT_EQ(poster.stats().responses_bad, 0u);
  EXPECT_GE(srv.stats().bytes_in - in_before, 20u * 50000);

  // HEAD: a Content-Length but no body; the next response still parses.
  GenConfig head = bed.gen_config(GenMode::http, 80);
  head.conns = 1;
  head.requests = 50;
  head.method = "HEAD";
  head.path = "/b";
  Generator header(bed.client.stack().tcp(), head);
  ASSERT_TRUE(bed.run(header, 10 * kSec));
  EXPECT_EQ(header.stats().responses_ok, 50u);
  EXPECT_EQ(header.stats().responses_bad, 0u);
  EXPECT_LT(header.stats().bytes_rx, 50u * 2000);  // no bodies
}

TEST(WorkloadBulk, ReverseReceivesFromASourceAndBidirSendsBothWays) {
  Bed bed(1, 100, 1000);  // 100 Mbit/s, 2 ms RTT
  Serving srv(bed, ServerApp::source, 19);
  GenConfig gc = bed.gen_config(GenMode::bulk, 19);
  gc.conns = 2;
  gc.direction = BulkDirection::receive;
  Generator rev(bed.client.stack().tcp(), gc);
  bed.run(rev, 1 * kSec);
  EXPECT_EQ(rev.stats().bytes_tx, 0u);
  // Most of the link, from the target.
  EXPECT_GT(double(rev.stats().bytes_rx) * 8, 0.8 * 100e6 * 1448 / 1514);
  rev.close_all(bed.net.sim().now());
  bed.net.sim().run_until(bed.net.sim().now() + 100 * kMs);

  gc.direction = BulkDirection::both;
  Generator both(bed.client.stack().tcp(), gc);
  bed.run(both, 1 * kSec);
  EXPECT_GT(double(both.stats().bytes_rx) * 8, 0.8 * 100e6 * 1448 / 1514);
  EXPECT_GT(double(both.stats().bytes_acked) * 8, 0.8 * 100e6 * 1448 / 1514);
  GenStats sampled;
  both.sample(sampled);
  EXPECT_EQ(sampled.cwnd_conns, 2u);
  EXPECT_GT(sampled.cwnd_sum, 2u * 10 * 1448);  // grew past the initial window
}

TEST(WorkloadBulk, RetransmissionsAreSampledFromTheConnections) {
  Bed bed(3, 100, 1000, 0.01);  // 1% loss both ways
  Serving srv(bed, ServerApp::discard, 9);
  GenConfig gc = bed.gen_config(GenMode::bulk, 9);
  gc.conns = 4;
  Generator gen(bed.client.stack().tcp(), gc);
  bed.run(gen, 3 * kSec);
  GenStats s = gen.stats();
  gen.sample(s);
  EXPECT_GT(s.retransmitted_bytes, 0u);
  EXPECT_GT(bed.client.stack().counters().tcp.tcp_retransmits, 0u);
  uint64_t direct = 0;
  bed.client.stack().tcp().for_each_connection(0, SIZE_MAX, [&](const tcp::Connection& c) {
    direct += c.retransmitted_bytes();
  });
  EXPECT_EQ(s.retransmitted_bytes, direct);
}

TEST(WorkloadPacing, ADeadTargetGetsAFirstBurstNotAFlood) {
  Bed bed;
  // Nothing answers at 10.0.0.9: SYNs wait for ARP, which never resolves.
  GenConfig gc = bed.gen_config(GenMode::rr, 80);
  gc.target = wire::Ipv4Addr::from_octets(10, 0, 0, 9);
  gc.conns = 5000;
  Generator gen(bed.client.stack().tcp(), gc);
  bed.run(gen, 500 * kMs);
  EXPECT_EQ(gen.stats().conns_attempted, HandshakeWindow::kFirstBurst);
  EXPECT_EQ(gen.stats().conns_established, 0u);
}

// Open-loop cps: a connection holds its window slot from its SYN until its
// response, so a target that accepts but does not answer gets no more
// connections than the window, however many are due and --conns allows.
TEST(WorkloadPacing, OpenLoopCpsHoldsTheWindowUntilTheResponse) {
  for (bool open_loop : {true, false}) {
    Bed bed;
    Serving srv(bed, ServerApp::discard, 9);
    GenConfig gc = bed.gen_config(GenMode::cps, 9);
    gc.cps_half_close = false;  // no FIN: the connection waits for its answer
    gc.conns = 500;
    gc.window = 8;
    if (open_loop) gc.rate = 100'000;
    Generator gen(bed.client.stack().tcp(), gc);
    bed.run(gen, 300 * kMs);
    if (open_loop) {
      EXPECT_EQ(gen.stats().conns_attempted, 8u);
    } else {
      // The closed loop's window covers handshakes only: all 500 open.
      EXPECT_EQ(gen.stats().conns_attempted, 500u);
    }
    EXPECT_EQ(gen.stats().conns_established, gen.stats().conns_attempted);
    EXPECT_EQ(gen.stats().responses_ok, 0u);
  }
}

TEST(WorkloadPacing, ManyConnectionsOpenAsHandshakesComplete) {
  Bed bed;
  Serving srv(bed, ServerApp::echo, 7, nullptr, 8000);
  // Open loop at a rate the link carries easily: the pool of 3000
  // connections opens at once, paced by the handshake window.
  GenConfig gc = bed.gen_config(GenMode::rr, 7);
  gc.conns = 3000;  // (a simulated host holds 4096)
  gc.rate = 20000;
  Generator gen(bed.client.stack().tcp(), gc);
  bed.run(gen, 1 * kSec);
  EXPECT_EQ(gen.stats().conns_established, 3000u);
  EXPECT_EQ(gen.stats().open, 3000u);
  EXPECT_EQ(gen.stats().conns_failed, 0u);
  // The first SYNs all waited for ARP (none dropped from its queue).
  EXPECT_EQ(bed.client.stack().counters().arp_queue_full, 0u);
  // The echo server counts a request per --req-size bytes echoed.
  EXPECT_NEAR(double(srv.stats().requests), double(gen.stats().responses_ok), 100);
  EXPECT_GT(gen.stats().responses_ok, 19000u);
}

TEST(WorkloadPacing, AClosedLoopRampOpensConnectionsLinearly) {
  Bed bed;
  Serving srv(bed, ServerApp::echo, 7);
  GenConfig gc = bed.gen_config(GenMode::rr, 7);
  gc.conns = 100;
  gc.ramp_ns = 1 * kSec;
  Generator gen(bed.client.stack().tcp(), gc);
  std::vector<uint64_t> open_at;
  Simulator& sim = bed.net.sim();
  for (uint64_t t : {250 * kMs, 500 * kMs, 750 * kMs, 1500 * kMs})
    sim.call_at(sim.now() + t, [&] { open_at.push_back(gen.stats().open); });
  bed.run(gen, 2 * kSec);
  ASSERT_EQ(open_at.size(), 4u);
  EXPECT_NEAR(double(open_at[0]), 25, 2);
  EXPECT_NEAR(double(open_at[1]), 50, 2);
  EXPECT_NEAR(double(open_at[2]), 75, 2);
  EXPECT_EQ(open_at[3], 100u);
}

TEST(WorkloadStats, AfterAWarmUpEveryRequestSentIsStillAnsweredOrLost) {
  GenStats base;
  base.requests_sent = 110;  // 10 in flight at the end of the warm-up
  base.responses_ok = 95;
  base.responses_bad = 3;
  base.errors = 2;
  base.bytes_tx = 1000;
  base.conns_established = 4;
  base.count_status(200);
  GenStats end = base;
  end.requests_sent = 510;
  end.responses_ok = 495;
  end.responses_bad = 5;
  end.errors = 10;
  end.bytes_tx = 5000;
  end.count_status(200);
  end.count_status(200);
  const GenStats d = end.since(base);
  EXPECT_EQ(d.requests_sent, 410u);  // 400 sent after it, and the 10 in flight
  EXPECT_EQ(d.responses_ok + d.responses_bad + d.errors, 410u);
  EXPECT_EQ(d.bytes_tx, 4000u);
  EXPECT_EQ(d.conns_established, 4u);  // connections: the whole run
  EXPECT_EQ(d.http_status[200 - GenStats::kFirstStatus], 2u);
}

// TCP Fast Open between the generator and the server (docs/fastopen.md):
// cps with the request in the SYN and the answer in the SYN-ACK, and what
// happens when the SYN's data, or the SYN-ACK's, is lost, or a middlebox
// drops every SYN that carries data. Every request is answered in full.
namespace {

// Whether a frame is a TCP segment with SYN (and ACK, with `ack`) carrying data.
bool syn_with_data(std::span<const uint8_t> f, bool ack) {
  if (f.size() < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6) return false;
  const size_t ihl = size_t(f[14] & 0x0f) * 4;
  const size_t total = size_t(f[16]) << 8 | f[17];
  const uint8_t* tcp = f.data() + 14 + ihl;
  const size_t doff = size_t(tcp[12] >> 4) * 4;
  const uint8_t want = wire::tcpflag::syn | (ack ? wire::tcpflag::ack : 0);
  return (tcp[13] & (wire::tcpflag::syn | wire::tcpflag::ack)) == want && total > ihl + doff;
}

struct FastOpenRun {
  GenStats gen;
  tcp::TcpCounters client, server;
  uint64_t segments = 0;
  bool blocked_after = false;  // the cache marks the server as dropping SYN data
};

// 300 cps exchanges of 100 bytes, 4 at a time, both ends with Fast Open;
// the client keeps cookies in a host-pair cache (Policy::off: cookies only).
FastOpenRun fast_open_cps(const LinkParams& to_client, const LinkParams& to_server) {
  stack::StackConfig base;
  base.tcp.tcp.fast_open = true;
  Bed bed(3, to_client, to_server, base);
  hostcache::HostCache cache;
  hostcache::SharedPathCache paths(cache, hostcache::Policy::off);
  bed.client.stack().tcp().set_path_cache(&paths);
  ServerConfig sc;
  sc.app = ServerApp::echo;
  sc.port = 7;
  Server srv(bed.server.stack().tcp(), sc);
  EXPECT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(GenMode::cps, 7);
  gc.conns = 4;
  gc.requests = 300;
  gc.req_size = gc.resp_size = 100;
  Generator gen(bed.client.stack().tcp(), gc);
  EXPECT_TRUE(bed.run(gen, 60 * kSec));
  FastOpenRun r;
  r.gen = gen.stats();
  r.client = bed.client.stack().counters().tcp;
  r.server = bed.server.stack().counters().tcp;
  r.segments = r.client.tcp_segs_out + r.server.tcp_segs_out;
  r.blocked_after = cache.peek({bed.client.ip(), bed.server.ip()}, bed.net.sim().now(),
                               hostcache::Policy::off, 1460)
                        .fastopen_blocked;
  return r;
}

void expect_all_answered(const FastOpenRun& r) {
  EXPECT_EQ(r.gen.responses_ok, 300u);
  EXPECT_EQ(r.gen.responses_bad, 0u);
  EXPECT_EQ(r.gen.errors, 0u);
  EXPECT_EQ(r.gen.conns_failed, 0u);
}

}  // namespace

TEST(WorkloadFastOpen, CpsCarriesTheRequestInTheSynAndTheAnswerInTheSynAck) {
  const FastOpenRun r = fast_open_cps(Bed::link(), Bed::link());
  expect_all_answered(r);
  // The first connections ask for the cookie; every later one uses it.
  EXPECT_GE(r.client.tcp_fastopen_cookie_requests, 1u);
  EXPECT_LE(r.client.tcp_fastopen_cookie_requests, 4u);
  EXPECT_EQ(r.client.tcp_fastopen_syn_data + r.client.tcp_fastopen_cookie_requests, 300u);
  EXPECT_EQ(r.client.tcp_fastopen_syn_data_acked, r.client.tcp_fastopen_syn_data);
  EXPECT_EQ(r.server.tcp_fastopen_accepted, r.client.tcp_fastopen_syn_data);
  EXPECT_EQ(r.client.tcp_retransmits + r.server.tcp_retransmits, 0u);
  // Five segments a transaction (SYN+request, SYN-ACK+answer, FIN, FIN, ACK)
  // once the cookie is held; the cookie requests cost seven.
  const double per = double(r.segments) / 300;
  std::printf("Fast Open cps: %.2f segments a transaction\n", per);
  EXPECT_LT(per, 5.1);
}

TEST(WorkloadFastOpen, ALostSynWithDataFallsBackAndTheServerIsLeftAlone) {
  LinkParams up = Bed::link();
  int dropped = 0;
  up.drop_if = [&](std::span<const uint8_t> f) {
    if (dropped || !syn_with_data(f, false)) return false;
    ++dropped;
    return true;
  };
  const FastOpenRun r = fast_open_cps(Bed::link(), up);
  expect_all_answered(r);
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(r.client.tcp_fastopen_syn_data_timeout, 1u);
  EXPECT_TRUE(r.blocked_after);  // later connects skip Fast Open for a while
}

TEST(WorkloadFastOpen, ALostSynAckWithTheAnswerIsSentAgainWithIt) {
  LinkParams down = Bed::link();
  int dropped = 0;
  down.drop_if = [&](std::span<const uint8_t> f) {
    if (dropped >= 3 || !syn_with_data(f, true)) return false;
    ++dropped;
    return true;
  };
  const FastOpenRun r = fast_open_cps(down, Bed::link());
  expect_all_answered(r);
  EXPECT_EQ(dropped, 3);
  EXPECT_GE(r.server.tcp_retransmits, 3u);
  // The client cannot tell a lost SYN-ACK from a lost SYN (RFC 7413 4.1.3):
  // it sent its SYN again without data, and the server answered with the
  // SYN-ACK and the answer again, delivered once.
  EXPECT_EQ(r.client.tcp_fastopen_syn_data_timeout, 3u);
  EXPECT_EQ(r.server.tcp_fastopen_accepted, r.client.tcp_fastopen_syn_data);
}

TEST(WorkloadFastOpen, AMiddleboxDroppingSynsWithDataCostsOneTimeoutPerConnectionInFlight) {
  LinkParams up = Bed::link();
  int dropped = 0;
  up.drop_if = [&](std::span<const uint8_t> f) {
    if (!syn_with_data(f, false)) return false;
    ++dropped;
    return true;
  };
  const FastOpenRun r = fast_open_cps(Bed::link(), up);
  expect_all_answered(r);
  EXPECT_GE(dropped, 1);
  EXPECT_LE(dropped, 4);  // the connections in flight when the first timed out
  EXPECT_EQ(r.client.tcp_fastopen_syn_data_timeout, uint64_t(dropped));
  EXPECT_EQ(r.server.tcp_fastopen_accepted, 0u);
  EXPECT_TRUE(r.blocked_after);
  EXPECT_GT(r.client.tcp_fastopen_blocked, 250u);  // the rest went without
}

// Output's one-segment path (TcpConfig::send_whole, docs/performance.md,
// "Instructions") sends what the general path would: the same workloads over
// the same lossy links, with the path and without, put the very same frames on
// the links at the very same times; and the path did carry segments.
namespace {

struct FrameLog final : LinkTrace {
  void on_link(const std::string& link, LinkEvent e, uint64_t at,
               std::span<const uint8_t> frame) override {
    bytes.insert(bytes.end(), link.begin(), link.end());
    bytes.push_back(uint8_t(e));
    for (int i = 0; i < 8; ++i) bytes.push_back(uint8_t(at >> (8 * i)));
    bytes.insert(bytes.end(), frame.begin(), frame.end());
    ++frames;
  }
  std::vector<uint8_t> bytes;
  uint64_t frames = 0;
};

struct WholeRun {
  std::vector<uint8_t> frames;
  uint64_t frame_count = 0, whole = 0, predicted = 0, responses_ok = 0, retransmits = 0;
};

// A workload shape, and how both ends' TCP is configured for it.
struct WholeShape {
  std::string name;
  GenMode mode;
  uint32_t req, resp;
  bool half_close = false;  // cps: the client's FIN on its request
  double rate = 0;          // open loop: requests a second (0: closed loop)
  uint64_t requests = 300;
  std::function<void(tcp::TcpConfig&)> tcp = [](tcp::TcpConfig&) {};
};

// Runs shape `w` with the short path `path` (a TcpConfig switch) on or off.
WholeRun run_short_path(bool tcp::TcpConfig::*path, bool on, const WholeShape& w) {
  stack::StackConfig base;
  w.tcp(base.tcp.tcp);
  base.tcp.tcp.*path = on;
  const LinkParams l = Bed::link(1000, 50, 0.02);
  Bed bed(3, l, l, base);
  FrameLog log;
  bed.net.set_trace(&log);
  ServerConfig sc;
  sc.app = ServerApp::rr;
  sc.req_size = w.req;
  sc.resp_size = w.resp;
  sc.port = 7;
  Server srv(bed.server.stack().tcp(), sc);
  EXPECT_TRUE(srv.start());
  GenConfig gc = bed.gen_config(w.mode, 7);
  gc.conns = 4;
  gc.requests = w.requests;
  gc.req_size = w.req;
  gc.resp_size = w.resp;
  gc.cps_half_close = w.half_close;
  gc.rate = w.rate;
  Generator gen(bed.client.stack().tcp(), gc);
  EXPECT_TRUE(bed.run(gen, 600 * kSec));
  WholeRun r;
  r.frames = std::move(log.bytes);
  r.frame_count = log.frames;
  const auto& st = bed.server.stack().counters().tcp;
  const auto& ct = bed.client.stack().counters().tcp;
  r.whole = st.tcp_segs_out_whole + ct.tcp_segs_out_whole;
  r.predicted = st.tcp_segs_in_predicted + ct.tcp_segs_in_predicted;
  r.retransmits = st.tcp_retransmits + ct.tcp_retransmits;
  r.responses_ok = gen.stats().responses_ok;
  return r;
}

// Shapes that bring each short path's general cases: several segments a
// message, a FIN on data and alone, no timestamps, no SACK, Nagle off, open
// loops, all over links that lose 2% of frames.
std::vector<WholeShape> short_path_shapes() {
  return {
      // Small messages: nearly every segment whole.
      {"rr 100/100", GenMode::rr, 100, 100},
      // Requests of several segments go the general way; the responses whole.
      {"rr 5000/300", GenMode::rr, 5000, 300},
      // The client's FIN on its request, the server's on its response.
      {"cps 64/64 half-close", GenMode::cps, 64, 64, true},
      // The client closes after a response of two segments.
      {"cps 64/2000", GenMode::cps, 64, 2000},
      // The FIN not allowed to ride: it goes alone, the general way.
      {"cps 64/64 separate FIN", GenMode::cps, 64, 64, true, 0, 300,
       [](tcp::TcpConfig& t) { t.piggyback_fin = false; }},
      // No timestamps; no SACK (NewReno's recovery); Nagle off.
      {"rr 100/100 no timestamps", GenMode::rr, 100, 100, false, 0, 300,
       [](tcp::TcpConfig& t) { t.timestamps = false; }},
      {"rr 100/100 no SACK", GenMode::rr, 100, 100, false, 0, 300,
       [](tcp::TcpConfig& t) { t.sack = false; }},
      {"rr 700/100 nodelay", GenMode::rr, 700, 100, false, 0, 300,
       [](tcp::TcpConfig& t) { t.nodelay = true; }},
      // Open loop: requests sent while earlier ones are unanswered (Nagle
      // holds some), and requests further apart than the RTO (restart after
      // idle).
      {"rr 100/100 open loop 40k/s", GenMode::rr, 100, 100, false, 40000, 300},
      {"rr 100/100 open loop 8/s", GenMode::rr, 100, 100, false, 8, 40},
  };
}

// Runs every shape with the short path `path` on and off: the same frames at
// the same times, all requests answered, the loss bringing the general cases.
// `taken` says how many segments the path took in a run; `least`, how many it
// must at least have taken of shape `w` with the path on.
template <class Taken, class Least>
void expect_same_wire(bool tcp::TcpConfig::*path, Taken taken, Least least) {
  for (const WholeShape& w : short_path_shapes()) {
    SCOPED_TRACE(w.name);
    const WholeRun on = run_short_path(path, true, w);
    const WholeRun off = run_short_path(path, false, w);
    EXPECT_EQ(on.responses_ok, w.requests);
    EXPECT_GE(taken(on), least(w));
    EXPECT_EQ(taken(off), 0u);
    EXPECT_EQ(on.frame_count, off.frame_count);
    EXPECT_TRUE(on.frames == off.frames) << "the frames differ";
    if (w.requests >= 300) {
      EXPECT_GT(on.retransmits, 0u);  // the loss brought the general cases
    }
  }
}

}  // namespace

TEST(WorkloadSendWhole, TheOneSegmentPathPutsTheSameFramesOnTheWire) {
  expect_same_wire(
      &tcp::TcpConfig::send_whole, [](const WholeRun& r) { return r.whole; },
      [](const WholeShape& w) { return w.requests / 2 + 1; });  // a good share
}

// Header prediction skips only checks a segment would pass: with it and
// without, the same frames at the same times, over every shape above.
TEST(WorkloadPredictInput, HeaderPredictionPutsTheSameFramesOnTheWire) {
  // rr: most of each exchange's segments. cps: a connection's segments in
  // ESTABLISHED, if any (with the FIN on both messages, perhaps none).
  expect_same_wire(
      &tcp::TcpConfig::predict_input, [](const WholeRun& r) { return r.predicted; },
      [](const WholeShape& w) { return w.mode == GenMode::rr ? w.requests + 1 : 0; });
}
