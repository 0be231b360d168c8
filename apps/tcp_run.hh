// The TCP workloads as gen and demo run them (cps, rr, bulk, http): flag
// checking, the loop with a progress line per interval, the summary and the
// JSON results (docs/json.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "apps/ping_run.hh"
#include "apps/runtime.hh"
#include "workload/generator.hh"

namespace ts::app {

struct TcpPlan {
  workload::GenConfig gen;
  uint64_t duration_ns = 0;  // 0: until the request count or a signal
  uint64_t progress_ns = 1'000'000'000;
  bool quiet = false;
  std::string json_path;
};

bool is_tcp_mode(const std::string& mode);
// Checks the workload flags; a bad value is a usage error (exit 2).
TcpPlan plan_tcp(const WorkloadArgs& w, const CommonArgs& c, wire::Ipv4Addr target,
                 uint16_t port);

struct TcpResult {
  double elapsed_s = 0;
  workload::GenStats stats;  // every core's, merged
};

// The part of a run one core does: its generator, and the endpoints it polls
// (the generator's, and in demo's paired layout a server's too).
struct TcpCore {
  workload::Generator* gen = nullptr;
  std::vector<Endpoint*> eps;
  void poll(uint64_t now) const {
    for (Endpoint* e : eps) e->poll(now);
  }
};

// Core i's share of the workload when `cores` cores run it: connections,
// rate and request count divided (the remainder to the first cores).
workload::GenConfig core_share(const workload::GenConfig& g, unsigned core, unsigned cores);
// A usage error when the workload cannot be divided among `cores` cores.
void check_core_share(const TcpPlan& plan, unsigned cores);

// Runs cores[i] on lcores[i], cores[0] on the calling core, until every
// generator is done, the duration ends or a signal arrives; then each core
// closes its connections and lets them finish for up to half a second. Core 0
// prints the progress line, summed over the cores from snapshots they take
// when asked (nothing is shared per packet).
TcpResult run_tcp(std::vector<TcpCore>& cores, const std::vector<unsigned>& lcores,
                  const TcpPlan& plan, const glue::TscClock& clock);
void print_tcp_summary(const char* title, const TcpPlan& plan, const TcpResult& r);
void write_tcp_json(const std::string& command, const TcpPlan& plan, const TcpResult& r,
                    const stack::Counters& counters);
// 0 when at least one request was answered correctly and none failed, else 1
// (bulk: when data was acknowledged).
int tcp_exit_status(const TcpPlan& plan, const TcpResult& r);

}  // namespace ts::app
