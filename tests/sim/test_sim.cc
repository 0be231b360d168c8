// Simulation property tests: real stacks over simulated links, many seeds.
// Each run must deliver every byte exactly, close in order on both sides, and
// finish within its scenario's bound. A failure prints the command that
// replays the very same run and writes that run's trace (pcap and text)
// under $TS_SIM_TRACE_DIR (default: sim-traces in the working directory).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "sim/apps.hh"
#include "sim/scenario.hh"
#include "sim/trace.hh"

using namespace ts;
using namespace ts::sim;
using tcp::CcAlgo;

namespace {

struct Case {
  std::string scenario;
  CcAlgo cc;
  uint64_t seed;
  bool pacing = false;
};

uint64_t seeds_from_env(const char* var, uint64_t dflt) {
  const char* v = std::getenv(var);
  return v ? std::strtoull(v, nullptr, 10) : dflt;
}

std::vector<Case> cases() {
  // 8 scenarios x 2 algorithms x 13 seeds = 208 runs by default; the nightly
  // suite sets TS_SIM_SEEDS higher.
  const uint64_t n = seeds_from_env("TS_SIM_SEEDS", 13);
  std::vector<Case> v;
  for (const char* s : {"clean", "loss1", "loss5", "bursty", "reorder", "duplicate", "corrupt",
                        "slow-reader"})
    for (CcAlgo cc : {CcAlgo::newreno, CcAlgo::cubic})
      for (uint64_t seed = 1; seed <= n; ++seed) v.push_back({s, cc, seed});
  for (CcAlgo cc : {CcAlgo::newreno, CcAlgo::cubic}) {
    v.push_back({"lfn", cc, 1});
    for (uint64_t seed = 1; seed <= 2; ++seed) v.push_back({"dumbbell", cc, seed});
  }
  // The rest of the family over every scenario, a quarter of the seeds (at
  // least 3), and CUBIC and BBR once more with pacing (BBR paces anyway; the
  // flag must not change that).
  const uint64_t quarter = std::max<uint64_t>(n / 4, 3);
  const char* const all[] = {"clean", "loss1", "loss5", "bursty", "reorder", "duplicate",
                             "corrupt", "slow-reader", "dumbbell"};
  for (CcAlgo cc : {CcAlgo::tahoe, CcAlgo::reno, CcAlgo::vegas, CcAlgo::compound, CcAlgo::bbr}) {
    for (const char* s : all)
      for (uint64_t seed = 1; seed <= quarter; ++seed) v.push_back({s, cc, seed});
    v.push_back({"lfn", cc, 1});
  }
  // The gigabit path (100 MB) once for every algorithm.
  for (CcAlgo cc : {CcAlgo::newreno, CcAlgo::cubic, CcAlgo::tahoe, CcAlgo::reno, CcAlgo::vegas,
                    CcAlgo::compound, CcAlgo::bbr})
    v.push_back({"gigabit", cc, 1});
  for (CcAlgo cc : {CcAlgo::cubic, CcAlgo::bbr})
    for (const char* s : all)
      for (uint64_t seed = 1; seed <= quarter; ++seed) v.push_back({s, cc, seed, true});
  return v;
}

std::string case_name(const testing::TestParamInfo<Case>& p) {
  std::string s = p.param.scenario + "_" + tcp::cc_name(p.param.cc) +
                  (p.param.pacing ? "_paced_" : "_") + std::to_string(p.param.seed);
  for (char& ch : s)
    if (ch == '-') ch = '_';
  return s;
}

Result run(const std::string& name, CcAlgo cc, uint64_t seed, LinkTrace* trace = nullptr,
           bool pacing = false) {
  auto s = make_scenario(name, cc);
  EXPECT_TRUE(s.has_value()) << name;
  if (pacing) set_pacing(*s);
  return run_scenario(*s, seed, trace);
}

// What a failed run prints: its summary, the command that replays it, and a
// trace of the same run (runs are deterministic, so running it again with a
// trace writer attached gives the very frames of the failure).
std::string failed(const Result& r) {
  std::string out = r.summary() + "\nreproduce: " + r.repro();
  const char* dir_env = std::getenv("TS_SIM_TRACE_DIR");
  const std::filesystem::path dir = dir_env && *dir_env ? dir_env : "sim-traces";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string prefix = std::filesystem::absolute(
      dir / (r.scenario + "-" + tcp::cc_name(r.cc) + "-" + std::to_string(r.seed))).string();
  TraceWriter t(prefix);
  if (!t.ok()) return out + "\ntrace: cannot write " + prefix + ".pcap/.txt";
  run(r.scenario, r.cc, r.seed, &t, r.pacing);
  return out + "\ntrace: " + prefix + ".pcap and " + prefix + ".txt (" +
         std::to_string(t.frames()) + " frames)";
}

}  // namespace

class SimProperty : public testing::TestWithParam<Case> {};

TEST_P(SimProperty, DeliversEveryByteClosesInOrderAndInTime) {
  const Case& c = GetParam();
  const Result r = run(c.scenario, c.cc, c.seed, nullptr, c.pacing);
  EXPECT_TRUE(r.ok()) << failed(r);
  EXPECT_EQ(r.pacing, c.pacing);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SimProperty, testing::ValuesIn(cases()), case_name);

TEST(SimRecovery, WithSackOnePercentLossIsRepairedEfficientlyAndMostlyWithoutTimeouts) {
  uint64_t timeouts = 0, lost_packets = 0;
  for (CcAlgo cc : {CcAlgo::newreno, CcAlgo::cubic}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      const Result r = run("loss1", cc, seed);
      ASSERT_TRUE(r.ok()) << failed(r);
      const uint64_t lost = r.forward.lost_payload;
      const uint64_t retx = r.flows[0].retransmitted_bytes;
      // Retransmitted bytes stay below 1.5 times the bytes lost.
      EXPECT_LE(double(retx), 1.5 * double(lost)) << failed(r);
      if (r.forward.lost) {
        EXPECT_GE(r.sender.tcp_fast_recoveries, 1u) << r.repro();
      }
      timeouts += r.sender.tcp_rto_timeouts;
      lost_packets += r.forward.lost + r.forward.queue_drops;
    }
  }
  // Most losses are repaired by SACK recovery: at most one timeout per ten lost packets.
  EXPECT_LE(timeouts * 10, lost_packets) << timeouts << " timeouts for " << lost_packets
                                         << " lost packets";
}

// The classic algorithms predate SACK (Vegas too): each also runs without it,
// in its own recovery style (Tahoe's, Reno's, NewReno's), and still delivers
// every byte.
TEST(SimRecovery, ClassicAlgorithmsWithoutSack) {
  for (CcAlgo cc : {CcAlgo::tahoe, CcAlgo::reno, CcAlgo::newreno, CcAlgo::vegas}) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      auto s = make_scenario("loss1", cc);
      ASSERT_TRUE(s.has_value());
      s->tcp.sack = false;
      const Result r = run_scenario(*s, seed);
      EXPECT_TRUE(r.ok()) << failed(r);
      EXPECT_FALSE(r.sack);
      EXPECT_NE(r.repro().find("--no-sack"), std::string::npos);
      if (r.forward.lost) {
        EXPECT_GE(r.sender.tcp_fast_recoveries, 1u) << r.repro();
      }
    }
  }
}

TEST(SimThroughput, ACleanGigabitPathIsFilledByNewRenoAndCubic) {
  for (CcAlgo cc : {CcAlgo::newreno, CcAlgo::cubic}) {
    const Result r = run("gigabit", cc, 1);
    ASSERT_TRUE(r.ok()) << failed(r);
    // At least 95% of the link rate once congestion avoidance runs (slow start
    // and the recovery of its overshoot come first; the summary has the overall
    // figure as well).
    EXPECT_GE(r.steady_utilization, 0.95) << failed(r);
    std::printf("%s\n", r.summary().c_str());
  }
}

TEST(SimDeterminism, OneSeedReplaysExactlyAnotherDiffers) {
  const Result a = run("bursty", CcAlgo::cubic, 7), b = run("bursty", CcAlgo::cubic, 7);
  EXPECT_EQ(a.completion_ns, b.completion_ns);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.forward.lost, b.forward.lost);
  EXPECT_EQ(a.flows[0].retransmitted_bytes, b.flows[0].retransmitted_bytes);
  const Result c = run("bursty", CcAlgo::cubic, 8);
  EXPECT_NE(a.events, c.events);
}

TEST(SimSlowReader, ZeroWindowsAreProbedAndTheTransferCompletes) {
  uint64_t probes = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const Result r = run("slow-reader", CcAlgo::cubic, seed);
    ASSERT_TRUE(r.ok()) << failed(r);
    probes += r.sender.tcp_window_probes;
  }
  EXPECT_GT(probes, 0u);
}

TEST(SimCorruption, FlippedBitsAreCaughtByChecksumsNeverDelivered) {
  const Result r = run("corrupt", CcAlgo::cubic, 3);
  ASSERT_TRUE(r.ok()) << failed(r);
  EXPECT_GT(r.forward.corrupted + r.reverse.corrupted, 0u);
}

TEST(SimPattern, AnyAlteredOrMisplacedByteIsFound) {
  std::vector<uint8_t> buf(5000);
  for (uint64_t off : {0ull, 3ull, 8ull, 12345ull}) {
    fill_pattern(77, off, buf.data(), buf.size());
    EXPECT_EQ(check_pattern(77, off, buf.data(), buf.size()), buf.size());
    EXPECT_LT(check_pattern(78, off, buf.data(), buf.size()), 8u);  // another flow: its first word differs
    for (size_t at : {size_t(0), size_t(7), size_t(2500), size_t(4999)}) {
      buf[at] ^= 0x10;
      EXPECT_EQ(check_pattern(77, off, buf.data(), buf.size()), at) << off << " " << at;
      buf[at] ^= 0x10;
    }
    // The same bytes one word later in the stream do not pass either.
    EXPECT_LT(check_pattern(77, off + 8, buf.data(), buf.size()), buf.size());
  }
}

TEST(SimTrace, RecordsEveryFrameAndWhatEachLinkDidToIt) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ts-sim-trace-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string prefix = (dir / "loss5").string();
  Result r;
  uint64_t frames = 0;
  {
    TraceWriter t(prefix);
    ASSERT_TRUE(t.ok());
    auto s = make_scenario("loss5", CcAlgo::cubic);
    s->bytes = 200'000;
    r = run_scenario(*s, 4, &t);
    frames = t.frames();
  }
  ASSERT_TRUE(r.ok()) << r.summary();
  const LinkStats& f = r.forward;
  const LinkStats& b = r.reverse;
  EXPECT_EQ(frames, f.offered + b.offered);

  // The pcap file: a nanosecond-resolution header, then one whole record per
  // frame.
  std::ifstream pcap(prefix + ".pcap", std::ios::binary);
  uint32_t hdr[6];
  ASSERT_TRUE(pcap.read(reinterpret_cast<char*>(hdr), sizeof hdr));
  EXPECT_EQ(hdr[0], 0xa1b23c4du);
  EXPECT_EQ(hdr[5], 1u);  // Ethernet
  uint64_t records = 0;
  uint32_t rec[4];
  while (pcap.read(reinterpret_cast<char*>(rec), sizeof rec)) {
    ASSERT_LT(rec[1], 1'000'000'000u);  // nanoseconds
    ASSERT_EQ(rec[2], rec[3]);
    ASSERT_GE(rec[2], 14u);
    ASSERT_TRUE(pcap.seekg(rec[2], std::ios::cur));
    ++records;
  }
  EXPECT_EQ(records, frames);

  // The text: one line per frame, the losses and queue drops as the links
  // counted them.
  std::ifstream text(prefix + ".txt");
  std::string line;
  uint64_t lines = 0, lost = 0, drops = 0, syns = 0;
  while (std::getline(text, line)) {
    if (line.starts_with("#")) continue;
    ++lines;
    if (line.find(" lost ") != std::string::npos) ++lost;
    if (line.find(" queue-drop ") != std::string::npos) ++drops;
    if (line.find("[S") != std::string::npos) ++syns;
  }
  EXPECT_EQ(lines, frames);
  EXPECT_EQ(lost, f.lost + b.lost);
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(drops, f.queue_drops + b.queue_drops);
  EXPECT_GE(syns, 2u);  // the SYN and the SYN-ACK at least
  std::filesystem::remove_all(dir);
}
