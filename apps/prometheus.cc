#include "apps/prometheus.hh"

#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "apps/version.hh"
#include "drivers-glue/port.hh"
#include "stack/counters.hh"

namespace ts::app {

const std::map<std::string, Meaning, std::less<>>& counter_meanings() {
  static const auto* m = [] {
    auto* out = new std::map<std::string, Meaning, std::less<>>;
    stack::Counters{}.for_each([&](std::string_view name, uint64_t, bool drop, std::string_view d) {
      (*out)[std::string(name)] = {drop, false, std::string(d)};
    });
#define TS_X(name, drop, always, desc) (*out)["port_" #name] = {drop, false, desc};
    TS_PORT_COUNTERS(TS_X)
#undef TS_X
    (*out)["tcp_buffer_bytes_in_use"] = {false, true,
                                         "receive and send ring storage held by connections"};
    (*out)["tcp_buffer_bytes_cached"] = {false, true, "ring storage kept for reuse"};
    return out;
  }();
  return *m;
}

namespace {

// A counter's family name and direction: "port_rx_packets" is
// ("port_packets", "rx"), "tcp_segs_in" ("tcp_segs", "in").
std::pair<std::string, std::string> family_of(const std::string& name) {
  std::vector<std::string> parts;
  for (size_t b = 0;;) {
    const size_t e = name.find('_', b);
    parts.push_back(name.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  // rx and tx anywhere; in and out only as the last word ("bytes_in_use"
  // is no direction).
  std::string dir;
  std::string fam;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    const bool last = i + 1 == parts.size();
    if (dir.empty() && (p == "rx" || p == "tx" || (last && (p == "in" || p == "out")))) {
      dir = p;
      continue;
    }
    fam += (fam.empty() ? "" : "_") + p;
  }
  if (fam.empty()) return {name, ""};
  // Prometheus's linter reads "us" as microseconds: "eth_not_for_us" is
  // exported as "eth_foreign".
  if (const size_t at = fam.find("_not_for_us"); at != std::string::npos)
    fam.replace(at, 11, "_foreign");
  return {fam, dir};
}

std::string escape_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string escape_help(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

struct Family {
  std::string type, help;
  std::vector<std::string> samples;
};

}  // namespace

std::string prometheus_text(const std::string& command, int pid,
                            const std::vector<MetricsCore>& cores) {
  std::map<std::string, Family> fams;
  auto add = [&](const std::string& metric, const std::string& type, const std::string& help,
                 const std::string& labels, uint64_t v) {
    Family& f = fams[metric];
    f.type = type;
    if (f.help.find(help) == std::string::npos) f.help += (f.help.empty() ? "" : "; ") + help;
    f.samples.push_back(metric + "{" + labels + "} " + std::to_string(v));
  };
  const auto& m = counter_meanings();
  for (const MetricsCore& c : cores) {
    const std::string core = "role=\"" + escape_label(c.role) + "\",lcore=\"" +
                             std::to_string(c.lcore) + "\"";
    add("touchstone_core_up", "gauge", "1 when the core answered (it is polling), else 0", core,
        c.answered ? 1 : 0);
    if (!c.answered) continue;
    add("touchstone_uptime_seconds", "gauge", "seconds since the core started", core,
        c.uptime_ms / 1000);
    add("touchstone_connections_open", "gauge", "connection slots in use", core,
        c.connections_open);
    std::map<std::string, uint64_t, std::less<>> have(c.counters.begin(), c.counters.end());
    for (const auto& [name, meaning] : m) {
      auto it = have.find(name);
      const uint64_t v = it == have.end() ? 0 : it->second;
      auto [fam, dir] = meaning.gauge ? std::pair<std::string, std::string>{name, ""}
                                      : family_of(name);
      const std::string help =
          (dir.empty() ? "" : dir + ": ") + (meaning.drop ? "drop: " : "") + meaning.text;
      const std::string labels = core + (dir.empty() ? "" : ",direction=\"" + dir + "\"");
      if (meaning.gauge)
        add("touchstone_" + fam, "gauge", help, labels, v);
      else
        add("touchstone_" + fam + "_total", "counter", help, labels, v);
    }
  }
  std::string out;
  out += "# HELP touchstone_info the instance: its command, pid and version\n";
  out += "# TYPE touchstone_info gauge\n";
  out += "touchstone_info{command=\"" + escape_label(command) + "\",pid=\"" +
         std::to_string(pid) + "\",version=\"" + escape_label(TS_PROJECT_VERSION) + "\"} 1\n";
  for (const auto& [name, f] : fams) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + f.type + "\n";
    for (const std::string& s : f.samples) out += s + "\n";
  }
  return out;
}

bool write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return false;
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace ts::app
