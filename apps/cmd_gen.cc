// touchstone gen: the traffic generator on one port, in any workload mode
// (workload/mode.hh).
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "workload/mode.hh"
#include "util/parse.hh"

namespace ts::app {

namespace {

// "A.B.C.D" or "A.B.C.D:PORT".
wire::Ipv4Addr parse_target(const std::string& text, uint16_t& port, bool tcp) {
  const size_t colon = text.find(':');
  auto addr = wire::Ipv4Addr::parse(text.substr(0, colon));
  if (!addr) usage_error("--target '" + text + "' is not an IPv4 address (with :PORT for TCP modes)");
  port = 0;
  if (colon != std::string::npos) {
    auto p = util::parse_count(text.substr(colon + 1));
    if (!p || *p == 0 || *p > 65535) usage_error("--target '" + text + "': the port must be 1-65535");
    if (!tcp) usage_error("--target " + text + ": ping takes an address without a port");
    port = uint16_t(*p);
  } else if (tcp) {
    usage_error("--target " + text + ": TCP modes need a port, like " + text + ":80");
  }
  return *addr;
}

// "A.B.C.D" or "A.B.C.D-E.F.G.H", inside the interface's prefix, host addresses.
void parse_source_ips(const std::string& text, stack::StackConfig& cfg) {
  if (text.empty()) return;
  const size_t dash = text.find('-');
  auto first = wire::Ipv4Addr::parse(text.substr(0, dash));
  auto last = dash == std::string::npos ? first : wire::Ipv4Addr::parse(text.substr(dash + 1));
  if (!first || !last)
    usage_error("--source-ips '" + text + "' is not an address or a range like 10.0.0.10-10.0.0.50");
  if (last->v < first->v) usage_error("--source-ips " + text + ": the range runs backwards");
  if (!cfg.addr.contains(*first) || !cfg.addr.contains(*last))
    usage_error("--source-ips " + text + " is not inside --ip's prefix " + cfg.addr.str());
  if (cfg.addr.is_network_or_broadcast(*first) || cfg.addr.is_network_or_broadcast(*last))
    usage_error("--source-ips " + text + " includes the network's own or broadcast address");
  if (cfg.gateway && cfg.gateway->v >= first->v && cfg.gateway->v <= last->v)
    usage_error("--source-ips " + text + " includes the gateway");
  cfg.extra_first = *first;
  cfg.extra_last = *last;
}

void parse_source_ports(const std::string& text, stack::TcpLayerConfig& t) {
  unsigned lo = 0, hi = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1024 || hi > 65535 ||
      lo > hi)
    usage_error("--source-ports '" + text + "' is not a range LO-HI within 1024-65535");
  t.ephemeral_first = uint16_t(lo);
  t.ephemeral_last = uint16_t(hi);
}

}  // namespace

int run_gen(const GenArgs& a) {
  stack::StackConfig cfg = parse_interface(a.iface);
  parse_source_ips(a.source_ips, cfg);
  parse_source_ports(a.source_ports, cfg.tcp);
  apply_pool_args(a.pools, cfg.tcp);
  apply_defence_args(a.defences, cfg.tcp);
  apply_fastopen_args(a.fastopen, a.common.given, a.fastopen.separate_fin, cfg.tcp);
  const hostcache::Policy hostcache_policy = parse_hostcache(a.common.hostcache);
  // Check the workload flags before starting DPDK (ping's payload is checked
  // against the port's MTU again below).
  WorkloadPlan plan = plan_workload(a.work, a.common, 1500);
  plan.fast_open = a.fastopen.tfo;
  plan.cc = tcp::cc_name(cfg.tcp.tcp.cc);
  plan.sack = cfg.tcp.tcp.sack;
  plan.pacing = cfg.tcp.tcp.pacing;
  const bool tcp = plan.mode().tcp;
  if (plan.gen.mode == workload::GenMode::http)
    refuse_given(a.common.given, {"--resp-size"}, "gen --mode http (the server sizes its responses)");
  uint16_t tport = 0;
  const wire::Ipv4Addr target = parse_target(a.target, tport, tcp);
  if (cfg.is_local(target)) usage_error("--target is our own address");
  if (!cfg.addr.names_host(target))
    usage_error("--target " + a.target + " is not a unicast host address");
  if (!cfg.addr.contains(target) && !cfg.gateway)
    usage_error("--target " + a.target + " is outside " + cfg.addr.str() +
                " and no --gw was given: nothing would route to it");
  plan.aim(target, tport);
  // synflood's source ports: --source-ports, the lower half of it when
  // legitimate connections take the upper half (so that no SYN-ACK to the
  // flood ever meets one of them).
  plan.gen.port_first = cfg.tcp.ephemeral_first;
  plan.gen.port_last = cfg.tcp.ephemeral_last;
  if (plan.gen.legit_conns) {
    if (cfg.tcp.ephemeral_first == cfg.tcp.ephemeral_last)
      usage_error("--legit-conns needs at least two --source-ports (the flood takes the lower "
                  "half, the connections the upper)");
    const uint16_t mid =
        uint16_t(cfg.tcp.ephemeral_first + (cfg.tcp.ephemeral_last - cfg.tcp.ephemeral_first) / 2);
    plan.gen.port_last = mid;
    cfg.tcp.ephemeral_first = uint16_t(mid + 1);
  }
  if (tcp && plan.gen.conns > cfg.tcp.max_connections)
    usage_error("--conns " + std::to_string(plan.gen.conns) + " exceeds --max-conns " +
                std::to_string(cfg.tcp.max_connections));
  if (plan.gen.legit_conns > cfg.tcp.max_connections)
    usage_error("--legit-conns " + std::to_string(plan.gen.legit_conns) + " exceeds --max-conns " +
                std::to_string(cfg.tcp.max_connections));
  stack::ImpairSpec rx, tx;
  parse_impair_args(a.common.impair, rx, tx);
  const glue::PortSpec port_spec = parse_port(a.common.port);
  const double now_unix = std::chrono::duration<double>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  const double start_at = a.start_at.empty() ? 0 : parse_start_at(a.start_at, now_unix);
  const EalChoice eal = plan_eal_choice(a.common, 1);
  if (!tcp && eal.cores() > 1) usage_error("--mode ping runs on one core; give --lcores 1");
  check_core_share(plan, unsigned(eal.cores()));

  install_signal_handlers();
  Runtime rt({port_spec}, eal);
  const std::vector<unsigned>& lcores = rt.lcores();
  const size_t n = lcores.size();
  glue::EthPort& port = *rt.ports()[0];
  if (!tcp) {
    plan = plan_workload(a.work, a.common, port.info().mtu);
    plan.aim(target, tport);
  }
  // gen sends first: wait for the link (a memif peer, a NIC's autonegotiation)
  // instead of losing the first requests.
  if (!port.wait_link_up(10'000))
    throw std::runtime_error("port " + port.label() + ": link still down after 10 s");
  stack::StackConfig scfg = cfg;
  scfg.tcp.tcp.mss = uint16_t(std::min<uint32_t>(port.info().mtu - 40, scfg.tcp.tcp.mss));
  PathSharing sharing(hostcache_policy, scfg.tcp.tcp);
  PortCores port_cores(port, unsigned(n));
  std::unique_ptr<glue::Capture> capture;  // outlives the endpoints that feed it
  std::vector<std::unique_ptr<Endpoint>> eps;
  std::vector<Endpoint*> all;
  for (size_t i = 0; i < n; ++i) {
    eps.push_back(std::make_unique<Endpoint>(port, scfg, rx, tx, &port_cores, unsigned(i)));
    sharing.attach(eps.back()->stack().tcp());
    all.push_back(eps.back().get());
  }
  std::printf("touchstone gen: %s -> %s, mode %s, on %s, %s\n", cfg.addr.str().c_str(),
              a.target.c_str(), plan.mode().name, port.describe().c_str(),
              describe_cores(port, lcores).c_str());
  std::fflush(stdout);
  std::vector<CoreProbe*> probes;
  for (size_t i = 0; i < n; ++i)
    probes.push_back(eps[i]->enable_probe("gen", lcores[i], rt.clock().now_ns()));
  const ProbeRegistration stats(probes, "gen", sharing.view(rt.clock()), plan.metrics);
  const std::string title = "counters (" + lcore_list(lcores) + "):";

  std::vector<std::unique_ptr<workload::Workload>> works;
  std::vector<WorkloadCore> cores;
  for (size_t i = 0; i < n; ++i) {
    works.push_back(workload::make_workload(eps[i]->stack(),
                                            core_share(plan.gen, unsigned(i), unsigned(n))));
    cores.push_back({works.back().get(), {eps[i].get()}});
  }
  if (start_at) {
    const double wait = start_at - std::chrono::duration<double>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
    if (wait > 0) {
      std::printf("waiting %.3f s for --start-at %s\n", wait, a.start_at.c_str());
    } else {
      std::printf("--start-at %s passed %.3f s ago while setting up: starting now\n",
                  a.start_at.c_str(), -wait);
    }
    std::fflush(stdout);
    if (!wait_until(start_at, all, rt.clock())) {
      std::printf("stopped before --start-at: nothing was sent\n");
      return 1;
    }
  }
  capture = start_capture(plan.pcap, all, port, rt.clock());
  const WorkloadResult r = run_workload(cores, lcores, plan, rt.clock());
  print_summary("touchstone gen", plan, r);
  finish_capture(capture, all);
  if (!plan.quiet) print_counters(title, all);
  const stack::Counters counters = sum_counters(all);
  const std::string failure = failure_cause(plan, r, counters);
  write_json("gen", plan, r, {role_counters("gen", all)}, failure);
  if (!failure.empty()) std::fprintf(stderr, "touchstone: run failed: %s\n", failure.c_str());
  return exit_status(plan, r);
}

}  // namespace ts::app
