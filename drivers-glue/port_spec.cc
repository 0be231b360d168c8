#include "drivers-glue/port_spec.hh"

#include <net/if.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

namespace ts::glue {

const char* kind_name(PortSpec::Kind k) {
  switch (k) {
    case PortSpec::Kind::af_xdp: return "af_xdp";
    case PortSpec::Kind::af_packet: return "af_packet";
    case PortSpec::Kind::tap: return "tap";
    case PortSpec::Kind::memif: return "memif";
    case PortSpec::Kind::pci: return "pci";
    case PortSpec::Kind::ring: return "ring";
  }
  return "?";
}

namespace {

bool valid_bdf(std::string_view s) {
  // [DDDD:]BB:DD.F in hex
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  if (s.size() == 12) {  // with the PCI domain
    if (s[4] != ':' || !hex(s[0]) || !hex(s[1]) || !hex(s[2]) || !hex(s[3])) return false;
    s = s.substr(5);
  }
  return s.size() == 7 && hex(s[0]) && hex(s[1]) && s[2] == ':' && hex(s[3]) && hex(s[4]) &&
         s[5] == '.' && s[6] >= '0' && s[6] <= '7';
}

bool valid_ifname(std::string_view s) {
  if (s.empty() || s.size() > 15) return false;  // IFNAMSIZ - 1
  for (char c : s)
    if (c == '/' || c == ',' || c == '=' || std::isspace(static_cast<unsigned char>(c)))
      return false;
  return true;
}

}  // namespace

std::string parse_port_spec(std::string_view text, PortSpec& out) {
  out = PortSpec{};
  out.text = std::string(text);
  const std::string quoted = "--port '" + std::string(text) + "'";
  if (text == "ring") {
    out.kind = PortSpec::Kind::ring;
    return {};
  }
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return quoted + ": expected KIND:TARGET with KIND one of af_xdp, af_packet, tap, memif, pci, "
                    "or the word ring";
  const std::string_view kind = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  static const std::map<std::string_view, PortSpec::Kind> kinds = {
      {"af_xdp", PortSpec::Kind::af_xdp}, {"af_packet", PortSpec::Kind::af_packet},
      {"tap", PortSpec::Kind::tap},       {"memif", PortSpec::Kind::memif},
      {"pci", PortSpec::Kind::pci}};
  auto it = kinds.find(kind);
  if (it == kinds.end())
    return quoted + ": unknown kind '" + std::string(kind) +
           "' (known: af_xdp, af_packet, tap, memif, pci, ring)";
  out.kind = it->second;

  const size_t comma = rest.find(',');
  out.target = std::string(rest.substr(0, comma));
  rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  while (!rest.empty()) {
    const size_t c = rest.find(',');
    const std::string_view kv = rest.substr(0, c);
    rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return quoted + ": '" + std::string(kv) + "' is not key=value";
    out.args.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }

  switch (out.kind) {
    case PortSpec::Kind::pci:
      if (!valid_bdf(out.target))
        return quoted + ": '" + out.target + "' is not a PCI address like 0000:3b:00.0";
      if (!out.args.empty()) return quoted + ": pci ports take no extra arguments";
      if (out.target.size() == 7) out.target = "0000:" + out.target;
      for (char& ch : out.target) ch = char(std::tolower(static_cast<unsigned char>(ch)));
      break;
    case PortSpec::Kind::memif:
      if (out.target.empty() || out.target.find('=') != std::string::npos)
        return quoted + ": expected memif:SOCKET_PATH";
      break;
    default:
      if (!valid_ifname(out.target))
        return quoted + ": '" + out.target + "' is not a network interface name";
  }
  return {};
}

EalPlan plan_eal(const std::vector<PortSpec>& ports, const EalOptions& opt) {
  EalPlan plan;
  auto& a = plan.args;
  a.push_back(opt.program);
  bool any_pci = false;
  std::map<PortSpec::Kind, int> index;
  for (const PortSpec& p : ports) {
    if (p.kind == PortSpec::Kind::ring) {
      plan.device_names.emplace_back();
      continue;
    }
    if (p.kind == PortSpec::Kind::pci) {
      any_pci = true;
      a.push_back("-a");
      a.push_back(p.target);
      plan.device_names.push_back(p.target);
      continue;
    }
    const std::string name = "net_" + std::string(kind_name(p.kind)) + std::to_string(index[p.kind]++);
    std::string dev = name;
    auto has = [&](const char* key) {
      for (const auto& [k, v] : p.args)
        if (k == key) return true;
      return false;
    };
    switch (p.kind) {
      case PortSpec::Kind::af_xdp:
        dev += ",iface=" + p.target;
        if (!has("start_queue")) dev += ",start_queue=0";
        if (!has("queue_count")) dev += ",queue_count=" + std::to_string(opt.queues);
        break;
      case PortSpec::Kind::af_packet:
        dev += ",iface=" + p.target;
        if (!has("qpairs")) dev += ",qpairs=" + std::to_string(opt.queues);
        break;
      case PortSpec::Kind::tap:
        dev += ",iface=" + p.target;
        break;
      case PortSpec::Kind::memif:
        // DPDK's memif defaults to the client role; a server is the safer default
        // for `serve`, and gen names role=client explicitly.
        dev += ",socket=" + p.target;
        if (!has("role")) dev += ",role=server";
        break;
      default:
        break;
    }
    for (const auto& [k, v] : p.args) dev += "," + k + "=" + v;
    a.push_back("--vdev");
    a.push_back(dev);
    plan.device_names.push_back(name);
  }
  if (!any_pci) a.push_back("--no-pci");
  if (opt.hugepages) {
    a.push_back("--in-memory");
  } else {
    a.push_back("--no-huge");
    a.push_back("-m");
    a.push_back(std::to_string(opt.memory_mb));
    a.push_back("--no-shconf");
  }
  if (!opt.file_prefix.empty()) a.push_back("--file-prefix=" + opt.file_prefix);
  if (!opt.lcores.empty()) a.push_back("--lcores=" + opt.lcores);
  if (!opt.log_level.empty()) a.push_back("--log-level=" + opt.log_level);
  // Telemetry stays on: `touchstone stats` reads counters and connections
  // from its socket in the (per-process) runtime directory.
  a.insert(a.end(), opt.raw.begin(), opt.raw.end());
  return plan;
}

std::string check_port_available(const PortSpec& p) {
  switch (p.kind) {
    case PortSpec::Kind::af_xdp:
    case PortSpec::Kind::af_packet:
      if (if_nametoindex(p.target.c_str()) == 0)
        return "--port " + p.text + ": no interface named " + p.target +
               " in this network namespace";
      return {};
    case PortSpec::Kind::pci: {
      struct stat st;
      const std::string path = "/sys/bus/pci/devices/" + p.target;
      if (stat(path.c_str(), &st) != 0)
        return "--port " + p.text + ": no PCI device " + p.target + " on this machine";
      return {};
    }
    case PortSpec::Kind::memif: {
      // A client needs a server listening on the socket: DPDK's memif uses an
      // abstract socket address unless socket-abstract=no (then a file).
      bool client = false;
      for (const auto& [k, v] : p.args)
        if (k == "role") client = v == "client";
      if (!client) return {};
      struct stat st;
      if (stat(p.target.c_str(), &st) == 0) return {};
      std::ifstream unix_sockets("/proc/net/unix");
      const std::string abstract = "@" + p.target;
      for (std::string line; std::getline(unix_sockets, line);) {
        const size_t sp = line.rfind(' ');
        if (sp != std::string::npos && line.compare(sp + 1, std::string::npos, abstract) == 0)
          return {};
      }
      return "--port " + p.text + ": no memif server listens on " + p.target +
             " (start the other side, e.g. touchstone serve --port memif:" + p.target + ", first)";
    }
    default:
      return {};  // tap creates its interface
  }
}

namespace {

enum class Arg : uint8_t { none, required, optional };

struct EalOption {
  const char* name;   // "--log-level" or "-n"
  Arg arg;
  const char* owned;  // non-null: touchstone sets it; use this instead
};

// DPDK 22.11's EAL options (rte_eal_init's usage text on Linux).
constexpr EalOption kEalOptions[] = {
    {"-c", Arg::required, "touchstone's --lcores"},
    {"-l", Arg::required, "touchstone's --lcores"},
    {"--lcores", Arg::required, "touchstone's --lcores"},
    {"--main-lcore", Arg::required, "touchstone's --lcores (its first CPU is the main one)"},
    {"-s", Arg::required, nullptr},
    {"-S", Arg::required, nullptr},
    {"--mbuf-pool-ops-name", Arg::required, nullptr},
    {"-n", Arg::required, nullptr},
    {"-m", Arg::required, nullptr},
    {"-r", Arg::required, nullptr},
    {"-b", Arg::required, "--port (touchstone names the devices it uses)"},
    {"--block", Arg::required, "--port (touchstone names the devices it uses)"},
    {"-a", Arg::required, "--port (touchstone names the devices it uses)"},
    {"--allow", Arg::required, "--port (touchstone names the devices it uses)"},
    {"--vdev", Arg::required, "--port (touchstone names the devices it uses)"},
    {"--iova-mode", Arg::required, nullptr},
    {"-d", Arg::required, nullptr},
    {"--vmware-tsc-map", Arg::none, nullptr},
    {"--proc-type", Arg::required, "nothing: touchstone runs as a primary process only"},
    {"--syslog", Arg::required, nullptr},
    {"--log-level", Arg::required, nullptr},
    {"--trace", Arg::required, nullptr},
    {"--trace-dir", Arg::required, nullptr},
    {"--trace-bufsz", Arg::required, nullptr},
    {"--trace-mode", Arg::required, nullptr},
    {"-v", Arg::none, nullptr},
    {"-h", Arg::none, "DPDK's documentation (EAL's usage text is not touchstone's)"},
    {"--help", Arg::none, "DPDK's documentation (EAL's usage text is not touchstone's)"},
    {"--in-memory", Arg::none, nullptr},
    {"--base-virtaddr", Arg::required, nullptr},
    {"--telemetry", Arg::none, nullptr},
    {"--no-telemetry", Arg::none, "nothing: touchstone stats reads the telemetry socket"},
    {"--force-max-simd-bitwidth", Arg::required, nullptr},
    {"--huge-unlink", Arg::optional, nullptr},
    {"--no-huge", Arg::none, nullptr},
    {"--no-pci", Arg::none, nullptr},
    {"--no-hpet", Arg::none, nullptr},
    {"--no-shconf", Arg::none, nullptr},
    {"--socket-mem", Arg::required, nullptr},
    {"--socket-limit", Arg::required, nullptr},
    {"--huge-dir", Arg::required, nullptr},
    {"--file-prefix", Arg::required,
     "nothing: touchstone sets its own (touchstone-PID) so that stats finds the instance"},
    {"--create-uio-dev", Arg::none, nullptr},
    {"--vfio-intr", Arg::required, nullptr},
    {"--vfio-vf-token", Arg::required, nullptr},
    {"--legacy-mem", Arg::none, nullptr},
    {"--single-file-segments", Arg::none, nullptr},
    {"--match-allocations", Arg::none, nullptr},
    {"--huge-worker-stack", Arg::optional, nullptr},
};

}  // namespace

std::string check_eal_args(std::string_view raw, std::vector<std::string>& kept, bool& no_huge) {
  kept.clear();
  no_huge = false;
  std::vector<std::string> words;
  std::istringstream in{std::string(raw)};
  for (std::string w; in >> w;) words.push_back(w);
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w.size() < 2 || w[0] != '-')
      return "--eal: '" + w + "' is not an EAL option (they start with - or --)";
    // The option's name, and a value attached to it ("--x=v", "-n4").
    std::string name = w, attached;
    bool has_attached = false;
    if (w[1] == '-') {
      const size_t eq = w.find('=');
      if (eq != std::string::npos) {
        name = w.substr(0, eq);
        attached = w.substr(eq + 1);
        has_attached = true;
      }
    } else if (w.size() > 2) {
      name = w.substr(0, 2);
      attached = w.substr(2);
      has_attached = true;
    }
    const EalOption* opt = nullptr;
    for (const EalOption& o : kEalOptions)
      if (name == o.name) opt = &o;
    if (!opt) return "--eal: '" + name + "' is not an option of DPDK 22.11's EAL";
    if (opt->owned) return "--eal: touchstone sets " + name + " itself; use " + opt->owned;
    kept.push_back(w);
    switch (opt->arg) {
      case Arg::none:
        if (has_attached) return "--eal: " + name + " takes no value";
        break;
      case Arg::optional:
        break;  // only ever attached (--huge-unlink=never)
      case Arg::required:
        if (has_attached) {
          if (attached.empty()) return "--eal: " + name + " needs a value";
          break;
        }
        if (i + 1 == words.size()) return "--eal: " + name + " needs a value";
        kept.push_back(words[++i]);
        break;
    }
    if (name == "--no-huge") {
      no_huge = true;
      kept.pop_back();
    }
  }
  return {};
}

std::string parse_lcores(std::string_view text, const std::vector<unsigned>& allowed,
                         std::vector<unsigned>& cpus) {
  cpus.clear();
  const std::string quoted = "--lcores '" + std::string(text) + "'";
  std::string may = "the CPUs this process may use are ";
  for (size_t i = 0; i < allowed.size(); ++i) may += (i ? "," : "") + std::to_string(allowed[i]);
  auto number = [](std::string_view s, unsigned& v) {
    if (s.empty() || s.size() > 6) return false;
    v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + unsigned(c - '0');
    }
    return true;
  };
  unsigned count;
  if (number(text, count)) {
    if (count == 0 || count > allowed.size())
      return quoted + ": a count must be 1 to " + std::to_string(allowed.size()) + " (" + may +
             "); give a list like 2-3 to name CPUs";
    cpus.assign(allowed.end() - count, allowed.end());
    return {};
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t dash = item.find('-');
    unsigned lo, hi;
    if (!number(item.substr(0, dash), lo) ||
        !number(dash == std::string_view::npos ? item : item.substr(dash + 1), hi) || hi < lo)
      return quoted + " is not a count or a CPU list like 1,3 or 2-3";
    for (unsigned c = lo; c <= hi; ++c) {
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end())
        return quoted + ": CPU " + std::to_string(c) + " is not available (" + may + ")";
      if (std::find(cpus.begin(), cpus.end(), c) != cpus.end())
        return quoted + ": CPU " + std::to_string(c) + " is named twice";
      cpus.push_back(c);
    }
    if (comma != std::string_view::npos && rest.empty())
      return quoted + " is not a count or a CPU list like 1,3 or 2-3";
  }
  if (cpus.empty()) return quoted + " names no CPU";
  return {};
}

bool hugepages_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long value;
  while (in >> key >> value) {
    if (key == "HugePages_Free:") return value > 0;
    in.ignore(256, '\n');
  }
  return false;
}

}  // namespace ts::glue
