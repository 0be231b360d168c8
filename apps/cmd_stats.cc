// touchstone stats: counters per core and the connection list of a running
// serve, gen or demo, read from its DPDK telemetry socket (see introspect.hh).
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "apps/prometheus.hh"
#include "apps/report.hh"
#include "drivers-glue/eal.hh"
#include "drivers-glue/port.hh"
#include "util/parse.hh"

namespace ts::app {

namespace {

struct Instance {
  int pid;
  std::string socket;
};

// Where DPDK puts runtime directories: /var/run/dpdk for root, else
// $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk.
std::string dpdk_runtime_base() {
  if (getuid() == 0) return "/var/run/dpdk";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  return std::string(xdg && *xdg ? xdg : "/tmp") + "/dpdk";
}

std::vector<Instance> find_instances() {
  std::vector<Instance> out;
  const std::string base = dpdk_runtime_base();
  DIR* d = opendir(base.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const size_t plen = std::strlen(glue::kFilePrefix);
    if (name.compare(0, plen, glue::kFilePrefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + plen, &end, 10);
    if (pid <= 0 || *end || name != glue::file_prefix_for(int(pid))) continue;
    if (kill(pid_t(pid), 0) != 0 && errno == ESRCH) continue;  // a stale directory
    const std::string sock = base + "/" + e->d_name + "/dpdk_telemetry.v2";
    if (access(sock.c_str(), F_OK) == 0) out.push_back({int(pid), sock});
  }
  closedir(d);
  return out;
}

class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(errno));
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    read_message();  // the greeting: version, pid, max_output_len
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  // The reply's value for the command (null when the instance refused it).
  nlohmann::json ask(const std::string& cmd) {
    if (send(fd_, cmd.data(), cmd.size(), 0) < 0)
      throw std::runtime_error(std::string("telemetry send: ") + std::strerror(errno));
    const nlohmann::json j = read_message();
    const std::string key = cmd.substr(0, cmd.find(','));
    return j.contains(key) ? j[key] : nlohmann::json();
  }

 private:
  nlohmann::json read_message() {
    std::vector<char> buf(1 << 17);
    const ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) throw std::runtime_error("no answer on the telemetry socket");
    auto j = nlohmann::json::parse(std::string(buf.data(), size_t(n)), nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("unreadable answer on the telemetry socket");
    return j;
  }
  int fd_ = -1;
};

// One core's answer.
struct CoreView {
  std::string name;  // "gen lcore 3"
  std::string role;
  bool answered = false;
  uint64_t uptime_ms = 0, connections_open = 0;
  std::vector<std::pair<std::string, uint64_t>> counters;  // non-zero
  std::vector<std::vector<std::string>> connections;       // rows split into fields
};

struct InstanceView {
  int pid = 0;
  std::string command;
  std::vector<CoreView> cores;
};

std::vector<std::string> split_fields(const std::string& row) {
  std::vector<std::string> f;
  std::istringstream in(row);
  for (std::string w; in >> w;) f.push_back(w);
  return f;
}

InstanceView collect(Client& cl, const nlohmann::json& info, bool connections,
                     size_t max_connections) {
  InstanceView v;
  v.pid = info.value("pid", 0);
  v.command = info.value("command", "");
  const auto cores = info.value("cores", nlohmann::json::array());
  for (size_t i = 0; i < cores.size(); ++i) {
    CoreView core;
    core.name = cores[i].get<std::string>();
    const nlohmann::json c = cl.ask("/touchstone/counters," + std::to_string(i));
    if (c.is_object()) {
      core.answered = true;
      for (const auto& [k, val] : c.items()) {
        if (k == "role")
          core.role = val.get<std::string>();
        else if (k == "uptime_ms")
          core.uptime_ms = val.get<uint64_t>();
        else if (k == "connections")
          core.connections_open = val.get<uint64_t>();
        else if (val.is_number_unsigned() && val.get<uint64_t>())
          core.counters.emplace_back(k, val.get<uint64_t>());
      }
    }
    for (size_t off = 0; core.answered && connections && off < max_connections;) {
      const nlohmann::json page =
          cl.ask("/touchstone/connections," + std::to_string(i) + "," + std::to_string(off));
      if (!page.is_object()) break;
      const auto list = page.value("connections", nlohmann::json::array());
      for (size_t k = 0; k + 1 < list.size(); k += 2) {  // two strings per connection
        if (core.connections.size() >= max_connections) break;
        auto f = split_fields(list[k].get<std::string>() + " " + list[k + 1].get<std::string>());
        core.connections.push_back(std::move(f));
      }
      off += list.size() / 2;
      if (list.empty() || off >= page.value("total", size_t(0))) break;
    }
    v.cores.push_back(std::move(core));
  }
  return v;
}

double field_num(const std::vector<std::string>& f, size_t i) {
  return i < f.size() ? std::strtod(f[i].c_str(), nullptr) : 0;
}

// Field positions (kConnectionRowFields).
enum Field : size_t {
  kState, kRecvQ, kSendQ, kLocal, kPeer, kTimer, kSrtt, kRttvar, kCwnd, kRetrans, kAcked,
  kReceived, kAge, kHeld, kPersist
};

// Delivery rate over the connection's life: acknowledged bits per second.
double delivery_bps(const std::vector<std::string>& f) {
  const double age_s = field_num(f, kAge) / 1e3;
  return age_s > 0 ? field_num(f, kAcked) * 8 / age_s : 0;
}

nlohmann::ordered_json connection_json(const std::vector<std::string>& f) {
  nlohmann::ordered_json j;
  for (size_t i = 0; i < kConnectionFields; ++i) {
    const std::string key = kConnectionRowFields[i];
    const std::string val = i < f.size() ? f[i] : "";
    if (key == "state" || key == "local" || key == "peer" || key == "timer")
      j[key] = val;
    else
      j[key] = std::strtoull(val.c_str(), nullptr, 10);
  }
  j["delivery_mbps"] = delivery_bps(f) / 1e6;
  return j;
}

nlohmann::ordered_json instance_json(const InstanceView& v, const std::string& section) {
  nlohmann::ordered_json j = json_meta("stats");
  j["section"] = section;
  j["instance"] = {{"pid", v.pid}, {"command", v.command}};
  j["cores"] = nlohmann::ordered_json::array();
  for (const CoreView& c : v.cores) {
    nlohmann::ordered_json core = {{"core", c.name}, {"role", c.role}};
    if (!c.answered) {
      core["error"] = "the core did not answer (not polling)";
      j["cores"].push_back(core);
      continue;
    }
    core["uptime_ms"] = c.uptime_ms;
    core["connections_open"] = c.connections_open;
    nlohmann::ordered_json counters = nlohmann::ordered_json::object();
    for (const auto& [k, val] : c.counters) counters[k] = val;
    core["counters"] = counters;
    j["cores"].push_back(core);
  }
  return j;
}

void print_connections(const CoreView& c) {
  std::printf("  %-11s %7s %7s %21s %21s %15s %6s %10s %12s %12s %12s %12s  %s\n", "State",
              "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "rtt/var ms",
              "cwnd", "retrans", "acked", "received", "delivery", "held back", "timer");
  for (const auto& f : c.connections) {
    if (f.size() < kConnectionFields) continue;
    char rtt[32];
    std::snprintf(rtt, sizeof rtt, "%.3f/%.3f", field_num(f, kSrtt) / 1e3,
                  field_num(f, kRttvar) / 1e3);
    const double bps = delivery_bps(f);
    const uint64_t held_ms = uint64_t(field_num(f, kHeld));
    const std::string held =
        held_ms ? human_ns(held_ms * 1'000'000) + " (" + f[kPersist] + "x)" : std::string("-");
    std::printf("  %-11s %7s %7s %21s %21s %15s %6s %10s %12s %12s %12s %12s  %s\n",
                f[kState].c_str(), f[kRecvQ].c_str(), f[kSendQ].c_str(), f[kLocal].c_str(),
                f[kPeer].c_str(), rtt, f[kCwnd].c_str(),
                human_bytes(uint64_t(field_num(f, kRetrans))).c_str(),
                human_bytes(uint64_t(field_num(f, kAcked))).c_str(),
                human_bytes(uint64_t(field_num(f, kReceived))).c_str(),
                bps > 0 ? (si(bps) + "bit/s").c_str() : "-", held.c_str(), f[kTimer].c_str());
  }
}

// Counters as text: name, value, per second (watch), description, drops marked.
void print_counters_text(const CoreView& c, const CoreView* before, double dt) {
  const auto& m = counter_meanings();
  std::map<std::string, uint64_t, std::less<>> prev;
  if (before)
    for (const auto& [k, v] : before->counters) prev[k] = v;
  for (const auto& [k, v] : c.counters) {
    auto it = m.find(k);
    const std::string desc =
        it == m.end() ? std::string() : (it->second.drop ? "drop: " : "") + it->second.text;
    if (before) {
      const uint64_t p = prev.count(k) ? prev[k] : 0;
      std::printf("  %-28s %14llu %10s/s  %s\n", k.c_str(), (unsigned long long)v,
                  si(double(v >= p ? v - p : 0) / dt).c_str(), desc.c_str());
    } else {
      std::printf("  %-28s %14llu  %s\n", k.c_str(), (unsigned long long)v, desc.c_str());
    }
  }
}

// The instance's counters in Prometheus's text format.
std::string prometheus_of(const InstanceView& v) {
  std::vector<MetricsCore> cores;
  for (const CoreView& c : v.cores) {
    MetricsCore m;
    // "gen lcore 3"
    const size_t at = c.name.rfind(" lcore ");
    m.role = c.role.empty() ? c.name.substr(0, c.name.find(' ')) : c.role;
    m.lcore = at == std::string::npos ? 0 : unsigned(std::strtoul(c.name.c_str() + at + 7, nullptr, 10));
    m.answered = c.answered;
    m.uptime_ms = c.uptime_ms;
    m.connections_open = c.connections_open;
    m.counters = c.counters;
    cores.push_back(std::move(m));
  }
  return prometheus_text(v.command, v.pid, cores);
}

void print_instance(const InstanceView& v, const InstanceView* before, double dt) {
  std::printf("touchstone %s, pid %d, %zu core%s\n", v.command.c_str(), v.pid, v.cores.size(),
              v.cores.size() == 1 ? "" : "s");
  for (size_t i = 0; i < v.cores.size(); ++i) {
    const CoreView& c = v.cores[i];
    std::printf("core %s", c.name.c_str());
    if (!c.answered) {
      std::printf(": the core did not answer (not polling)\n");
      continue;
    }
    std::printf(": up %.1f s, %llu connection%s open\n", double(c.uptime_ms) / 1e3,
                (unsigned long long)c.connections_open, c.connections_open == 1 ? "" : "s");
    const CoreView* b = before && i < before->cores.size() ? &before->cores[i] : nullptr;
    print_counters_text(c, before ? b : nullptr, dt);
    if (!c.connections.empty()) print_connections(c);
  }
}

}  // namespace

namespace {

// " held_back 12.3s reclaims 2 cookie_failures 5 abuse 21.0", or nothing
// for a host that has done none of it.
std::string abuse_text(const nlohmann::ordered_json& e) {
  const uint64_t held = e["held_back_ms"], reclaims = e["reclaims"], cookies = e["cookie_failures"];
  const double abuse = e["abuse"];
  if (!held && !reclaims && !cookies && abuse <= 0) return {};
  char b[160];
  std::snprintf(b, sizeof b, " held_back %.1fsec reclaims %llu cookie_failures %llu abuse %.1f",
                double(held) / 1e3, (unsigned long long)reclaims, (unsigned long long)cookies,
                abuse);
  return b;
}

// " fastopen cookie mss 1460", " fastopen blocked", or nothing.
std::string fastopen_text(const nlohmann::ordered_json& e) {
  const std::string fo = e["fastopen"];
  if (fo == "-") return {};
  const uint64_t mss = e["fastopen_mss"];
  return " fastopen " + fo + (mss ? " mss " + std::to_string(mss) : std::string());
}

// `touchstone stats hostcache`: the entries, like `ip tcp_metrics`.
int print_hostcache(Client& cl, const nlohmann::json& info, bool json) {
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  std::string policy = "off";
  for (size_t off = 0;;) {
    const nlohmann::json page = cl.ask("/touchstone/hostcache," + std::to_string(off));
    if (!page.is_object())
      throw std::runtime_error("the instance did not answer /touchstone/hostcache");
    policy = page.value("policy", policy);
    const auto list = page.value("entries", nlohmann::json::array());
    for (size_t r = 0; r + 1 < list.size(); r += 2) {  // two strings per entry
      std::istringstream in(list[r].get<std::string>() + " " + list[r + 1].get<std::string>());
      nlohmann::ordered_json e;
      for (const char* field : kCacheRowFields) {
        std::string v;
        in >> v;
        if (field == std::string("remote") || field == std::string("local") ||
            field == std::string("fastopen"))
          e[field] = v;
        else if (field == std::string("abuse"))
          e[field] = std::strtod(v.c_str(), nullptr);
        else
          e[field] = std::strtoull(v.c_str(), nullptr, 10);
      }
      entries.push_back(e);
    }
    off += list.size() / 2;
    if (list.empty() || off >= page.value("total", size_t(0))) break;
  }
  if (json) {
    nlohmann::ordered_json out = json_meta("stats");
    out["section"] = "hostcache";
    out["instance"] = {{"pid", info.value("pid", 0)}, {"command", info.value("command", "")}};
    out["policy"] = policy;
    out["entries"] = entries;
    std::printf("%s\n", out.dump(1).c_str());
    return 0;
  }
  std::printf("touchstone %s, pid %d: host-pair cache, policy %s, %zu entr%s\n",
              info.value("command", "").c_str(), info.value("pid", 0), policy.c_str(),
              entries.size(), entries.size() == 1 ? "y" : "ies");
  auto ms = [](uint64_t us) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3fms", double(us) / 1e3);
    return std::string(b);
  };
  for (const auto& e : entries) {
    const uint64_t srtt = e["srtt_us"], sst = e["ssthresh"], mss = e["mss"];
    std::printf("%s age %.1fsec source %s rtt %s rttvar %s min_rtt %s mss %s ssthresh %s "
                "open %llu window %llu closes %llu%s%s\n",
                e["remote"].get<std::string>().c_str(), double(e["age_ms"].get<uint64_t>()) / 1e3,
                e["local"].get<std::string>().c_str(), srtt ? ms(srtt).c_str() : "-",
                srtt ? ms(e["rttvar_us"]).c_str() : "-",
                e["min_rtt_us"].get<uint64_t>() ? ms(e["min_rtt_us"]).c_str() : "-",
                mss ? std::to_string(mss).c_str() : "-", sst ? std::to_string(sst).c_str() : "-",
                (unsigned long long)e["open"].get<uint64_t>(),
                (unsigned long long)e["window"].get<uint64_t>(),
                (unsigned long long)e["closes"].get<uint64_t>(), abuse_text(e).c_str(),
                fastopen_text(e).c_str());
  }
  return 0;
}

}  // namespace

int run_stats(const StatsArgs& a) {
  if (!a.what.empty() && a.what != "hostcache")
    usage_error("stats '" + a.what + "': the only section is hostcache");
  const bool cache = a.what == "hostcache";
  if (cache)
    refuse_given(a.given, {"--connections", "--max-connections", "--watch", "--prometheus"},
                 "stats hostcache");
  if (a.prometheus) {
    refuse_given(a.given, {"--connections", "--max-connections", "--json"}, "stats --prometheus");
    if (a.given.has("--watch"))
      not_applicable("--watch", "stats --prometheus (scrape it again, or use --metrics-file)");
  }
  if (!a.connections && a.given.has("--max-connections"))
    not_applicable("--max-connections", "stats without --connections");
  const auto max_conns = util::parse_count(a.max_connections);
  if (!max_conns || *max_conns == 0)
    usage_error("--max-connections '" + a.max_connections + "' is not a positive number");
  int pid = 0;
  if (!a.pid.empty()) {
    const auto p = util::parse_uint(a.pid);
    if (!p || *p == 0 || *p > 4194304)
      usage_error("--pid '" + a.pid + "' is not a process id (a positive number)");
    pid = int(*p);
  }
  if (!a.pid.empty() && !a.socket.empty()) usage_error("--pid and --socket name the instance twice");
  uint64_t watch_ns = 0;
  if (a.given.has("--watch")) {
    watch_ns = parse_duration_required(a.watch.empty() ? "1s" : a.watch, "--watch");
    if (watch_ns < 100'000'000) usage_error("--watch '" + a.watch + "' must be at least 100ms");
  }
  std::string path = a.socket;
  if (path.empty()) {
    std::vector<Instance> all = find_instances();
    if (pid) {
      std::erase_if(all, [&](const Instance& i) { return i.pid != pid; });
      if (all.empty())
        throw std::runtime_error("no running touchstone with pid " + std::to_string(pid) +
                                 " (looked in " + dpdk_runtime_base() + ")");
    }
    if (all.empty())
      throw std::runtime_error("no running touchstone serve, gen or demo found (looked in " +
                               dpdk_runtime_base() + ")");
    if (all.size() > 1) {
      std::string pids;
      for (const auto& i : all) pids += " " + std::to_string(i.pid);
      throw UsageError("several instances are running (pids" + pids + "); choose one with --pid");
    }
    path = all[0].socket;
  }
  Client cl(path);
  const nlohmann::json info = cl.ask("/touchstone/info");
  if (!info.is_object())
    throw std::runtime_error(path + " is not a touchstone instance's telemetry socket");
  if (cache) return print_hostcache(cl, info, a.json);
  const size_t limit = size_t(*max_conns);
  if (!watch_ns) {
    const InstanceView v = collect(cl, info, a.connections, limit);
    if (a.prometheus) {
      std::fputs(prometheus_of(v).c_str(), stdout);
      return 0;
    }
    if (a.json) {
      nlohmann::ordered_json j = instance_json(v, "counters");
      if (a.connections)
        for (size_t i = 0; i < v.cores.size(); ++i) {
          nlohmann::ordered_json rows = nlohmann::ordered_json::array();
          for (const auto& f : v.cores[i].connections) rows.push_back(connection_json(f));
          j["cores"][i]["connections"] = rows;
        }
      std::printf("%s\n", j.dump(1).c_str());
    } else {
      print_instance(v, nullptr, 0);
    }
    return 0;
  }
  // --watch: the counters again every interval, with their rates over it,
  // in place (text) or one JSON object per line, until Ctrl-C or the
  // instance ends.
  install_signal_handlers();
  InstanceView before = collect(cl, info, a.connections, limit);
  auto t_before = std::chrono::steady_clock::now();
  while (!g_stop.load()) {
    const auto next = t_before + std::chrono::nanoseconds(watch_ns);
    while (!g_stop.load() && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (g_stop.load()) break;
    InstanceView now_v;
    try {
      now_v = collect(cl, info, a.connections, limit);
    } catch (const std::exception&) {
      std::fprintf(stderr, "touchstone stats: the instance (pid %d) ended\n", before.pid);
      return 0;
    }
    const auto t_now = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(t_now - t_before).count();
    if (a.json) {
      nlohmann::ordered_json j = instance_json(now_v, "counters");
      j["interval_s"] = dt;
      for (size_t i = 0; i < now_v.cores.size() && i < before.cores.size(); ++i) {
        if (!now_v.cores[i].answered) continue;
        std::map<std::string, uint64_t, std::less<>> prev(before.cores[i].counters.begin(),
                                                          before.cores[i].counters.end());
        nlohmann::ordered_json rates = nlohmann::ordered_json::object();
        for (const auto& [k, v] : now_v.cores[i].counters) {
          const uint64_t p = prev.count(k) ? prev[k] : 0;
          rates[k] = double(v >= p ? v - p : 0) / dt;
        }
        j["cores"][i]["rates"] = rates;
      }
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("\033[H\033[2J");  // home and clear, as watch(1) redraws
      std::printf("every %s (Ctrl-C to stop)\n", human_ns(watch_ns).c_str());
      print_instance(now_v, &before, dt);
    }
    std::fflush(stdout);
    before = std::move(now_v);
    t_before = t_now;
  }
  return 0;
}

}  // namespace ts::app
