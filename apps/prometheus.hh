// Every counter and gauge of a running instance in Prometheus's text
// exposition format (docs/json.md, "Prometheus metrics"): what `touchstone
// stats --prometheus` prints and what --metrics-file rewrites each interval.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ts::app {

// What each counter means: the endpoint's, the port's, and the buffer
// pool's gauges.
struct Meaning {
  bool drop = false;
  bool gauge = false;
  std::string text;
};
const std::map<std::string, Meaning, std::less<>>& counter_meanings();

// One polling core's counters, as a probe snapshot or the telemetry socket
// gives them (the non-zero ones; the others are exported as 0).
struct MetricsCore {
  std::string role;  // gen, serve, ...
  unsigned lcore = 0;
  bool answered = false;
  uint64_t uptime_ms = 0, connections_open = 0;
  std::vector<std::pair<std::string, uint64_t>> counters;
};

// The exposition text: touchstone_info, then each metric family once with
// HELP and TYPE lines and a sample per core (labels role and lcore; counters
// named ..._rx/_tx/_in/_out become one family with a direction label).
std::string prometheus_text(const std::string& command, int pid,
                            const std::vector<MetricsCore>& cores);

// Writes `text` to `path` atomically (a temporary file renamed over it), as
// node_exporter's textfile collector needs; false if it could not.
bool write_file_atomically(const std::string& path, const std::string& text);

}  // namespace ts::app
