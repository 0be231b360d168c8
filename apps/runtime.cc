#include "apps/runtime.hh"

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "apps/report.hh"

#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <iostream>
#include <stdexcept>

#include "drivers-glue/eal.hh"
#include "tcp/cc/registry.hh"
#include "util/parse.hh"

namespace ts::app {

std::atomic<bool> g_stop{false};

namespace {
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void usage_error(const std::string& msg) { throw UsageError(msg); }

void not_applicable(std::string_view flag, const std::string& context) {
  usage_error(std::string(flag) + " does not apply to " + context);
}

void refuse_given(const Given& g, std::initializer_list<const char*> flags,
                  const std::string& context) {
  for (const char* f : flags)
    if (g.has(f)) not_applicable(f, context);
}

stack::StackConfig parse_interface(const InterfaceArgs& a) {
  stack::StackConfig c;
  auto cidr = wire::Ipv4Cidr::parse(a.ip);
  if (!cidr) usage_error("--ip '" + a.ip + "' is not an address with a prefix length, like 10.0.0.2/24");
  if (!cidr->addr.is_unicast()) usage_error("--ip " + a.ip + " is not a unicast host address");
  if (cidr->is_network_or_broadcast(cidr->addr))
    usage_error("--ip " + a.ip + " is the network's own or broadcast address, not a host's");
  c.addr = *cidr;
  if (!a.gw.empty()) {
    auto gw = wire::Ipv4Addr::parse(a.gw);
    if (!gw) usage_error("--gw '" + a.gw + "' is not an IPv4 address");
    if (!cidr->contains(*gw)) usage_error("--gw " + a.gw + " is not inside " + a.ip);
    if (*gw == cidr->addr) usage_error("--gw " + a.gw + " is our own address");
    c.gateway = *gw;
  }
  if (a.vlan > 4094) usage_error("--vlan " + std::to_string(a.vlan) + " is not a VLAN ID (1-4094)");
  c.vlan = a.vlan;
  // RFC 6528: ISNs must not be guessable, so the secret behind them (and the
  // flow table's hash) comes from the kernel's random source at every start.
  std::random_device rd;
  for (size_t i = 0; i < c.secret.size(); i += 4) {
    const uint32_t r = rd();
    std::memcpy(c.secret.data() + i, &r, 4);
  }
  return c;
}

void apply_pool_args(const PoolArgs& a, stack::TcpLayerConfig& t) {
  apply_pool_limits(a, t);
  apply_cc_args(a.cc, a.no_sack, a.pacing, t.tcp);
  t.coalesce = !a.no_gro;
  t.tso = !a.no_tso;
  apply_buffer_args(a, t.tcp);
}

void apply_pool_limits(const PoolArgs& a, stack::TcpLayerConfig& t) {
  const auto n = util::parse_count(a.max_conns);
  if (!n || *n < 1 || *n > (1u << 24))
    usage_error("--max-conns '" + a.max_conns + "' is not a number between 1 and 16M");
  const auto bytes = util::parse_bytes(a.buffer_memory);
  if (!bytes)
    usage_error("--buffer-memory '" + a.buffer_memory +
                "' is not a size like 512M, 4G or 0 (no limit)");
  t.max_connections = uint32_t(*n);
  t.buffer_memory = size_t(*bytes);
}

void apply_buffer_args(const PoolArgs& a, tcp::TcpConfig& t) {
  auto one = [](const std::string& text, const char* flag, uint32_t& out) {
    if (text.empty()) return;
    const auto b = util::parse_bytes(text);
    if (!b || *b < 4096 || *b > (256u << 20))
      usage_error(std::string(flag) + " '" + text + "' is not a size from 4K to 256M");
    out = uint32_t(*b);
  };
  one(a.sndbuf, "--sndbuf", t.sndbuf);
  one(a.rcvbuf, "--rcvbuf", t.rcvbuf);
}

int print_cc_list() {
  std::printf("congestion control (--cc NAME; with SACK negotiated, all but tahoe recover by "
              "RFC 6675):\n");
  for (const tcp::CcInfo& i : tcp::cc_algorithms())
    std::printf("  %-8s %s; without SACK: %s recovery\n", i.name, i.summary,
                tcp::recovery_style_name(i.classic));
  return 0;
}

void apply_cc_args(const std::string& cc, bool no_sack, bool pacing, tcp::TcpConfig& t) {
  const tcp::CcInfo* info = tcp::find_cc(cc);
  if (!info) usage_error("--cc '" + cc + "' is not one of " + tcp::cc_names() + " (--cc list)");
  t.cc = info->algo;
  if (no_sack) t.sack = false;
  if (pacing) t.pacing = true;
}

void apply_defence_args(const DefenceArgs& a, stack::TcpLayerConfig& t) {
  using M = stack::SynCookieMode;
  bool found = false;
  for (M m : {M::never, M::automatic, M::always})
    if (a.syncookies == stack::syncookie_mode_name(m)) {
      t.syncookies = m;
      found = true;
    }
  if (!found) usage_error("--syncookies '" + a.syncookies + "' is not auto, always or never");
  t.persist_reclaim_ns = parse_duration_required(a.persist_reclaim, "--persist-reclaim-after");
  t.stall_reclaim_ns = parse_duration_required(a.stall_reclaim, "--stall-reclaim-after");
}

void apply_fastopen_args(const FastOpenArgs& a, const Given& given, bool separate_fin,
                         stack::TcpLayerConfig& t) {
  if (!a.tfo) refuse_given(given, {"--tfo-pending", "--tfo-replay-guard"}, "connections without --tfo");
  const auto n = util::parse_count(a.pending);
  if (!n || *n < 1 || *n > (1u << 20))
    usage_error("--tfo-pending '" + a.pending + "' is not a number from 1 to 1M");
  t.tcp.fast_open = a.tfo;
  t.fastopen_max_pending = uint32_t(*n);
  t.fastopen_replay_guard = a.replay_guard;
  t.tcp.piggyback_fin = !separate_fin;
}

hostcache::Policy parse_hostcache(const std::string& text) {
  for (auto p : {hostcache::Policy::off, hostcache::Policy::temporal, hostcache::Policy::ensemble})
    if (text == hostcache::policy_name(p)) return p;
  usage_error("--hostcache '" + text + "' is not off, temporal or ensemble");
}

std::optional<uint64_t> parse_duration_arg(const std::string& text, const char* flag) {
  if (text.empty()) return std::nullopt;
  const uint64_t d = parse_duration_required(text, flag);
  if (d == 0)
    usage_error(std::string(flag) + " must be positive (leave " + flag +
                " out to run until stopped)");
  return d;
}

uint64_t parse_duration_required(const std::string& text, const char* flag) {
  auto d = util::parse_duration_ns(text);
  if (!d)
    usage_error(std::string(flag) + " '" + text +
                "' is not a duration like 10s, 500ms, 2m, 1h or 3 (seconds)");
  return *d;
}

uint64_t parse_progress(const CommonArgs& c) {
  if (c.quiet && c.given.has("--progress")) not_applicable("--progress", "--quiet (no progress lines)");
  const uint64_t p = parse_duration_required(c.progress, "--progress");
  return c.quiet ? 0 : p;
}

double parse_start_at(const std::string& text, double now_unix) {
  auto bad = [&](const std::string& why) -> double {
    usage_error("--start-at '" + text + "' " + why);
  };
  double at = 0;
  if (text.empty()) return bad("is empty");
  if (text[0] == '+') {
    const auto d = parse_duration_arg(text.substr(1), "--start-at");
    if (!d) return bad("is not +DURATION");
    at = now_unix + double(*d) / 1e9;
  } else if (text[0] == '@') {
    char* end = nullptr;
    at = std::strtod(text.c_str() + 1, &end);
    if (end == text.c_str() + 1 || *end) return bad("is not @UNIX_SECONDS");
  } else {
    std::tm tm{};
    const char* p = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return bad("is not a time like 2026-12-05T10:00:00Z");
    double frac = 0;
    if (*p == '.') {
      char* end = nullptr;
      frac = std::strtod(p, &end);
      p = end;
    }
    long offset_s = 0;
    if (*p == 'Z') {
      ++p;
    } else if ((*p == '+' || *p == '-') && std::strlen(p) == 6 && p[3] == ':') {
      const long h = std::strtol(std::string(p + 1, 2).c_str(), nullptr, 10);
      const long m = std::strtol(std::string(p + 4, 2).c_str(), nullptr, 10);
      offset_s = (*p == '+' ? 1 : -1) * (h * 3600 + m * 60);
      p += 6;
    } else {
      return bad("has no time zone: end it with Z (UTC) or +HH:MM");
    }
    if (*p) return bad("has extra text after the time");
    at = double(timegm(&tm)) + frac - double(offset_s);
  }
  if (at < now_unix - 1)
    bad("is " + std::to_string(int64_t(now_unix - at)) +
        " s in the past (is this machine's clock in sync? docs/distributed.md)");
  if (at > now_unix + 86400) bad("is more than a day ahead");
  return at;
}

bool wait_until(double at_unix, const std::vector<Endpoint*>& eps, const glue::TscClock& clock) {
  using namespace std::chrono;
  for (;;) {
    const double now = duration<double>(system_clock::now().time_since_epoch()).count();
    if (now >= at_unix) return true;
    if (g_stop.load()) return false;
    // Keep answering the network (ARP) while waiting, a millisecond at a time.
    const uint64_t until = clock.now_ns() + 1'000'000;
    while (clock.now_ns() < until)
      for (Endpoint* e : eps) e->poll(clock.now_ns());
  }
}

std::optional<glue::CaptureConfig> parse_pcap(const CommonArgs& c) {
  if (c.pcap.empty()) {
    for (const char* f : {"--pcap-snaplen", "--pcap-count"})
      if (c.given.has(f)) not_applicable(f, "a run without --pcap");
    return std::nullopt;
  }
  if (c.pcap == "-") usage_error("--pcap needs a file (the terminal is no place for frames)");
  check_json_path(c.pcap, "--pcap");
  glue::CaptureConfig cfg;
  cfg.path = c.pcap;
  if (!c.pcap_snaplen.empty()) {
    const auto n = util::parse_count(c.pcap_snaplen);
    if (!n || *n < 64 || *n > 262144)
      usage_error("--pcap-snaplen '" + c.pcap_snaplen + "' is not a number from 64 to 262144");
    cfg.snaplen = uint32_t(*n);
  }
  if (!c.pcap_count.empty()) {
    const auto n = util::parse_count(c.pcap_count);
    if (!n || *n == 0) usage_error("--pcap-count '" + c.pcap_count + "' is not a positive number");
    cfg.count = *n;
  }
  return cfg;
}

std::unique_ptr<glue::Capture> start_capture(const std::optional<glue::CaptureConfig>& cfg,
                                             const std::vector<Endpoint*>& eps,
                                             const glue::EthPort& port,
                                             const glue::TscClock& clock) {
  if (!cfg) return nullptr;
  const uint64_t wall = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  auto cap = std::make_unique<glue::Capture>(*cfg, eps.size(), uint32_t(port.info().mtu) + 18,
                                             clock.now_ns(), wall);
  for (size_t i = 0; i < eps.size(); ++i) eps[i]->set_capture(cap->queue(i));
  return cap;
}

void finish_capture(std::unique_ptr<glue::Capture>& cap, const std::vector<Endpoint*>& eps) {
  if (!cap) return;
  for (Endpoint* e : eps) e->set_capture(nullptr);
  cap->close();  // drains the rings, closes the file
  glue::PortDeviceStats d;
  for (Endpoint* e : eps) d.merge(e->port_device().stats());
  if (cap->failed())
    std::fprintf(stderr, "touchstone: --pcap %s: writing failed (is the disk full?): the capture "
                 "is incomplete\n", cap->path().c_str());
  std::printf("capture: %llu frames written to %s", (unsigned long long)cap->written(),
              cap->path().c_str());
  cap.reset();
  if (d.pcap_dropped)
    std::printf(", %llu left out (the writer fell behind: pcap_dropped)",
                (unsigned long long)d.pcap_dropped);
  std::printf("\n");
}

MetricsFileSpec parse_metrics_file(const CommonArgs& c) {
  MetricsFileSpec m;
  if (c.metrics_file.empty()) return m;
  if (c.metrics_file == "-")
    usage_error("--metrics-file needs a file (node_exporter's textfile directory, say)");
  check_json_path(c.metrics_file, "--metrics-file");
  m.path = c.metrics_file;
  const uint64_t p = parse_progress(c);
  m.interval_ns = p ? p : 1'000'000'000;
  return m;
}

void parse_impair_args(const std::vector<std::string>& specs, stack::ImpairSpec& rx,
                       stack::ImpairSpec& tx) {
  for (const auto& s : specs)
    if (std::string err = stack::parse_impair(s, rx, tx); !err.empty()) usage_error(err);
}

glue::PortSpec parse_port(const std::string& spec) {
  glue::PortSpec p;
  if (std::string err = glue::parse_port_spec(spec, p); !err.empty()) usage_error(err);
  if (std::string err = glue::check_port_available(p); !err.empty()) usage_error(err);
  if (p.kind == glue::PortSpec::Kind::ring)
    usage_error("--port ring is an in-process pair with nothing on the far side; "
                "use 'touchstone demo' to run serve and gen over it");
  return p;
}

std::vector<unsigned> allowed_cpus() {
  cpu_set_t set;
  std::vector<unsigned> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (unsigned c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

EalChoice plan_eal_choice(const CommonArgs& c, unsigned default_count) {
  EalChoice e;
  const std::vector<unsigned> allowed = allowed_cpus();
  const std::string text = c.lcores.empty()
                               ? std::to_string(std::min<size_t>(default_count, allowed.size()))
                               : c.lcores;
  if (std::string err = glue::parse_lcores(text, allowed, e.cpus); !err.empty()) usage_error(err);
  bool no_huge = false;
  if (std::string err = glue::check_eal_args(c.eal, e.raw, no_huge); !err.empty())
    usage_error(err);
  e.no_huge = c.no_huge || no_huge;
  if (!c.tx_batch.empty()) {
    const auto n = util::parse_uint(c.tx_batch);
    if (!n || *n < 1 || *n > glue::PortConfig::kMaxTxBatch)
      usage_error("--tx-batch '" + c.tx_batch + "' is not a number from 1 to " +
                  std::to_string(glue::PortConfig::kMaxTxBatch));
    e.tx_batch = uint16_t(*n);
  }
  // Without hugepages EAL runs on `-m 1024` of ordinary memory, which its
  // per-socket hugepage options contradict.
  if (e.no_huge || !glue::hugepages_available())
    for (const std::string& w : e.raw)
      for (const char* opt : {"-m", "--socket-mem", "--socket-limit"})
        if (w.rfind(opt, 0) == 0 && (w.size() == std::strlen(opt) || w[std::strlen(opt)] == '=' ||
                                     (opt[1] != '-' && w.size() > 2)))
          usage_error(std::string("--eal: ") + opt +
                      " sizes hugepage memory; this run has none (" +
                      (e.no_huge ? "--no-huge" : "no free hugepages on this machine") +
                      "), and runs on 1 GB of ordinary memory");
  return e;
}

Runtime::Runtime(const std::vector<glue::PortSpec>& ports, const EalChoice& eal,
                 const std::function<uint16_t(size_t)>& queues_for, uint16_t ring_mtu,
                 bool tso) {
  try {
    open(ports, eal, ring_mtu, tso, queues_for);
  } catch (const glue::EalArgumentError& e) {
    ports_.clear();
    glue::eal_cleanup();
    throw UsageError(e.what());
  } catch (...) {
    ports_.clear();
    glue::eal_cleanup();
    throw;
  }
}

void Runtime::open(const std::vector<glue::PortSpec>& ports, const EalChoice& eal,
                   uint16_t ring_mtu, bool tso,
                   const std::function<uint16_t(size_t)>& queues_for) {
  glue::EalOptions opt;
  for (unsigned c : eal.cpus) opt.lcores += (opt.lcores.empty() ? "" : ",") + std::to_string(c);
  opt.raw = eal.raw;
  opt.hugepages = !eal.no_huge && glue::hugepages_available();
  opt.file_prefix = glue::file_prefix_for(getpid());
  const glue::EalPlan plan = glue::plan_eal(ports, opt);
  glue::eal_init(plan.args);
  lcores_ = glue::eal_lcores();
  if (lcores_.size() != eal.cpus.size())
    throw std::runtime_error("EAL made " + std::to_string(lcores_.size()) + " lcores of the " +
                             std::to_string(eal.cpus.size()) + " CPUs --lcores named");
  clock_ = std::make_unique<glue::TscClock>();
  glue::PortConfig pc;
  pc.queues = queues_for ? queues_for(lcores_.size()) : uint16_t(lcores_.size());
  pc.ring_mtu = ring_mtu;
  pc.tso = tso;
  pc.tx_batch = eal.tx_batch;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].kind == glue::PortSpec::Kind::ring) {
      auto [a, b] = glue::create_ring_pair("ts_ring" + std::to_string(i), pc.queues);
      glue::PortConfig rc = pc;
      rc.queue_stride = glue::ring_queue_stride(pc.queues);
      ports_.push_back(std::make_unique<glue::EthPort>(a, "ring:a", rc));
      ports_.push_back(std::make_unique<glue::EthPort>(b, "ring:b", rc));
    } else {
      const uint16_t id = glue::port_by_name(plan.device_names[i], ports[i].text);
      ports_.push_back(std::make_unique<glue::EthPort>(id, ports[i].text, pc));
    }
  }
}

Runtime::~Runtime() {
  ports_.clear();
  glue::eal_cleanup();
}

Endpoint::Endpoint(glue::EthPort& port, const stack::StackConfig& cfg,
                   const stack::ImpairSpec& rx, const stack::ImpairSpec& tx, PortCores* cores,
                   unsigned core) {
  // A core beyond the port's queues keeps a device only for its buffer pool.
  port_dev_ = std::make_unique<glue::PortDevice>(
      port, uint16_t(std::min<unsigned>(core, port.caps().queues - 1u)));
  stack::Device* dev = port_dev_.get();
  stack::StackConfig c = cfg;
  if (cores && cores->fabric.cores() > 1) {
    // Active opens take ports whose flows this core owns; what arrives is
    // classified and passed to its owner unless the link already delivers
    // every frame to it.
    if (!port.queue_places(cores->fabric.cores())) {
      steering_ = std::make_unique<stack::SteeringDevice>(cores->fabric, core, *dev);
      dev = steering_.get();
    }
    c.tcp.placement = &cores->fabric.placement();
    c.tcp.core = uint16_t(core);
  }
  if (rx.active() || tx.active()) {
    impaired_ = std::make_unique<stack::ImpairedDevice>(*dev, rx, tx);
    dev = impaired_.get();
  }
  stack_ = std::make_unique<stack::Stack>(*dev, c);
  if (steering_) steering_->set_counters(&stack_->counters());
}

Endpoint::~Endpoint() = default;

CoreProbe* Endpoint::enable_probe(const std::string& role, unsigned lcore, uint64_t now) {
  probe_ = std::make_unique<CoreProbe>(role, lcore, *this, now);
  return probe_.get();
}

void Endpoint::service_probe(uint64_t now) { probe_->service(now); }

Endpoint::Busy Endpoint::busy() const {
  const double hz = double(rte_get_tsc_hz());
  if (!first_poll_cycles_) return {};
  return {double(busy_cycles_) / hz, double(rte_rdtsc() - first_poll_cycles_) / hz};
}

Endpoint::Busy sum_busy(const std::vector<Endpoint*>& eps) {
  Endpoint::Busy b;
  for (Endpoint* ep : eps) b.merge(ep->busy());
  return b;
}

RoleCounters role_counters(const std::string& role, const std::vector<Endpoint*>& eps) {
  glue::PortDeviceStats port;
  for (Endpoint* ep : eps) port.merge(ep->port_device().stats());
  return {role, sum_counters(eps), sum_busy(eps), port};
}

stack::Counters sum_counters(const std::vector<Endpoint*>& eps) {
  stack::Counters sum;
  for (Endpoint* ep : eps) sum.merge(ep->stack().counters());
  return sum;
}

std::string lcore_list(const std::vector<unsigned>& lcores) {
  std::string out = lcores.size() == 1 ? "lcore " : "lcores ";
  for (size_t i = 0; i < lcores.size(); ++i) out += (i ? "," : "") + std::to_string(lcores[i]);
  return out;
}

std::string describe_cores(const glue::EthPort& port, const std::vector<unsigned>& lcores) {
  const unsigned n = unsigned(lcores.size());
  if (n == 1) return lcore_list(lcores);
  const unsigned q = std::min<unsigned>(n, port.caps().queues);
  return lcore_list(lcores) + " (" + std::to_string(q) + " port queue" + (q > 1 ? "s" : "") +
         ", flows placed by " + (port.rss_places(n) ? "RSS" : "software steering") + ")";
}

void print_counters(const std::string& title, const std::vector<Endpoint*>& eps) {
  std::printf("%s\n", title.c_str());
  const Endpoint::Busy b = sum_busy(eps);
  std::printf("  busy %.1f%% of %s (polls that moved frames; %.2f of %.2f core-seconds)\n",
              100 * b.fraction(), eps.size() == 1 ? "its core" : "their cores", b.busy_s, b.span_s);
  sum_counters(eps).for_each(
      [](std::string_view name, uint64_t v, bool drop, std::string_view desc) {
        if (v)
          std::printf("  %-26.*s %12llu  %s%.*s\n", int(name.size()), name.data(),
                      (unsigned long long)v, drop ? "drop: " : "", int(desc.size()), desc.data());
      });
  glue::PortDeviceStats d;
  stack::ImpairStats imp[2];
  bool impaired = false;
  for (Endpoint* ep : eps) {
    d.merge(ep->port_device().stats());
    if (const auto* i = ep->impairer()) {
      impaired = true;
      imp[0].merge(i->rx_stats());
      imp[1].merge(i->tx_stats());
    }
  }
  d.for_each([](const char* name, uint64_t v, bool drop, const char* desc) {
    std::printf("  %-26s %12llu  %s%s\n", name, (unsigned long long)v, drop ? "drop: " : "", desc);
  });
  for (int k = 0; impaired && k < 2; ++k) {
    const auto& s = imp[k];
    if (!s.dropped && !s.duplicated && !s.reordered && !s.corrupted && !s.delayed && !s.overflow)
      continue;
    std::printf("  impair_%s: dropped %llu duplicated %llu reordered %llu corrupted %llu "
                "delayed %llu overflow %llu\n",
                k ? "tx" : "rx", (unsigned long long)s.dropped, (unsigned long long)s.duplicated,
                (unsigned long long)s.reordered, (unsigned long long)s.corrupted,
                (unsigned long long)s.delayed, (unsigned long long)s.overflow);
  }
  std::fflush(stdout);
}

std::string si(double v) {
  char buf[32];
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string human_ns(uint64_t ns) {
  char buf[32];
  if (ns < 1000)
    std::snprintf(buf, sizeof buf, "%lluns", (unsigned long long)ns);
  else if (ns < 1'000'000)
    std::snprintf(buf, sizeof buf, "%.1fus", double(ns) / 1e3);
  else if (ns < 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%.2fms", double(ns) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.2fs", double(ns) / 1e9);
  return buf;
}

std::string human_bytes(uint64_t bytes) {
  char buf[32];
  const double b = double(bytes);
  if (bytes < 1024)
    std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)bytes);
  else if (bytes < (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.2f KiB", b / 1024);
  else if (bytes < (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.2f MiB", b / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1 << 30));
  return buf;
}

}  // namespace ts::app
