// touchstone gen: the traffic generator. This slice has the ICMP echo mode.
#include <cstdio>
#include <stdexcept>

#include "apps/commands.hh"

namespace ts::app {

int run_gen(const GenArgs& a) {
  const stack::StackConfig cfg = parse_interface(a.iface);
  auto target = wire::Ipv4Addr::parse(a.target);
  if (!target) usage_error("--target '" + a.target + "' is not an IPv4 address");
  if (*target == cfg.addr.addr) usage_error("--target is our own address");
  const uint32_t first = target->v >> 24;
  if (first == 0 || first == 127 || first >= 224 || *target == cfg.addr.subnet_broadcast())
    usage_error("--target " + a.target + " is not a unicast host address");
  stack::ImpairSpec rx, tx;
  parse_impair_args(a.common.impair, rx, tx);
  auto ports = parse_ports(a.common.ports);
  if (ports.size() != 1) usage_error("gen takes exactly one --port");
  if (ports[0].kind == glue::PortSpec::Kind::ring)
    usage_error("--port ring is an in-process pair with nothing on the far side; "
                "use 'touchstone demo' to run serve and gen over it");
  // Check the workload flags before starting DPDK (the MTU is checked again below).
  PingPlan plan = plan_ping(a.work, a.common, *target, 1500);

  install_signal_handlers();
  Runtime rt(ports, a.common.lcores.empty() ? default_lcores(1) : a.common.lcores, a.common.eal);
  glue::EthPort& port = *rt.ports()[0];
  plan = plan_ping(a.work, a.common, *target, port.info().mtu);
  // gen sends first: wait for the link (a memif peer, a NIC's autonegotiation)
  // instead of losing the first requests.
  if (!port.wait_link_up(10'000))
    throw std::runtime_error("port " + port.label() + ": link still down after 10 s");
  Endpoint ep(port, cfg, rx, tx);
  std::printf("touchstone gen: %s -> %s, mode ping, on %s\n", cfg.addr.str().c_str(),
              target->str().c_str(), port.describe().c_str());
  std::fflush(stdout);

  stack::Pinger pinger(ep.stack(), plan.cfg);
  const PingResult r =
      run_ping(pinger, plan, rt.clock(), [&](uint64_t now) { ep.stack().poll(now); });
  print_ping_summary("touchstone gen", plan, r);
  print_counters(("counters (lcore " + std::to_string(rt.lcores()[0]) + "):").c_str(), ep);
  write_ping_json("gen", plan, r, ep.stack().counters());
  return ping_exit_status(r);
}

}  // namespace ts::app
