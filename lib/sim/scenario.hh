// Named simulation scenarios: a topology, link impairments, TCP settings and a
// workload, run from a seed. The tests and `touchstone sim` share them, so a
// failing test prints a command that replays the very same run.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/sim.hh"
#include "tcp/config.hh"
#include "tcp/counters.hh"

namespace ts::sim {

struct Scenario {
  std::string name;
  std::string description;
  LinkParams forward;   // the data direction (sender to receiver)
  LinkParams reverse;   // the ACK direction
  uint64_t bytes = 2 << 20;   // per flow
  bool bytes_overridden = false;  // set_bytes() changed it (the replay command says so)
  tcp::TcpConfig tcp;   // both ends
  uint64_t read_chunk = 0;    // a slow receiving application reads this much ...
  uint64_t read_period_ns = 0;  // ... this often (0: everything as it arrives)
  uint64_t bound_ns = 0;      // completion must come within this (per algorithm: make_scenario)
  size_t buffers = 8192;      // packet buffers per host
  uint32_t flows = 1;         // >1: a dumbbell, one sender-receiver pair per flow
  LinkParams access;          // dumbbell host links
};

std::vector<std::string> scenario_names();
// The scenario with `cc` at both ends and the completion bound set for that
// algorithm on that path; nullopt for an unknown name.
std::optional<Scenario> make_scenario(std::string_view name, tcp::CcAlgo cc);
// Another transfer size per flow; a larger one scales the completion bound
// in proportion (the bounds were set for the scenario's own size).
void set_bytes(Scenario& s, uint64_t bytes);
// Paces both ends (--pacing). Pacing stretches slow start, so the bound is
// half as long again.
void set_pacing(Scenario& s);

struct FlowResult {
  uint64_t delivered = 0;
  bool corrupt = false;
  bool orderly = false;          // receiver closed normally, sender saw FIN then closed normally
  uint64_t completion_ns = 0;    // connect to the sender's data and FIN all delivered
  uint64_t retransmitted_bytes = 0;
  std::string sender_end, receiver_end;
};

struct Result {
  std::string scenario;
  uint64_t seed = 0;
  tcp::CcAlgo cc = tcp::CcAlgo::cubic;
  bool sack = true;               // SACK offered (--no-sack: not)
  bool pacing = false;            // --pacing
  std::vector<FlowResult> flows;
  uint64_t bytes = 0;             // per flow
  bool bytes_overridden = false;
  uint64_t bound_ns = 0;
  uint64_t completion_ns = 0;     // the slowest flow
  uint64_t sim_ns = 0;
  double wall_s = 0;
  uint64_t events = 0;
  tcp::TcpCounters sender, receiver;
  LinkStats forward, reverse;     // the data-direction and ACK-direction bottleneck
  double link_rate_bps = 0;
  // From the moment every sender has left slow start and loss recovery (found
  // at 1 ms resolution) to the end: the data link's busy share.
  uint64_t steady_from_ns = 0, steady_to_ns = 0;
  double steady_utilization = 0;
  std::string failure;            // empty when ok()

  bool ok() const { return failure.empty(); }
  // Payload goodput over the completion time, and the data link's busy share.
  double goodput_bps() const;
  double utilization() const;
  std::string summary() const;
  std::string repro() const;
};

// Runs the scenario as it is (its TCP settings, congestion control included,
// and its bound); `trace`, if given, hears of every frame on every link;
// `progress`, if given, is called every simulated second with the simulated
// time and the bytes delivered so far (all flows).
Result run_scenario(const Scenario& s, uint64_t seed, LinkTrace* trace = nullptr,
                    const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace ts::sim
