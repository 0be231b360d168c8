// touchstone demo: serve and gen in one process, joined by the in-memory ring
// port; one core each when two are available. No NIC, no hugepages, no root.
#include <rte_launch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "apps/tcp_run.hh"

namespace ts::app {

namespace {

const char* kServerIp = "10.0.0.1/24";
const char* kClientIp = "10.0.0.2/24";

struct ServerLoop {
  Endpoint* ep;
  const glue::TscClock* clock;
  std::atomic<bool> stop{false};
};

int server_main(void* arg) {
  auto* s = static_cast<ServerLoop*>(arg);
  while (!s->stop.load(std::memory_order_relaxed)) s->ep->poll(s->clock->now_ns());
  return 0;
}

stack::StackConfig iface(const char* ip) {
  InterfaceArgs a;
  a.ip = ip;
  return parse_interface(a);
}

}  // namespace

int run_demo(const DemoArgs& a) {
  CommonArgs common = a.common;
  if (common.duration.empty() && a.work.requests.empty()) common.duration = "10s";
  stack::ImpairSpec rx, tx;
  parse_impair_args(common.impair, rx, tx);
  const hostcache::Policy hostcache_policy = parse_hostcache(common.hostcache);
  stack::StackConfig server_cfg = iface(kServerIp), client_cfg = iface(kClientIp);
  const bool tcp = a.work.mode != "ping";
  PingPlan plan;
  TcpPlan tplan;
  workload::ServerConfig sc;
  if (tcp) {
    tplan = plan_tcp(a.work, common, server_cfg.addr.addr, 0);
    // The server that speaks the workload: echo for equal sizes, rr otherwise,
    // discard for bulk, http with a generated body of --resp-size.
    const auto& g = tplan.gen;
    switch (g.mode) {
      case workload::GenMode::cps:
      case workload::GenMode::rr:
        sc.app = g.req_size == g.resp_size ? workload::ServerApp::echo : workload::ServerApp::rr;
        break;
      case workload::GenMode::bulk: sc.app = workload::ServerApp::discard; break;
      case workload::GenMode::http: sc.app = workload::ServerApp::http; break;
    }
    sc.port = 5001;
    sc.req_size = g.req_size;
    sc.resp_size = g.resp_size;
    sc.http_size = g.resp_size;
    tplan.gen.port = sc.port;
    for (auto* c : {&server_cfg, &client_cfg})
      c->tcp.max_connections = std::max<uint32_t>(c->tcp.max_connections, 65536);
  } else {
    plan = plan_ping(a.work, common, server_cfg.addr.addr, 1500);
  }

  install_signal_handlers();
  glue::PortSpec ring;
  glue::parse_port_spec("ring", ring);
  const std::string lcores =
      common.lcores.empty() ? default_lcores(online_cpus() >= 2 ? 2 : 1) : common.lcores;
  Runtime rt({ring}, lcores, common.eal);
  PathSharing sharing(hostcache_policy);
  Endpoint server(*rt.ports()[0], server_cfg, stack::ImpairSpec{}, stack::ImpairSpec{});
  Endpoint client(*rt.ports()[1], client_cfg, rx, tx);
  sharing.attach(server.stack().tcp());
  sharing.attach(client.stack().tcp());
  std::unique_ptr<workload::Server> tcp_server;
  if (tcp) {
    tcp_server = std::make_unique<workload::Server>(server.stack().tcp(), sc);
    if (!tcp_server->start()) throw std::runtime_error("cannot listen on the demo's port");
  }
  const bool two_cores = rt.lcores().size() >= 2;
  std::printf("touchstone demo: gen %s -> serve %s over the in-memory ring port, %s\n", kClientIp,
              kServerIp,
              two_cores ? ("gen on lcore " + std::to_string(rt.lcores()[0]) + ", serve on lcore " +
                           std::to_string(rt.lcores()[1]))
                              .c_str()
                        : "both on one core");
  const uint64_t duration_ns = tcp ? tplan.duration_ns : plan.duration_ns;
  const std::string how_long =
      duration_ns ? "for " + human_ns(duration_ns)
                  : (tcp ? std::to_string(tplan.gen.requests) : std::to_string(plan.cfg.count)) +
                        " requests";
  if (tcp) {
    const auto& g = tplan.gen;
    std::printf("  workload: %s against serve --app %s, %s, %s\n", workload::gen_mode_name(g.mode),
                workload::server_app_name(sc.app),
                g.rate > 0 ? ("open loop at " + si(g.rate) + "/s").c_str()
                           : ("closed loop, " + std::to_string(g.conns) + " connections").c_str(),
                how_long.c_str());
  } else {
    std::printf("  workload: ICMP echo, %s, %u-byte payload, %s\n",
                plan.cfg.rate > 0 ? ("open loop at " + si(plan.cfg.rate) + " req/s").c_str()
                                  : ("closed loop, " + std::to_string(plan.cfg.window) +
                                     " in flight").c_str(),
                plan.cfg.payload_len, how_long.c_str());
  }
  std::fflush(stdout);

  const uint64_t t0 = rt.clock().now_ns();
  const ProbeRegistration stats(
      {client.enable_probe("gen", rt.lcores()[0], t0),
       server.enable_probe("serve", rt.lcores()[two_cores ? 1 : 0], t0)},
      "demo");
  ServerLoop loop{&server, &rt.clock()};
  if (two_cores && rte_eal_remote_launch(server_main, &loop, rt.lcores()[1]) != 0)
    throw std::runtime_error("cannot start the server on lcore " + std::to_string(rt.lcores()[1]));
  // However this scope is left, the server lcore stops before what it uses is destroyed.
  struct StopServer {
    ServerLoop& loop;
    int lcore;  // -1: not running
    void stop() {
      loop.stop.store(true);
      if (lcore >= 0) rte_eal_wait_lcore(unsigned(lcore));
      lcore = -1;
    }
    ~StopServer() { stop(); }
  } stop_server{loop, two_cores ? int(rt.lcores()[1]) : -1};
  auto poll = [&](uint64_t now) {
    client.poll(now);
    if (!two_cores) server.poll(now);
  };
  stack::Counters both;
  int status;
  if (tcp) {
    workload::Generator gen(client.stack().tcp(), tplan.gen);
    const TcpResult r = run_tcp(gen, tplan, rt.clock(), poll);
    stop_server.stop();
    print_tcp_summary("touchstone demo", tplan, r);
    const auto& s = tcp_server->stats();
    std::printf("  server        accepted %llu  requests %llu  bytes in %llu out %llu\n",
                (unsigned long long)s.accepted, (unsigned long long)s.requests,
                (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
    print_counters("gen counters:", client);
    print_counters("serve counters:", server);
    both = client.stack().counters();
    both.merge(server.stack().counters());
    write_tcp_json("demo", tplan, r, both);
    status = tcp_exit_status(tplan, r);
  } else {
    stack::Pinger pinger(client.stack(), plan.cfg);
    const PingResult r = run_ping(pinger, plan, rt.clock(), poll);
    stop_server.stop();
    print_ping_summary("touchstone demo", plan, r);
    print_counters("gen counters:", client);
    print_counters("serve counters:", server);
    both = client.stack().counters();
    both.merge(server.stack().counters());
    write_ping_json("demo", plan, r, both);
    status = ping_exit_status(r);
  }
  return status;
}

}  // namespace ts::app
