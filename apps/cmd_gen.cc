// touchstone gen: the traffic generator on one port, in any workload mode
// (workload/mode.hh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "apps/report.hh"
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


// The workloads of a run: one from the flags, or a traffic mix's from --config.
struct GenWorkload {
  std::string name;  // empty for a run of one
  unsigned cores = 0;
  WorkloadArgs args;
  std::string target;
  WorkloadPlan plan;
};

// A mix's cores: counts as given, shares ("70%") of the run's `n`, the rest
// divided equally among the workloads that name none; each at least one.
void share_cores(std::vector<GenWorkload>& ws, const std::vector<MixEntry>& mix, unsigned n) {
  if (ws.size() > n)
    usage_error("a traffic mix of " + std::to_string(ws.size()) + " workloads needs at least " +
                std::to_string(ws.size()) + " cores (--lcores " + std::to_string(ws.size()) +
                "): each runs on cores of its own");
  unsigned taken = 0, open = 0;
  for (size_t i = 0; i < ws.size(); ++i) {
    const std::string& c = mix[i].cores;
    if (c.empty()) {
      ++open;
      continue;
    }
    unsigned k = 0;
    if (c.back() == '%') {
      char* end = nullptr;
      const double pct = std::strtod(c.c_str(), &end);
      if (end != c.c_str() + c.size() - 1 || !(pct > 0 && pct <= 100))
        usage_error("workload '" + ws[i].name + "': cores '" + c + "' is not a share like 70%");
      k = std::max(1u, unsigned(double(n) * pct / 100 + 0.5));
    } else {
      const auto v = util::parse_count(c);
      if (!v || *v == 0) usage_error("workload '" + ws[i].name + "': cores '" + c +
                                     "' is not a count or a share like 70%");
      k = unsigned(*v);
    }
    ws[i].cores = k;
    taken += k;
  }
  if (taken + open > n || (open == 0 && taken != n))
    usage_error("the workloads' cores add up to " + std::to_string(taken) +
                (open ? " (and " + std::to_string(open) + " more, a core at least each)" : "") +
                ", but the run has " + std::to_string(n) + " (--lcores)");
  for (size_t i = 0, left = n - taken; i < ws.size(); ++i)
    if (!ws[i].cores) {
      ws[i].cores = unsigned(left / open + (left % open ? 1 : 0));
      left -= ws[i].cores;
      --open;
    }
}

// Totals over a mix's workloads (docs/json.md, "A traffic mix").
nlohmann::ordered_json mix_json(const std::vector<GenWorkload>& ws,
                                const std::vector<WorkloadResult>& rs,
                                const std::vector<std::string>& failures,
                                const std::vector<Endpoint*>& all) {
  nlohmann::ordered_json j = json_meta("gen");
  j["mode"] = "mix";
  j["duration_s"] = rs[0].elapsed_s;
  j["start_unix_s"] = rs[0].start_unix_s;
  j["interval_s"] = double(ws[0].plan.interval_ns()) / 1e9;
  bool ok = true;
  std::string failure;
  workload::GenStats total;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  // The workloads' intervals by start (they share their boundaries), with
  // each one's latency merged in full and made sparse once at the end.
  std::map<uint64_t, std::pair<IntervalRecord, util::Histogram>> ivs;
  for (size_t g = 0; g < ws.size(); ++g) {
    nlohmann::ordered_json w = result_json("gen", ws[g].plan, rs[g], {}, failures[g]);
    nlohmann::ordered_json entry = {{"name", ws[g].name}, {"cores", ws[g].cores}};
    for (const auto& [k, v] : w.items())
      if (!json_meta("gen").contains(k) && k != "counters" && k != "busy") entry[k] = v;
    list.push_back(entry);
    ok = ok && failures[g].empty();
    if (!failures[g].empty()) failure += (failure.empty() ? "" : "; ") + ws[g].name + ": " + failures[g];
    total.merge(rs[g].stats);
    for (const IntervalRecord& iv : rs[g].intervals) {
      auto& [t, h] = ivs[iv.start_ns];
      t.start_ns = iv.start_ns;
      t.end_ns = std::max(t.end_ns, iv.end_ns);
      t.add_counts(iv);
      h.merge(iv.latency.expand());
    }
  }
  j["ok"] = ok;
  j["failure"] = failure.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(failure);
  const double s = rs[0].elapsed_s;
  auto rate = [&](uint64_t c) {
    return s >= 0.1 ? nlohmann::ordered_json(double(c) / s) : nlohmann::ordered_json(nullptr);
  };
  j["total"] = {{"requests_sent", total.requests_sent},
                {"responses_ok", total.responses_ok},
                {"errors", total.errors + total.conns_failed + total.responses_bad},
                {"conns_established", total.conns_established},
                {"bytes", {{"tx_acked", total.bytes_acked}, {"rx", total.bytes_rx}}},
                {"rps", rate(total.responses_ok)},
                {"cps", rate(total.conns_established)}};
  j["workloads"] = list;
  const RoleCounters rc = role_counters("gen", all);
  nlohmann::ordered_json c = counters_json(rc.counters);
  rc.port.for_each([&](const char* name, uint64_t v, bool, const char*) {
    if (v) c[name] = v;
  });
  j["counters"] = {{"gen", c}};
  j["busy"] = {{"gen", {{"busy_s", rc.busy.busy_s}, {"span_s", rc.busy.span_s},
                        {"fraction", rc.busy.fraction()}}}};
  nlohmann::ordered_json iv = nlohmann::ordered_json::array();
  for (auto& [k, th] : ivs) {
    th.first.latency = util::SparseHistogram::of(th.second);
    iv.push_back(interval_json(th.first));
  }
  j["intervals"] = iv;
  return j;
}

// The flags workload `i` is planned with: the run's, but as given, its own
// workload flags instead of the command line's (a mix's tables differ).
CommonArgs common_of(const GenArgs& a, size_t i) {
  if (a.mix.empty()) return a.common;
  CommonArgs c = a.common;
  const MixEntry& e = a.mix[i];
  std::erase_if(c.given.names, [&](const std::string& f) { return e.workload_flags.count(f) != 0; });
  c.given.names.insert(e.given.names.begin(), e.given.names.end());
  return c;
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
  // The workloads: the flags' one, or the mix's. Each is checked before
  // starting DPDK (ping's payload against the port's MTU again below).
  std::vector<GenWorkload> ws;
  if (a.mix.empty()) {
    ws.push_back({"", 0, a.work, a.target, {}});
  } else {
    for (const MixEntry& e : a.mix) {
      WorkloadArgs w = e.work;
      // The run's own files and warm-up.
      w.json = a.work.json;
      w.hdr_log = a.work.hdr_log;
      w.warmup = a.work.warmup;
      for (const GenWorkload& o : ws)
        if (o.name == e.name) usage_error("two workloads are named '" + e.name + "'");
      ws.push_back({e.name, 0, w, e.target.empty() ? a.target : e.target, {}});
    }
  }
  bool any_tcp = false, any_datagram = false;
  for (size_t wi = 0; wi < ws.size(); ++wi) try {
    GenWorkload& w = ws[wi];
    WorkloadPlan& plan = w.plan;
    plan = plan_workload(w.args, common_of(a, wi), 1500);
    plan.fast_open = a.fastopen.tfo;
    plan.cc = tcp::cc_name(cfg.tcp.tcp.cc);
    plan.sack = cfg.tcp.tcp.sack;
    plan.pacing = cfg.tcp.tcp.pacing;
    plan.sndbuf = cfg.tcp.tcp.sndbuf;
    plan.rcvbuf = cfg.tcp.tcp.rcvbuf;
    const bool tcp = plan.mode().tcp;
    (tcp ? any_tcp : any_datagram) = true;
    if (plan.gen.mode == workload::GenMode::http)
      refuse_given(common_of(a, wi).given, {"--resp-size"},
                   "gen --mode http (the server sizes its responses)");
    // The run's length is one for every workload of a mix.
    if (plan.duration_ns != ws[0].plan.duration_ns)
      usage_error("it runs for " + (plan.duration_ns ? human_ns(plan.duration_ns) : "ever") +
                  " (--steps or --duration), the first workload for " +
                  (ws[0].plan.duration_ns ? human_ns(ws[0].plan.duration_ns) : "ever") +
                  ": a mix's workloads run together, for one --duration");
    uint16_t tport = 0;
    const wire::Ipv4Addr target = parse_target(w.target, tport, tcp);
    if (cfg.is_local(target)) usage_error("--target is our own address");
    if (!cfg.addr.names_host(target))
      usage_error("--target " + w.target + " is not a unicast host address");
    if (!cfg.addr.contains(target) && !cfg.gateway)
      usage_error("--target " + w.target + " is outside " + cfg.addr.str() +
                  " and no --gw was given: nothing would route to it");
    plan.aim(target, tport);
    // synflood's source ports: --source-ports, the lower half of it when
    // legitimate connections take the upper half (so that no SYN-ACK to the
    // flood ever meets one of them).
    plan.gen.port_first = cfg.tcp.ephemeral_first;
    plan.gen.port_last = cfg.tcp.ephemeral_last;
    if (plan.gen.legit_conns) {
      if (!a.mix.empty())
        usage_error("workload '" + w.name + "': --legit-conns takes the upper half of the source "
                    "ports, which a mix shares: run it alone");
      if (cfg.tcp.ephemeral_first == cfg.tcp.ephemeral_last)
        usage_error("--legit-conns needs at least two --source-ports (the flood takes the lower "
                    "half, the connections the upper)");
      const uint16_t mid = uint16_t(cfg.tcp.ephemeral_first +
                                    (cfg.tcp.ephemeral_last - cfg.tcp.ephemeral_first) / 2);
      plan.gen.port_last = mid;
      cfg.tcp.ephemeral_first = uint16_t(mid + 1);
    }
    if (tcp && plan.gen.conns > cfg.tcp.max_connections)
      usage_error("--conns " + std::to_string(plan.gen.conns) + " exceeds --max-conns " +
                  std::to_string(cfg.tcp.max_connections));
    if (plan.gen.legit_conns > cfg.tcp.max_connections)
      usage_error("--legit-conns " + std::to_string(plan.gen.legit_conns) +
                  " exceeds --max-conns " + std::to_string(cfg.tcp.max_connections));
  } catch (const UsageError& e) {
    if (a.mix.empty()) throw;
    // Name the table the error comes from.
    throw UsageError(a.config + ":" + std::to_string(a.mix[wi].line) + ": workload '" +
                     ws[wi].name + "': " + e.what());
  }
  stack::ImpairSpec rx, tx;
  parse_impair_args(a.common.impair, rx, tx);
  const glue::PortSpec port_spec = parse_port(a.common.port);
  const double now_unix = std::chrono::duration<double>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  const double start_at = a.start_at.empty() ? 0 : parse_start_at(a.start_at, now_unix);
  const EalChoice eal = plan_eal_choice(a.common, unsigned(ws.size()));
  if (a.mix.empty()) {
    if (!any_tcp && eal.cores() > 1) usage_error("--mode ping runs on one core; give --lcores 1");
    ws[0].cores = unsigned(eal.cores());
  } else {
    share_cores(ws, a.mix, unsigned(eal.cores()));
  }
  for (GenWorkload& w : ws) {
    if (!w.plan.mode().tcp && w.cores > 1)
      usage_error((w.name.empty() ? std::string() : "workload '" + w.name + "': ") +
                  "--mode ping runs on one core");
    check_core_share(w.plan, w.cores);
  }
  (void)any_datagram;

  install_signal_handlers();
  // (An impaired link loses wire segments, never a frame's worth at once.)
  Runtime rt({port_spec}, eal, nullptr, 0, any_tcp && cfg.tcp.tso && !rx.active() && !tx.active());
  const std::vector<unsigned>& lcores = rt.lcores();
  const size_t n = lcores.size();
  glue::EthPort& port = *rt.ports()[0];
  for (GenWorkload& w : ws)
    if (!w.plan.mode().tcp) {
      const auto target = w.plan.gen.target;
      const auto tport = w.plan.gen.port;
      WorkloadPlan p = plan_workload(w.args, common_of(a, size_t(&w - ws.data())), port.info().mtu);
      p.fast_open = w.plan.fast_open;
      p.cc = w.plan.cc;
      p.sack = w.plan.sack;
      p.pacing = w.plan.pacing;
      p.sndbuf = w.plan.sndbuf;
      p.rcvbuf = w.plan.rcvbuf;
      w.plan = std::move(p);
      w.plan.aim(target, tport);
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
  if (a.mix.empty()) {
    std::printf("touchstone gen: %s -> %s, mode %s, on %s, %s\n", cfg.addr.str().c_str(),
                ws[0].target.c_str(), ws[0].plan.mode().name, port.describe().c_str(),
                describe_cores(port, lcores).c_str());
  } else {
    std::printf("touchstone gen: %s, a mix of %zu workloads, on %s, %s\n", cfg.addr.str().c_str(),
                ws.size(), port.describe().c_str(), describe_cores(port, lcores).c_str());
    for (const GenWorkload& w : ws)
      std::printf("  %s: mode %s -> %s on %u core%s, %s\n", w.name.c_str(), w.plan.mode().name,
                  w.target.c_str(), w.cores, w.cores == 1 ? "" : "s", pacing_text(w.plan).c_str());
  }
  std::fflush(stdout);
  const WorkloadPlan& run_plan = ws[0].plan;  // the run's settings: the same in every plan
  std::vector<CoreProbe*> probes;
  for (size_t i = 0; i < n; ++i)
    probes.push_back(eps[i]->enable_probe("gen", lcores[i], rt.clock().now_ns()));
  const ProbeRegistration stats(probes, "gen", sharing.view(rt.clock()), run_plan.metrics);
  const std::string title = "counters (" + lcore_list(lcores) + "):";

  std::vector<std::unique_ptr<workload::Workload>> works;
  std::vector<WorkloadCore> cores;
  std::vector<WorkloadGroup> groups;
  for (size_t g = 0, i = 0; g < ws.size(); ++g) {
    groups.push_back({ws[g].name, &ws[g].plan});
    for (unsigned k = 0; k < ws[g].cores; ++k, ++i) {
      works.push_back(workload::make_workload(eps[i]->stack(),
                                              core_share(ws[g].plan.gen, k, ws[g].cores)));
      cores.push_back({works.back().get(), {eps[i].get()}, g});
    }
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
  capture = start_capture(run_plan.pcap, all, port, rt.clock());
  const std::vector<WorkloadResult> rs = run_workloads(cores, lcores, groups, rt.clock());
  std::vector<std::string> failures;
  const stack::Counters counters = sum_counters(all);
  int status = 0;
  for (size_t g = 0; g < ws.size(); ++g) {
    print_summary(ws[g].name.empty() ? "touchstone gen" : ("touchstone gen: " + ws[g].name).c_str(),
                  ws[g].plan, rs[g]);
    failures.push_back(failure_cause(ws[g].plan, rs[g], counters));
    status = std::max(status, exit_status(ws[g].plan, rs[g]));
  }
  finish_capture(capture, all);
  if (!run_plan.quiet) print_counters(title, all);
  if (a.mix.empty()) {
    write_json("gen", run_plan, rs[0], {role_counters("gen", all)}, failures[0]);
  } else {
    if (!run_plan.json_path.empty())
      write_json_file(run_plan.json_path, mix_json(ws, rs, failures, all));
    if (!run_plan.hdr_log_path.empty()) {
      std::vector<TaggedIntervals> tagged;
      for (size_t g = 0; g < ws.size(); ++g) tagged.push_back({ws[g].name, &rs[g].intervals});
      write_hdr_log_tagged(run_plan.hdr_log_path,
                           "touchstone gen, a traffic mix (one tag per workload): latency in "
                           "nanoseconds, " + version_line(),
                           rs[0].start_unix_s, tagged);
    }
  }
  for (size_t g = 0; g < ws.size(); ++g)
    if (!failures[g].empty())
      std::fprintf(stderr, "touchstone: run failed: %s%s\n",
                   ws[g].name.empty() ? "" : (ws[g].name + ": ").c_str(), failures[g].c_str());
  return status;
}

}  // namespace ts::app
