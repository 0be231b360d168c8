#include "apps/report.hh"

#include <fstream>
#include <stdexcept>

#include "apps/runtime.hh"

namespace ts::app {

std::string percentiles_line(const util::Histogram& h) {
  return "p50 " + human_ns(h.quantile(0.5)) + "  p90 " + human_ns(h.quantile(0.9)) + "  p99 " +
         human_ns(h.quantile(0.99)) + "  p99.9 " + human_ns(h.quantile(0.999)) + "  p99.99 " +
         human_ns(h.quantile(0.9999)) + "  max " + human_ns(h.max());
}

nlohmann::ordered_json latency_json(const util::Histogram& h) {
  auto us = [](uint64_t ns) { return double(ns) / 1e3; };
  return {{"min", us(h.min())},           {"mean", h.mean() / 1e3},
          {"p50", us(h.quantile(0.5))},    {"p90", us(h.quantile(0.9))},
          {"p99", us(h.quantile(0.99))},   {"p99_9", us(h.quantile(0.999))},
          {"p99_99", us(h.quantile(0.9999))}, {"max", us(h.max())}};
}

nlohmann::ordered_json counters_json(const stack::Counters& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  c.for_each([&](std::string_view name, uint64_t v, bool, std::string_view) {
    if (v) j[std::string(name)] = v;
  });
  return j;
}

void write_json_file(const std::string& path, const nlohmann::ordered_json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) throw std::runtime_error("--json: cannot write " + path);
}

}  // namespace ts::app
