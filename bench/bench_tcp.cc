// TCP per-segment costs and the simulator's speed. Timings only.
#include <benchmark/benchmark.h>

#include "sim/lab.hh"
#include "sim/scenario.hh"
#include "tcp_cases.hh"

using namespace ts;

namespace {

void BM_TcpReceiveInOrderSegment(benchmark::State& state) {
  bench::ReceiveCase c;
  for (auto _ : state) c.step();
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations()) * 1448);
  state.SetLabel("1448-byte segment in, application reads it, delayed ACK");
}
BENCHMARK(BM_TcpReceiveInOrderSegment);

void BM_TcpAckProcessed(benchmark::State& state) {
  bench::AckCase c;
  for (auto _ : state) c.step();
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel("ACK for one segment, which sends the next");
}
BENCHMARK(BM_TcpAckProcessed);

void BM_TcpSegmentBuilt(benchmark::State& state) {
  bench::BuildCase c;
  for (auto _ : state) c.step();
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel("1448-byte data segment into a packet, checksums in software");
}
BENCHMARK(BM_TcpSegmentBuilt);

void BM_SynCookieAnswered(benchmark::State& state) {
  bench::SynCookieCase c;
  for (auto _ : state) c.step();
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetLabel("SYN in, SYN-ACK with a cookie out, no state; polled per 32");
}
BENCHMARK(BM_SynCookieAnswered);

void BM_SimulatedGigabitTransfer(benchmark::State& state) {
  const tcp::CcAlgo cc = state.range(0) ? tcp::CcAlgo::cubic : tcp::CcAlgo::newreno;
  auto s = *sim::make_scenario("gigabit", cc);
  double sim_s = 0, wall_s = 0;
  for (auto _ : state) {
    const sim::Result r = sim::run_scenario(s, 1);
    sim_s += double(r.completion_ns) / 1e9;
    wall_s += r.wall_s;
  }
  state.counters["sim_s_per_wall_s"] = sim_s / wall_s;
  state.SetLabel(std::string("100 MB over 1 Gbit/s, 10 ms RTT, ") + tcp::cc_name(cc));
}
BENCHMARK(BM_SimulatedGigabitTransfer)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(3);

// The lab's high-bdp run (docs/congestion.md): 30 simulated seconds of one
// flow at 155 Mbit/s over 80 ms, queue of one BDP. The target: well
// under a second of CPU, i.e. simulated seconds per CPU second well above 30.
void BM_LabHighBdpRun(benchmark::State& state) {
  static const tcp::CcAlgo algos[] = {tcp::CcAlgo::reno, tcp::CcAlgo::cubic, tcp::CcAlgo::bbr};
  const tcp::CcAlgo cc = algos[state.range(0)];
  sim::LabOptions o;
  o.algos = {cc};
  o.runs = 1;
  const auto jobs = sim::plan_experiment(*sim::find_experiment("high-bdp"), o);
  double sim_s = 0, cpu_s = 0;
  for (auto _ : state) {
    const sim::LabRun r = sim::run_lab(jobs[0].setup, jobs[0].seed);
    sim_s += double(r.sim_ns) / 1e9;
    cpu_s += r.cpu_s;
  }
  state.counters["sim_s_per_cpu_s"] = sim_s / cpu_s;
  state.counters["cpu_s_per_30s_run"] = 30 * cpu_s / sim_s;
  state.SetLabel(std::string("high-bdp, 30 s at 155 Mbit/s, 80 ms, ") + tcp::cc_name(cc));
}
BENCHMARK(BM_LabHighBdpRun)->DenseRange(0, 2)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
