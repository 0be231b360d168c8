// The ICMP echo workload as gen and demo run it: the loop with a progress line
// per interval, the final summary, and the JSON results.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "apps/runtime.hh"
#include "stack/pinger.hh"

namespace ts::app {

struct WorkloadArgs {
  std::string mode = "rr";
  uint32_t conns = 1;      // closed loop: requests in flight
  std::string rate;        // open loop: requests per second
  std::string requests;    // stop after this many
  std::string size = "56"; // ping payload bytes
  std::string req_size = "64", resp_size = "64";  // cps, rr
  std::string path = "/";  // http
  std::string timeout = "1s";
  std::string json;        // write results here
};

struct PingPlan {
  stack::PingConfig cfg;
  uint64_t duration_ns = 0;  // 0: until the request count or a signal
  uint64_t progress_ns = 1'000'000'000;
  bool quiet = false;
  std::string json_path;
};

// Checks the workload flags; a bad value is a usage error (exit 2).
PingPlan plan_ping(const WorkloadArgs& w, const CommonArgs& c, wire::Ipv4Addr target,
                   uint16_t mtu);

struct PingResult {
  double elapsed_s = 0;
  stack::PingStats stats;
};

// Runs the workload on the calling core until it is done, the duration ends or
// a signal arrives; then stops sending and waits (up to the timeout, at most 1 s)
// for replies still in flight. `poll(now)` runs the stack(s) each iteration.
PingResult run_ping(stack::Pinger& pinger, const PingPlan& plan, const glue::TscClock& clock,
                    const std::function<void(uint64_t)>& poll);

void print_ping_summary(const char* title, const PingPlan& plan, const PingResult& r);
// Writes the results (docs/json.md); counters of the endpoints are included.
void write_ping_json(const std::string& command, const PingPlan& plan, const PingResult& r,
                     const stack::Counters& counters);
// 0 when at least one reply came back and none was corrupt, else 1.
int ping_exit_status(const PingResult& r);

}  // namespace ts::app
