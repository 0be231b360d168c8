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
#include "util/parse.hh"
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
  if (common.duration.empty() && a.work.requests.empty() && a.work.steps.empty())
    common.duration = "10s";
  stack::ImpairSpec rx, tx;
  parse_impair_args(common.impair, rx, tx);
  const hostcache::Policy hostcache_policy = parse_hostcache(common.hostcache);
  stack::StackConfig server_cfg = iface(kServerIp), client_cfg = iface(kClientIp);
  apply_defence_args(a.defences, server_cfg.tcp);
  apply_defence_args(a.defences, client_cfg.tcp);
  for (auto* c : {&server_cfg, &client_cfg}) apply_cc_args(a.pools.cc, a.pools.no_sack, a.pools.pacing, c->tcp.tcp);
  const std::string& sep = a.fastopen.separate_fin_side;
  if (!sep.empty() && sep != "gen" && sep != "serve" && sep != "both")
    usage_error("--separate-fin '" + sep + "' is not gen, serve or both");
  apply_fastopen_args(a.fastopen, common.given, sep == "serve" || sep == "both", server_cfg.tcp);
  apply_fastopen_args(a.fastopen, common.given, sep == "gen" || sep == "both", client_cfg.tcp);
  const auto mtu = util::parse_count(a.mtu);
  if (!mtu || *mtu < 576 || *mtu > glue::PortConfig::kMaxRingMtu)
    usage_error("--mtu '" + a.mtu + "' is not a number from 576 to " +
                std::to_string(glue::PortConfig::kMaxRingMtu));
  // Segments as large as the link carries (the MSS is clamped to the MTU too).
  for (auto* c : {&server_cfg, &client_cfg}) c->tcp.tcp.mss = uint16_t(*mtu - 40);
  WorkloadPlan plan = plan_workload(a.work, common, uint16_t(*mtu));
  plan.fast_open = a.fastopen.tfo;
  plan.cc = tcp::cc_name(client_cfg.tcp.tcp.cc);
  plan.sack = client_cfg.tcp.tcp.sack;
  plan.pacing = client_cfg.tcp.tcp.pacing;
  const bool tcp = plan.mode().tcp;
  if (plan.gen.mode == workload::GenMode::dns)
    usage_error("demo --mode dns needs a DNS resolver, which demo does not have: run "
                "`serve --app dns --upstream RESOLVER` and `gen --mode dns` (docs/stateless.md)");
  if (a.stateless && plan.gen.mode != workload::GenMode::http)
    not_applicable("--stateless", std::string("--mode ") + plan.mode().name + " (it serves --mode http)");
  if (a.stateless && !plan.gen.http_close)
    usage_error("--stateless needs --close: a stateless answer ends its connection, so each "
                "request takes a connection of its own");
  workload::ServerConfig sc;
  if (tcp) {
    // The server that speaks the workload (the mode's), with echo turned into
    // rr when the response is not the request's size; http's generated body
    // is --resp-size.
    const auto& g = plan.gen;
    sc.app = plan.mode().server;
    if (sc.app == workload::ServerApp::echo && g.req_size != g.resp_size &&
        g.mode != workload::GenMode::slowread)
      sc.app = workload::ServerApp::rr;
    if (g.mode == workload::GenMode::bulk && g.direction != workload::BulkDirection::send)
      sc.app = workload::ServerApp::source;
    sc.port = 5001;
    sc.req_size = g.req_size;
    sc.resp_size = g.resp_size;
    sc.http_size = g.resp_size;
    // Every connection asked for is opened: a half-open backlog that takes a
    // whole first burst of SYNs, slots for all, and as many client addresses
    // (10.0.0.2 upward, each with the whole port range) as the connections
    // need, with room for the uneven spread of ports over cores.
    const uint32_t conns = std::max(g.conns, g.legit_conns);
    sc.backlog = std::max<uint32_t>(sc.backlog, conns);
    for (auto* c : {&server_cfg, &client_cfg})
      c->tcp.max_connections = std::max<uint32_t>({c->tcp.max_connections, 65536, conns});
    // The server's slots and memory as given (to see its defences at work).
    if (common.given.has("--max-conns") || common.given.has("--buffer-memory")) {
      PoolArgs p = a.pools;
      if (!common.given.has("--max-conns"))
        p.max_conns = std::to_string(server_cfg.tcp.max_connections);
      apply_pool_args(p, server_cfg.tcp);
    }
    const uint32_t per_address =
        uint32_t(client_cfg.tcp.ephemeral_last - client_cfg.tcp.ephemeral_first + 1) * 3 / 4;
    const uint32_t addresses = (conns + per_address - 1) / per_address;
    constexpr uint32_t kMaxAddresses = 250;  // 10.0.0.2 to 10.0.0.251
    if (addresses > kMaxAddresses)
      usage_error("--conns " + std::to_string(conns) + ": demo opens at most " +
                  std::to_string(kMaxAddresses * per_address) + " connections (" +
                  std::to_string(kMaxAddresses) + " client addresses)");
    if (addresses > 1) {
      client_cfg.extra_first = client_cfg.addr.addr;
      client_cfg.extra_last = wire::Ipv4Addr{client_cfg.addr.addr.v + addresses - 1};
    }
  }
  plan.aim(server_cfg.addr.addr, tcp ? sc.port : 0);
  // synflood: source ports below the connections' ephemeral range.
  plan.gen.port_first = 1024;
  plan.gen.port_last = uint16_t(client_cfg.tcp.ephemeral_first - 1);

  const bool paired = a.layout == "paired";
  if (!paired && a.layout != "split") usage_error("--layout '" + a.layout + "' is not split or paired");
  const EalChoice eal = plan_eal_choice(common, allowed_cpus().size() >= 2 ? 2 : 1);
  const size_t n = eal.cores();
  if (n == 1 && common.given.has("--layout"))
    not_applicable("--layout", "one core (give --lcores 2 or more)");
  if (!paired && n > 1 && n % 2)
    usage_error("--layout split needs an even number of cores (half gen, half serve); "
                "--lcores gave " + std::to_string(n));
  // Queue pairs of the ring link: one per core (paired) or per core pair (split).
  auto queues_for = [&](size_t lcores) -> uint16_t {
    return uint16_t(paired || lcores == 1 ? lcores : lcores / 2);
  };
  const size_t q = queues_for(n);
  if (!tcp && q > 1)
    usage_error("--mode ping runs on one core per side: give --lcores 1, or 2 with --layout "
                "split");
  check_core_share(plan, unsigned(q));

  install_signal_handlers();
  glue::PortSpec ring;
  glue::parse_port_spec("ring", ring);
  Runtime rt({ring}, eal, queues_for, uint16_t(*mtu));
  const std::vector<unsigned>& lcores = rt.lcores();
  // Core of gen queue i and of serve queue i.
  auto gen_core = [&](size_t i) { return i; };
  auto serve_core = [&](size_t i) { return paired || n == 1 ? i : q + i; };

  PathSharing sharing(hostcache_policy, client_cfg.tcp.tcp);
  PortCores server_cores(*rt.ports()[0], unsigned(q)), client_cores(*rt.ports()[1], unsigned(q));
  std::unique_ptr<glue::Capture> capture;  // outlives the endpoints that feed it
  std::vector<std::unique_ptr<Endpoint>> server_eps, client_eps;
  std::vector<Endpoint*> servers_all, clients_all;
  std::vector<std::unique_ptr<workload::Server>> tcp_servers;
  std::vector<std::unique_ptr<workload::StatelessServer>> stateless_servers;
  for (size_t i = 0; i < q; ++i) {
    server_eps.push_back(std::make_unique<Endpoint>(*rt.ports()[0], server_cfg, stack::ImpairSpec{},
                                                    stack::ImpairSpec{}, &server_cores, unsigned(i)));
    client_eps.push_back(
        std::make_unique<Endpoint>(*rt.ports()[1], client_cfg, rx, tx, &client_cores, unsigned(i)));
    servers_all.push_back(server_eps.back().get());
    clients_all.push_back(client_eps.back().get());
    sharing.attach(server_eps.back()->stack().tcp());
    sharing.attach(client_eps.back()->stack().tcp());
    if (a.stateless) {
      // stateless-http keeps no table: it needs no tick() from the loop.
      workload::StatelessConfig st;
      st.port = sc.port;
      st.http_size = sc.http_size;
      stateless_servers.push_back(
          std::make_unique<workload::StatelessServer>(server_eps.back()->stack(), st));
      if (!stateless_servers.back()->start())
        throw std::runtime_error("cannot listen on the demo's port");
    } else if (tcp) {
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
  const std::string clients =
      client_cfg.extra_first.v
          ? client_cfg.extra_first.str() + "-" + client_cfg.extra_last.str()
          : std::string(kClientIp);
  std::printf("touchstone demo: gen %s -> serve %s over the in-memory ring port (%zu queue pair%s), %s\n",
              clients.c_str(), kServerIp, q, q > 1 ? "s" : "", layout.c_str());
  const auto& g = plan.gen;
  std::string how_long;
  if (g.requests) how_long = std::to_string(g.requests) + " requests";
  if (plan.duration_ns)
    how_long += (how_long.empty() ? "for " : " or ") + human_ns(plan.duration_ns);
  if (tcp) {
    std::printf("  workload: %s against serve --app %s, %s, %s\n", workload::gen_mode_name(g.mode),
                a.stateless ? "stateless-http" : workload::server_app_name(sc.app),
                pacing_text(plan).c_str(), how_long.c_str());
  } else {
    std::printf("  workload: ICMP echo, %s, %u-byte payload, %s\n", pacing_text(plan).c_str(),
                unsigned(g.size), how_long.c_str());
  }
  std::fflush(stdout);

  const uint64_t t0 = rt.clock().now_ns();
  std::vector<CoreProbe*> probes;
  for (size_t i = 0; i < q; ++i) {
    probes.push_back(client_eps[i]->enable_probe("gen", gen_lcores[i], t0));
    probes.push_back(server_eps[i]->enable_probe("serve", serve_lcores[i], t0));
  }
  const ProbeRegistration stats(probes, "demo", sharing.view(rt.clock()), plan.metrics);
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
  capture = start_capture(plan.pcap, clients_all, *rt.ports()[1], rt.clock());
  const WorkloadResult r = run_workload(cores, gen_lcores, plan, rt.clock());
  server_loops.reset();
  print_summary("touchstone demo", plan, r);
  finish_capture(capture, clients_all);
  if (a.stateless) {
    workload::StatelessStats s;
    for (auto& srv : stateless_servers) s.merge(srv->stats());
    std::printf("touchstone demo: serve --app stateless-http\n%s",
                stateless_summary(s, workload::ServerApp::stateless_http).c_str());
  } else if (tcp) {
    workload::ServerStats s;
    for (auto& srv : tcp_servers) s.merge(srv->stats());
    std::printf("touchstone demo: serve --app %s\n%s", workload::server_app_name(sc.app),
                server_summary(s, sc.app).c_str());
  }
  if (!plan.quiet) {
    print_counters("gen counters:", clients_all);
    print_counters("serve counters:", servers_all);
  }
  const stack::Counters gen_counters = sum_counters(clients_all);
  const std::string failure = failure_cause(plan, r, gen_counters);
  write_json("demo", plan, r,
             {role_counters("gen", clients_all), role_counters("serve", servers_all)}, failure);
  if (!failure.empty()) std::fprintf(stderr, "touchstone: run failed: %s\n", failure.c_str());
  return exit_status(plan, r);
}

}  // namespace ts::app
