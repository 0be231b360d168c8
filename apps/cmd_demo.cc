// touchstone demo: serve and gen in one process, joined by the in-memory ring
// port; one core each when two are available. No NIC, no hugepages, no root.
#include <rte_launch.h>

#include <atomic>
#include <cstdio>

#include "apps/commands.hh"

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
  while (!s->stop.load(std::memory_order_relaxed)) s->ep->stack().poll(s->clock->now_ns());
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
  const stack::StackConfig server_cfg = iface(kServerIp), client_cfg = iface(kClientIp);
  PingPlan plan = plan_ping(a.work, common, server_cfg.addr.addr, 1500);

  install_signal_handlers();
  glue::PortSpec ring;
  glue::parse_port_spec("ring", ring);
  const std::string lcores =
      common.lcores.empty() ? default_lcores(online_cpus() >= 2 ? 2 : 1) : common.lcores;
  Runtime rt({ring}, lcores, common.eal);
  Endpoint server(*rt.ports()[0], server_cfg, stack::ImpairSpec{}, stack::ImpairSpec{});
  Endpoint client(*rt.ports()[1], client_cfg, rx, tx);
  const bool two_cores = rt.lcores().size() >= 2;
  std::printf("touchstone demo: gen %s -> serve %s over the in-memory ring port, %s\n", kClientIp,
              kServerIp,
              two_cores ? ("gen on lcore " + std::to_string(rt.lcores()[0]) + ", serve on lcore " +
                           std::to_string(rt.lcores()[1]))
                              .c_str()
                        : "both on one core");
  std::printf("  workload: ICMP echo, %s, %u-byte payload, %s\n",
              plan.cfg.rate > 0 ? ("open loop at " + si(plan.cfg.rate) + " req/s").c_str()
                                : ("closed loop, " + std::to_string(plan.cfg.window) +
                                   " in flight").c_str(),
              plan.cfg.payload_len,
              plan.duration_ns ? ("for " + human_ns(plan.duration_ns)).c_str()
                               : (std::to_string(plan.cfg.count) + " requests").c_str());
  std::fflush(stdout);

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
  stack::Pinger pinger(client.stack(), plan.cfg);
  const PingResult r = run_ping(pinger, plan, rt.clock(), [&](uint64_t now) {
    client.stack().poll(now);
    if (!two_cores) server.stack().poll(now);
  });
  stop_server.stop();

  print_ping_summary("touchstone demo", plan, r);
  print_counters("gen counters:", client);
  print_counters("serve counters:", server);
  stack::Counters both = client.stack().counters();
  both.merge(server.stack().counters());
  write_ping_json("demo", plan, r, both);
  return ping_exit_status(r);
}

}  // namespace ts::app
