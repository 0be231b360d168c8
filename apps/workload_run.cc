#include "apps/workload_run.hh"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <tuple>

#include <nlohmann/json.hpp>

#include "apps/cores.hh"
#include "apps/hdr_log.hh"
#include "apps/report.hh"
#include "util/parse.hh"
#include "wire/dns.hh"
#include "workload/ping.hh"
#include "workload/slowread.hh"

namespace ts::app {

namespace {
// A request is a datagram and its reply one back (ping, dns over UDP): no connections.
bool per_datagram(const WorkloadPlan& p) {
  return !p.mode().tcp || (p.gen.mode == workload::GenMode::dns && !p.gen.dns_tcp);
}
// "NOERROR 1000  NXDOMAIN 3", the RCODEs seen.
std::string rcode_text(const workload::GenStats& s) {
  std::string out;
  for (unsigned i = 0; i < s.dns_rcode.size(); ++i)
    if (s.dns_rcode[i])
      out += (out.empty() ? "" : "  ") + std::string(wire::dns_rcode_name(uint8_t(i))) + " " +
             std::to_string(s.dns_rcode[i]);
  return out.empty() ? "none" : out;
}
}  // namespace

namespace {

double gbits(uint64_t bytes, double s) { return s > 0 ? double(bytes) * 8 / s / 1e9 : 0; }

uint64_t parse_positive(const std::string& text, const char* flag, const char* example) {
  auto v = util::parse_count(text);
  if (!v || *v == 0) usage_error(std::string(flag) + " '" + text + "' is not a positive " + example);
  return *v;
}

}  // namespace

namespace {

constexpr uint32_t bit(workload::GenMode m) { return 1u << unsigned(m); }
using M = workload::GenMode;

// The workload flags that apply to some modes only, and the modes they apply
// to: any other mode refuses them.
struct ModeFlag {
  const char* flag;
  uint32_t modes;
};
constexpr uint32_t kRequestModes =
    bit(M::cps) | bit(M::rr) | bit(M::http) | bit(M::ping) | bit(M::synflood) | bit(M::dns);
constexpr uint32_t kAllModes = 0xffffffffu;
constexpr ModeFlag kModeFlags[] = {
    {"--rate", kRequestModes},
    {"--steps", kRequestModes},
    {"--requests", kRequestModes},
    {"--conns", kAllModes & ~bit(M::synflood)},
    {"--window", bit(M::cps) | bit(M::rr) | bit(M::bulk) | bit(M::http) | bit(M::slowread) |
                     bit(M::synflood) | bit(M::dns)},
    {"--req-size", bit(M::cps) | bit(M::rr) | bit(M::slowread) | bit(M::synflood)},
    {"--resp-size", bit(M::cps) | bit(M::rr) | bit(M::http) | bit(M::synflood)},  // http: demo's body size
    {"--legit-conns", bit(M::synflood)},
    {"--tfo", bit(M::cps) | bit(M::rr) | bit(M::http) | bit(M::dns)},
    {"--close", bit(M::http)},
    {"--cps-close", bit(M::cps) | bit(M::synflood)},
    {"--path", bit(M::http) | bit(M::slowread)},
    {"--read-rate", bit(M::slowread)},
    {"--paths", bit(M::http)},
    {"--path-order", bit(M::http)},
    {"--method", bit(M::http)},
    {"--header", bit(M::http)},
    {"--body-size", bit(M::http)},
    {"--reverse", bit(M::bulk)},
    {"--bidir", bit(M::bulk)},
    {"--size", bit(M::ping)},
    {"--timeout", bit(M::ping) | bit(M::dns)},
    {"--qname", bit(M::dns)},
    {"--qnames", bit(M::dns)},
    {"--tcp", bit(M::dns)},
    {"--tcp-keepalive", bit(M::dns)},
    // slowread's connections keep their own small window (SlowRead::kRcvbuf).
    {"--rcvbuf", kAllModes & ~bit(M::slowread)},
};

}  // namespace

namespace {

bool valid_path(const std::string& p) {
  return !p.empty() && p[0] == '/' && p.find_first_of(" \t\r\n") == std::string::npos;
}

bool http_token(std::string_view t) {
  if (t.empty()) return false;
  for (char ch : t)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && !std::strchr("!#$%&'*+-.^_`|~", ch))
      return false;
  return true;
}

// The lines of a list file (--paths, --qnames): blank lines and # comments
// skipped, each line checked by `check(line, "FLAG FILE, line N")`, at most
// a million, at least one.
template <class Check>
std::vector<std::string> read_list(const char* flag, const std::string& file, const char* what,
                                   Check check) {
  std::ifstream in(file);
  if (!in) usage_error(std::string(flag) + " " + file + ": cannot read the file");
  std::vector<std::string> out;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    check(line, std::string(flag) + " " + file + ", line " + std::to_string(line_no));
    if (out.size() == 1'000'000) usage_error(std::string(flag) + " " + file + ": more than 1M " + what);
    out.push_back(line);
  }
  if (out.empty()) usage_error(std::string(flag) + " " + file + " lists no " + what);
  return out;
}

// The dns flags: the names, the transport.
void plan_dns(const WorkloadArgs& w, const Given& given, workload::GenConfig& g) {
  auto check = [](const std::string& name, const std::string& where) {
    if (std::string err = wire::dns_name_error(name); !err.empty())
      usage_error(where + "'" + name + "' is not a DNS name: " + err);
  };
  g.qnames.clear();
  if (!w.qnames.empty()) {
    if (given.has("--qname")) not_applicable("--qname", "--qnames (the file lists the names)");
    g.qnames = read_list("--qnames", w.qnames, "names", [&](const std::string& line,
                                                            const std::string& where) {
      check(line, where + ": ");
    });
  } else {
    g.qnames.push_back(w.qname.empty() ? "example.test" : w.qname);
    check(g.qnames.back(), "--qname ");
  }
  if (w.dns_tcp && w.dns_keepalive) not_applicable("--tcp", "--tcp-keepalive (give one of them)");
  g.dns_tcp = w.dns_tcp || w.dns_keepalive;
  g.dns_keepalive = w.dns_keepalive;
  if (!g.dns_tcp && g.conns > workload::DatagramLoad::kSlots)
    usage_error("--conns " + std::to_string(g.conns) + ": --mode dns over UDP keeps at most " +
                std::to_string(workload::DatagramLoad::kSlots) + " queries in flight");
  if (!g.dns_tcp)
    refuse_given(given, {"--tfo", "--window", "--max-conns", "--buffer-memory", "--hostcache", "--syncookies",
                         "--persist-reclaim-after", "--stall-reclaim-after", "--cc", "--no-sack", "--pacing", "--no-gro", "--no-tso", "--sndbuf", "--rcvbuf"},
                 "--mode dns over UDP (give --tcp)");
  else if (given.has("--timeout"))
    not_applicable("--timeout", "--mode dns over TCP (TCP retransmits instead)");
}

// The http flags: method, headers, body, the list of paths.
void plan_http(const WorkloadArgs& w, const Given& given, workload::GenConfig& g) {
  if (!w.body_size.empty()) {
    const auto b = util::parse_bytes(w.body_size);
    if (!b || *b > (1ull << 30)) usage_error("--body-size '" + w.body_size + "' must be 0 to 1G");
    g.body_size = *b;
  }
  g.method = w.method.empty() ? (g.body_size ? "POST" : "GET") : w.method;
  static const char* const kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  if (std::find_if(std::begin(kMethods), std::end(kMethods),
                   [&](const char* m) { return g.method == m; }) == std::end(kMethods))
    usage_error("--method '" + g.method + "' is not one of GET, HEAD, POST, PUT, DELETE, OPTIONS, "
                "PATCH");
  if (g.body_size && g.method != "POST" && g.method != "PUT" && g.method != "PATCH")
    not_applicable("--body-size", "--method " + g.method + " (POST, PUT and PATCH carry a body)");
  for (const std::string& h : w.headers) {
    const size_t colon = h.find(':');
    const std::string name = h.substr(0, colon);
    if (colon == std::string::npos || !http_token(name) ||
        h.find_first_of("\r\n") != std::string::npos)
      usage_error("--header '" + h + "' is not 'Name: value'");
    std::string lower = name;
    for (char& ch : lower) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "content-length" || lower == "transfer-encoding")
      usage_error("--header '" + h + "': touchstone sets the body's length itself (--body-size)");
    if (lower == "connection")
      usage_error("--header '" + h + "': touchstone sets Connection itself (--close for one "
                  "request per connection)");
    g.headers.push_back(h);
  }
  if (!w.paths.empty()) {
    if (given.has("--path")) not_applicable("--path", "--paths (the file lists the paths)");
    g.paths = read_list("--paths", w.paths, "paths", [](const std::string& line,
                                                         const std::string& where) {
      if (!valid_path(line))
        usage_error(where + ": '" + line + "' must start with / and hold no spaces");
    });
  } else if (given.has("--path-order")) {
    not_applicable("--path-order", "one --path (give --paths FILE)");
  }
  if (w.path_order != "turn" && w.path_order != "random")
    usage_error("--path-order '" + w.path_order + "' is not turn or random");
  g.paths_random = w.path_order == "random";
  g.http_close = w.close;
}

}  // namespace

std::vector<workload::RateStep> parse_steps(const std::string& text) {
  std::vector<workload::RateStep> steps;
  bool any = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    const size_t colon = item.find(':');
    const auto rate = util::parse_count(item.substr(0, colon));
    const auto dur = colon == std::string::npos ? std::nullopt
                                                : util::parse_duration_ns(item.substr(colon + 1));
    if (!rate || !dur || !*dur)
      usage_error("--steps '" + text + "': '" + item +
                  "' is not RATE:DURATION, like 1000:10s (a rate of 0 pauses)");
    any = any || *rate > 0;
    steps.push_back({*dur, double(*rate), double(*rate)});
    pos = comma + 1;
  }
  if (!any) usage_error("--steps '" + text + "' has no step with a positive rate");
  return steps;
}

bool mode_takes(workload::GenMode m, std::string_view flag) {
  for (const ModeFlag& f : kModeFlags)
    if (flag == f.flag) return (f.modes & bit(m)) != 0;
  return true;
}

WorkloadPlan plan_workload(const WorkloadArgs& w, const CommonArgs& c, uint16_t mtu) {
  WorkloadPlan plan;
  workload::GenConfig& g = plan.gen;
  const workload::ModeInfo* mode = workload::find_mode(w.mode);
  if (!mode) usage_error("--mode '" + w.mode + "' is not one of " + workload::mode_names());
  g.mode = mode->mode;
  for (const ModeFlag& f : kModeFlags)
    if (c.given.has(f.flag) && !(f.modes & bit(mode->mode)))
      not_applicable(f.flag, std::string("--mode ") + mode->name);
  const uint32_t max_conns = mode->tcp ? (1u << 24) : uint32_t(workload::DatagramLoad::kSlots);
  const auto conns = util::parse_count(w.conns);
  if (!conns || *conns < 1 || *conns > max_conns)
    usage_error("--conns '" + w.conns + "' is not a number from 1 to " +
                (mode->tcp ? std::string("16M") : std::to_string(max_conns)));
  g.conns = uint32_t(*conns);
  if (!w.rate.empty()) g.rate = double(parse_positive(w.rate, "--rate", "rate like 1000 or 2.5M"));
  if (!w.requests.empty()) g.requests = parse_positive(w.requests, "--requests", "count");
  if (!w.window.empty()) {
    const auto n = util::parse_count(w.window);
    if (!n || *n < 1 || *n > 65536)
      usage_error("--window '" + w.window + "' is not a number from 1 to 64K");
    g.window = uint32_t(*n);
  }
  if (!w.ramp.empty()) {
    g.ramp_ns = parse_duration_required(w.ramp, "--ramp");
    if (!g.ramp_ns) usage_error("--ramp must be positive");
  }
  if (!w.steps.empty()) {
    for (const char* f : {"--rate", "--ramp", "--duration"})
      if (c.given.has(f)) not_applicable(f, "--steps (its steps set the rates and the run's length)");
    g.steps = parse_steps(w.steps);
  }
  for (auto [text, flag, out] : {std::tuple{&w.req_size, "--req-size", &g.req_size},
                                 std::tuple{&w.resp_size, "--resp-size", &g.resp_size}}) {
    auto v = util::parse_bytes(*text);
    if (!v || *v == 0 || *v > (1u << 30))
      usage_error(std::string(flag) + " '" + *text + "' must be 1 byte to 1G");
    *out = uint32_t(*v);
  }
  if (!valid_path(w.path))
    usage_error("--path '" + w.path + "' must start with / and hold no spaces or line breaks");
  g.path = w.path;
  if (mode->mode == workload::GenMode::http) plan_http(w, c.given, g);
  if (w.cps_close != "request" && w.cps_close != "response")
    usage_error("--cps-close '" + w.cps_close + "' is not request or response");
  g.cps_half_close = w.cps_close == "request";
  if (mode->mode == workload::GenMode::dns) plan_dns(w, c.given, g);
  if (mode->mode == workload::GenMode::slowread) {
    g.mode_http = c.given.has("--path");
    // Enough asked for to fill the target's buffers (an echo's answer).
    if (!c.given.has("--req-size")) g.req_size = 64 * 1024;
    if (!w.read_rate.empty()) {
      const auto r = util::parse_count(w.read_rate);
      if (!r || *r > 1'000'000)
        usage_error("--read-rate '" + w.read_rate + "' is not bytes a second from 0 to 1M");
      g.read_rate = *r;
    }
  }
  if (w.reverse && w.bidir) not_applicable("--reverse", "--bidir (give one of them)");
  g.direction = w.reverse  ? workload::BulkDirection::receive
                : w.bidir  ? workload::BulkDirection::both
                           : workload::BulkDirection::send;
  if (!mode->tcp) {
    auto size = util::parse_bytes(w.size);
    const uint64_t max_payload = uint64_t(mtu) - 28;
    if (!size || *size < workload::PingWorkload::kMinPayload || *size > max_payload)
      usage_error("--size '" + w.size + "' must be " +
                  std::to_string(workload::PingWorkload::kMinPayload) + " to " +
                  std::to_string(max_payload) + " bytes (ICMP payload within the MTU)");
    g.size = uint16_t(*size);
    // Connections, ports and the host cache are TCP's.
    refuse_given(c.given, {"--hostcache", "--max-conns", "--buffer-memory", "--source-ips",
                           "--source-ports", "--syncookies", "--persist-reclaim-after",
                           "--stall-reclaim-after", "--cc", "--no-sack", "--pacing", "--no-gro", "--no-tso", "--sndbuf", "--rcvbuf"},
                 "--mode ping");
  }
  g.timeout_ns = parse_duration_required(w.timeout, "--timeout");
  if (g.timeout_ns == 0) usage_error("--timeout must be positive");
  plan.duration_ns = parse_duration_arg(c.duration, "--duration").value_or(0);
  if (!g.steps.empty()) plan.duration_ns = workload::schedule_length(g.steps);
  if (mode->mode == workload::GenMode::slowread && !plan.duration_ns)
    usage_error("--mode slowread holds its connections for --duration: give one");
  if (mode->mode == workload::GenMode::synflood) {
    if (!g.open_loop() && !g.requests)
      usage_error("--mode synflood needs --rate (SYNs a second), --steps or --requests");
    if (!w.legit_conns.empty()) {
      const auto n = util::parse_count(w.legit_conns);
      if (!n || *n < 1 || *n > (1u << 20))
        usage_error("--legit-conns '" + w.legit_conns + "' is not a number from 1 to 1M");
      g.legit_conns = uint32_t(*n);
    } else {
      for (const char* f : {"--req-size", "--resp-size", "--cps-close", "--window"})
        if (c.given.has(f)) not_applicable(f, "--mode synflood without --legit-conns");
    }
  }
  if (!w.warmup.empty()) {
    plan.warmup_ns = parse_duration_required(w.warmup, "--warmup");
    if (!plan.warmup_ns) usage_error("--warmup must be positive");
    if (!plan.duration_ns)
      usage_error("--warmup needs a run of known length: give --duration (or --steps)");
    if (plan.warmup_ns >= plan.duration_ns)
      usage_error("--warmup " + w.warmup + " is not shorter than the run (" +
                  human_ns(plan.duration_ns) + ")");
  }
  if (g.ramp_ns && plan.duration_ns && g.ramp_ns > plan.duration_ns)
    usage_error("--ramp " + w.ramp + " is longer than the run (" + human_ns(plan.duration_ns) + ")");
  plan.progress_ns = parse_progress(c);
  plan.quiet = c.quiet;
  plan.json_path = w.json;
  check_json_path(plan.json_path);
  plan.hdr_log_path = w.hdr_log;
  if (w.hdr_log == "-") usage_error("--hdr-log needs a file (standard output is for --json -)");
  check_json_path(plan.hdr_log_path, "--hdr-log");
  plan.metrics = parse_metrics_file(c);
  plan.pcap = parse_pcap(c);
  return plan;
}

workload::GenConfig core_share(const workload::GenConfig& g, unsigned core, unsigned cores) {
  workload::GenConfig c = g;
  auto part = [&](uint64_t total) { return total / cores + (core < total % cores ? 1 : 0); };
  c.conns = uint32_t(part(g.conns));
  c.legit_conns = uint32_t(part(g.legit_conns));
  c.requests = part(g.requests);
  c.rate = g.rate / cores;
  c.seed = g.seed + core;
  for (auto& st : c.steps) {
    st.from /= cores;
    st.to /= cores;
  }
  return c;
}

void check_core_share(const WorkloadPlan& plan, unsigned cores) {
  const auto& g = plan.gen;
  if (g.conns < cores)
    usage_error("--conns " + std::to_string(g.conns) + " is fewer than the " +
                std::to_string(cores) + " cores: each core runs its own connections");
  if (g.requests && g.requests < cores)
    usage_error("--requests " + std::to_string(g.requests) + " is fewer than the " +
                std::to_string(cores) + " cores");
}

namespace {

// What a core reports for the progress line.
struct Progress {
  workload::GenStats totals;
  util::Histogram interval;
};

struct CoreState {
  Snapshot<Progress> progress;
  std::atomic<bool> done{false};
  workload::GenStats final;      // written by the core before its loop returns
  workload::GenStats final_raw;  // the same, not less the warm-up's counts
  util::Histogram last_interval;  // latency since the last interval taken
};

// The interval between two snapshots of every core's totals.
IntervalRecord interval_between(const workload::GenStats& now, const workload::GenStats& before,
                                uint64_t start_ns, uint64_t end_ns, bool warmup,
                                const util::Histogram& latency) {
  IntervalRecord iv;
  iv.start_ns = start_ns;
  iv.end_ns = end_ns;
  iv.warmup = warmup;
  auto d = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  iv.requests_sent = d(now.requests_sent, before.requests_sent);
  iv.responses_ok = d(now.responses_ok, before.responses_ok);
  iv.errors = d(now.errors + now.conns_failed + now.responses_bad,
                before.errors + before.conns_failed + before.responses_bad);
  iv.conns_established = d(now.conns_established, before.conns_established);
  iv.bytes_acked = d(now.bytes_acked, before.bytes_acked);
  iv.bytes_rx = d(now.bytes_rx, before.bytes_rx);
  iv.retransmitted = d(now.retransmitted_bytes, before.retransmitted_bytes);
  iv.open = now.open;
  iv.latency = util::SparseHistogram::of(latency);
  return iv;
}

// One line per interval, every figure labelled: rates over the interval
// ("/s"), latency of the interval's requests, the gauge of what is open, and
// running totals ("total ...").
void print_progress(const WorkloadPlan& plan, uint64_t since_start, double dt,
                    const workload::GenStats& s, const workload::GenStats& before,
                    const util::Histogram& h, const std::string& name) {
  const double t = double(since_start) / 1e9;
  const auto& m = plan.mode();
  auto per_s = [&](uint64_t now_v, uint64_t before_v) { return si(double(now_v - before_v) / dt); };
  auto lat = [&](const char* what) {
    if (!h.count()) return std::string(what) + " no samples";
    return std::string(what) + " p50 " + human_ns(h.quantile(0.5)) + " p99 " +
           human_ns(h.quantile(0.99));
  };
  std::string line = name.empty() ? std::string() : name + ": ";
  char buf[192];
  if (since_start < plan.warmup_ns) line += "(warm-up) ";
  const auto& g = plan.gen;
  if (g.open_loop() && (g.ramp_ns || !g.steps.empty()))
    line += "target " + si(workload::rate_at(g.schedule(), since_start)) + "/s  ";
  else if (!g.open_loop() && g.ramp_ns && since_start < g.ramp_ns)
    line += "target " + std::to_string(g.conns_at(since_start)) + (m.tcp ? " conns  " : " in flight  ");
  if (m.mode == workload::GenMode::synflood) {
    line += per_s(s.requests_sent, before.requests_sent) + " SYN/s  " +
            per_s(s.responses_ok, before.responses_ok) + " SYN-ACK/s  " +
            per_s(s.resets, before.resets) + " RST/s  " + lat("syn-ack");
    line += " | total SYN " + std::to_string(s.requests_sent) + " SYN-ACK " +
            std::to_string(s.responses_ok) + " RST " + std::to_string(s.resets);
    if (g.legit_conns)
      line += " | legit " + per_s(s.legit_ok, before.legit_ok) + " conn/s  failed " +
              std::to_string(s.conns_failed + s.legit_errors);
  } else if (m.mode == workload::GenMode::slowread) {
    line += "open " + std::to_string(s.open) + " conns | total established " +
            std::to_string(s.conns_established) + " closed by the target " +
            std::to_string(s.conns_closed_by_peer) + " reset " + std::to_string(s.conns_reset) +
            " failed " + std::to_string(s.conns_failed);
  } else if (!m.requests) {
    std::snprintf(buf, sizeof buf, "sent %.3f Gbit/s  received %.3f Gbit/s",
                  gbits(s.bytes_acked - before.bytes_acked, dt),
                  gbits(s.bytes_rx - before.bytes_rx, dt));
    line += buf;
    if (g.direction != workload::BulkDirection::receive) {  // else they are the target's
      line += "  retr " + human_bytes(s.retransmitted_bytes - before.retransmitted_bytes);
      line += "  cwnd " +
              (s.cwnd_conns ? human_bytes(s.cwnd_sum / s.cwnd_conns) : std::string("-"));
    }
    line += " | open " + std::to_string(s.open) + " conns";
    line += " | total sent " + human_bytes(s.bytes_acked) + " received " +
            human_bytes(s.bytes_rx) + " failed " + std::to_string(s.conns_failed + s.errors);
  } else if (per_datagram(plan)) {
    line += per_s(s.responses_ok, before.responses_ok) + " replies/s  " + lat("rtt");
    line += " | in flight " + std::to_string(s.open);
    line += " | total sent " + std::to_string(s.requests_sent) + " ok " +
            std::to_string(s.responses_ok) + " lost " + std::to_string(s.errors);
    if (s.responses_bad) line += " bad " + std::to_string(s.responses_bad);
  } else {
    line += per_s(s.responses_ok + s.responses_bad, before.responses_ok + before.responses_bad) +
            " req/s  ";
    if (m.mode == workload::GenMode::cps)
      line += per_s(s.conns_established, before.conns_established) + " conn/s  ";
    line += lat("latency");
    line += " | open " + std::to_string(s.open) + " conns";
    line += " | total ok " + std::to_string(s.responses_ok) + " errors " +
            std::to_string(s.errors + s.conns_failed + s.responses_bad);
  }
  std::printf("[%7.1fs] %s\n", t, line.c_str());
  std::fflush(stdout);
}

}  // namespace

WorkloadResult run_workload(std::vector<WorkloadCore>& cores, const std::vector<unsigned>& lcores,
                            const WorkloadPlan& plan, const glue::TscClock& clock) {
  return std::move(run_workloads(cores, lcores, {{"", &plan}}, clock)[0]);
}

std::vector<WorkloadResult> run_workloads(std::vector<WorkloadCore>& cores,
                                          const std::vector<unsigned>& lcores,
                                          const std::vector<WorkloadGroup>& groups,
                                          const glue::TscClock& clock) {
  const size_t n = cores.size();
  const size_t ng = groups.size();
  // The run's own settings (duration, warm-up, intervals) are the same in
  // every group's plan: they come from the run's flags.
  const WorkloadPlan& plan = *groups[0].plan;
  auto state = std::make_unique<CoreState[]>(n);
  std::atomic<uint64_t> end_at{0};   // set once, by core 0
  std::atomic<bool> abandon{false};  // set when the caller's scope is left early
  std::atomic<size_t> closed{0};     // cores through their close phase
  DrainBarrier drain;
  const uint64_t start = clock.now_ns();
  const double start_unix_s =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  // Core 0's bookkeeping for the progress line and the intervals.
  const uint64_t every = plan.progress_ns ? plan.progress_ns : plan.interval_ns();
  uint64_t next_report = start + every, last_report = start;
  bool asking = false;
  std::vector<workload::GenStats> before(ng);
  std::vector<std::vector<IntervalRecord>> intervals(ng);

  auto coordinate = [&](workload::Workload& work, uint64_t now) {
    if (!end_at.load(std::memory_order_relaxed)) {
      bool all_done = true;
      for (size_t k = 0; k < n && all_done; ++k)
        all_done = state[k].done.load(std::memory_order_acquire);
      if (g_stop.load(std::memory_order_relaxed) || all_done ||
          (plan.duration_ns && now - start >= plan.duration_ns))
        end_at.store(now, std::memory_order_release);
    }
    // No interval starts or ends after the run's end: the last one is made
    // from the cores' final counts (below).
    if (!every || end_at.load(std::memory_order_relaxed)) return;
    auto snap = [&](size_t k) -> auto& { return state[k].progress; };
    if (!asking && now >= next_report) {
      ask_all(n, snap);
      asking = true;
    }
    if (!asking || !all_ready(n, snap)) return;
    asking = false;
    std::vector<workload::GenStats> sums(ng);
    std::vector<util::Histogram> lat(ng);
    sums[cores[0].group] = work.stats();
    work.sample(sums[cores[0].group]);
    lat[cores[0].group] = work.take_interval();
    for (size_t k = 1; k < n; ++k) {
      sums[cores[k].group].merge(state[k].progress.value().totals);
      lat[cores[k].group].merge(state[k].progress.value().interval);
    }
    for (size_t g = 0; g < ng; ++g) {
      workload::GenStats& sum = sums[g];
      sum.latency = util::Histogram();
      sum.legit_latency = util::Histogram();
      if (plan.progress_ns)
        print_progress(*groups[g].plan, now - start, double(now - last_report) / 1e9, sum,
                       before[g], lat[g], groups[g].name);
      if (plan.interval_ns())
        intervals[g].push_back(interval_between(sum, before[g], last_report - start, now - start,
                                                last_report - start < plan.warmup_ns, lat[g]));
      before[g] = sum;
    }
    last_report = now;
    next_report += every;
    if (next_report <= now) next_report = now + every;
  };

  auto body = [&](size_t i) {
    workload::Workload& work = *cores[i].work;
    CoreState& me = state[i];
    const bool requests = groups[cores[i].group].plan->mode().requests;
    work.start(clock.now_ns());
    bool stopped = false;
    // The warm-up's end: the counts so far are the baseline the results
    // start from, and the latency recorded so far is forgotten.
    bool warm = plan.warmup_ns == 0;
    workload::GenStats baseline;
    for (;;) {
      const uint64_t now = clock.now_ns();
      cores[i].poll(now);
      // The tick's time, when it sent, is the workload endpoint's busy time.
      const uint64_t frames = cores[i].eps[0]->frames_moved(), t0 = rte_rdtsc();
      work.tick(now);
      if (cores[i].eps[0]->frames_moved() != frames) cores[i].eps[0]->add_busy(rte_rdtsc() - t0);
      if (!warm && now - start >= plan.warmup_ns) {
        baseline = work.stats();
        work.sample(baseline);
        baseline.latency = util::Histogram();
        work.clear_latency();
        warm = true;
      }
      if (work.done() && !me.done.load(std::memory_order_relaxed))
        me.done.store(true, std::memory_order_release);
      if (i == 0) {
        coordinate(work, now);
      } else {
        me.progress.serve([&](Progress& p) {
          p.totals = work.stats();
          work.sample(p.totals);
          p.totals.latency = util::Histogram();
          p.interval = work.take_interval();
        });
      }
      if (abandon.load(std::memory_order_relaxed)) break;
      const uint64_t e = end_at.load(std::memory_order_acquire);
      if (e && !stopped) {
        work.stop();
        stopped = true;
      }
      // After the end, requests in flight may still complete for a while
      // (core 0 may have set the end after this core read its clock).
      if (stopped && (work.done() || !requests || (now > e && now - e >= work.drain_ns()))) break;
    }
    workload::GenStats final = work.final_stats();
    work.sample(final);
    me.final = final.since(baseline);
    if (plan.interval_ns()) {
      me.final_raw = final;
      me.final_raw.latency = me.final_raw.legit_latency = util::Histogram();
      me.last_interval = work.take_interval();
    }
    // Close politely and give the FINs a moment. A core keeps polling until
    // every core is through this (at most another 400 ms): a core without a
    // port queue sends through another, and steered segments need their
    // receiving core.
    const uint64_t stop = clock.now_ns();
    work.close_all(stop);
    bool counted = false;
    for (uint64_t now = stop; now - stop < 500'000'000; now = clock.now_ns()) {
      cores[i].poll(now);
      if (!counted && now - stop >= 100'000'000) {
        closed.fetch_add(1);
        counted = true;
      }
      if (counted && closed.load() == n) break;
    }
    if (n > 1) drain_between_cores(drain, n, clock, cores[i].eps);
  };

  run_on_cores(lcores, body, abandon);
  std::vector<WorkloadResult> out(ng);
  const uint64_t e = end_at.load();
  const uint64_t measured_from = start + plan.warmup_ns;
  const uint64_t end = e ? e : clock.now_ns();
  for (size_t g = 0; g < ng; ++g) {
    WorkloadResult& r = out[g];
    r.elapsed_s = end > measured_from ? double(end - measured_from) / 1e9 : 0;
    r.ended_in_warmup = end <= measured_from;
    if (r.ended_in_warmup) r.elapsed_s = double(end - start) / 1e9;
    r.start_unix_s = start_unix_s;
    workload::GenStats total;
    util::Histogram last;
    for (size_t k = 0; k < n; ++k) {
      if (cores[k].group != g) continue;
      r.stats.merge(state[k].final);
      if (!plan.interval_ns()) continue;
      total.merge(state[k].final_raw);
      last.merge(state[k].last_interval);
      // A snapshot a core answered after the last one was collected took
      // its interval's latency with it.
      if (k && asking && state[k].progress.ready()) last.merge(state[k].progress.value().interval);
    }
    if (plan.interval_ns()) {
      // The last interval: from the last snapshot to the end (what was in
      // flight then and completed while the cores drained is counted in it).
      IntervalRecord iv = interval_between(total, before[g], last_report - start,
                                           std::max(end, last_report) - start,
                                           last_report - start < plan.warmup_ns, last);
      if (iv.end_ns > iv.start_ns || iv.requests_sent || iv.responses_ok || iv.errors ||
          iv.conns_established || iv.bytes_acked || iv.bytes_rx || !iv.latency.buckets.empty())
        intervals[g].push_back(std::move(iv));
      r.intervals = std::move(intervals[g]);
    }
  }
  return out;
}

namespace {

// Rates over a run shorter than this say more about start-up than about the
// target: none is shown (in the JSON: null).
constexpr double kMinRateSeconds = 0.1;

bool rates_shown(const WorkloadResult& r) { return r.elapsed_s >= kMinRateSeconds; }

std::string rate_text(uint64_t count, const WorkloadResult& r, const char* unit) {
  if (!rates_shown(r))
    return std::string("- ") + unit + " (the run lasted " +
           human_ns(uint64_t(r.elapsed_s * 1e9)) + "; rates need 100 ms)";
  return si(double(count) / r.elapsed_s) + " " + unit;
}

nlohmann::ordered_json rate_json(uint64_t count, const WorkloadResult& r) {
  if (!rates_shown(r)) return nullptr;
  return double(count) / r.elapsed_s;
}

nlohmann::ordered_json rcode_json(const workload::GenStats& s) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (unsigned i = 0; i < s.dns_rcode.size(); ++i)
    if (s.dns_rcode[i]) j[wire::dns_rcode_name(uint8_t(i))] = s.dns_rcode[i];
  return j;
}

nlohmann::ordered_json latency_or_null(const util::Histogram& h) {
  if (!h.count()) return nullptr;
  return latency_json(h);
}

std::string latency_text(const util::Histogram& h, bool with_min) {
  if (!h.count()) return "no samples";
  return (with_min ? "min " + human_ns(h.min()) + "  " : std::string()) + percentiles_line(h);
}

void print_dns_udp_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  const auto& g = plan.gen;
  std::printf("%s: %s:%u, mode dns over UDP, %s, %zu name%s, %.2f s\n", title,
              g.target.str().c_str(), g.port, pacing_text(plan).c_str(), g.qnames.size(),
              g.qnames.size() == 1 ? "" : "s", r.elapsed_s);
  std::printf("  queries       sent %llu  ok %llu  bad %llu  lost %llu%s\n",
              (unsigned long long)s.requests_sent, (unsigned long long)s.responses_ok,
              (unsigned long long)s.responses_bad, (unsigned long long)s.errors,
              s.late_dropped ? ("  dropped (queue full) " + std::to_string(s.late_dropped)).c_str() : "");
  std::printf("  rcode         %s\n", rcode_text(s).c_str());
  std::printf("  late %llu  duplicate %llu  foreign %llu  send failed %llu\n",
              (unsigned long long)s.late_replies, (unsigned long long)s.duplicates,
              (unsigned long long)s.foreign, (unsigned long long)s.send_failed);
  std::printf("  rate          %s\n", rate_text(s.responses_ok, r, "queries/s").c_str());
  std::printf("  latency       %s\n", latency_text(s.latency, false).c_str());
}

void print_ping_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  const auto& g = plan.gen;
  const double ok_pct = s.requests_sent ? 100.0 * double(s.responses_ok) / double(s.requests_sent) : 0.0;
  std::printf("%s: %s, %s, %u-byte payload, %.2f s\n", title, g.target.str().c_str(),
              pacing_text(plan).c_str(), unsigned(g.size), r.elapsed_s);
  std::printf("  requests sent     %llu\n", (unsigned long long)s.requests_sent);
  std::printf("  replies ok        %llu (%.3f%%), byte-for-byte identical to the request\n",
              (unsigned long long)s.responses_ok, ok_pct);
  std::printf("  lost %llu  late %llu  corrupt %llu  duplicate %llu  foreign %llu  send failed %llu\n",
              (unsigned long long)s.errors, (unsigned long long)s.late_replies,
              (unsigned long long)s.responses_bad, (unsigned long long)s.duplicates,
              (unsigned long long)s.foreign, (unsigned long long)s.send_failed);
  std::printf("  rate              %s\n", rate_text(s.responses_ok, r, "replies/s").c_str());
  std::printf("  round trip        %s\n", latency_text(s.latency, true).c_str());
}

// "200 1234  404 5", the codes seen, at most ten (then "others N").
std::string status_text(const workload::GenStats& s) {
  std::string out;
  unsigned listed = 0;
  uint64_t others = 0;
  for (unsigned i = 0; i < s.http_status.size(); ++i) {
    if (!s.http_status[i]) continue;
    if (listed++ < 10)
      out += (out.empty() ? "" : "  ") + std::to_string(i + s.kFirstStatus) + " " +
             std::to_string(s.http_status[i]);
    else
      others += s.http_status[i];
  }
  if (others) out += "  others " + std::to_string(others);
  return out.empty() ? "none" : out;
}

void print_synflood_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  const auto& g = plan.gen;
  std::printf("%s: %s:%u, mode synflood, %s, %.2f s\n", title, g.target.str().c_str(), g.port,
              pacing_text(plan).c_str(), r.elapsed_s);
  std::printf("  SYNs          sent %llu (%s)  no buffer %llu  dropped (queue full) %llu\n",
              (unsigned long long)s.requests_sent, rate_text(s.requests_sent, r, "SYN/s").c_str(),
              (unsigned long long)s.send_failed, (unsigned long long)s.late_dropped);
  std::printf("  answers       SYN-ACK %llu (%s)  reset %llu  none %llu\n",
              (unsigned long long)s.responses_ok,
              rate_text(s.responses_ok, r, "SYN-ACK/s").c_str(), (unsigned long long)s.resets,
              (unsigned long long)(s.requests_sent > s.responses_ok + s.resets
                                       ? s.requests_sent - s.responses_ok - s.resets
                                       : 0));
  std::printf("  SYN-ACK after %s\n", latency_text(s.latency, true).c_str());
  if (!g.legit_conns) return;
  std::printf("  legitimate    %u connections at a time: completed %llu (%s)  failed %llu "
              "(refused %llu, timed out %llu, reset %llu)  exchanges lost %llu  no port/slot %llu\n",
              g.legit_conns, (unsigned long long)s.legit_ok,
              rate_text(s.legit_ok, r, "conn/s").c_str(), (unsigned long long)s.conns_failed,
              (unsigned long long)s.conns_refused, (unsigned long long)s.conns_timed_out,
              (unsigned long long)s.conns_reset, (unsigned long long)s.legit_errors,
              (unsigned long long)s.conns_no_slot);
  std::printf("  legit latency %s (connect to the whole response)\n",
              latency_text(s.legit_latency, true).c_str());
}

void print_slowread_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  const auto& g = plan.gen;
  std::printf("%s: %s:%u, mode slowread, %u connections reading %s, %.2f s\n", title,
              g.target.str().c_str(), g.port, g.conns,
              g.read_rate ? (std::to_string(g.read_rate) + " bytes a second").c_str() : "nothing",
              r.elapsed_s);
  std::printf("  connections   attempted %llu  established %llu  failed %llu  no port/slot %llu\n",
              (unsigned long long)s.conns_attempted, (unsigned long long)s.conns_established,
              (unsigned long long)s.conns_failed, (unsigned long long)s.conns_no_slot);
  std::printf("  the target    kept %llu  closed %llu  reset %llu\n",
              (unsigned long long)(s.conns_established - s.conns_closed_by_peer - s.conns_reset),
              (unsigned long long)s.conns_closed_by_peer, (unsigned long long)s.conns_reset);
  std::printf("  ended after   %s\n", latency_text(s.latency, true).c_str());
  std::printf("  payload       sent %s  read %s\n", human_bytes(s.bytes_tx).c_str(),
              human_bytes(s.bytes_rx).c_str());
}

void print_tcp_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  const auto& g = plan.gen;
  const auto& m = plan.mode();
  std::printf("%s: %s:%u, mode %s, %s, %.2f s\n", title, g.target.str().c_str(), g.port, m.name,
              pacing_text(plan).c_str(), r.elapsed_s);
  std::printf("  connections   attempted %llu  established %llu  failed %llu  no port/slot %llu\n",
              (unsigned long long)s.conns_attempted, (unsigned long long)s.conns_established,
              (unsigned long long)s.conns_failed, (unsigned long long)s.conns_no_slot);
  if (r.ended_in_warmup)
    std::printf("  note          the run ended during the warm-up: these counts are the warm-up's\n");
  if (!g.open_loop() && m.mode != workload::GenMode::cps && s.conns_established < g.conns)
    std::printf("  short         only %llu of the %u connections asked for were established\n",
                (unsigned long long)s.conns_established, g.conns);
  if (s.conns_refused + s.conns_timed_out + s.conns_reset)
    std::printf("  ended badly   refused %llu  timed out %llu  reset %llu\n",
                (unsigned long long)s.conns_refused, (unsigned long long)s.conns_timed_out,
                (unsigned long long)s.conns_reset);
  if (m.requests) {
    std::printf("  requests      sent %llu  ok %llu  bad %llu  lost with their connection %llu%s\n",
                (unsigned long long)s.requests_sent, (unsigned long long)s.responses_ok,
                (unsigned long long)s.responses_bad, (unsigned long long)s.errors,
                s.late_dropped ? ("  dropped (queue full) " + std::to_string(s.late_dropped)).c_str()
                               : "");
    if (m.mode == workload::GenMode::http)
      std::printf("  http status   %s\n", status_text(s).c_str());
    if (m.mode == workload::GenMode::dns) std::printf("  rcode         %s\n", rcode_text(s).c_str());
    std::string rate = rate_text(s.responses_ok, r, "req/s");
    if (m.mode == workload::GenMode::cps && rates_shown(r))
      rate += "  " + rate_text(s.conns_established, r, "conn/s");
    std::printf("  rate          %s\n", rate.c_str());
    std::printf("  latency       %s\n", latency_text(s.latency, false).c_str());
  }
  std::printf("  payload       sent %s (acknowledged %s)  received %s  retransmitted %s\n",
              human_bytes(s.bytes_tx).c_str(), human_bytes(s.bytes_acked).c_str(),
              human_bytes(s.bytes_rx).c_str(), human_bytes(s.retransmitted_bytes).c_str());
  if (rates_shown(r))
    std::printf("  goodput       sent %.3f Gbit/s  received %.3f Gbit/s (payload, each way)\n",
                gbits(s.bytes_acked, r.elapsed_s), gbits(s.bytes_rx, r.elapsed_s));
}

}  // namespace

namespace {
std::string pacing_core(const WorkloadPlan& plan);
}  // namespace

std::string pacing_text(const WorkloadPlan& plan) {
  return pacing_core(plan) + (plan.fast_open ? ", Fast Open" : "") +
         (plan.gen.http_close ? ", a connection per request (Connection: close)" : "");
}

namespace {

std::string pacing_core(const WorkloadPlan& plan) {
  const auto& g = plan.gen;
  const bool tcp = plan.mode().tcp;
  auto count = [&](uint32_t n) {
    return std::to_string(n) + (tcp ? " connection" : " in flight") + (tcp && n != 1 ? "s" : "");
  };
  const auto mode = plan.mode().mode;
  const char* unit = mode == workload::GenMode::cps        ? " conn/s"
                     : mode == workload::GenMode::synflood ? " SYN/s"
                                                           : " req/s";
  std::string warm = plan.warmup_ns ? ", the first " + human_ns(plan.warmup_ns) + " a warm-up" : "";
  if (mode == workload::GenMode::synflood && !g.open_loop())
    return std::to_string(g.requests) + " SYNs as fast as they go" + warm;
  if (mode == workload::GenMode::synflood && g.steps.empty())
    return "open loop at " + si(g.rate) + unit +
           (g.ramp_ns ? " (reached over " + human_ns(g.ramp_ns) + ")" : std::string()) + warm;
  if (!g.steps.empty()) {
    std::string steps;
    for (const auto& st : g.steps)
      steps += (steps.empty() ? "" : ", ") + si(st.from) + unit + " for " + human_ns(st.ns);
    return "open loop in steps (" + steps + "), at most " + count(g.conns) + warm;
  }
  if (g.rate > 0)
    return "open loop at " + si(g.rate) + unit +
           (g.ramp_ns ? " (reached over " + human_ns(g.ramp_ns) + ")" : std::string()) +
           ", at most " + count(g.conns) + warm;
  return "closed loop, " + count(g.conns) +
         (g.ramp_ns ? " (reached over " + human_ns(g.ramp_ns) + ")" : std::string()) + warm;
}

}  // namespace

void print_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  switch (plan.mode().mode) {
    case workload::GenMode::ping: print_ping_summary(title, plan, r); break;
    case workload::GenMode::synflood: print_synflood_summary(title, plan, r); break;
    case workload::GenMode::slowread: print_slowread_summary(title, plan, r); break;
    default:
      if (per_datagram(plan))
        print_dns_udp_summary(title, plan, r);
      else
        print_tcp_summary(title, plan, r);
  }
  std::fflush(stdout);
}

nlohmann::ordered_json interval_json(const IntervalRecord& iv) {
  const double dt = double(iv.end_ns - iv.start_ns) / 1e9;
  auto per_s = [&](uint64_t n) {
    return dt > 0 ? nlohmann::ordered_json(double(n) / dt) : nlohmann::ordered_json(nullptr);
  };
  const util::Histogram h = iv.latency.expand();
  nlohmann::ordered_json j = {{"start_s", double(iv.start_ns) / 1e9},
                              {"end_s", double(iv.end_ns) / 1e9},
                              {"warmup", iv.warmup},
                              {"requests_sent", iv.requests_sent},
                              {"responses_ok", iv.responses_ok},
                              {"errors", iv.errors},
                              {"conns_established", iv.conns_established},
                              {"bytes_acked", iv.bytes_acked},
                              {"bytes_rx", iv.bytes_rx},
                              {"retransmitted", iv.retransmitted},
                              {"open", iv.open},
                              {"rps", per_s(iv.responses_ok)},
                              {"cps", per_s(iv.conns_established)},
                              {"goodput_gbps",
                               {{"sent", dt > 0 ? gbits(iv.bytes_acked, dt) : 0.0},
                                {"received", dt > 0 ? gbits(iv.bytes_rx, dt) : 0.0}}},
                              {"latency_us", latency_or_null(h)},
                              {"latency_histogram", histogram_json(h)}};
  return j;
}

void write_hdr_log_file(const std::string& path, const std::string& what, double start_unix_s,
                        const std::vector<IntervalRecord>& intervals) {
  write_hdr_log_tagged(path, what, start_unix_s, {{"", &intervals}});
}

void write_hdr_log_tagged(const std::string& path, const std::string& what, double start_unix_s,
                          const std::vector<TaggedIntervals>& sets) {
  std::vector<util::Histogram> hs;
  size_t total = 0;
  for (const TaggedIntervals& t : sets) total += t.intervals->size();
  hs.reserve(total);  // the log's entries point into it
  std::vector<HdrInterval> out;
  for (const TaggedIntervals& t : sets)
    for (const IntervalRecord& iv : *t.intervals) {
      hs.push_back(iv.latency.expand());
      out.push_back({double(iv.start_ns) / 1e9, double(iv.end_ns - iv.start_ns) / 1e9, &hs.back(),
                     t.tag});
    }
  std::stable_sort(out.begin(), out.end(),
                   [](const HdrInterval& a, const HdrInterval& b) { return a.start_s < b.start_s; });
  write_hdr_log(path, start_unix_s, out, what);
}

void write_json(const std::string& command, const WorkloadPlan& plan, const WorkloadResult& r,
                const std::vector<RoleCounters>& counters,
                const std::string& failure) {
  // The JSON first: a log that cannot be written loses nothing else.
  if (!plan.json_path.empty())
    write_json_file(plan.json_path, result_json(command, plan, r, counters, failure));
  if (!plan.hdr_log_path.empty())
    write_hdr_log_file(plan.hdr_log_path,
                       "touchstone " + command + " --mode " + plan.mode().name +
                           ": latency in nanoseconds, " + version_line(),
                       r.start_unix_s, r.intervals);
}

nlohmann::ordered_json result_json(const std::string& command, const WorkloadPlan& plan,
                                   const WorkloadResult& r,
                                   const std::vector<RoleCounters>& counters,
                                   const std::string& failure) {
  const auto& s = r.stats;
  const auto& g = plan.gen;
  const auto& m = plan.mode();
  nlohmann::ordered_json j = json_meta(command);
  j["mode"] = m.name;
  j["target"] = m.tcp ? g.target.str() + ":" + std::to_string(g.port) : g.target.str();
  j["duration_s"] = r.elapsed_s;
  j["start_unix_s"] = r.start_unix_s;
  j["interval_s"] = double(plan.interval_ns()) / 1e9;
  nlohmann::ordered_json config = {{"conns", g.conns}};
  if (mode_takes(g.mode, "--rate")) config["rate"] = g.rate;
  if (mode_takes(g.mode, "--requests")) config["requests"] = g.requests;
  if (mode_takes(g.mode, "--req-size")) config["req_size"] = g.req_size;
  if (mode_takes(g.mode, "--resp-size")) config["resp_size"] = g.resp_size;
  if (mode_takes(g.mode, "--path")) {
    config["method"] = g.method;
    if (g.paths.empty())
      config["path"] = g.path;
    else
      config["paths"] = {{"count", g.paths.size()}, {"order", g.paths_random ? "random" : "turn"}};
    config["headers"] = g.headers;
    config["body_size"] = g.body_size;
  }
  if (mode_takes(g.mode, "--reverse"))
    config["direction"] = g.direction == workload::BulkDirection::send      ? "send"
                          : g.direction == workload::BulkDirection::receive ? "receive"
                                                                            : "both";
  if (g.ramp_ns) config["ramp_s"] = double(g.ramp_ns) / 1e9;
  if (!g.steps.empty()) {
    nlohmann::ordered_json st = nlohmann::ordered_json::array();
    for (const auto& x : g.steps) st.push_back({{"rate", x.from}, {"duration_s", double(x.ns) / 1e9}});
    config["steps"] = st;
  }
  if (plan.warmup_ns) config["warmup_s"] = double(plan.warmup_ns) / 1e9;
  if (mode_takes(g.mode, "--size")) config["size"] = g.size;
  if (mode_takes(g.mode, "--read-rate")) config["read_rate"] = g.read_rate;
  if (mode_takes(g.mode, "--tfo")) config["tfo"] = plan.fast_open;
  if (m.tcp && !per_datagram(plan) && g.mode != workload::GenMode::synflood)
    config["window"] = g.window_max();
  else if (g.mode == workload::GenMode::synflood && g.legit_conns)
    config["window"] = g.legit_config().window_max();
  if (m.tcp && !per_datagram(plan)) {
    config["cc"] = plan.cc;
    config["sack"] = plan.sack;
    config["pacing"] = plan.pacing;
    config["sndbuf"] = plan.sndbuf;
    config["rcvbuf"] = g.mode == workload::GenMode::slowread ? workload::SlowRead::kRcvbuf : plan.rcvbuf;
  }
  if (mode_takes(g.mode, "--close")) config["close"] = g.http_close;
  if (mode_takes(g.mode, "--cps-close")) config["cps_close"] = g.cps_half_close ? "request" : "response";
  if (mode_takes(g.mode, "--timeout")) config["timeout_ms"] = double(g.timeout_ns) / 1e6;
  if (g.mode == workload::GenMode::dns) {
    config["transport"] = !g.dns_tcp ? "udp" : g.dns_keepalive ? "tcp-keepalive" : "tcp";
    config["qnames"] = g.qnames.size() == 1 ? nlohmann::ordered_json(g.qnames[0])
                                            : nlohmann::ordered_json({{"count", g.qnames.size()}});
  }
  j["config"] = config;
  j["ok"] = failure.empty();
  j["failure"] = failure.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(failure);
  if (m.mode == workload::GenMode::synflood) {
    j["syns_sent"] = s.requests_sent;
    j["syn_acks"] = s.responses_ok;
    j["resets"] = s.resets;
    j["send_failed"] = s.send_failed;
    j["dropped_late"] = s.late_dropped;
    j["syn_rate"] = rate_json(s.requests_sent, r);
    j["syn_ack_rate"] = rate_json(s.responses_ok, r);
    j["syn_ack_latency_us"] = latency_or_null(s.latency);
    j["syn_ack_latency_histogram"] = histogram_json(s.latency);
    if (g.legit_conns)
      j["legit"] = {{"conns", g.legit_conns},
                    {"completed", s.legit_ok},
                    {"cps", rate_json(s.legit_ok, r)},
                    {"connections",
                     {{"attempted", s.conns_attempted}, {"established", s.conns_established},
                      {"failed", s.conns_failed}, {"refused", s.conns_refused},
                      {"timed_out", s.conns_timed_out}, {"reset", s.conns_reset},
                      {"no_slot", s.conns_no_slot}}},
                    {"lost", s.legit_errors},
                    {"latency_us", latency_or_null(s.legit_latency)},
                    {"latency_histogram", histogram_json(s.legit_latency)}};
  } else if (m.mode == workload::GenMode::slowread) {
    j["connections"] = {{"attempted", s.conns_attempted}, {"established", s.conns_established},
                        {"failed", s.conns_failed},       {"no_slot", s.conns_no_slot}};
    j["kept"] = s.conns_established - s.conns_closed_by_peer - s.conns_reset;
    j["closed_by_target"] = s.conns_closed_by_peer;
    j["reset_by_target"] = s.conns_reset;
    j["ended_after_ms"] = s.latency.count() ? nlohmann::ordered_json(
                                                  {{"min", double(s.latency.min()) / 1e6},
                                                   {"p50", double(s.latency.quantile(0.5)) / 1e6},
                                                   {"max", double(s.latency.max()) / 1e6}})
                                            : nlohmann::ordered_json(nullptr);
    j["ended_after_histogram"] = histogram_json(s.latency);
    j["bytes"] = {{"tx", s.bytes_tx}, {"rx", s.bytes_rx}};
  } else if (per_datagram(plan)) {
    j["requests_sent"] = s.requests_sent;
    j["responses_ok"] = s.responses_ok;
    j["lost"] = s.errors;
    j["late"] = s.late_replies;
    j["corrupt"] = s.responses_bad;
    j["duplicate"] = s.duplicates;
    j["foreign"] = s.foreign;
    j["send_failed"] = s.send_failed;
    if (m.mode == workload::GenMode::dns) j["dns_rcode"] = rcode_json(s);
    j["rps"] = rate_json(s.responses_ok, r);
    j["latency_us"] = latency_or_null(s.latency);
    j["latency_histogram"] = histogram_json(s.latency);
  } else {
    j["connections"] = {{"attempted", s.conns_attempted}, {"established", s.conns_established},
                        {"failed", s.conns_failed},       {"refused", s.conns_refused},
                        {"timed_out", s.conns_timed_out}, {"reset", s.conns_reset},
                        {"no_slot", s.conns_no_slot}};
    if (m.requests) {
      j["requests_sent"] = s.requests_sent;
      j["responses_ok"] = s.responses_ok;
      j["responses_bad"] = s.responses_bad;
      j["requests_lost"] = s.errors;
      j["requests_dropped_late"] = s.late_dropped;
      if (m.mode == workload::GenMode::dns) j["dns_rcode"] = rcode_json(s);
      if (m.mode == workload::GenMode::http) {
        nlohmann::ordered_json st = nlohmann::ordered_json::object();
        for (unsigned i = 0; i < s.http_status.size(); ++i)
          if (s.http_status[i]) st[std::to_string(i + s.kFirstStatus)] = s.http_status[i];
        j["http_status"] = st;
      }
    }
    j["bytes"] = {{"tx", s.bytes_tx},
                  {"tx_acked", s.bytes_acked},
                  {"rx", s.bytes_rx},
                  {"retransmitted", s.retransmitted_bytes}};
    if (m.mode == workload::GenMode::cps) j["cps"] = rate_json(s.conns_established, r);
    if (m.requests) j["rps"] = rate_json(s.responses_ok, r);
    j["goodput_gbps"] = {
        {"sent", rates_shown(r) ? nlohmann::ordered_json(gbits(s.bytes_acked, r.elapsed_s))
                                : nlohmann::ordered_json(nullptr)},
        {"received", rates_shown(r) ? nlohmann::ordered_json(gbits(s.bytes_rx, r.elapsed_s))
                                    : nlohmann::ordered_json(nullptr)}};
    if (m.requests) {
      j["latency_us"] = latency_or_null(s.latency);
      j["latency_histogram"] = histogram_json(s.latency);
    }
  }
  nlohmann::ordered_json cj = nlohmann::ordered_json::object();
  nlohmann::ordered_json bj = nlohmann::ordered_json::object();
  for (const auto& rc : counters) {
    cj[rc.role] = counters_json(rc.counters);
    rc.port.for_each([&](const char* name, uint64_t v, bool, const char*) {
      if (v) cj[rc.role][name] = v;
    });
    bj[rc.role] = {{"busy_s", rc.busy.busy_s},
                   {"span_s", rc.busy.span_s},
                   {"fraction", rc.busy.fraction()}};
  }
  j["counters"] = cj;
  j["busy"] = bj;
  nlohmann::ordered_json ivs = nlohmann::ordered_json::array();
  for (const IntervalRecord& iv : r.intervals) ivs.push_back(interval_json(iv));
  j["intervals"] = ivs;
  return j;
}

int exit_status(const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  // The attack modes measure how the target answers: the run succeeded when
  // the load went out.
  if (plan.mode().mode == workload::GenMode::synflood) return s.requests_sent > 0 ? 0 : 1;
  if (plan.mode().mode == workload::GenMode::slowread) return s.conns_established > 0 ? 0 : 1;
  if (per_datagram(plan)) return s.responses_ok > 0 && s.responses_bad == 0 ? 0 : 1;
  if (!plan.mode().requests) {
    const auto d = plan.gen.direction;
    const bool sent = d == workload::BulkDirection::receive || s.bytes_acked > 0;
    const bool received = d == workload::BulkDirection::send || s.bytes_rx > 0;
    return sent && received && !s.conns_failed ? 0 : 1;
  }
  return s.responses_ok > 0 && !s.responses_bad && !s.errors && !s.conns_failed ? 0 : 1;
}

std::string failure_cause(const WorkloadPlan& plan, const WorkloadResult& r,
                          const stack::Counters& c) {
  if (exit_status(plan, r) == 0) return {};
  const auto& s = r.stats;
  const auto& g = plan.gen;
  const auto& m = plan.mode();
  const std::string target =
      m.tcp ? g.target.str() + ":" + std::to_string(g.port) : g.target.str();
  auto n = [](uint64_t v) { return std::to_string(v); };
  if (c.arp_requests_out && !c.arp_replies_in)
    return "no ARP reply for the next hop toward " + g.target.str() + " (" +
           n(c.arp_requests_out) + " requests): nothing answers at that address on this link";
  if (c.ipv4_no_route) return "no route to " + g.target.str() + " (" + n(c.ipv4_no_route) + " packets)";
  if (m.mode == workload::GenMode::synflood)
    return "no SYN could be sent (" + n(s.send_failed) + " found no buffer)";
  if (per_datagram(plan) && m.tcp) {
    if (s.responses_bad) return n(s.responses_bad) + " bad answers (rcode " + rcode_text(s) + ")";
    if (!s.requests_sent) return "no query could be sent (" + n(s.send_failed) + " found no buffer or port)";
    return "no answer from " + target + " to " + n(s.requests_sent) + " queries";
  }
  if (!m.tcp) {
    if (s.responses_bad) return n(s.responses_bad) + " replies differed from their request";
    if (!s.requests_sent) return "no echo request could be sent (" + n(s.send_failed) + " found no buffer)";
    return "no echo reply from " + g.target.str() + " to " + n(s.requests_sent) + " requests";
  }
  if (!s.conns_attempted)
    return "no connection could be opened (" + n(s.conns_no_slot) +
           " times no local port or connection slot was free)";
  if (!s.conns_established && s.conns_refused)
    return "every connection was refused (" + n(s.conns_refused) + " resets to our SYN): " +
           "nothing listens on " + target;
  if (!s.conns_established && s.conns_timed_out)
    return "no answer from " + target + ": " + n(s.conns_timed_out) +
           " connection attempts timed out";
  if (!s.conns_established)
    return "no connection to " + target + " was established in " +
           human_ns(uint64_t(r.elapsed_s * 1e9)) + " (" + n(s.conns_attempted) + " attempted)";
  std::string why;
  auto add = [&](uint64_t v, const std::string& what) {
    if (v) why += (why.empty() ? "" : ", ") + n(v) + " " + what;
  };
  add(s.conns_failed, "connections failed (" + n(s.conns_refused) + " refused, " +
                          n(s.conns_timed_out) + " timed out)");
  if (m.mode == workload::GenMode::http && s.responses_bad)
    add(s.responses_bad, "bad responses (status " + status_text(s) + ")");
  else if (m.mode == workload::GenMode::dns && s.responses_bad)
    add(s.responses_bad, "bad answers (rcode " + rcode_text(s) + ")");
  else
    add(s.responses_bad, "bad responses (wrong length or content, or bytes nobody asked for)");
  add(s.errors, "requests lost with their connection (" + n(s.conns_reset) + " resets)");
  if (!why.empty()) return why;
  if (m.requests) return "no response came back from " + target;
  if (g.direction != workload::BulkDirection::send && !s.bytes_rx)
    return "nothing came from " + target + " (bulk --reverse and --bidir need a sender there, "
           "like serve --app source)";
  return "nothing sent to " + target + " was acknowledged";
}

}  // namespace ts::app
