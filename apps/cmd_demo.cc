// touchstone demo: serve and gen in one process, joined by the in-memory ring
// port; one core each when two are available. No NIC, no hugepages, no root.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

#include "apps/commands.hh"
#include "apps/cores.hh"
#include "apps/introspect.hh"
#include "apps/report.hh"
#include "drivers-glue/port.hh"
#include "util/parse.hh"
#include "wire/ethernet.hh"
#include "wire/ipv4.hh"
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

// demo --no-stack: the in-memory link's own packet rate, the limit demo rr's
// packets/s is measured against (docs/performance.md, "The limit"). The same
// ring port pair, the same glue (PortDevice) and the same cores as demo rr;
// in place of the stacks, each side turns every frame it receives straight
// round: the Ethernet addresses swapped, as dpdk-testpmd's macswap does.
int run_no_stack(const CommonArgs& common, const WorkloadPlan& plan,
                 uint16_t mtu) {
  const auto& g = plan.gen;
  // A frame the size of an rr request: Ethernet, IPv4, TCP with timestamps.
  const uint32_t frame = 14 + 20 + 32 + g.req_size;
  if (frame > uint32_t(mtu) + 14)
    usage_error("--no-stack: a " + std::to_string(g.req_size) + "-byte request does not fit "
                "the link's MTU of " + std::to_string(mtu) + " in one frame");
  const EalChoice eal = plan_eal_choice(common, allowed_cpus().size() >= 2 ? 2 : 1);
  const size_t n = eal.cores();
  if (n > 2)
    usage_error("--no-stack runs one side a core: give --lcores 1 or 2 (it gave " +
                std::to_string(n) + ")");
  install_signal_handlers();
  glue::PortSpec ring;
  glue::parse_port_spec("ring", ring);
  Runtime rt({ring}, eal, [](size_t) -> uint16_t { return 1; }, mtu);
  const std::vector<unsigned>& lcores = rt.lcores();
  glue::PortDevice serve_dev(*rt.ports()[0], 0), gen_dev(*rt.ports()[1], 0);
  const wire::MacAddr gen_mac = gen_dev.info().mac, serve_mac = serve_dev.info().mac;
  // Seed: --conns frames from gen's side, as rr keeps --conns requests in flight.
  for (uint32_t i = 0; i < g.conns; ++i) {
    stack::Packet p;
    if (!gen_dev.alloc(p) || p.room < frame)
      throw std::runtime_error("--no-stack: no buffer for frame " + std::to_string(i + 1) +
                               " of " + std::to_string(g.conns));
    // Headers as rr's request has them; the TCP header and payload stay zero
    // (nothing parses the frames: only their size and addresses matter).
    std::memset(p.data, 0, frame);
    wire::EthernetRepr eth;
    eth.dst = serve_mac;
    eth.src = gen_mac;
    eth.ethertype = wire::ethertype::ipv4;
    eth.emit({p.data, frame});
    wire::Ipv4Repr ip;
    ip.protocol = 6;  // TCP
    ip.payload_len = uint16_t(frame - 14 - 20);
    ip.emit({p.data + 14, frame - 14});
    p.len = frame;
    p.flags = 0;
    gen_dev.send(p);
  }
  gen_dev.flush(rt.clock().now_ns());
  const std::string cores = n == 1 ? "both sides on " + lcore_list(lcores)
                                   : "gen's side on " + std::to_string(lcores[0]) +
                                         ", serve's on " + std::to_string(lcores[1]);
  std::printf("touchstone demo --no-stack: %u frames of %u bytes in flight over the in-memory ring "
              "port, turned round with no stack by %s, for %s\n",
              unsigned(g.conns), frame, cores.c_str(), human_ns(plan.duration_ns).c_str());
  std::fflush(stdout);

  struct alignas(64) Count {
    std::atomic<uint64_t> frames{0};
  };
  Count counts[2];
  glue::PortDevice* devs[2] = {&gen_dev, &serve_dev};
  std::atomic<bool> stop{false};
  // One pass over a side: what it received goes straight back.
  auto turn_round = [&](size_t side, uint64_t now) {
    stack::PacketBurst<32> burst;
    stack::Packet* pk = burst.get();
    glue::PortDevice& d = *devs[side];
    const uint16_t got = d.rx_burst(pk, 32, now);
    for (uint16_t k = 0; k < got; ++k) {
      uint8_t t[6];
      std::memcpy(t, pk[k].data, 6);
      std::memcpy(pk[k].data, pk[k].data + 6, 6);
      std::memcpy(pk[k].data + 6, t, 6);
      pk[k].flags = 0;
      d.send(pk[k]);
    }
    d.flush(now);
    counts[side].frames.store(counts[side].frames.load(std::memory_order_relaxed) + got,
                              std::memory_order_relaxed);
  };
  std::optional<Workers> serve_loop;
  if (n == 2)
    serve_loop.emplace(
        lcores, 1,
        [&](size_t) {
          while (!stop.load(std::memory_order_relaxed)) turn_round(1, rt.clock().now_ns());
        },
        stop);
  const uint64_t t0 = rt.clock().now_ns(), end = t0 + plan.duration_ns;
  const uint64_t every = plan.quiet ? 0 : plan.progress_ns;
  uint64_t next_line = t0 + every, last_frames = 0, last_t = t0;
  auto total = [&] {
    return counts[0].frames.load(std::memory_order_relaxed) +
           counts[1].frames.load(std::memory_order_relaxed);
  };
  uint64_t now = t0;
  for (uint32_t spin = 0; !g_stop.load(std::memory_order_relaxed); ++spin) {
    turn_round(0, now);
    if (n == 1) turn_round(1, now);
    if (spin % 256) continue;
    now = rt.clock().now_ns();
    if (now >= end) break;
    if (every && now >= next_line) {
      const uint64_t f = total();
      std::printf("  %6.1fs  %.3f Mpps\n", double(now - t0) / 1e9,
                  double(f - last_frames) * 1e3 / double(now - last_t));
      std::fflush(stdout);
      last_frames = f;
      last_t = now;
      next_line += every;
    }
  }
  stop.store(true);
  serve_loop.reset();
  const double secs = double(rt.clock().now_ns() - t0) / 1e9;
  const uint64_t frames = total();
  const double pps = double(frames) / secs;
  std::printf("touchstone demo --no-stack: %llu frames in %.2f s: %.3f Mpps over the link (both "
              "directions; gen's side %llu, serve's %llu)\n",
              (unsigned long long)frames, secs, pps / 1e6,
              (unsigned long long)counts[0].frames.load(), (unsigned long long)counts[1].frames.load());
  const uint64_t dropped = gen_dev.stats().tx_ring_full + serve_dev.stats().tx_ring_full +
                           gen_dev.stats().alloc_failed + serve_dev.stats().alloc_failed;
  if (dropped)
    std::printf("  %llu frames lost to a full ring or an empty pool\n", (unsigned long long)dropped);
  if (!plan.json_path.empty()) {
    nlohmann::ordered_json j = json_meta("demo");
    j["mode"] = "no-stack";
    j["lcores"] = n;
    j["frames_in_flight"] = g.conns;
    j["frame_bytes"] = frame;
    j["duration_s"] = secs;
    j["frames"] = frames;
    j["packets_per_sec"] = pps;
    j["frames_by_side"] = {{"gen", counts[0].frames.load()}, {"serve", counts[1].frames.load()}};
    j["frames_lost"] = dropped;
    write_json_file(plan.json_path, j);
  }
  // Frames are conserved: every one seeded is either in a ring or in a burst
  // being turned round, so the rate cannot fall to nothing unless frames are lost.
  if (frames == 0) {
    std::fprintf(stderr, "touchstone: run failed: no frame came back\n");
    return 1;
  }
  return 0;
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
  for (auto* c : {&server_cfg, &client_cfg}) {
    apply_cc_args(a.pools.cc, a.pools.no_sack, a.pools.pacing, c->tcp.tcp);
    c->tcp.coalesce = !a.pools.no_gro;
    // An impaired link loses, duplicates and reorders wire segments: with
    // --impair no frame carries several (either direction may be impaired).
    c->tcp.tso = !a.pools.no_tso && !rx.active() && !tx.active();
  }
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
  if (a.no_stack) {
    // Only what the link's own rate depends on; anything else would be ignored.
    static const std::set<std::string_view> kApplies = {
        "--no-stack", "--duration", "--conns", "--req-size", "--mtu", "--lcores", "--eal",
        "--no-huge", "--json", "--quiet", "--progress", "--mode", "--tx-batch"};
    for (const std::string& f : common.given.names)
      if (!kApplies.count(f)) not_applicable(f, "--no-stack (no stack runs: the link's rate alone is measured)");
    if (a.work.mode != "rr")
      not_applicable("--mode " + a.work.mode, "--no-stack (its frames are rr requests' size)");
  }
  WorkloadPlan plan = plan_workload(a.work, common, uint16_t(*mtu));
  if (a.no_stack) return run_no_stack(common, plan, uint16_t(*mtu));
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
    // Bulk: windows as large as Linux's autotuning gives one connection over
    // loopback (up to 4 MB), so that the window is not what is measured. In
    // all at most 64 MB a direction and 2,048 frames, half what the ring link
    // and its pool hold (64 KB frames with TSO, MTU-sized ones without), never
    // under 256 KB a connection (docs/performance.md, "Windows").
    if (a.work.mode == "bulk") {
      const uint64_t frame = server_cfg.tcp.tso && *mtu <= glue::PortConfig::kMaxRingTsoMtu
                                 ? glue::PortConfig::kMaxTso
                                 : *mtu - 52;
      const uint64_t total = std::min<uint64_t>(64u << 20, 2048 * frame);
      const uint32_t per = uint32_t(std::clamp<uint64_t>(total / std::max<uint32_t>(conns, 1),
                                                         256u << 10, 4u << 20));
      for (auto* c : {&server_cfg, &client_cfg}) c->tcp.tcp.sndbuf = c->tcp.tcp.rcvbuf = per;
    }
    for (auto* c : {&server_cfg, &client_cfg}) apply_buffer_args(a.pools, c->tcp.tcp);
    plan.sndbuf = client_cfg.tcp.tcp.sndbuf;
    plan.rcvbuf = client_cfg.tcp.tcp.rcvbuf;
    for (auto* c : {&server_cfg, &client_cfg})
      c->tcp.max_connections = std::max<uint32_t>({c->tcp.max_connections, 65536, conns});
    // The server's slots and memory as given (to see its defences at work).
    if (common.given.has("--max-conns") || common.given.has("--buffer-memory")) {
      PoolArgs p = a.pools;
      if (!common.given.has("--max-conns"))
        p.max_conns = std::to_string(server_cfg.tcp.max_connections);
      apply_pool_limits(p, server_cfg.tcp);
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
  Runtime rt({ring}, eal, queues_for, uint16_t(*mtu), server_cfg.tcp.tso);
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
