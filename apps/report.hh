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
// Every non-zero counter by name.
nlohmann::ordered_json counters_json(const stack::Counters& c);
// Throws std::runtime_error when the file cannot be written.
void write_json_file(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace ts::app
