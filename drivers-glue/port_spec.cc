#include "drivers-glue/port_spec.hh"

#include <net/if.h>
#include <sys/stat.h>

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
  std::istringstream raw(opt.raw);
  for (std::string w; raw >> w;) a.push_back(w);
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
    default:
      return {};  // tap creates its interface; memif creates or joins its socket
  }
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
