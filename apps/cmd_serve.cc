// touchstone serve: a user-level endpoint on one port. This slice answers ARP
// and ICMP echo; TCP applications arrive with the TCP core.
#include <cstdio>

#include "apps/commands.hh"
#include "apps/runtime.hh"

namespace ts::app {

int run_serve(const ServeArgs& a) {
  const stack::StackConfig cfg = parse_interface(a.iface);
  stack::ImpairSpec rx, tx;
  parse_impair_args(a.common.impair, rx, tx);
  const auto duration = parse_duration_arg(a.common.duration, "--duration");
  const uint64_t progress = parse_duration_required(a.common.progress, "--progress");
  auto ports = parse_ports(a.common.ports);
  if (ports.size() != 1) usage_error("serve takes exactly one --port");
  if (ports[0].kind == glue::PortSpec::Kind::ring)
    usage_error("--port ring is an in-process pair with nothing on the far side; "
                "use 'touchstone demo' to run serve and gen over it");

  install_signal_handlers();
  Runtime rt(ports, a.common.lcores.empty() ? default_lcores(1) : a.common.lcores, a.common.eal);
  glue::EthPort& port = *rt.ports()[0];
  Endpoint ep(port, cfg, rx, tx);
  std::printf("touchstone serve: %s%s on %s\n", cfg.addr.str().c_str(),
              cfg.gateway ? (" via " + cfg.gateway->str()).c_str() : "", port.describe().c_str());
  if (rx.active()) std::printf("  impairing rx: %s\n", rx.str().c_str());
  if (tx.active()) std::printf("  impairing tx: %s\n", tx.str().c_str());
  std::printf("  answering ARP and ICMP echo on lcore %u; Ctrl-C to stop\n", rt.lcores()[0]);
  std::fflush(stdout);

  const auto& clock = rt.clock();
  const uint64_t start = clock.now_ns();
  uint64_t next_report = start + progress;
  uint64_t last_rx = 0, last_tx = 0, last_t = start;
  while (!g_stop.load(std::memory_order_relaxed)) {
    const uint64_t now = clock.now_ns();
    ep.stack().poll(now);
    if (duration && now - start >= *duration) break;
    if (progress && now >= next_report) {
      const auto& c = ep.stack().counters();
      if (!a.common.quiet) {
        const double dt = double(now - last_t) / 1e9;
        std::printf("[%7.1fs] rx %s/s  tx %s/s  echo %llu  arp %llu  drops %llu\n",
                    double(now - start) / 1e9, si(double(c.rx_frames - last_rx) / dt).c_str(),
                    si(double(c.tx_frames - last_tx) / dt).c_str(),
                    (unsigned long long)c.icmp_echo_replies_out,
                    (unsigned long long)c.arp_replies_out, (unsigned long long)c.drops());
        std::fflush(stdout);
      }
      last_rx = c.rx_frames;
      last_tx = c.tx_frames;
      last_t = now;
      next_report = now + progress;
    }
  }
  std::printf("touchstone serve: stopped after %.1f s\n", double(clock.now_ns() - start) / 1e9);
  print_counters(("counters (lcore " + std::to_string(rt.lcores()[0]) + "):").c_str(), ep);
  return 0;
}

}  // namespace ts::app
