#include "apps/runtime.hh"

#include "apps/commands.hh"
#include "apps/introspect.hh"

#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "drivers-glue/eal.hh"
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

stack::StackConfig parse_interface(const InterfaceArgs& a) {
  stack::StackConfig c;
  auto cidr = wire::Ipv4Cidr::parse(a.ip);
  if (!cidr) usage_error("--ip '" + a.ip + "' is not an address with a prefix length, like 10.0.0.2/24");
  const uint32_t first = cidr->addr.v >> 24;
  if (first == 0 || first == 127 || first >= 224)
    usage_error("--ip " + a.ip + " is not a unicast host address");
  if (cidr->prefix < 31 && (cidr->addr == cidr->subnet_broadcast() ||
                            (cidr->addr.v & ~cidr->mask()) == 0))
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
  return c;
}

void apply_pool_args(const PoolArgs& a, stack::TcpLayerConfig& t) {
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

hostcache::Policy parse_hostcache(const std::string& text) {
  for (auto p : {hostcache::Policy::off, hostcache::Policy::temporal, hostcache::Policy::ensemble})
    if (text == hostcache::policy_name(p)) return p;
  usage_error("--hostcache '" + text + "' is not off, temporal or ensemble");
}

std::optional<uint64_t> parse_duration_arg(const std::string& text, const char* flag) {
  if (text.empty()) return std::nullopt;
  return parse_duration_required(text, flag);
}

uint64_t parse_duration_required(const std::string& text, const char* flag) {
  auto d = util::parse_duration_ns(text);
  if (!d) usage_error(std::string(flag) + " '" + text + "' is not a duration like 10s, 500ms or 2m");
  return *d;
}

void parse_impair_args(const std::vector<std::string>& specs, stack::ImpairSpec& rx,
                       stack::ImpairSpec& tx) {
  for (const auto& s : specs)
    if (std::string err = stack::parse_impair(s, rx, tx); !err.empty()) usage_error(err);
}

std::vector<glue::PortSpec> parse_ports(const std::vector<std::string>& specs) {
  std::vector<glue::PortSpec> out;
  for (const auto& s : specs) {
    glue::PortSpec p;
    if (std::string err = glue::parse_port_spec(s, p); !err.empty()) usage_error(err);
    if (std::string err = glue::check_port_available(p); !err.empty()) usage_error(err);
    out.push_back(std::move(p));
  }
  return out;
}

unsigned online_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return unsigned(CPU_COUNT(&set));
}

std::string default_lcores(unsigned n) {
  cpu_set_t set;
  std::vector<unsigned> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (unsigned c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  if (n > cpus.size()) n = unsigned(cpus.size());
  std::string out;
  for (size_t i = cpus.size() - n; i < cpus.size(); ++i)
    out += (out.empty() ? "" : ",") + std::to_string(cpus[i]);
  return out;
}

Runtime::Runtime(const std::vector<glue::PortSpec>& ports, const std::string& lcores,
                 const std::string& raw_eal) {
  glue::EalOptions opt;
  opt.lcores = lcores;
  opt.raw = raw_eal;
  opt.hugepages = glue::hugepages_available();
  opt.file_prefix = glue::file_prefix_for(getpid());
  const glue::EalPlan plan = glue::plan_eal(ports, opt);
  glue::eal_init(plan.args);
  lcores_ = glue::eal_lcores();
  clock_ = std::make_unique<glue::TscClock>();
  glue::PortConfig pc;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].kind == glue::PortSpec::Kind::ring) {
      auto [a, b] = glue::create_ring_pair("ts_ring" + std::to_string(i));
      ports_.push_back(std::make_unique<glue::EthPort>(a, "ring:a", pc));
      ports_.push_back(std::make_unique<glue::EthPort>(b, "ring:b", pc));
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
                   const stack::ImpairSpec& rx, const stack::ImpairSpec& tx) {
  port_dev_ = std::make_unique<glue::PortDevice>(port, 0);
  stack::Device* dev = port_dev_.get();
  if (rx.active() || tx.active()) {
    impaired_ = std::make_unique<stack::ImpairedDevice>(*port_dev_, rx, tx);
    dev = impaired_.get();
  }
  stack_ = std::make_unique<stack::Stack>(*dev, cfg);
}

Endpoint::~Endpoint() = default;

CoreProbe* Endpoint::enable_probe(const std::string& role, unsigned lcore, uint64_t now) {
  probe_ = std::make_unique<CoreProbe>(role, lcore, *this, now);
  return probe_.get();
}

void Endpoint::service_probe(uint64_t now) { probe_->service(now); }

void print_counters(const char* title, Endpoint& ep) {
  std::printf("%s\n", title);
  ep.stack().counters().for_each(
      [](std::string_view name, uint64_t v, bool drop, std::string_view desc) {
        if (v)
          std::printf("  %-26.*s %12llu  %s%.*s\n", int(name.size()), name.data(),
                      (unsigned long long)v, drop ? "drop: " : "", int(desc.size()), desc.data());
      });
  const auto& d = ep.port_device().stats();
  std::printf("  %-26s %12llu  frames received from the port\n", "port_rx_packets",
              (unsigned long long)d.rx_packets);
  std::printf("  %-26s %12llu  frames transmitted by the port\n", "port_tx_packets",
              (unsigned long long)d.tx_packets);
  if (d.tx_ring_full)
    std::printf("  %-26s %12llu  drop: transmit ring stayed full\n", "port_tx_ring_full",
                (unsigned long long)d.tx_ring_full);
  if (d.rx_multiseg)
    std::printf("  %-26s %12llu  drop: frame in several buffers\n", "port_rx_multiseg",
                (unsigned long long)d.rx_multiseg);
  if (d.rx_copied)
    std::printf("  %-26s %12llu  shared receive buffers copied before use\n", "port_rx_copied",
                (unsigned long long)d.rx_copied);
  if (d.alloc_failed)
    std::printf("  %-26s %12llu  buffer pool empty\n", "port_alloc_failed",
                (unsigned long long)d.alloc_failed);
  if (const auto* imp = ep.impairer()) {
    for (auto [dir, s] : {std::pair{"rx", &imp->rx_stats()}, std::pair{"tx", &imp->tx_stats()}}) {
      if (!s->dropped && !s->duplicated && !s->reordered && !s->corrupted && !s->delayed &&
          !s->overflow)
        continue;
      std::printf("  impair_%s: dropped %llu duplicated %llu reordered %llu corrupted %llu "
                  "delayed %llu overflow %llu\n",
                  dir, (unsigned long long)s->dropped, (unsigned long long)s->duplicated,
                  (unsigned long long)s->reordered, (unsigned long long)s->corrupted,
                  (unsigned long long)s->delayed, (unsigned long long)s->overflow);
    }
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

}  // namespace ts::app
