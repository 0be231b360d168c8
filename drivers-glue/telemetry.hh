// Commands on DPDK's telemetry socket (<runtime dir>/dpdk_telemetry.v2), with
// the rte_tel_data API kept here: a handler fills a TelReply, a flat JSON
// object of numbers, strings and at most one list of strings.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ts::glue {

struct TelReply {
  std::vector<std::pair<std::string, uint64_t>> numbers;
  std::vector<std::pair<std::string, std::string>> strings;
  std::string list_name;  // with `list`, one array of strings under this key
  std::vector<std::string> list;
  bool error = false;     // answer with a JSON null (bad parameters)
};

// Runs on the telemetry thread (one per client), never on a polling core.
using TelHandler = std::function<void(const std::string& params, TelReply& out)>;

// Registers `cmd` (it must start with '/'); the handler lives as long as the
// process. False if DPDK refused it.
bool telemetry_register(const std::string& cmd, const std::string& help, TelHandler h);

// Where this process's telemetry socket is (empty before the EAL is up).
std::string telemetry_socket_path();

}  // namespace ts::glue
