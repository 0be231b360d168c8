// touchstone gen: the traffic generator on one port: the TCP workloads (cps,
// rr, bulk, http) and ICMP echo (ping).
#include <cstdio>
#include <stdexcept>

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "apps/tcp_run.hh"
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

}  // namespace

int run_gen(const GenArgs& a) {
  const stack::StackConfig cfg = parse_interface(a.iface);
  const bool tcp = a.work.mode != "ping";
  uint16_t tport = 0;
  const wire::Ipv4Addr target = parse_target(a.target, tport, tcp);
  if (target == cfg.addr.addr) usage_error("--target is our own address");
  const uint32_t first = target.v >> 24;
  if (first == 0 || first == 127 || first >= 224 || target == cfg.addr.subnet_broadcast())
    usage_error("--target " + a.target + " is not a unicast host address");
  stack::ImpairSpec rx, tx;
  parse_impair_args(a.common.impair, rx, tx);
  auto ports = parse_ports(a.common.ports);
  if (ports.size() != 1) usage_error("gen takes exactly one --port");
  if (ports[0].kind == glue::PortSpec::Kind::ring)
    usage_error("--port ring is an in-process pair with nothing on the far side; "
                "use 'touchstone demo' to run serve and gen over it");
  // Check the workload flags before starting DPDK (the MTU is checked again below).
  PingPlan plan;
  TcpPlan tplan;
  if (tcp)
    tplan = plan_tcp(a.work, a.common, target, tport);
  else
    plan = plan_ping(a.work, a.common, target, 1500);

  install_signal_handlers();
  Runtime rt(ports, a.common.lcores.empty() ? default_lcores(1) : a.common.lcores, a.common.eal);
  glue::EthPort& port = *rt.ports()[0];
  if (!tcp) plan = plan_ping(a.work, a.common, target, port.info().mtu);
  // gen sends first: wait for the link (a memif peer, a NIC's autonegotiation)
  // instead of losing the first requests.
  if (!port.wait_link_up(10'000))
    throw std::runtime_error("port " + port.label() + ": link still down after 10 s");
  stack::StackConfig scfg = cfg;
  scfg.tcp.max_connections = std::max<uint32_t>(scfg.tcp.max_connections, 65536);
  scfg.tcp.tcp.mss = uint16_t(std::min<uint32_t>(port.info().mtu - 40, scfg.tcp.tcp.mss));
  Endpoint ep(port, scfg, rx, tx);
  std::printf("touchstone gen: %s -> %s, mode %s, on %s\n", cfg.addr.str().c_str(),
              a.target.c_str(), a.work.mode.c_str(), port.describe().c_str());
  std::fflush(stdout);
  const ProbeRegistration stats({ep.enable_probe("gen", rt.lcores()[0], rt.clock().now_ns())},
                                "gen");

  if (tcp) {
    workload::Generator gen(ep.stack().tcp(), tplan.gen);
    const TcpResult r = run_tcp(gen, tplan, rt.clock(), [&](uint64_t now) { ep.poll(now); });
    print_tcp_summary("touchstone gen", tplan, r);
    print_counters(("counters (lcore " + std::to_string(rt.lcores()[0]) + "):").c_str(), ep);
    write_tcp_json("gen", tplan, r, ep.stack().counters());
    return tcp_exit_status(tplan, r);
  }
  stack::Pinger pinger(ep.stack(), plan.cfg);
  const PingResult r = run_ping(pinger, plan, rt.clock(), [&](uint64_t now) { ep.poll(now); });
  print_ping_summary("touchstone gen", plan, r);
  print_counters(("counters (lcore " + std::to_string(rt.lcores()[0]) + "):").c_str(), ep);
  write_ping_json("gen", plan, r, ep.stack().counters());
  return ping_exit_status(r);
}

}  // namespace ts::app
