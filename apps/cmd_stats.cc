// touchstone stats: counters per core and the connection list of a running
// serve, gen or demo, read from its DPDK telemetry socket (see introspect.hh).
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.hh"
#include "apps/introspect.hh"
#include "drivers-glue/eal.hh"

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

}  // namespace

namespace {

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
    for (const auto& row : list) {
      std::istringstream in(row.get<std::string>());
      nlohmann::ordered_json e;
      for (const char* field : kCacheRowFields) {
        std::string v;
        in >> v;
        if (field == std::string("remote") || field == std::string("local"))
          e[field] = v;
        else
          e[field] = std::strtoull(v.c_str(), nullptr, 10);
      }
      entries.push_back(e);
    }
    off += list.size();
    if (list.empty() || off >= page.value("total", size_t(0))) break;
  }
  if (json) {
    nlohmann::ordered_json out = {{"pid", info.value("pid", 0)},
                                  {"command", info.value("command", "")},
                                  {"policy", policy},
                                  {"entries", entries}};
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
                "open %llu window %llu closes %llu\n",
                e["remote"].get<std::string>().c_str(), double(e["age_ms"].get<uint64_t>()) / 1e3,
                e["local"].get<std::string>().c_str(), srtt ? ms(srtt).c_str() : "-",
                srtt ? ms(e["rttvar_us"]).c_str() : "-",
                e["min_rtt_us"].get<uint64_t>() ? ms(e["min_rtt_us"]).c_str() : "-",
                mss ? std::to_string(mss).c_str() : "-", sst ? std::to_string(sst).c_str() : "-",
                (unsigned long long)e["open"].get<uint64_t>(),
                (unsigned long long)e["window"].get<uint64_t>(),
                (unsigned long long)e["closes"].get<uint64_t>());
  }
  return 0;
}

}  // namespace

int run_stats(const StatsArgs& a) {
  if (!a.what.empty() && a.what != "hostcache")
    usage_error("stats '" + a.what + "': the only section is hostcache");
  std::string path = a.socket;
  if (path.empty()) {
    std::vector<Instance> all = find_instances();
    if (a.pid) {
      std::erase_if(all, [&](const Instance& i) { return i.pid != a.pid; });
      if (all.empty())
        throw std::runtime_error("no running touchstone with pid " + std::to_string(a.pid) +
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
  if (a.what == "hostcache") return print_hostcache(cl, info, a.json);
  nlohmann::json out = {{"pid", info.value("pid", 0)},
                        {"command", info.value("command", "")},
                        {"cores", nlohmann::json::array()}};
  const auto cores = info.value("cores", nlohmann::json::array());
  for (size_t i = 0; i < cores.size(); ++i) {
    nlohmann::json core = {{"core", cores[i]}};
    const nlohmann::json c = cl.ask("/touchstone/counters," + std::to_string(i));
    if (!c.is_object()) {
      core["error"] = "the core did not answer (not polling)";
      out["cores"].push_back(core);
      continue;
    }
    core["counters"] = c;
    if (a.connections) {
      nlohmann::json rows = nlohmann::json::array();
      for (size_t off = 0;;) {
        const nlohmann::json page =
            cl.ask("/touchstone/connections," + std::to_string(i) + "," + std::to_string(off));
        if (!page.is_object()) break;
        const auto list = page.value("connections", nlohmann::json::array());
        for (const auto& r : list) rows.push_back(r);
        off += list.size();
        if (list.empty() || off >= page.value("total", size_t(0)) || off >= a.max_connections)
          break;
      }
      core["connections"] = rows;
    }
    out["cores"].push_back(core);
  }
  if (a.json) {
    std::printf("%s\n", out.dump(1).c_str());
    return 0;
  }
  std::printf("touchstone %s, pid %d, %zu core%s\n", out["command"].get<std::string>().c_str(),
              out["pid"].get<int>(), cores.size(), cores.size() == 1 ? "" : "s");
  for (const auto& core : out["cores"]) {
    std::printf("core %s\n", core["core"].get<std::string>().c_str());
    if (core.contains("error")) {
      std::printf("  %s\n", core["error"].get<std::string>().c_str());
      continue;
    }
    for (const auto& [k, v] : core["counters"].items()) {
      if (v.is_string())
        continue;
      std::printf("  %-28s %14llu\n", k.c_str(), (unsigned long long)v.get<uint64_t>());
    }
    if (core.contains("connections")) {
      std::printf("  %-11s %7s %7s %21s %21s %s\n", "State", "Recv-Q", "Send-Q",
                  "Local Address:Port", "Peer Address:Port", "rtt/var ms, cwnd segs, timer");
      for (const auto& r : core["connections"])
        std::printf("  %s\n", r.get<std::string>().c_str());
    }
  }
  return 0;
}

}  // namespace ts::app
