// The congestion-control lab (docs/congestion.md): experiments that each
// reproduce a claim of seed 001's lecture, run as many seeded runs per
// algorithm, with flows that send for a fixed time through a dumbbell whose
// bottleneck has a chosen queue discipline and whose access links give each
// flow its own round trip. A run measures throughput per flow, the
// bottleneck's utilization and queueing delay, retransmissions and how loss
// episodes hit the flows, and can trace cwnd, RTT, throughput and the queue
// over time for plots. Runs are independent, so they may run on all cores.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/sim.hh"
#include "tcp/config.hh"

namespace ts::sim {

struct LabFlow {
  tcp::CcAlgo cc = tcp::CcAlgo::cubic;
  uint64_t extra_delay_ns = 0;  // one way, on the flow's access link (both directions)
  uint64_t start_ns = 0;
};

// One run's network and flows.
struct LabSetup {
  LinkParams bottleneck;        // the data direction; the ACK direction has its rate and delay
  std::vector<LabFlow> flows;
  uint64_t duration_ns = 0;
  uint64_t measure_from_ns = 0; // metrics cover [measure_from, duration]
  bool sack = true, pacing = false;
  uint32_t sndbuf = 8u << 20, rcvbuf = 8u << 20;
  size_t buffers = 16384;       // packet buffers per host
  uint64_t trace_period_ns = 0; // 0: no trace
  uint64_t base_rtt_ns() const;  // of the first flow: the bottleneck's and its access links'
};

struct LabSample {
  double t_s = 0;
  uint32_t flow = 0;
  double cwnd_kb = 0, srtt_ms = 0, mbps = 0;
  uint32_t queue = 0;            // packets at the bottleneck
};

struct LabRun {
  std::vector<double> flow_mbps;     // over the measured interval
  double utilization = 0;            // of the bottleneck over the measured interval
  double queue_delay_ms = 0;         // mean wait of packets served in the interval
  double retransmitted_fraction = 0; // retransmitted / delivered bytes, all flows
  uint32_t loss_episodes = 0;        // bursts of bottleneck drops (a base RTT apart)
  double sync_fraction = 0;          // of those episodes, the share that hit every flow
  double flows_hit = 0;              // the mean share of the flows an episode hit
  std::vector<LabSample> trace;
  std::string failure;               // empty: every flow's bytes arrived intact
  uint64_t sim_ns = 0, events = 0;
  double cpu_s = 0;                  // this thread's CPU time for the run
};

LabRun run_lab(const LabSetup& s, uint64_t seed);
// Samples the run every two round trips at least (throughput over less than
// a round trip shows the ACK clock's bursts, not the rate), at most 1500
// times.
void enable_trace(LabSetup& s);

// ------------------------------------------------------------------ experiments

struct LabOptions {
  std::vector<tcp::CcAlgo> algos;
  tcp::CcAlgo against = tcp::CcAlgo::reno;  // friendliness: the flow each algorithm meets
  uint32_t runs = 10;
  uint64_t seed = 1;            // run i uses seed + i for every algorithm
  bool sack = true, pacing = false;
  double duration_scale = 1;    // < 1 shortens every run (tests)
};

struct ExperimentInfo {
  const char* name;
  const char* slides;           // of the lecture
  const char* description;
  const char* claim;            // what the lecture says the runs should show
  const char* default_cc;       // "reno,cubic,..." when --cc is not given
  bool competition;             // flows of two algorithms share the bottleneck
};
const std::vector<ExperimentInfo>& experiments();
// random-loss's conditions: the label in its metric names ("p=1%") and the
// loss probability.
struct LossLevel {
  const char* label;
  double p;
};
std::span<const LossLevel> random_loss_levels();
const ExperimentInfo* find_experiment(std::string_view name);

// One run to do: which algorithm, which run, which condition (a loss rate, a
// queue discipline: part of the metric names, "metric@condition").
struct LabJob {
  tcp::CcAlgo algo;
  uint32_t run;
  size_t condition;
  std::string condition_label;  // "" for experiments with one condition
  uint64_t seed;
  LabSetup setup;
};
std::vector<LabJob> plan_experiment(const ExperimentInfo& e, const LabOptions& o);
// The named metrics a finished job contributes ("utilization", "share@red").
std::map<std::string, double> job_metrics(const ExperimentInfo& e, const LabJob& j,
                                          const LabRun& r);
// Reference values that do not depend on the algorithm (the Mathis formula's
// throughput per loss rate); empty for most experiments.
std::map<std::string, double> experiment_references(const ExperimentInfo& e,
                                                    const LabOptions& o);

// Every job of an experiment, run on `threads` threads while the calling
// thread waits; `progress` (if any) hears from it every 20 ms how many are
// done. A run that throws (out of memory) fails alone.
struct LabResults {
  std::vector<LabJob> jobs;
  std::vector<LabRun> runs;                            // by job
  std::vector<std::map<std::string, double>> metrics;  // by job; empty for a failed run
  // Algorithm name -> metric -> the values of its runs that did not fail.
  std::map<std::string, std::map<std::string, std::vector<double>>> samples;
  double cpu_s = 0, sim_s = 0;
  size_t failures = 0;
};
LabResults run_experiment(const ExperimentInfo& e, const LabOptions& o, unsigned threads,
                          const std::function<void(size_t done, size_t total)>& progress = {});

}  // namespace ts::sim
