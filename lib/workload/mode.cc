#include "workload/mode.hh"

#include "workload/generator.hh"
#include "workload/ping.hh"
#include "workload/slowread.hh"
#include "workload/synflood.hh"
#include "workload/server.hh"
#include "workload/tcp_mode.hh"

namespace ts::workload {

namespace {

std::unique_ptr<Workload> make_ping(stack::Stack& s, const GenConfig& c) {
  return std::make_unique<PingWorkload>(s, c);
}
std::unique_ptr<Workload> make_synflood(stack::Stack& s, const GenConfig& c) {
  return std::make_unique<SynFlood>(s, c);
}
std::unique_ptr<Workload> make_dns(stack::Stack& s, const GenConfig& c) {
  if (c.dns_tcp) return std::make_unique<Generator>(s.tcp(), c, make_dns_tcp_mode(c));
  return make_dns_udp(s, c);
}
std::unique_ptr<Workload> make_slowread(stack::Stack& s, const GenConfig& c) {
  return std::make_unique<SlowRead>(s.tcp(), c);
}

constexpr auto kConn = Engine::connections;

const ModeInfo kModes[] = {
    {GenMode::cps, "cps", "connect, request, response, close", true, true, ServerApp::echo,
     kConn, make_cps_mode, nullptr},
    {GenMode::rr, "rr", "request/response on persistent connections", true, true,
     ServerApp::echo, kConn, make_rr_mode, nullptr},
    {GenMode::bulk, "bulk", "send as fast as possible; --reverse receives, --bidir both", true,
     false, ServerApp::discard, kConn, make_bulk_mode, nullptr},
    {GenMode::http, "http",
     "HTTP/1.1 requests of --method for --path or --paths on persistent connections, status and "
     "length checked",
     true, true, ServerApp::http, kConn, make_http_mode, nullptr},
    {GenMode::slowread, "slowread",
     "connections that ask for data (--path for http, else --req-size bytes) and then read "
     "nothing (or --read-rate bytes a second): what does the target keep?",
     true, false, ServerApp::echo, Engine::connections, nullptr, make_slowread},
    {GenMode::synflood, "synflood",
     "SYNs at --rate from --source-ips, no state kept: SYN-ACKs and resets counted", true, true,
     ServerApp::echo, Engine::raw, nullptr, make_synflood},
    {GenMode::dns, "dns",
     "A queries for --qname or --qnames over UDP, or over TCP (--tcp: a connection per query; "
     "--tcp-keepalive: many per connection); ID, question and RCODE checked",
     true, true, ServerApp::dns, Engine::datagrams, make_dns_tcp_mode, make_dns},
    {GenMode::ping, "ping", "ICMP echo", false, true, ServerApp::echo, Engine::echo, nullptr,
     make_ping},
};

}  // namespace

std::span<const ModeInfo> modes() { return kModes; }

const ModeInfo& mode_info(GenMode m) {
  for (const ModeInfo& i : kModes)
    if (i.mode == m) return i;
  return kModes[0];
}

const ModeInfo* find_mode(std::string_view name) {
  for (const ModeInfo& i : kModes)
    if (name == i.name) return &i;
  return nullptr;
}

const char* gen_mode_name(GenMode m) { return mode_info(m).name; }

bool parse_gen_mode(std::string_view s, GenMode& out) {
  const ModeInfo* i = find_mode(s);
  if (!i) return false;
  out = i->mode;
  return true;
}

std::string mode_names() {
  std::string s;
  for (const ModeInfo& i : kModes) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

std::unique_ptr<Workload> make_workload(stack::Stack& stack, const GenConfig& cfg) {
  const ModeInfo& m = mode_info(cfg.mode);
  if (m.make) return m.make(stack, cfg);
  return std::make_unique<Generator>(stack.tcp(), cfg, m.make_tcp(cfg));
}

}  // namespace ts::workload
