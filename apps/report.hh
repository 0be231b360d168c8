// Pieces of the results every workload reports: the latency percentiles as a
// line and as JSON, the counters as JSON, and writing the JSON file.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "stack/counters.hh"
#include "util/histogram.hh"

namespace ts::app {

// "p50 17.1us  p90 20.0us  p99 29.2us  p99.9 54.4us  p99.99 168.4us  max 4.03ms"
std::string percentiles_line(const util::Histogram& h);
// min, mean, p50, p90, p99, p99_9, p99_99, max in microseconds (docs/json.md).
nlohmann::ordered_json latency_json(const util::Histogram& h);
// A histogram exactly (docs/json.md, "Latency histograms"): unit, count,
// sum, min, max, and [low, count] for every non-empty bucket.
nlohmann::ordered_json histogram_json(const util::Histogram& h);
// Back from histogram_json(); throws std::runtime_error naming `where` and
// what is wrong when `j` is not one.
util::Histogram histogram_from_json(const nlohmann::json& j, const std::string& where);
// Every non-zero counter by name.
nlohmann::ordered_json counters_json(const stack::Counters& c);
// The command line as given (for the JSON results), kept by main.
void set_command_line(int argc, char** argv);
// "touchstone 0.1.0 (git e10c610), DPDK 22.11.5"
std::string version_line();
// The fields every JSON result starts with: tool, version, dpdk_version,
// command, command_line, host, started (UTC, ISO 8601).
nlohmann::ordered_json json_meta(const std::string& command);

// Checks, before any work, that `flag`'s FILE can be written: its directory
// exists and is writable, and it is not a directory itself. "-" means
// standard output: everything else the process prints then goes to standard
// error, so that standard output holds the JSON alone. A usage error
// otherwise.
void check_json_path(const std::string& path, const char* flag = "--json");
// Writes the JSON to `path` (or standard output for "-"); throws
// std::runtime_error when it cannot.
void write_json_file(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace ts::app
