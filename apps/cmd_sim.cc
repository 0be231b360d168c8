// touchstone sim: runs a named scenario in the deterministic simulator (the
// same scenarios the tests run, so a failing test's printed command replays it).
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "apps/commands.hh"
#include "sim/scenario.hh"
#include "sim/trace.hh"
#include "util/parse.hh"

namespace ts::app {

int run_sim(const SimArgs& a) {
  if (a.list) {
    for (const auto& name : sim::scenario_names()) {
      auto s = sim::make_scenario(name, tcp::CcAlgo::cubic);
      std::printf("  %-12s %s\n", name.c_str(), s->description.c_str());
    }
    return 0;
  }
  if (a.scenario.empty()) usage_error("--scenario is required (see --list)");
  tcp::CcAlgo cc;
  if (a.cc == "cubic")
    cc = tcp::CcAlgo::cubic;
  else if (a.cc == "newreno")
    cc = tcp::CcAlgo::newreno;
  else
    usage_error("--cc '" + a.cc + "' is not one of newreno, cubic");
  auto s = sim::make_scenario(a.scenario, cc);
  if (!s) usage_error("--scenario '" + a.scenario + "' is unknown (see --list)");
  if (!a.bytes.empty()) {
    auto b = util::parse_bytes(a.bytes);
    if (!b || *b == 0) usage_error("--bytes '" + a.bytes + "' is not a size like 10M");
    s->bytes = *b;
  }
  const auto seed = util::parse_uint(a.seed);
  if (!seed) usage_error("--seed '" + a.seed + "' is not an unsigned integer");
  std::unique_ptr<sim::TraceWriter> trace;
  if (!a.trace.empty()) {
    trace = std::make_unique<sim::TraceWriter>(a.trace);
    if (!trace->ok())
      usage_error("--trace: cannot write " + a.trace + ".pcap and " + a.trace + ".txt");
  }
  std::printf("touchstone sim: %s (%s)\n  forward: %s\n  reverse: %s\n", s->name.c_str(),
              s->description.c_str(), s->forward.str().c_str(), s->reverse.str().c_str());
  std::fflush(stdout);
  const sim::Result r = sim::run_scenario(*s, *seed, trace.get());
  std::printf("%s\n", r.summary().c_str());
  if (trace) {
    const uint64_t frames = trace->frames();
    trace.reset();  // closes both files
    std::printf("trace: %llu frames in %s.pcap and %s.txt\n", (unsigned long long)frames,
                a.trace.c_str(), a.trace.c_str());
  }
  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["tool"] = "touchstone";
    j["command"] = "sim";
    j["scenario"] = r.scenario;
    j["cc"] = tcp::cc_name(cc);
    j["seed"] = r.seed;
    j["ok"] = r.ok();
    j["failure"] = r.failure;
    j["flows"] = r.flows.size();
    j["bytes_per_flow"] = r.bytes;
    j["completion_ms"] = double(r.completion_ns) / 1e6;
    j["bound_ms"] = double(r.bound_ns) / 1e6;
    j["goodput_mbps"] = r.goodput_bps() / 1e6;
    j["link_utilization"] = r.utilization();
    j["steady_utilization"] = r.steady_utilization;
    j["retransmitted_bytes"] = r.flows.empty() ? 0 : r.flows[0].retransmitted_bytes;
    j["lost_payload_bytes"] = r.forward.lost_payload;
    j["timeouts"] = r.sender.tcp_rto_timeouts;
    j["fast_recoveries"] = r.sender.tcp_fast_recoveries;
    j["window_probes"] = r.sender.tcp_window_probes;
    j["simulated_s"] = double(r.sim_ns) / 1e9;
    j["wall_s"] = r.wall_s;
    std::ofstream out(a.json);
    out << j.dump(2) << "\n";
    out.close();
    if (!out) throw std::runtime_error("--json: cannot write " + a.json);
  }
  return r.ok() ? 0 : 1;
}

}  // namespace ts::app
