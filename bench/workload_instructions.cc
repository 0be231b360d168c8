// gen and serve on two stacks wired back to back through MemDevices, stepped in
// one thread with a simulated clock, for instruction counting under callgrind:
// where the time of a connection (cps) or a request (rr) goes, without the
// DPDK port and the idle polling of the real demo. bench/callgrind-workload
// runs it twice and takes the difference so set-up cost cancels out.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

#include "wired_pair.hh"
#include "workload/generator.hh"
#include "workload/server.hh"
#include "workload/synflood.hh"

using namespace ts;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: workload-instructions cps|rr|http|bulk|bulk-no-tso|bulk64k|synflood COUNT\n"
                         "  cps: COUNT connections; rr, http: COUNT requests; bulk: COUNT MB\n"
                         "  (bulk: MTU 1500 with TSO, as the demo's ring port; bulk-no-tso: without;\n"
                         "  bulk64k: over a link with a 64,000-byte MTU, as loopback's);\n"
                         "  synflood: COUNT SYNs answered with cookies\n");
    return 2;
  }
  const bool big = std::string(argv[1]) == "bulk64k";
  const bool no_tso = std::string(argv[1]) == "bulk-no-tso";
  const std::string mode = big || no_tso ? "bulk" : argv[1];
  const bool tso = std::string(argv[1]) == "bulk";
  const long n = std::strtol(argv[2], nullptr, 10);
  if (n <= 0 || (mode != "cps" && mode != "rr" && mode != "http" && mode != "bulk" &&
                 mode != "synflood")) {
    std::fprintf(stderr, "workload-instructions: bad mode or count\n");
    return 2;
  }
  const uint16_t mtu = big ? 64000 : 1500;
  bench::WiredPair pair(big || tso ? 1024 : 8192, 24, [&](stack::StackConfig& c, bool) {
    if (mode == "synflood") c.tcp.syncookies = stack::SynCookieMode::always;
    if (big) {
      c.tcp.tcp.mss = uint16_t(mtu - 40);
      c.tcp.tcp.sndbuf = c.tcp.tcp.rcvbuf = 1 << 20;  // room for a few 64 KB segments
    }
  }, mtu, tso ? 64000 : 0);
  stack::Stack& server = pair.server;
  stack::Stack& client = pair.client;
  const stack::StackConfig& cs = pair.cs;

  workload::ServerConfig sc;
  // As the demo: an echo server, a discard server for bulk, and for http a
  // generated 64-byte body (demo --mode http's default --resp-size).
  sc.app = mode == "bulk"   ? workload::ServerApp::discard
           : mode == "http" ? workload::ServerApp::http
                            : workload::ServerApp::echo;
  sc.http_size = 64;
  sc.port = 5001;
  workload::Server srv(server.tcp(), sc);
  if (!srv.start()) return 1;
  workload::GenConfig gc;
  gc.target = cs.addr.addr;
  gc.port = 5001;
  gc.conns = 16;
  if (mode == "cps") {
    gc.mode = workload::GenMode::cps;
    gc.requests = uint64_t(n);
  } else if (mode == "rr") {
    gc.mode = workload::GenMode::rr;
    gc.requests = uint64_t(n);
  } else if (mode == "http") {
    gc.mode = workload::GenMode::http;
    gc.resp_size = 64;
    gc.requests = uint64_t(n);
  } else {
    gc.mode = workload::GenMode::bulk;
    gc.conns = 1;
  }
  uint64_t now = 1'000'000'000;
  if (mode == "synflood") {
    // SYNs as fast as they go (a closed burst per tick), each answered with a
    // cookie; the generator's tap counts the SYN-ACKs.
    gc.mode = workload::GenMode::synflood;
    gc.requests = uint64_t(n);
    workload::SynFlood flood(client, gc);
    flood.start(now);
    // Until every SYN is out and answered (those sent before ARP resolved
    // at the start are lost: a few hundred, the same in every run).
    long quiet = 0;
    for (long i = 0; i < 100'000'000 && quiet < 100; ++i) {
      now += 1000;
      const uint64_t before = flood.stats().responses_ok;
      flood.tick(now);
      client.poll(now);
      server.poll(now);
      const bool all_out = flood.stats().requests_sent >= uint64_t(n);
      quiet = all_out && flood.stats().responses_ok == before ? quiet + 1 : 0;
    }
    std::printf("synflood: %llu SYNs, %llu SYN-ACKs, simulated %.3f s\n",
                (unsigned long long)flood.stats().requests_sent,
                (unsigned long long)flood.stats().responses_ok, double(now - 1'000'000'000) / 1e9);
    return flood.stats().responses_ok + 2000 >= uint64_t(n) ? 0 : 1;
  }
  workload::Generator gen(client.tcp(), gc);
  gen.start(now);
  const uint64_t bulk_bytes = uint64_t(n) << 20;
  for (long i = 0; i < 100'000'000; ++i) {
    now += 1000;  // 1 us per loop iteration
    gen.tick(now);
    client.poll(now);
    server.poll(now);
    if (mode == "bulk" ? gen.stats().bytes_acked >= bulk_bytes : gen.done()) break;
  }
  const auto& s = gen.stats();
  std::printf("%s: established %llu, ok %llu, acked %llu bytes, simulated %.3f s\n", mode.c_str(),
              (unsigned long long)s.conns_established, (unsigned long long)s.responses_ok,
              (unsigned long long)s.bytes_acked, double(now - 1'000'000'000) / 1e9);
  // What each side counted (non-zero): how the run went, e.g. whether new
  // connections waited for a slot (tcp_conn_limit) or took a TIME-WAIT's.
  for (const auto& [side, st] : {std::pair{"gen", &client}, std::pair{"serve", &server}}) {
    std::printf("%s counters:", side);
    st->counters().for_each([](std::string_view name, uint64_t v, bool, std::string_view) {
      if (v) std::printf(" %.*s=%llu", int(name.size()), name.data(), (unsigned long long)v);
    });
    std::printf("\n");
  }
  const bool ok = mode == "bulk" ? s.bytes_acked >= bulk_bytes : s.responses_ok == uint64_t(n);
  return ok ? 0 : 1;
}
