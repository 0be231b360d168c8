// The two-host bed of the workload simulations: a server and a client on one
// link, and a loop that ticks a generator as a core's poll loop would.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sim/sim.hh"
#include "stack/tcp_layer.hh"
#include "workload/workload.hh"

namespace ts::workload::testing {

using namespace ts::sim;

constexpr uint64_t kMs = 1'000'000, kSec = 1'000'000'000;

struct Bed {
  explicit Bed(uint64_t seed = 1, double mbps = 1000, uint64_t one_way_us = 50, double loss = 0)
      : Bed(seed, link(mbps, one_way_us, loss), link(mbps, one_way_us, loss), {}) {}
  // Hosts of `base`, links of `to_client` and `to_server`.
  Bed(uint64_t seed, const LinkParams& to_client, const LinkParams& to_server,
      const stack::StackConfig& base)
      : net(seed), server(net.add_host("server", *wire::Ipv4Cidr::parse("10.0.0.1/24"), base)),
        client(net.add_host("client", *wire::Ipv4Cidr::parse("10.0.0.2/24"), base)) {
    net.connect(server, client, to_client, to_server);
    net.finish();
  }
  static LinkParams link(double mbps = 1000, uint64_t one_way_us = 50, double loss = 0) {
    LinkParams p;
    p.rate_bps = mbps * 1e6;
    p.delay_ns = one_way_us * 1000;
    p.queue_packets = 1000;
    p.loss.bernoulli = loss;
    return p;
  }
  // Runs the generator until it is done or `limit` of simulated time passes;
  // ticks it every 100 us as a poll loop would. The ticks still scheduled
  // when it returns do nothing (a bed may run several generators in turn).
  bool run(Workload& g, uint64_t limit) {
    Simulator& sim = net.sim();
    const uint64_t end = sim.now() + limit;
    auto live = std::make_shared<bool>(true);
    Workload* gen = &g;
    Host* host = &client;
    sim.call_at(sim.now(), [live, gen, host, &sim] {
      if (!*live) return;
      gen->start(sim.now());
      host->kick(sim.now());
    });
    auto tick = std::make_shared<std::function<void()>>();
    *tick = [live, gen, host, &sim, end, weak = std::weak_ptr<std::function<void()>>(tick)] {
      if (!*live) return;
      gen->tick(sim.now());
      host->kick(sim.now());
      if (auto t = weak.lock(); t && sim.now() + 100'000 < end)
        sim.call_at(sim.now() + 100'000, [t] { (*t)(); });
    };
    sim.call_at(sim.now() + 100'000, [tick] { (*tick)(); });
    const bool ok = sim.run_until_done([&] { return g.done(); }, end);
    sim.run_until(sim.now() + 10 * kMs);  // let the last ACKs and FINs pass
    *live = false;
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


// A client that sends one request when connected and keeps all it reads.
struct RawClient final : tcp::Events {
  RawClient(stack::TcpLayer& t, std::string req) : tcp(t), request(std::move(req)) {}
  void on_connected(tcp::Connection& c) override {
    c.send({reinterpret_cast<const uint8_t*>(request.data()), request.size()}, tcp.now());
    if (half_close) c.shutdown(tcp.now());  // our FIN right after the request
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
  bool half_close = false;
};

}  // namespace ts::workload::testing
