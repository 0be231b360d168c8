// The generator's workload modes, as data: each mode's name, what it loads
// the target with, whether requests are paced, which server speaks it, and
// how its engine is made. A new mode is a new file with its TcpMode (or
// Workload) and one row in the table (mode.cc); nothing else branches on the
// mode. See docs/architecture.md, "Workload modes".
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace ts::stack {
class Stack;
}

namespace ts::workload {

enum class GenMode : uint8_t { cps, rr, bulk, http, slowread, synflood, ping, dns };

// How a mode's load is made: by the TCP engine over connections (generator.hh),
// as raw segments with no connection (synflood), as ICMP echo (ping), or as
// UDP datagrams or TCP connections as the config says (dns).
enum class Engine : uint8_t { connections, raw, echo, datagrams };
enum class ServerApp : uint8_t;
struct GenConfig;
class TcpMode;
class Workload;

struct ModeInfo {
  GenMode mode;
  const char* name;
  const char* help;       // one line for --help
  bool tcp;               // aimed at a TCP port (else ICMP echo)
  bool requests;          // made of requests: --rate and --requests apply, latency is measured
  ServerApp server;       // what `demo` serves it with (for tcp modes)
  Engine engine;
  // The TCP request/response behaviour (the connections engine); null for the others.
  std::unique_ptr<TcpMode> (*make_tcp)(const GenConfig&);
  // The engine of the other modes.
  std::unique_ptr<Workload> (*make)(stack::Stack&, const GenConfig&);
};

std::span<const ModeInfo> modes();
const ModeInfo& mode_info(GenMode m);
// nullptr for an unknown name.
const ModeInfo* find_mode(std::string_view name);
const char* gen_mode_name(GenMode m);
bool parse_gen_mode(std::string_view s, GenMode& out);
// "cps, rr, bulk, http, ping"
std::string mode_names();

// The engine of a mode on one core's stack: the TCP generator with the
// mode's TcpMode, or the ICMP echo generator.
std::unique_ptr<Workload> make_workload(stack::Stack& stack, const GenConfig& cfg);

}  // namespace ts::workload
