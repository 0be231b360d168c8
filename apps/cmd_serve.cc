// touchstone serve: a user-level endpoint on one port: ARP and ICMP echo
// always, and a TCP application (echo, discard, rr, http) with --app.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <tuple>

#include "apps/commands.hh"
#include "apps/cores.hh"
#include "apps/introspect.hh"
#include "apps/runtime.hh"
#include "util/parse.hh"
#include "workload/server.hh"
#include "workload/stateless.hh"

namespace ts::app {

namespace {

uint16_t default_port(workload::ServerApp a) {
  switch (a) {
    case workload::ServerApp::echo: return 7;
    case workload::ServerApp::discard: return 9;
    case workload::ServerApp::source: return 19;
    case workload::ServerApp::rr: return 9000;
    case workload::ServerApp::http: return 80;
    case workload::ServerApp::dns: return 53;
    case workload::ServerApp::stateless_http: return 80;
  }
  return 0;
}

bool is_stateless(workload::ServerApp a) {
  return a == workload::ServerApp::dns || a == workload::ServerApp::stateless_http;
}

// "A.B.C.D:PORT" (the port may be left out when `default_port` is not 0).
wire::Ipv4Addr parse_host_port(const std::string& text, const char* flag, uint16_t default_port,
                               uint16_t& port) {
  const size_t colon = text.find(':');
  auto addr = wire::Ipv4Addr::parse(text.substr(0, colon));
  const std::string form = default_port ? "A.B.C.D[:PORT]" : "A.B.C.D:PORT";
  if (!addr) usage_error(std::string(flag) + " '" + text + "' is not " + form);
  port = default_port;
  if (colon != std::string::npos) {
    auto p = util::parse_count(text.substr(colon + 1));
    if (!p || *p == 0 || *p > 65535)
      usage_error(std::string(flag) + " '" + text + "': the port must be 1-65535");
    port = uint16_t(*p);
  }
  if (!port) usage_error(std::string(flag) + " '" + text + "' needs a port: " + form);
  return *addr;
}

// The stateless apps' own flags (plan_server has checked which apply).
workload::StatelessConfig plan_stateless(const ServeArgs& a, const workload::ServerConfig& sc) {
  workload::StatelessConfig st;
  st.app = sc.app;
  st.port = sc.port;
  st.files = sc.files;
  st.http_size = sc.http_size;
  if (a.fallback != "reset" && a.fallback != "stateful")
    usage_error("--fallback '" + a.fallback + "' is not reset or stateful");
  st.fallback = a.fallback == "stateful";
  if (sc.app == workload::ServerApp::stateless_http && sc.http_size > (1u << 20))
    usage_error("--http-size " + a.http_size +
                " is more than a stateless answer can be (1M: it must fit the client's window)");
  const Given& g = a.common.given;
  if (sc.app == workload::ServerApp::stateless_http) {
    if (a.backend.empty()) {
      refuse_given(g, {"--upstream-timeout", "--inflight"}, "--app stateless-http without --backend");
      return st;
    }
    if (g.has("--http-root") || g.has("--http-size"))
      not_applicable(g.has("--http-root") ? "--http-root" : "--http-size",
                     "--backend (the backend's pages are sent)");
    if (st.fallback)
      usage_error("--fallback stateful with --backend is not built: the fallback would have to "
                  "proxy a connection to the backend (docs/stateless.md)");
    st.backend = parse_host_port(a.backend, "--backend", 0, st.backend_port);
  } else {
    if (a.upstream.empty()) usage_error("--app dns needs --upstream A.B.C.D[:PORT], the UDP resolver");
    st.upstream = parse_host_port(a.upstream, "--upstream", 53, st.upstream_port);
  }
  st.upstream_timeout_ns = parse_duration_required(a.upstream_timeout, "--upstream-timeout");
  if (st.upstream_timeout_ns == 0) usage_error("--upstream-timeout must be longer than 0");
  auto n = util::parse_count(a.inflight);
  if (!n || *n == 0 || *n > 65536) usage_error("--inflight '" + a.inflight + "' must be 1-65536");
  st.max_inflight = uint32_t(*n);
  return st;
}

}  // namespace

std::string server_summary(const workload::ServerStats& s, workload::ServerApp app) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  std::string out = "  connections   accepted " + n(s.accepted) + "  closed " + n(s.closed) +
                    "  aborted " + n(s.aborted) + "\n";
  switch (app) {
    case workload::ServerApp::discard:
    case workload::ServerApp::source: break;  // no requests
    case workload::ServerApp::http:
      out += "  requests      " + n(s.requests) + " answered: 2xx " + n(s.http_2xx) + "  4xx " +
             n(s.http_4xx) + "  5xx " + n(s.http_5xx) + "\n";
      break;
    case workload::ServerApp::echo:
      out += "  requests      " + n(s.requests) + " (one per --req-size bytes echoed)\n";
      break;
    case workload::ServerApp::rr:
      out += "  requests      " + n(s.requests) + " answered\n";
      break;
    case workload::ServerApp::dns:
    case workload::ServerApp::stateless_http: break;  // stateless_summary
  }
  out += "  payload       received " + human_bytes(s.bytes_in) + "  sent " +
         human_bytes(s.bytes_out) + "\n";
  return out;
}

std::string stateless_summary(const workload::StatelessStats& s, workload::ServerApp app) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  std::string out = "  requests      " + n(s.requests) + " taken, " + n(s.answers) +
                    " answered, " + n(s.unfit) + " not in one segment";
  if (s.fallback_conns) out += " (" + n(s.fallback_conns) + " fallback connections)";
  out += "\n";
  if (app == workload::ServerApp::stateless_http)
    out += "  answers       2xx " + n(s.http_2xx) + "  4xx " + n(s.http_4xx) + "  5xx " +
           n(s.http_5xx) + "\n";
  if (app == workload::ServerApp::stateless_http) {
    if (s.upstream_queries)
      out += "  backend       " + n(s.upstream_queries) + " fetches, " + n(s.upstream_answers) +
           " complete, " + n(s.upstream_timeouts) + " timed out, " + n(s.backend_failed) +
           " failed, " + n(s.table_full) + " dropped (table full), " + n(s.retransmits) +
           " asked again by the client\n";
  } else {
    out += "  upstream      " + n(s.upstream_queries) + " queries, " + n(s.upstream_answers) +
           " answers, " + n(s.upstream_resent) + " sent again, " + n(s.upstream_timeouts) +
           " timed out, " + n(s.table_full) +
           " dropped (table full), " + n(s.retransmits) + " asked again by the client, " +
           n(s.foreign) + " foreign datagrams, " + n(s.truncated) + " truncated, " +
           n(s.answers_resent) + " answers sent again\n";
  }
  out += "  payload       received " + human_bytes(s.bytes_in) + "  sent " +
         human_bytes(s.bytes_out) + "\n";
  return out;
}

// Checks the --app family of flags; shared with demo.
workload::ServerConfig plan_server(const ServeArgs& a, workload::FileIndex& files) {
  workload::ServerConfig sc;
  if (!workload::parse_server_app(a.app, sc.app))
    usage_error("--app '" + a.app +
                "' is not one of echo, discard, source, rr, http, stateless-http, dns");
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
  // Each app's own flags; the others are refused.
  const std::string app = std::string("--app ") + workload::server_app_name(sc.app);
  const Given& g = a.common.given;
  if (sc.app != workload::ServerApp::dns) refuse_given(g, {"--upstream"}, app);
  if (sc.app != workload::ServerApp::stateless_http) refuse_given(g, {"--backend"}, app);
  if (!is_stateless(sc.app)) refuse_given(g, {"--upstream-timeout", "--inflight"}, app);
  if (!is_stateless(sc.app)) refuse_given(g, {"--fallback"}, app);
  switch (sc.app) {
    case workload::ServerApp::dns:
      refuse_given(g, {"--http-root", "--http-size", "--req-size", "--resp-size"}, app);
      break;
    case workload::ServerApp::echo:
      refuse_given(g, {"--http-root", "--http-size", "--resp-size"}, app);
      break;
    case workload::ServerApp::discard:
    case workload::ServerApp::source:
      refuse_given(g, {"--http-root", "--http-size", "--req-size", "--resp-size"}, app);
      break;
    case workload::ServerApp::rr:
      refuse_given(g, {"--http-root", "--http-size"}, app);
      break;
    case workload::ServerApp::http:
    case workload::ServerApp::stateless_http:
      refuse_given(g, {"--req-size", "--resp-size"}, app);
      if (g.has("--http-root") && g.has("--http-size"))
        not_applicable("--http-size", "--http-root (the files have their own sizes)");
      break;
  }
  if (!a.http_root.empty()) {
    if (std::string err = files.load(a.http_root); !err.empty()) usage_error(err);
    sc.files = &files;
  }
  return sc;
}

int run_serve(const ServeArgs& a) {
  stack::StackConfig cfg = parse_interface(a.iface);
  apply_pool_args(a.pools, cfg.tcp);
  apply_defence_args(a.defences, cfg.tcp);
  apply_fastopen_args(a.fastopen, a.common.given, a.fastopen.separate_fin, cfg.tcp);
  const hostcache::Policy hostcache_policy = parse_hostcache(a.common.hostcache);
  stack::ImpairSpec rx, tx;
  parse_impair_args(a.common.impair, rx, tx);
  const auto duration = parse_duration_arg(a.common.duration, "--duration");
  const uint64_t progress = parse_progress(a.common);
  const MetricsFileSpec metrics = parse_metrics_file(a.common);
  const std::optional<glue::CaptureConfig> pcap = parse_pcap(a.common);
  const glue::PortSpec port_spec = parse_port(a.common.port);
  workload::FileIndex files;
  std::optional<workload::ServerConfig> sc;
  std::optional<workload::StatelessConfig> st;
  if (!a.app.empty()) {
    sc = plan_server(a, files);
    if (is_stateless(sc->app)) st = plan_stateless(a, *sc);
  }
  else
    refuse_given(a.common.given,
                 {"--listen", "--http-root", "--http-size", "--req-size", "--resp-size",
                  "--upstream", "--backend", "--upstream-timeout", "--inflight", "--fallback",
                  "--cc", "--no-sack", "--pacing", "--no-gro", "--no-tso", "--sndbuf", "--rcvbuf",
                  "--max-conns", "--buffer-memory", "--hostcache", "--syncookies",
                  "--persist-reclaim-after", "--stall-reclaim-after", "--tfo", "--tfo-pending",
                  "--tfo-replay-guard", "--separate-fin"},
                 "serve without --app (no TCP service)");
  const EalChoice eal = plan_eal_choice(a.common, 1);

  install_signal_handlers();
  // (An impaired link loses wire segments, never a frame's worth at once.)
  Runtime rt({port_spec}, eal, nullptr, 0, sc && cfg.tcp.tso && !rx.active() && !tx.active());
  glue::EthPort& port = *rt.ports()[0];
  const std::vector<unsigned>& lcores = rt.lcores();
  const size_t n = lcores.size();
  PathSharing sharing(hostcache_policy, cfg.tcp.tcp);
  PortCores port_cores(port, unsigned(n));
  std::unique_ptr<glue::Capture> capture;  // outlives the endpoints that feed it
  std::vector<std::unique_ptr<Endpoint>> eps;
  std::vector<std::unique_ptr<workload::Server>> servers;
  std::vector<std::unique_ptr<workload::StatelessServer>> stateless;
  for (size_t i = 0; i < n; ++i) {
    eps.push_back(std::make_unique<Endpoint>(port, cfg, rx, tx, &port_cores, unsigned(i)));
    sharing.attach(eps.back()->stack().tcp());
    if (st) {
      stateless.push_back(std::make_unique<workload::StatelessServer>(eps.back()->stack(), *st));
      if (!stateless.back()->start())
        throw std::runtime_error("cannot listen on port " + std::to_string(st->port) +
                                 (st->app == workload::ServerApp::dns ? " or bind a UDP port" : ""));
    } else if (sc) {
      servers.push_back(std::make_unique<workload::Server>(eps.back()->stack().tcp(), *sc));
      if (!servers.back()->start())
        throw std::runtime_error("cannot listen on port " + std::to_string(sc->port));
    }
  }
  std::vector<Endpoint*> all;
  for (auto& e : eps) all.push_back(e.get());
  std::printf("touchstone serve: %s%s on %s\n", cfg.addr.str().c_str(),
              cfg.gateway ? (" via " + cfg.gateway->str()).c_str() : "", port.describe().c_str());
  if (rx.active()) std::printf("  impairing rx: %s\n", rx.str().c_str());
  if (tx.active()) std::printf("  impairing tx: %s\n", tx.str().c_str());
  const std::string where = describe_cores(port, lcores);
  if (st)
    std::printf("  %s on TCP port %u, stateless (%s fallback)%s; ARP and ICMP echo answered; %s; "
                "Ctrl-C to stop\n",
                workload::server_app_name(st->app), st->port, st->fallback ? "stateful" : "reset",
                st->app == workload::ServerApp::dns
                    ? (", relayed to " + st->upstream.str() + ":" + std::to_string(st->upstream_port) + " over UDP").c_str()
                : st->backend_port
                    ? (", pages from " + st->backend.str() + ":" + std::to_string(st->backend_port)).c_str()
                    : "",
                where.c_str());
  else if (sc)
    std::printf("  %s on TCP port %u%s; ARP and ICMP echo answered; %s; Ctrl-C to stop\n",
                workload::server_app_name(sc->app), sc->port,
                sc->files ? (", " + std::to_string(files.size()) + " files from " + a.http_root).c_str()
                          : "",
                where.c_str());
  else
    std::printf("  answering ARP and ICMP echo on %s (no --app: no TCP service); "
                "Ctrl-C to stop\n", where.c_str());
  std::fflush(stdout);

  const auto& clock = rt.clock();
  const uint64_t start = clock.now_ns();
  std::vector<CoreProbe*> probes;
  for (size_t i = 0; i < n; ++i) probes.push_back(eps[i]->enable_probe("serve", lcores[i], start));
  const ProbeRegistration stats(probes, "serve", sharing.view(rt.clock()), metrics);

  // What a core reports for the progress line.
  struct Progress {
    uint64_t rx_frames = 0, tx_frames = 0, drops = 0;
    size_t conns = 0;
    workload::ServerStats server;
  };
  auto progress_of = [&](size_t i) {
    Progress p;
    const auto& c = eps[i]->stack().counters();
    p.rx_frames = c.rx_frames;
    p.tx_frames = c.tx_frames;
    p.drops = c.drops();
    p.conns = eps[i]->stack().tcp().connections();
    if (st) {
      const workload::StatelessStats t = stateless[i]->stats();
      p.server.accepted = t.fallback_conns;
      p.server.requests = t.requests;
      p.server.bytes_in = t.bytes_in;
      p.server.bytes_out = t.bytes_out;
    } else if (sc) {
      p.server = servers[i]->stats();
    }
    return p;
  };
  auto snaps = std::make_unique<Snapshot<Progress>[]>(n);
  std::atomic<bool> stop{false};
  DrainBarrier drain;
  uint64_t next_report = start + progress, last_t = start;
  Progress last;
  bool asking = false;
  auto body = [&](size_t i) {
    Endpoint& ep = *eps[i];
    while (!stop.load(std::memory_order_relaxed)) {
      const uint64_t now = clock.now_ns();
      ep.poll(now);
      if (st) stateless[i]->tick(now);
      if (i) {
        snaps[i].serve([&](Progress& p) { p = progress_of(i); });
        continue;
      }
      if (g_stop.load(std::memory_order_relaxed) || (duration && now - start >= *duration)) {
        stop.store(true);
        break;
      }
      if (!progress) continue;
      auto snap = [&](size_t k) -> auto& { return snaps[k]; };
      if (!asking && now >= next_report) {
        ask_all(n, snap);
        asking = true;
      }
      if (!asking || !all_ready(n, snap)) continue;
      asking = false;
      Progress sum = progress_of(0);
      for (size_t k = 1; k < n; ++k) {
        const Progress& p = snaps[k].value();
        sum.rx_frames += p.rx_frames;
        sum.tx_frames += p.tx_frames;
        sum.drops += p.drops;
        sum.conns += p.conns;
        sum.server.merge(p.server);
      }
      const double dt = double(now - last_t) / 1e9;
      std::printf("[%7.1fs] rx %s/s  tx %s/s", double(now - start) / 1e9,
                  si(double(sum.rx_frames - last.rx_frames) / dt).c_str(),
                  si(double(sum.tx_frames - last.tx_frames) / dt).c_str());
      if (sc) {
        const auto& s = sum.server;
        std::printf("  conns %zu  accepted %s/s  requests %s/s  in %.3f Gbit/s  out %.3f Gbit/s",
                    sum.conns, si(double(s.accepted - last.server.accepted) / dt).c_str(),
                    si(double(s.requests - last.server.requests) / dt).c_str(),
                    double(s.bytes_in - last.server.bytes_in) * 8 / dt / 1e9,
                    double(s.bytes_out - last.server.bytes_out) * 8 / dt / 1e9);
      }
      std::printf("  drops %llu\n", (unsigned long long)sum.drops);
      std::fflush(stdout);
      last = sum;
      last_t = now;
      next_report = now + progress;
    }
    // Frames one core passed to another before the stop still arrive.
    if (n > 1) drain_between_cores(drain, n, clock, {&ep});
  };
  capture = start_capture(pcap, all, port, clock);
  run_on_cores(lcores, body, stop);
  std::printf("touchstone serve: stopped after %.1f s\n", double(clock.now_ns() - start) / 1e9);
  finish_capture(capture, all);
  if (st) {
    workload::StatelessStats s;
    for (auto& srv : stateless) s.merge(srv->stats());
    std::printf("%s", stateless_summary(s, st->app).c_str());
  } else if (sc) {
    workload::ServerStats s;
    for (auto& srv : servers) s.merge(srv->stats());
    std::printf("%s", server_summary(s, sc->app).c_str());
  }
  if (!a.common.quiet) print_counters("counters (" + lcore_list(lcores) + "):", all);
  return 0;
}

}  // namespace ts::app
