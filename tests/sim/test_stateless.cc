// The stateless responders (docs/stateless.md) against touchstone's own
// clients in the simulator: answers with no connection ever made on the
// server, lost answers and FINs repaired by the client's retransmissions,
// answers that do not fit, the DNS relay's slow and silent upstream, its
// table full, and the fallback to the ordinary path.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "wire/bytes.hh"
#include "wire/dns.hh"
#include "workload/generator.hh"
#include "workload/stateless.hh"
#include "workload_bed.hh"

using namespace ts;
using namespace ts::workload;
using namespace ts::workload::testing;

namespace {

// A UDP resolver on the client host: every A query is answered with one
// address, after `delay_ns`, unless `silent`.
struct StubResolver final : stack::UdpReceiver {
  StubResolver(Host& h, Simulator& s, uint16_t p = 53) : host(h), sim(s), port(p) {
    EXPECT_TRUE(host.stack().udp_bind(port, this));
  }
  ~StubResolver() override { host.stack().udp_unbind(port); }
  void on_datagram(const stack::Datagram& d, uint64_t now) override {
    ++queries;
    wire::DnsHeader qh;
    if (wire::parse_dns_header(d.payload, qh)) last_arcount = qh.arcount;
    if (silent) return;
    const size_t qend = wire::dns_question_end(d.payload);
    if (!qend) return;
    std::vector<uint8_t> a(d.payload.begin(), d.payload.begin() + long(qend));
    // A response, recursion available, NOERROR (truncated if asked to).
    wire::store_be16(a.data() + 2, truncate ? 0x8380 : 0x8180);
    wire::store_be16(a.data() + 6, 1);       // one answer
    wire::store_be16(a.data() + 8, 0);
    wire::store_be16(a.data() + 10, 0);
    const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7};
    a.insert(a.end(), std::begin(rr), std::end(rr));
    if (qh.arcount) {  // EDNS asked: an OPT back, last, as resolvers put it
      const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
      a.insert(a.end(), std::begin(opt), std::end(opt));
      wire::store_be16(a.data() + 10, 1);
    }
    const stack::Datagram reply{d.dst, d.src, d.dst_port, d.src_port, {}};
    auto send = [this, reply, a = std::move(a)] {
      host.stack().send_udp(reply.src, reply.dst, reply.src_port, reply.dst_port, a, sim.now());
      host.kick(sim.now());
    };
    if (delay_ns)
      sim.call_at(now + delay_ns, send);
    else
      send();
  }
  Host& host;
  Simulator& sim;
  uint16_t port;
  uint64_t delay_ns = 0;
  bool silent = false;
  bool truncate = false;
  uint64_t queries = 0;
  uint16_t last_arcount = 0;
};

// A stateless server on the bed's server host, ticked as serve's loop does.
struct Stateless {
  Stateless(Bed& bed, const StatelessConfig& cfg)
      : srv(std::make_unique<StatelessServer>(bed.server.stack(), cfg)) {
    EXPECT_TRUE(srv->start());
    Simulator& sim = bed.net.sim();
    StatelessServer* s = srv.get();
    Host* host = &bed.server;
    auto live = live_;
    tick_ = std::make_shared<std::function<void()>>();
    *tick_ = [s, host, &sim, live, weak = std::weak_ptr<std::function<void()>>(tick_)] {
      if (!*live) return;
      s->tick(sim.now());
      host->kick(sim.now());
      if (auto t = weak.lock()) sim.call_at(sim.now() + 1'000'000, [t] { (*t)(); });
    };
    sim.call_at(sim.now() + 1'000'000, [t = tick_] { (*t)(); });
  }
  ~Stateless() { *live_ = false; }
  std::shared_ptr<bool> live_ = std::make_shared<bool>(true);
  std::shared_ptr<std::function<void()>> tick_;
  std::unique_ptr<StatelessServer> srv;
};

StatelessConfig http_config(uint64_t size, bool fallback = false) {
  StatelessConfig c;
  c.app = ServerApp::stateless_http;
  c.port = 80;
  c.http_size = size;
  c.fallback = fallback;
  return c;
}

StatelessConfig dns_config(const Bed& bed, bool fallback = false) {
  StatelessConfig c;
  c.app = ServerApp::dns;
  c.port = 53;
  c.upstream = bed.client.ip();
  c.upstream_port = 53;
  c.fallback = fallback;
  return c;
}

GenConfig http_close(const Bed& bed, uint64_t requests, uint32_t conns = 4) {
  GenConfig gc = bed.gen_config(GenMode::http, 80);
  gc.http_close = true;
  gc.requests = requests;
  gc.conns = conns;
  return gc;
}

GenConfig dns_tcp(const Bed& bed, uint64_t requests, uint32_t conns = 4) {
  GenConfig gc = bed.gen_config(GenMode::dns, 53);
  gc.dns_tcp = true;
  gc.requests = requests;
  gc.conns = conns;
  gc.qnames = {"a.test", "b.test", "www.c.test"};
  return gc;
}

const tcp::TcpCounters& server_tcp(Bed& bed) { return bed.server.stack().counters().tcp; }

TEST(StatelessHttp, AnswersEveryRequestWithoutAConnection) {
  Bed bed;
  Stateless st(bed, http_config(1000));
  Generator gen(bed.client.stack().tcp(), http_close(bed, 300));
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 300u);
  EXPECT_EQ(gen.stats().responses_bad, 0u);
  EXPECT_EQ(gen.stats().http_status[200 - GenStats::kFirstStatus], 300u);
  const auto& t = server_tcp(bed);
  EXPECT_EQ(t.tcp_conn_established, 0u);  // no connection at any point
  EXPECT_EQ(t.tcp_stateless_syn_acks, 300u);
  EXPECT_EQ(t.tcp_stateless_requests, 300u);
  EXPECT_EQ(t.tcp_stateless_answers, 300u);
  EXPECT_EQ(t.tcp_stateless_fin_acks, 300u);  // every client's FIN acknowledged
  EXPECT_EQ(bed.server.stack().tcp().connections(), 0u);
  EXPECT_EQ(bed.server.stack().tcp().half_open(), 0u);
  EXPECT_EQ(st.srv->stats().http_2xx, 300u);
  // Every client connection ended normally: the answer's FIN and our ACK of theirs.
  EXPECT_EQ(gen.stats().conns_failed, 0u);
}

// Answers of several segments: only the last acknowledges the request.
TEST(StatelessHttp, MultiSegmentAnswersWithinTheWindow) {
  Bed bed;
  Stateless st(bed, http_config(20000));
  Generator gen(bed.client.stack().tcp(), http_close(bed, 50));
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 50u);
  EXPECT_GE(gen.stats().bytes_rx, 50u * 20000);
  EXPECT_EQ(server_tcp(bed).tcp_conn_established, 0u);
}

// Loss both ways: lost answers come again for the client's retransmitted
// request, lost FINs and ACKs are answered again; nothing is kept meanwhile.
TEST(StatelessHttp, LossIsRepairedByTheClientsRetransmissions) {
  Bed bed(7, 1000, 50, 0.05);
  Stateless st(bed, http_config(500));
  Generator gen(bed.client.stack().tcp(), http_close(bed, 200));
  ASSERT_TRUE(bed.run(gen, 120 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 200u);
  EXPECT_EQ(gen.stats().conns_failed, 0u);
  const auto& t = server_tcp(bed);
  EXPECT_GT(t.tcp_stateless_answers, 200u);  // some answers were made twice
  EXPECT_EQ(t.tcp_conn_established, 0u);
  EXPECT_GT(bed.client.stack().counters().tcp.tcp_retransmits, 0u);
}

// The client's window is smaller than the answer: reset, or with the
// fallback an ordinary connection sends it.
TEST(StatelessHttp, AnswerBeyondTheWindowIsResetOrFallsBack) {
  for (bool fallback : {false, true}) {
    stack::StackConfig base;
    base.tcp.tcp.rcvbuf = 8192;
    Bed bed(1, Bed::link(), Bed::link(), base);
    Stateless st(bed, http_config(20000, fallback));
    Generator gen(bed.client.stack().tcp(), http_close(bed, 20, 2));
    bed.run(gen, 10 * kSec);
    const auto& t = server_tcp(bed);
    if (fallback) {
      EXPECT_EQ(gen.stats().responses_ok, 20u);
      EXPECT_EQ(t.tcp_stateless_fallback, 20u);
      EXPECT_EQ(st.srv->stats().fallback_conns, 20u);
    } else {
      EXPECT_EQ(gen.stats().responses_ok, 0u);
      EXPECT_GE(t.tcp_stateless_unfit, 20u);
      EXPECT_GE(gen.stats().conns_reset, 20u);
    }
  }
}

// A request longer than a segment: the first part does not parse whole.
TEST(StatelessHttp, SplitRequestIsResetOrFallsBack) {
  for (bool fallback : {false, true}) {
    Bed bed;
    Stateless st(bed, http_config(100, fallback));
    GenConfig gc = http_close(bed, 10, 1);
    gc.headers = {"X-Padding: " + std::string(3000, 'p')};
    Generator gen(bed.client.stack().tcp(), gc);
    bed.run(gen, 10 * kSec);
    const auto& t = server_tcp(bed);
    if (fallback) {
      EXPECT_EQ(gen.stats().responses_ok, 10u);
      EXPECT_EQ(t.tcp_stateless_fallback, 10u);
    } else {
      EXPECT_EQ(gen.stats().responses_ok, 0u);
      EXPECT_GE(t.tcp_stateless_unfit, 10u);
    }
  }
}

// The seed's design: each page from a backend over an ordinary connection
// (the backend here is an http server on the client's host), relayed
// whole with the FIN: pages of three segments on a clean link, and of one
// with 5% loss (where the client's retransmissions and the kept answers
// repair everything; a lost middle segment of a longer answer cannot be,
// docs/stateless.md).
TEST(StatelessHttp, PagesFromABackend) {
  for (double loss : {0.0, 0.05}) {
    Bed bed(5, 1000, 50, loss);
    ServerConfig bc;
    bc.app = ServerApp::http;
    bc.port = 8080;
    bc.http_size = loss ? 1000 : 3000;
    Server backend(bed.client.stack().tcp(), bc);
    ASSERT_TRUE(backend.start());
    StatelessConfig cfg = http_config(0);
    cfg.backend = bed.client.ip();
    cfg.backend_port = 8080;
    Stateless st(bed, cfg);
    Generator gen(bed.client.stack().tcp(), http_close(bed, 100));
    ASSERT_TRUE(bed.run(gen, 120 * kSec));
    EXPECT_EQ(gen.stats().responses_ok, 100u);
    EXPECT_EQ(gen.stats().conns_failed, 0u);
    EXPECT_GE(gen.stats().bytes_rx, 100u * bc.http_size);
    const StatelessStats s = st.srv->stats();
    EXPECT_GE(s.upstream_answers, 100u);
    EXPECT_EQ(s.backend_failed + s.upstream_timeouts + s.answers_unacked, 0u);
    EXPECT_EQ(st.srv->in_flight(), 0u);
    // Every connection the server made was a fetch; none was a client's.
    EXPECT_EQ(backend.stats().accepted, bed.server.stack().counters().tcp.tcp_conn_established);
  }
}

TEST(StatelessDns, RelaysQueriesOverUdpWithoutAConnection) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  Stateless st(bed, dns_config(bed));
  Generator gen(bed.client.stack().tcp(), dns_tcp(bed, 300));
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 300u);
  EXPECT_EQ(gen.stats().dns_rcode[0], 300u);
  EXPECT_EQ(resolver.queries, 300u);
  const StatelessStats s = st.srv->stats();
  EXPECT_EQ(s.upstream_queries, 300u);
  EXPECT_EQ(s.upstream_answers, 300u);
  EXPECT_EQ(s.answers, 300u);
  EXPECT_EQ(st.srv->in_flight(), 0u);
  EXPECT_EQ(server_tcp(bed).tcp_conn_established, 0u);
}

// The resolver is slower than the client's retransmission timer: the
// retransmitted request is acknowledged alone, and the answer follows.
TEST(StatelessDns, SlowUpstreamGetsTheRequestAcknowledged) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  resolver.delay_ns = 600 * kMs;
  Stateless st(bed, dns_config(bed));
  Generator gen(bed.client.stack().tcp(), dns_tcp(bed, 10, 2));
  ASSERT_TRUE(bed.run(gen, 30 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 10u);
  EXPECT_GE(server_tcp(bed).tcp_stateless_late_acks, 1u);
  EXPECT_GE(st.srv->stats().retransmits, 1u);
  // Queries are sent again while unanswered, and the late answers to them
  // find nothing in flight.
  EXPECT_EQ(st.srv->stats().answers, 10u);
  EXPECT_GT(st.srv->stats().upstream_resent, 0u);
  EXPECT_EQ(resolver.queries, 10u + st.srv->stats().upstream_resent);
}

// Loss on every path, the resolver's UDP included: the client's
// retransmissions and the relay's own repair everything.
TEST(StatelessDns, LossIsRepairedOnBothSides) {
  for (uint64_t seed : {11, 12, 13}) {
    Bed bed(seed, 1000, 50, 0.05);
    StubResolver resolver(bed.client, bed.net.sim());
    Stateless st(bed, dns_config(bed));
    Generator gen(bed.client.stack().tcp(), dns_tcp(bed, 200));
    ASSERT_TRUE(bed.run(gen, 120 * kSec));
    EXPECT_EQ(gen.stats().responses_ok, 200u);
    EXPECT_EQ(gen.stats().conns_failed, 0u);
    EXPECT_EQ(st.srv->stats().upstream_timeouts, 0u);
    EXPECT_GT(st.srv->stats().upstream_resent, 0u);
    // A request acknowledged alone had its answer kept until acknowledged.
    EXPECT_EQ(st.srv->stats().answers_unacked, 0u);
    EXPECT_EQ(st.srv->in_flight(), 0u);
    EXPECT_EQ(server_tcp(bed).tcp_conn_established, 0u);
  }
}

TEST(StatelessDns, SilentUpstreamTimesOutAndResetsTheClient) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  resolver.silent = true;
  StatelessConfig cfg = dns_config(bed);
  cfg.upstream_timeout_ns = 300 * kMs;
  Stateless st(bed, cfg);
  Generator gen(bed.client.stack().tcp(), dns_tcp(bed, 4, 2));
  bed.run(gen, 20 * kSec);
  EXPECT_EQ(gen.stats().responses_ok, 0u);
  EXPECT_EQ(st.srv->stats().upstream_timeouts, 4u);
  EXPECT_EQ(gen.stats().conns_reset, 4u);
  EXPECT_EQ(st.srv->in_flight(), 0u);
}

// A full table drops the query unacknowledged; the client's retransmission
// finds room later.
TEST(StatelessDns, FullTableDropsAndTheClientRetries) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  resolver.delay_ns = 20 * kMs;
  StatelessConfig cfg = dns_config(bed);
  cfg.max_inflight = 1;
  Stateless st(bed, cfg);
  Generator gen(bed.client.stack().tcp(), dns_tcp(bed, 20, 4));
  ASSERT_TRUE(bed.run(gen, 60 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 20u);
  EXPECT_GT(st.srv->stats().table_full, 0u);
}

// Keep-alive clients get a stateless answer and a FIN per query, and take a
// new connection for the next one.
TEST(StatelessDns, KeepaliveClientsReconnectAfterEachAnswer) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  Stateless st(bed, dns_config(bed));
  GenConfig gc = dns_tcp(bed, 100, 2);
  gc.dns_keepalive = true;
  Generator gen(bed.client.stack().tcp(), gc);
  ASSERT_TRUE(bed.run(gen, 10 * kSec));
  EXPECT_EQ(gen.stats().responses_ok, 100u);
  EXPECT_EQ(gen.stats().errors, 0u);
  EXPECT_EQ(gen.stats().conns_established, 100u);
}

// A query split over two segments (a small MSS and a long name) does not
// fit: reset, or relayed over an ordinary connection through the same table.
TEST(StatelessDns, SplitQueryIsResetOrFallsBack) {
  for (bool fallback : {false, true}) {
    stack::StackConfig base;
    base.tcp.tcp.mss = 100;
    Bed bed(1, Bed::link(), Bed::link(), base);
    StubResolver resolver(bed.client, bed.net.sim());
    Stateless st(bed, dns_config(bed, fallback));
    GenConfig gc = dns_tcp(bed, 10, 2);
    gc.qnames = {std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + ".test"};
    Generator gen(bed.client.stack().tcp(), gc);
    bed.run(gen, 10 * kSec);
    const auto& t = server_tcp(bed);
    if (fallback) {
      EXPECT_EQ(gen.stats().responses_ok, 10u);
      EXPECT_EQ(t.tcp_stateless_fallback, 10u);
      EXPECT_EQ(st.srv->stats().fallback_conns, 10u);
      EXPECT_EQ(st.srv->stats().upstream_answers, 10u);
    } else {
      EXPECT_EQ(gen.stats().responses_ok, 0u);
      EXPECT_GE(t.tcp_stateless_unfit, 10u);
    }
  }
}

// dns over UDP from the server host to a resolver on the client host, run
// until done (or 10 s of simulated time).
std::unique_ptr<Workload> run_udp_load(Bed& bed, GenConfig gc) {
  gc.mode = GenMode::dns;
  gc.target = bed.client.ip();
  gc.port = 5353;
  auto w = make_workload(bed.server.stack(), gc);
  Simulator& sim = bed.net.sim();
  w->start(sim.now());
  for (int i = 0; i < 100000 && !w->done(); ++i) {
    sim.run_until(sim.now() + 100'000);
    w->tick(sim.now());
    bed.server.kick(sim.now());
  }
  EXPECT_TRUE(w->done());
  return w;
}

// One framed query over TCP from a raw client (half-closing after it with
// `half_close`); what came back.
std::string ask_relay(Bed& bed, const std::string& name, bool half_close = false) {
  std::vector<uint8_t> q;
  wire::build_dns_query(0x1234, name, wire::kDnsTypeA, q);  // no EDNS
  std::string framed(2, '\0');
  framed[0] = char(q.size() >> 8);
  framed[1] = char(q.size() & 0xff);
  framed.append(q.begin(), q.end());
  RawClient rc(bed.client.stack().tcp(), framed);
  rc.half_close = half_close;
  Simulator& sim = bed.net.sim();
  const uint64_t t0 = sim.now();
  sim.call_at(t0, [&] {
    bed.client.stack().tcp().connect(bed.server.ip(), 53, &rc, t0);
    bed.client.kick(t0);
  });
  sim.run_until(t0 + kSec);
  return rc.answer + (rc.peer_closed ? "<closed>" : "");
}

// A query without EDNS goes up with an OPT offering 1232 bytes (else the
// resolver truncates at 512), and the OPT comes off the answer again.
TEST(StatelessDns, AddsEdnsUpstreamAndTakesItOffTheAnswer) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  Stateless st(bed, dns_config(bed));
  const std::string a = ask_relay(bed, "edns.test");
  EXPECT_EQ(resolver.last_arcount, 1);
  ASSERT_GT(a.size(), 2 + wire::kDnsHeaderLen);
  const auto* p = reinterpret_cast<const uint8_t*>(a.data());
  wire::DnsHeader h;
  ASSERT_TRUE(wire::parse_dns_header({p + 2, a.size() - 2}, h));
  EXPECT_EQ(h.id, 0x1234);
  EXPECT_EQ(h.arcount, 0);
  EXPECT_EQ(size_t(p[0]) << 8 | p[1], a.size() - 2 - 8);  // the length, then "<closed>"
}

// A client that half-closes after its query: our ACK of its FIN covers the
// query too, so the answer is kept until the client acknowledges it (from
// past its FIN), and nothing is left when it has.
TEST(StatelessDns, AFinDuringTheRelayKeepsTheAnswerUntilAcknowledged) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  resolver.delay_ns = 50 * kMs;
  Stateless st(bed, dns_config(bed));
  const std::string a = ask_relay(bed, "half.test", true);
  EXPECT_GT(a.size(), 2 + wire::kDnsHeaderLen) << a;
  EXPECT_NE(a.find("<closed>"), std::string::npos);
  EXPECT_EQ(st.srv->stats().answers, 1u);
  EXPECT_EQ(st.srv->stats().answers_resent, 0u);  // its ACK was recognised at once
  EXPECT_EQ(st.srv->stats().answers_unacked, 0u);
  EXPECT_EQ(st.srv->in_flight(), 0u);
}

// A truncated answer is not what a TCP client asked for: it is reset.
TEST(StatelessDns, TruncatedUpstreamAnswersResetTheClient) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim());
  resolver.truncate = true;
  Stateless st(bed, dns_config(bed));
  const std::string a = ask_relay(bed, "tc.test");
  EXPECT_TRUE(a.empty()) << a;
  EXPECT_EQ(st.srv->stats().truncated, 1u);
  EXPECT_EQ(st.srv->stats().answers, 0u);
  EXPECT_EQ(st.srv->in_flight(), 0u);
}

TEST(DnsLoad, UdpQueriesAreMatchedByIdAndQuestion) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim(), 5353);
  GenConfig gc;
  gc.requests = 500;
  gc.conns = 16;
  gc.qnames = {"x.test", "y.test"};
  auto w = run_udp_load(bed, gc);
  EXPECT_EQ(w->stats().responses_ok, 500u);
  EXPECT_EQ(w->stats().dns_rcode[0], 500u);
  EXPECT_EQ(w->stats().errors, 0u);
  EXPECT_EQ(resolver.queries, 500u);
}

TEST(DnsLoad, UnansweredUdpQueriesAreLost) {
  Bed bed;
  StubResolver resolver(bed.client, bed.net.sim(), 5353);
  resolver.silent = true;
  GenConfig gc;
  gc.requests = 20;
  gc.conns = 4;
  gc.timeout_ns = 50 * kMs;
  auto w = run_udp_load(bed, gc);
  EXPECT_EQ(w->final_stats().errors, 20u);
  EXPECT_EQ(w->stats().responses_ok, 0u);
  EXPECT_EQ(resolver.queries, 20u);
}

}  // namespace
