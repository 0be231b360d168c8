// TCP per-segment costs and the simulator's speed. Timings only.
#include <benchmark/benchmark.h>

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

}  // namespace

BENCHMARK_MAIN();
