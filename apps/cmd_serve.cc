// touchstone serve: a user-level endpoint on one port: ARP and ICMP echo
// always, and a TCP application (echo, discard, rr, http) with --app.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <tuple>

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "apps/runtime.hh"
#include "util/parse.hh"
#include "workload/server.hh"

namespace ts::app {

namespace {

uint16_t default_port(workload::ServerApp a) {
  switch (a) {
    case workload::ServerApp::echo: return 7;
    case workload::ServerApp::discard: return 9;
    case workload::ServerApp::rr: return 9000;
    case workload::ServerApp::http: return 80;
  }
  return 0;
}

}  // namespace

// Checks the --app family of flags; shared with demo.
workload::ServerConfig plan_server(const ServeArgs& a, workload::FileIndex& files) {
  workload::ServerConfig sc;
  if (!workload::parse_server_app(a.app, sc.app))
    usage_error("--app '" + a.app + "' is not one of echo, discard, rr, http");
  sc.port = default_port(sc.app);
  if (!a.listen.empty()) {
    auto p = util::parse_count(a.listen);
    if (!p || *p == 0 || *p > 65535) usage_error("--listen '" + a.listen + "' is not a port (1-65535)");
    sc.port = uint16_t(*p);
  }
  auto size = util::parse_bytes(a.http_size);
  if (!size) usage_error("--http-size '" + a.http_size + "' is not a size like 1K or 10M");
  sc.http_size = *size;
  for (auto [text, flag, out] : {std::tuple{&a.req_size, "--req-size", &sc.req_size},
                                 std::tuple{&a.resp_size, "--resp-size", &sc.resp_size}}) {
    auto v = util::parse_bytes(*text);
    if (!v || *v == 0 || *v > (1u << 30))
      usage_error(std::string(flag) + " '" + *text + "' must be 1 byte to 1G");
    *out = uint32_t(*v);
  }
  if (!a.http_root.empty()) {
    if (sc.app != workload::ServerApp::http) usage_error("--http-root needs --app http");
    if (std::string err = files.load(a.http_root); !err.empty()) usage_error(err);
    sc.files = &files;
  }
  return sc;
}

int run_serve(const ServeArgs& a) {
  stack::StackConfig cfg = parse_interface(a.iface);
  apply_pool_args(a.pools, cfg.tcp);
  const hostcache::Policy hostcache_policy = parse_hostcache(a.common.hostcache);
  stack::ImpairSpec rx, tx;
  parse_impair_args(a.common.impair, rx, tx);
  const auto duration = parse_duration_arg(a.common.duration, "--duration");
  const uint64_t progress = parse_duration_required(a.common.progress, "--progress");
  auto ports = parse_ports(a.common.ports);
  if (ports.size() != 1) usage_error("serve takes exactly one --port");
  if (ports[0].kind == glue::PortSpec::Kind::ring)
    usage_error("--port ring is an in-process pair with nothing on the far side; "
                "use 'touchstone demo' to run serve and gen over it");
  workload::FileIndex files;
  std::optional<workload::ServerConfig> sc;
  if (!a.app.empty()) sc = plan_server(a, files);

  install_signal_handlers();
  Runtime rt(ports, a.common.lcores.empty() ? default_lcores(1) : a.common.lcores, a.common.eal);
  glue::EthPort& port = *rt.ports()[0];
  PathSharing sharing(hostcache_policy);
  Endpoint ep(port, cfg, rx, tx);
  sharing.attach(ep.stack().tcp());
  std::unique_ptr<workload::Server> server;
  if (sc) {
    server = std::make_unique<workload::Server>(ep.stack().tcp(), *sc);
    if (!server->start()) throw std::runtime_error("cannot listen on port " + std::to_string(sc->port));
  }
  std::printf("touchstone serve: %s%s on %s\n", cfg.addr.str().c_str(),
              cfg.gateway ? (" via " + cfg.gateway->str()).c_str() : "", port.describe().c_str());
  if (rx.active()) std::printf("  impairing rx: %s\n", rx.str().c_str());
  if (tx.active()) std::printf("  impairing tx: %s\n", tx.str().c_str());
  if (sc)
    std::printf("  %s on TCP port %u%s; ARP and ICMP echo answered; lcore %u; Ctrl-C to stop\n",
                workload::server_app_name(sc->app), sc->port,
                sc->files ? (", " + std::to_string(files.size()) + " files from " + a.http_root).c_str()
                          : "",
                rt.lcores()[0]);
  else
    std::printf("  answering ARP and ICMP echo on lcore %u (no --app: no TCP service); "
                "Ctrl-C to stop\n", rt.lcores()[0]);
  std::fflush(stdout);

  const auto& clock = rt.clock();
  const uint64_t start = clock.now_ns();
  const ProbeRegistration stats({ep.enable_probe("serve", rt.lcores()[0], start)}, "serve");
  uint64_t next_report = start + progress;
  uint64_t last_rx = 0, last_tx = 0, last_t = start;
  workload::ServerStats last{};
  while (!g_stop.load(std::memory_order_relaxed)) {
    const uint64_t now = clock.now_ns();
    ep.poll(now);
    if (duration && now - start >= *duration) break;
    if (progress && now >= next_report) {
      const auto& c = ep.stack().counters();
      if (!a.common.quiet) {
        const double dt = double(now - last_t) / 1e9;
        std::printf("[%7.1fs] rx %s/s  tx %s/s", double(now - start) / 1e9,
                    si(double(c.rx_frames - last_rx) / dt).c_str(),
                    si(double(c.tx_frames - last_tx) / dt).c_str());
        if (server) {
          const auto& s = server->stats();
          std::printf("  conns %zu  accepted %s/s  requests %s/s  in %.3f Gbit/s  out %.3f Gbit/s",
                      ep.stack().tcp().connections(), si(double(s.accepted - last.accepted) / dt).c_str(),
                      si(double(s.requests - last.requests) / dt).c_str(),
                      double(s.bytes_in - last.bytes_in) * 8 / dt / 1e9,
                      double(s.bytes_out - last.bytes_out) * 8 / dt / 1e9);
          last = s;
        }
        std::printf("  drops %llu\n", (unsigned long long)c.drops());
        std::fflush(stdout);
      }
      last_rx = c.rx_frames;
      last_tx = c.tx_frames;
      last_t = now;
      next_report = now + progress;
    }
  }
  std::printf("touchstone serve: stopped after %.1f s\n", double(clock.now_ns() - start) / 1e9);
  if (server) {
    const auto& s = server->stats();
    std::printf("  connections accepted %llu  closed %llu  aborted %llu  requests %llu  "
                "2xx %llu 4xx %llu 5xx %llu  bytes in %llu out %llu\n",
                (unsigned long long)s.accepted, (unsigned long long)s.closed,
                (unsigned long long)s.aborted, (unsigned long long)s.requests,
                (unsigned long long)s.http_2xx, (unsigned long long)s.http_4xx,
                (unsigned long long)s.http_5xx, (unsigned long long)s.bytes_in,
                (unsigned long long)s.bytes_out);
  }
  print_counters(("counters (lcore " + std::to_string(rt.lcores()[0]) + "):").c_str(), ep);
  return 0;
}

}  // namespace ts::app
