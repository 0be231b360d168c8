// Many concurrent connections in one process: gen (rr with 64-byte requests
// on N persistent connections) and serve on two stacks wired back to back,
// stepped with a simulated clock. Reports the memory a connection costs on
// both sides together (resident set growth and ring storage) once all are
// established and have exchanged their request. Shows what --source-ips,
// --max-conns, rings returned when empty and a small connection object make
// possible; not run by the tests (5 million pairs need 14 GB).
//   build/bench/many-conns 5000000   (10 million connections)
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "wired_pair.hh"
#include "tcp/connection.hh"

using namespace ts;

namespace {

double rss_mb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc == 2 ? std::strtol(argv[1], nullptr, 10) : 0;
  if (n <= 0 || n > 8'000'000) {
    std::fprintf(stderr, "usage: many-conns N   (1 <= N <= 8000000)\n");
    return 2;
  }
  const double rss0 = rss_mb();
  // Enough source addresses for n connections at 28232 ports each.
  const uint32_t addrs = uint32_t((n + 28231) / 28232);
  bench::WiredPair pair(65536, 8, [&](stack::StackConfig& c, bool is_server) {
    c.tcp.max_connections = uint32_t(n) + 1024;
    if (is_server) return;
    c.extra_first = *wire::Ipv4Addr::parse("10.1.0.1");
    c.extra_last = wire::Ipv4Addr{c.extra_first.v + addrs - 1};
  });
  stack::Stack& server = pair.server;
  stack::Stack& client = pair.client;
  const stack::StackConfig& cs = pair.cs;
  // Each side: every established connection sends one 64-byte message; the
  // server echoes it; the client counts the answers. All stay open.
  struct Side : tcp::Events, stack::Acceptor {
    tcp::Events* on_accept(const tcp::FourTuple&) override { return this; }
    void on_connected(tcp::Connection& c) override {
      ++up;
      if (client) c.send(msg, c.tag() ? now : now);
    }
    void on_readable(tcp::Connection& c) override {
      const tcp::Bytes2 r = c.readable();
      if (!client) c.send(r.a, now);
      if (client && r.size() >= 64) ++answered;
      c.consume(r.size(), now);
    }
    bool client = false;
    uint64_t now = 0;
    uint64_t up = 0, answered = 0;
    std::array<uint8_t, 64> msg{};
  } srv_side, cli_side;
  cli_side.client = true;
  if (!server.tcp().listen(5001, &srv_side, uint32_t(n))) return 1;
  const double rss1 = rss_mb();
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t now = 1'000'000'000;
  long opened = 0;
  const auto all_up = [&] { return cli_side.answered == uint64_t(n); };
  for (long i = 0; !all_up() && i < 100'000'000; ++i) {
    now += 1000;
    srv_side.now = cli_side.now = now;
    // Open in steps the in-memory link can carry, with at most 16k handshakes
    // in flight (a SYN storm would only overflow the link and wait for RTOs).
    for (int k = 0; k < 2000 && opened < n && opened - long(cli_side.up) < 16384; ++k, ++opened)
      if (!client.tcp().connect(cs.addr.addr, 5001, &cli_side, now)) {
        std::fprintf(stderr, "connect %ld refused\n", opened);
        return 1;
      }
    client.poll(now);
    server.poll(now);
    if (i % 100 == 0)
      std::fprintf(stderr, "\r%ld opened, %llu established, %llu answered   ", opened,
                   (unsigned long long)cli_side.up, (unsigned long long)cli_side.answered);
  }
  // Emptied rings go back to the pool once idle for TcpConfig::ring_park_ns:
  // give the last exchanges that long and more.
  for (const uint64_t until = now + 2 * cs.tcp.tcp.ring_park_ns; now < until;) {
    now += 1000;
    client.poll(now);
    server.poll(now);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rss2 = rss_mb();
  const size_t in_use = client.tcp().buffers().in_use_bytes() + server.tcp().buffers().in_use_bytes();
  const size_t cached = client.tcp().buffers().cached_bytes() + server.tcp().buffers().cached_bytes();
  std::printf("\n%ld connections from %u source addresses: %llu established, %llu answered, "
              "%zu open on the client and %zu on the server, in %.1f s\n",
              n, addrs, (unsigned long long)cli_side.up, (unsigned long long)cli_side.answered,
              client.tcp().connections(), server.tcp().connections(), secs);
  // Idle connections hold no rings (docs/performance.md, "Memory"): what the
  // pools still cache is what the busiest moment of the ramp took.
  const double per_pair = (rss2 - rss0) * (1 << 20) / double(n);
  std::printf("memory: %.0f MB at start, %.0f MB with the pools sized, %.0f MB with all open: "
              "%.0f bytes per connection pair, %.0f per connection (the connection object %zu; "
              "ring storage: %.0f a pair in use, %.0f cached in the pools)\n",
              rss0, rss1, rss2, per_pair, per_pair / 2, sizeof(ts::tcp::Connection),
              double(in_use) / double(n), double(cached) / double(n));
  return all_up() ? 0 : 1;
}
