// touchstone sim: runs a named scenario in the deterministic simulator (the
// same scenarios the tests run, so a failing test's printed command replays it).
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "apps/commands.hh"
#include "apps/report.hh"
#include "sim/lab.hh"
#include "sim/scenario.hh"
#include "sim/trace.hh"
#include "tcp/cc/registry.hh"
#include "util/parse.hh"

namespace ts::app {

namespace {

// Beyond this a run takes minutes of wall time at 100 Mbit/s.
constexpr uint64_t kMaxBytes = 10ull << 30;

void write_sim_json(const SimArgs& a, const sim::Result& r) {
  nlohmann::ordered_json j = json_meta("sim");
  j["scenario"] = r.scenario;
  j["cc"] = tcp::cc_name(r.cc);
  j["sack"] = r.sack;
  j["pacing"] = r.pacing;
  j["seed"] = r.seed;
  j["ok"] = r.ok();
  j["failure"] = r.ok() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.failure);
  j["replay"] = r.repro();
  j["bytes_per_flow"] = r.bytes;
  j["bound_ms"] = double(r.bound_ns) / 1e6;
  j["completion_ms"] = r.completion_ns ? nlohmann::ordered_json(double(r.completion_ns) / 1e6)
                                       : nlohmann::ordered_json(nullptr);
  j["goodput_mbps"] = r.completion_ns ? nlohmann::ordered_json(r.goodput_bps() / 1e6)
                                      : nlohmann::ordered_json(nullptr);
  j["link_utilization"] = r.completion_ns ? nlohmann::ordered_json(r.utilization())
                                          : nlohmann::ordered_json(nullptr);
  j["steady_utilization"] = r.steady_from_ns ? nlohmann::ordered_json(r.steady_utilization)
                                             : nlohmann::ordered_json(nullptr);
  uint64_t retx = 0;
  nlohmann::ordered_json flows = nlohmann::ordered_json::array();
  for (const sim::FlowResult& f : r.flows) {
    retx += f.retransmitted_bytes;
    flows.push_back({{"delivered_bytes", f.delivered},
                     {"completion_ms", f.completion_ns ? nlohmann::ordered_json(double(f.completion_ns) / 1e6)
                                                       : nlohmann::ordered_json(nullptr)},
                     {"retransmitted_bytes", f.retransmitted_bytes},
                     {"corrupt", f.corrupt},
                     {"orderly_close", f.orderly},
                     {"sender_end", f.sender_end},
                     {"receiver_end", f.receiver_end}});
  }
  j["retransmitted_bytes"] = retx;
  j["lost_payload_bytes"] = r.forward.lost_payload;
  j["timeouts"] = r.sender.tcp_rto_timeouts;
  j["fast_recoveries"] = r.sender.tcp_fast_recoveries;
  j["window_probes"] = r.sender.tcp_window_probes;
  j["flows"] = flows;
  j["data_link"] = {{"packets", r.forward.sent},
                    {"lost", r.forward.lost},
                    {"queue_drops", r.forward.queue_drops},
                    {"corrupted", r.forward.corrupted},
                    {"duplicated", r.forward.duplicated},
                    {"reordered", r.forward.reordered},
                    {"max_queue", r.forward.max_queue}};
  j["simulated_s"] = double(r.sim_ns) / 1e9;
  j["wall_s"] = r.wall_s;
  write_json_file(a.json, j);
}

}  // namespace

int run_sim(const SimArgs& a) {
  if (a.list) {
    for (const char* f : {"--scenario", "--cc", "--no-sack", "--pacing", "--seed", "--bytes",
                          "--json", "--trace", "--experiment", "--runs", "--plot", "--against",
                          "--jobs", "--duration-scale"})
      if (a.given.has(f)) not_applicable(f, "--list");
    std::printf("scenarios (--scenario NAME):\n");
    for (const auto& name : sim::scenario_names()) {
      auto s = sim::make_scenario(name, tcp::CcAlgo::cubic);
      std::printf("  %-16s %s; %u flow%s of %s\n", name.c_str(), s->description.c_str(),
                  unsigned(s->flows), s->flows == 1 ? "" : "s", human_bytes(s->bytes).c_str());
    }
    std::printf("experiments of the congestion-control lab (--experiment NAME):\n");
    for (const sim::ExperimentInfo& e : sim::experiments())
      std::printf("  %-16s slides %s: %s\n  %-16s claim: %s\n", e.name, e.slides,
                  e.description, "", e.claim);
    return 0;
  }
  if (!a.experiment.empty()) return run_lab_experiment(a);
  for (const char* f : {"--runs", "--plot", "--against", "--jobs", "--duration-scale"})
    if (a.given.has(f)) not_applicable(f, "--scenario (give --experiment)");
  if (a.scenario.empty()) usage_error("--scenario is required (see --list)");
  const tcp::CcInfo* info = tcp::find_cc(a.cc);
  if (!info) usage_error("--cc '" + a.cc + "' is not one of " + tcp::cc_names() + " (--cc list)");
  const tcp::CcAlgo cc = info->algo;
  auto s = sim::make_scenario(a.scenario, cc);
  if (!s) usage_error("--scenario '" + a.scenario + "' is unknown (see --list)");
  if (a.no_sack) s->tcp.sack = false;
  if (a.pacing) sim::set_pacing(*s);
  if (!a.bytes.empty()) {
    auto b = util::parse_bytes(a.bytes);
    if (!b || *b == 0 || *b > kMaxBytes)
      usage_error("--bytes '" + a.bytes + "' is not a size from 1 byte to 10G, like 10M");
    sim::set_bytes(*s, *b);
  }
  const auto seed = util::parse_uint(a.seed);
  if (!seed) usage_error("--seed '" + a.seed + "' is not an unsigned integer");
  check_json_path(a.json);
  if (!a.trace.empty()) check_json_path(a.trace + ".pcap", "--trace");
  std::unique_ptr<sim::TraceWriter> trace;
  if (!a.trace.empty()) {
    trace = std::make_unique<sim::TraceWriter>(a.trace);
    if (!trace->ok())
      usage_error("--trace: cannot write " + a.trace + ".pcap and " + a.trace + ".txt");
  }
  std::printf("touchstone sim: %s (%s), %u flow%s of %s\n  forward: %s\n  reverse: %s\n",
              s->name.c_str(), s->description.c_str(), unsigned(s->flows),
              s->flows == 1 ? "" : "s", human_bytes(s->bytes).c_str(),
              s->forward.str().c_str(), s->reverse.str().c_str());
  std::fflush(stdout);
  // A progress line every few seconds of wall time on long runs.
  const auto wall0 = std::chrono::steady_clock::now();
  auto last = wall0;
  const uint64_t total = s->bytes * s->flows;
  auto progress = [&](uint64_t sim_ns, uint64_t delivered) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(2)) return;
    last = now;
    std::printf("[%7.1fs] simulated %.0f s, delivered %s of %s (%.0f%%)\n",
                std::chrono::duration<double>(now - wall0).count(), double(sim_ns) / 1e9,
                human_bytes(delivered).c_str(), human_bytes(total).c_str(),
                100.0 * double(delivered) / double(total));
    std::fflush(stdout);
  };
  const sim::Result r = sim::run_scenario(*s, *seed, trace.get(), progress);
  std::printf("%s\n", r.summary().c_str());
  if (r.flows.size() > 1)
    for (size_t i = 0; i < r.flows.size(); ++i) {
      const auto& f = r.flows[i];
      std::printf("  flow %zu: %s delivered, %s, retransmitted %s\n", i,
                  human_bytes(f.delivered).c_str(),
                  f.completion_ns ? ("completed in " + human_ns(f.completion_ns)).c_str()
                                  : "not completed",
                  human_bytes(f.retransmitted_bytes).c_str());
    }
  if (!r.ok()) std::printf("replay: %s\n", r.repro().c_str());
  if (trace) {
    const uint64_t frames = trace->frames();
    trace.reset();  // closes both files
    std::printf("trace: %llu frames in %s.pcap and %s.txt\n", (unsigned long long)frames,
                a.trace.c_str(), a.trace.c_str());
  }
  if (!a.json.empty()) write_sim_json(a, r);
  return r.ok() ? 0 : 1;
}

}  // namespace ts::app
