// touchstone demo: serve and gen in one process, joined by the in-memory ring
// port; one core each when two are available. No NIC, no hugepages, no root.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>

#include "apps/commands.hh"
#include "apps/cores.hh"
#include "apps/introspect.hh"
#include "workload/mode.hh"

namespace ts::app {

namespace {

const char* kServerIp = "10.0.0.1/24";
const char* kClientIp = "10.0.0.2/24";

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
  WorkloadPlan plan = plan_workload(a.work, common, 1500);
  const bool tcp = plan.mode().tcp;
  workload::ServerConfig sc;
  if (tcp) {
    // The server that speaks the workload (the mode's), with echo turned into
    // rr when the response is not the request's size; http's generated body
    // is --resp-size.
    const auto& g = plan.gen;
    sc.app = plan.mode().server;
    if (sc.app == workload::ServerApp::echo && g.req_size != g.resp_size)
      sc.app = workload::ServerApp::rr;
    sc.port = 5001;
    sc.req_size = g.req_size;
    sc.resp_size = g.resp_size;
    sc.http_size = g.resp_size;
    for (auto* c : {&server_cfg, &client_cfg})
      c->tcp.max_connections = std::max<uint32_t>(c->tcp.max_connections, 65536);
  }
  plan.aim(server_cfg.addr.addr, tcp ? sc.port : 0);

  const bool paired = a.layout == "paired";
  if (!paired && a.layout != "split") usage_error("--layout '" + a.layout + "' is not split or paired");

  install_signal_handlers();
  glue::PortSpec ring;
  glue::parse_port_spec("ring", ring);
  const std::string lcore_text = resolve_lcores(common.lcores, online_cpus() >= 2 ? 2 : 1);
  // Queue pairs of the ring link: one per core (paired) or per core pair (split).
  auto queues_for = [&](size_t lcores) -> uint16_t {
    return uint16_t(paired || lcores == 1 ? lcores : lcores / 2);
  };
  Runtime rt({ring}, lcore_text, common.eal, queues_for);
  const std::vector<unsigned>& lcores = rt.lcores();
  const size_t n = lcores.size();
  if (!paired && n > 1 && n % 2)
    usage_error("--layout split needs an even number of cores (half gen, half serve); "
                "--lcores gave " + std::to_string(n));
  const size_t q = queues_for(n);
  if (!tcp && q > 1) usage_error("--mode ping runs on one core per side; give --lcores 1 or 2");
  check_core_share(plan, unsigned(q));
  // Core of gen queue i and of serve queue i.
  auto gen_core = [&](size_t i) { return i; };
  auto serve_core = [&](size_t i) { return paired || n == 1 ? i : q + i; };

  PathSharing sharing(hostcache_policy, client_cfg.tcp.tcp);
  PortCores server_cores(*rt.ports()[0], unsigned(q)), client_cores(*rt.ports()[1], unsigned(q));
  std::vector<std::unique_ptr<Endpoint>> server_eps, client_eps;
  std::vector<Endpoint*> servers_all, clients_all;
  std::vector<std::unique_ptr<workload::Server>> tcp_servers;
  for (size_t i = 0; i < q; ++i) {
    server_eps.push_back(std::make_unique<Endpoint>(*rt.ports()[0], server_cfg, stack::ImpairSpec{},
                                                    stack::ImpairSpec{}, &server_cores, unsigned(i)));
    client_eps.push_back(
        std::make_unique<Endpoint>(*rt.ports()[1], client_cfg, rx, tx, &client_cores, unsigned(i)));
    servers_all.push_back(server_eps.back().get());
    clients_all.push_back(client_eps.back().get());
    sharing.attach(server_eps.back()->stack().tcp());
    sharing.attach(client_eps.back()->stack().tcp());
    if (tcp) {
      tcp_servers.push_back(std::make_unique<workload::Server>(server_eps.back()->stack().tcp(), sc));
      if (!tcp_servers.back()->start()) throw std::runtime_error("cannot listen on the demo's port");
    }
  }
  std::vector<unsigned> gen_lcores, serve_lcores;
  for (size_t i = 0; i < q; ++i) {
    gen_lcores.push_back(lcores[gen_core(i)]);
    serve_lcores.push_back(lcores[serve_core(i)]);
  }
  const std::string layout =
      n == 1 ? "both on " + lcore_list(lcores)
      : paired ? "gen and serve side by side on each of " + lcore_list(lcores)
               : "gen on " + lcore_list(gen_lcores) + ", serve on " + lcore_list(serve_lcores);
  std::printf("touchstone demo: gen %s -> serve %s over the in-memory ring port (%zu queue pair%s), %s\n",
              kClientIp, kServerIp, q, q > 1 ? "s" : "", layout.c_str());
  const auto& g = plan.gen;
  const std::string how_long = plan.duration_ns ? "for " + human_ns(plan.duration_ns)
                                                : std::to_string(g.requests) + " requests";
  if (tcp) {
    std::printf("  workload: %s against serve --app %s, %s, %s\n", workload::gen_mode_name(g.mode),
                workload::server_app_name(sc.app),
                g.rate > 0 ? ("open loop at " + si(g.rate) + "/s").c_str()
                           : ("closed loop, " + std::to_string(g.conns) + " connections").c_str(),
                how_long.c_str());
  } else {
    std::printf("  workload: ICMP echo, %s, %u-byte payload, %s\n",
                g.rate > 0 ? ("open loop at " + si(g.rate) + " req/s").c_str()
                           : ("closed loop, " + std::to_string(g.conns) + " in flight").c_str(),
                unsigned(g.size), how_long.c_str());
  }
  std::fflush(stdout);

  const uint64_t t0 = rt.clock().now_ns();
  std::vector<CoreProbe*> probes;
  for (size_t i = 0; i < q; ++i) {
    probes.push_back(client_eps[i]->enable_probe("gen", gen_lcores[i], t0));
    probes.push_back(server_eps[i]->enable_probe("serve", serve_lcores[i], t0));
  }
  const ProbeRegistration stats(probes, "demo", sharing.view(rt.clock()));
  // Split layout: the serve cores run their own loops until the run is over.
  std::atomic<bool> servers_stop{false};
  DrainBarrier servers_drain;
  std::optional<Workers> server_loops;
  if (!paired && n > 1)
    server_loops.emplace(
        serve_lcores, 0,
        [&](size_t i) {
          Endpoint& ep = *server_eps[i];
          while (!servers_stop.load(std::memory_order_relaxed)) ep.poll(rt.clock().now_ns());
          if (q > 1) drain_between_cores(servers_drain, q, rt.clock(), {&ep});
        },
        servers_stop);
  // The endpoints the core of gen queue i polls.
  auto eps_of = [&](size_t i) {
    std::vector<Endpoint*> eps{client_eps[i].get()};
    if (paired || n == 1) eps.push_back(server_eps[i].get());
    return eps;
  };
  std::vector<std::unique_ptr<workload::Workload>> works;
  std::vector<WorkloadCore> cores;
  for (size_t i = 0; i < q; ++i) {
    works.push_back(workload::make_workload(client_eps[i]->stack(),
                                            core_share(g, unsigned(i), unsigned(q))));
    cores.push_back({works.back().get(), eps_of(i)});
  }
  const WorkloadResult r = run_workload(cores, gen_lcores, plan, rt.clock());
  server_loops.reset();
  print_summary("touchstone demo", plan, r);
  if (tcp) {
    workload::ServerStats s;
    for (auto& srv : tcp_servers) s.merge(srv->stats());
    std::printf("  server        accepted %llu  requests %llu  bytes in %llu out %llu\n",
                (unsigned long long)s.accepted, (unsigned long long)s.requests,
                (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out);
  }
  print_counters("gen counters:", clients_all);
  print_counters("serve counters:", servers_all);
  std::vector<Endpoint*> everyone = clients_all;
  everyone.insert(everyone.end(), servers_all.begin(), servers_all.end());
  write_json("demo", plan, r, sum_counters(everyone));
  return exit_status(plan, r);
}

}  // namespace ts::app
