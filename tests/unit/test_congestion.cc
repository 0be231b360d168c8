// The congestion controllers behind cc.hh's interface, driven directly:
// NewReno's slow start and avoidance (RFC 5681, RFC 3465), Tahoe's loss
// window, Reno's, CUBIC (RFC 9438), and the registry of names.
#include <gtest/gtest.h>

#include <cmath>

#include "tcp/cc/congestion.hh"
#include "tcp/cc/cubic.hh"
#include "tcp/cc/newreno.hh"
#include "tcp/cc/registry.hh"
#include "tcp/cc/reno.hh"
#include "tcp/cc/tahoe.hh"

using namespace ts::tcp;

TEST(NewReno, SlowStartThenOneSegmentPerWindow) {
  NewReno cc;
  CcState s;
  s.smss = 1000;
  s.cwnd = 10000;
  s.ssthresh = 20000;
  cc.init(s);
  cc.on_ack(s, 5000, 0);  // at most 2 SMSS per ACK (RFC 3465)
  EXPECT_EQ(s.cwnd, 12000u);
  cc.on_ack(s, 1000, 0);
  EXPECT_EQ(s.cwnd, 13000u);
  s.cwnd = 20000;
  for (int i = 0; i < 19; ++i) cc.on_ack(s, 1000, 0);
  EXPECT_EQ(s.cwnd, 20000u);
  cc.on_ack(s, 1000, 0);  // a full window acknowledged: + 1 SMSS
  EXPECT_EQ(s.cwnd, 21000u);
  s.flight = 21000;
  cc.on_congestion(s, CongestionSignal::loss, 0);
  EXPECT_EQ(s.ssthresh, 10500u);
  EXPECT_EQ(s.cwnd, 10500u);
  cc.on_congestion(s, CongestionSignal::timeout, 0);
  EXPECT_EQ(s.cwnd, 1000u);
}

// A window of 40 segments of 1000 bytes, all in flight, above ssthresh.
CcState full_window(CongestionControl& cc) {
  CcState s;
  s.smss = 1000;
  s.cwnd = 40000;
  s.ssthresh = 20000;
  cc.init(s);
  s.flight = 40000;
  return s;
}

// Tahoe has no fast recovery: a loss found by duplicate ACKs costs what a
// timeout does, slow start from one segment up to half the flight.
TEST(Tahoe, EveryLossRestartsFromOneSegment) {
  Tahoe cc;
  CcState s = full_window(cc);
  cc.on_congestion(s, CongestionSignal::loss, 0);
  EXPECT_EQ(s.ssthresh, 20000u);
  EXPECT_EQ(s.cwnd, 1000u);
  cc.on_ack(s, 1000, 0);  // slow start again
  EXPECT_EQ(s.cwnd, 2000u);
  s.flight = 3000;
  cc.on_congestion(s, CongestionSignal::timeout, 0);
  EXPECT_EQ(s.ssthresh, 2000u);  // at least 2 SMSS
  EXPECT_EQ(s.cwnd, 1000u);
}

// Reno halves on a loss and resumes at ssthresh when recovery ends (its
// recovery ends at the first new ACK: recovery.hh's reno style).
TEST(Reno, HalvesOnLossAndLeavesRecoveryAtSsthresh) {
  Reno cc;
  CcState s = full_window(cc);
  cc.on_congestion(s, CongestionSignal::loss, 0);
  EXPECT_EQ(s.ssthresh, 20000u);
  EXPECT_EQ(s.cwnd, 20000u);
  s.cwnd = 23000;  // inflated by duplicate ACKs during recovery
  cc.on_recovery_exit(s, 0);
  EXPECT_EQ(s.cwnd, 20000u);
}

TEST(CcRegistry, NamesAlgorithmsAndTheirRecovery) {
  EXPECT_EQ(cc_names(), "tahoe, reno, newreno, cubic, vegas, compound, bbr");
  for (const CcInfo& i : cc_algorithms()) {
    ASSERT_NE(find_cc(i.name), nullptr);
    EXPECT_EQ(find_cc(i.name)->algo, i.algo);
    EXPECT_STREQ(cc_name(i.algo), i.name);
  }
  EXPECT_EQ(find_cc("westwood"), nullptr);
  EXPECT_EQ(find_cc(""), nullptr);
  TcpConfig c;
  c.cc = CcAlgo::tahoe;
  EXPECT_EQ(recovery_for(c, true), RecoveryStyle::tahoe);  // SACK or not
  EXPECT_EQ(recovery_for(c, false), RecoveryStyle::tahoe);
  c.cc = CcAlgo::reno;
  EXPECT_EQ(recovery_for(c, true), RecoveryStyle::sack);
  EXPECT_EQ(recovery_for(c, false), RecoveryStyle::reno);
  c.cc = CcAlgo::newreno;
  EXPECT_EQ(recovery_for(c, false), RecoveryStyle::newreno);
  c.cc = CcAlgo::cubic;
  EXPECT_EQ(recovery_for(c, true), RecoveryStyle::sack);
  EXPECT_EQ(recovery_for(c, false), RecoveryStyle::newreno);
  c.recovery = RecoveryStyle::reno;  // a style given outright is used as it is
  EXPECT_EQ(recovery_for(c, true), RecoveryStyle::reno);
}

TEST(Cubic, ReducesByBetaAndFollowsTheCubicCurve) {
  Cubic cc;
  CcState s;
  s.smss = 1000;
  s.cwnd = 100'000;  // 100 segments
  s.ssthresh = 50'000;
  s.srtt_us = 100'000;
  cc.init(s);
  s.flight = s.cwnd;
  cc.on_congestion(s, CongestionSignal::loss, 0);
  EXPECT_EQ(s.ssthresh, 70'000u);  // beta = 0.7 (RFC 9438 4.6)
  EXPECT_EQ(s.cwnd, 70'000u);
  EXPECT_DOUBLE_EQ(cc.w_max(), 100.0);
  cc.on_recovery_exit(s, 0);
  // K = cbrt(W_max (1 - beta) / C) = cbrt(75) s (RFC 9438 4.2)
  const uint64_t t0 = 1'000'000'000;
  cc.on_ack(s, 1000, t0);
  EXPECT_NEAR(cc.k(), std::cbrt(30.0 / 0.4), 1e-9);
  EXPECT_NEAR(cc.w_cubic(cc.k()), 100.0, 1e-9);
  // Growth until K approaches W_max; concave: slower near the plateau.
  uint64_t now = t0;
  for (int rtt = 0; rtt < 80; ++rtt) {
    now += 100'000'000;
    const uint32_t acks = s.cwnd / s.smss;
    for (uint32_t i = 0; i < acks; ++i) cc.on_ack(s, 1000, now);
  }
  const double t = double(now - t0) / 1e9;
  EXPECT_NEAR(double(s.cwnd) / 1000, cc.w_cubic(t + 0.1), 3.0);
}

TEST(Cubic, FastConvergenceLowersTheRememberedMaximum) {
  Cubic cc;
  CcState s;
  s.smss = 1000;
  s.cwnd = 100'000;
  cc.init(s);
  cc.on_congestion(s, CongestionSignal::loss, 0);
  EXPECT_DOUBLE_EQ(cc.w_max(), 100.0);
  s.cwnd = 80'000;  // lost again before reaching the old maximum
  cc.on_congestion(s, CongestionSignal::loss, 0);
  EXPECT_DOUBLE_EQ(cc.w_max(), 80.0 * (1 + 0.7) / 2);  // RFC 9438 4.7
}

TEST(Cubic, RenoFriendlyRegionKeepsUpWithReno) {
  // On a short-RTT path the cubic curve is flat; the Reno estimate leads.
  Cubic cc;
  CcState s;
  s.smss = 1000;
  s.cwnd = 20'000;
  s.srtt_us = 1'000;
  cc.init(s);
  cc.on_congestion(s, CongestionSignal::loss, 0);
  cc.on_recovery_exit(s, 0);
  const uint32_t start = s.cwnd;
  uint64_t now = 0;
  for (int rtt = 0; rtt < 10; ++rtt) {
    now += 1'000'000;
    const uint32_t acks = s.cwnd / s.smss;
    for (uint32_t i = 0; i < acks; ++i) cc.on_ack(s, 1000, now);
  }
  // alpha = 3 (1 - 0.7) / 1.7 ~ 0.53 segments per RTT while below W_max = 20
  // (from 14: 10 RTTs stay below it); the cubic curve alone would barely move.
  EXPECT_NEAR(double(s.cwnd - start) / 1000, 10 * 0.53, 1.0);
}

// Congestion builds each algorithm in place and finds it through its virtual
// table; BBR's state sits out of line behind a forwarder. Each algorithm is
// the one asked for, starts its window, and only BBR sets a pacing rate.
TEST(Congestion, BuildsEachAlgorithmInPlace) {
  for (const CcAlgo algo : {CcAlgo::newreno, CcAlgo::cubic, CcAlgo::tahoe, CcAlgo::reno,
                            CcAlgo::vegas, CcAlgo::compound, CcAlgo::bbr}) {
    Congestion c(algo, true);
    EXPECT_STREQ(c.algorithm().name(), cc_name(algo));
    c.start(1000, 10'000, UINT32_MAX / 2);
    EXPECT_EQ(c.cwnd(), 10'000u) << cc_name(algo);
    EXPECT_EQ(c.smss(), 1000u);
    if (algo == CcAlgo::bbr) {
      // Before a bandwidth sample: the window per RTT (1 ms without one) at
      // Startup's gain.
      EXPECT_EQ(c.pacing_rate(), uint64_t(Bbr::kStartupPacingGain * 10'000 * 1000));
      EXPECT_TRUE(c.wants_rate_samples());
    } else {
      EXPECT_EQ(c.pacing_rate(), 0u) << cc_name(algo);
    }
  }
}

// The window state keeps SRTT in microseconds; a measured RTT below one
// stays measured (1 us) rather than reading as "none" (BBR would then
// assume 1 ms, Cubic 100 ms).
TEST(Congestion, AnRttBelowAMicrosecondStaysMeasured) {
  Congestion c(CcAlgo::bbr, false);
  c.set_srtt(500);
  c.start(1000, 10'000, UINT32_MAX / 2);
  // The initial window per microsecond at Startup's gain: 2.77e10 bytes/s.
  EXPECT_NEAR(double(c.pacing_rate()), Bbr::kStartupPacingGain * 10'000 * 1e6, 1e4);
}

// HyStart++ (RFC 9406) driven directly: rounds end when SND.UNA passes the
// highest sequence sent at the round's start; a round's minimum RTT over at
// least 8 samples that exceeds the last round's by max(4 ms, last/8) (at most
// 16 ms) enters conservative slow start; 5 rounds of it end slow start; an
// RTT below the baseline that entered it resumes slow start.
namespace {

struct HyStartRounds {
  HyStart h;
  CcState s;
  uint32_t una = 0;
  HyStartRounds() {
    s.smss = 1000;
    s.cwnd = 10'000;
  }
  // One round: `acks` ACKs of 1000 bytes, each measuring `rtt_ms`. The
  // sender keeps a round's worth ahead of SND.UNA, so the round's first ACK
  // is the one that covers the highest sequence sent when the last began.
  // With `pause_after`, the window stops limiting the sender after that many
  // ACKs of the round (HyStart::pause), and limits again from the next.
  void round(uint64_t rtt_ms, int acks = 8, int pause_after = -1) {
    for (int i = 0; i < acks; ++i) {
      if (i == pause_after) h.pause();
      una += 1000;
      h.on_ack(s, rtt_ms * 1'000'000, una, una + uint32_t(acks) * 1000);
    }
  }
};

}  // namespace

TEST(HyStart, ASteadyRoundTripStaysInSlowStart) {
  HyStartRounds r;
  for (int i = 0; i < 20; ++i) r.round(10);
  EXPECT_FALSE(r.s.css);
  EXPECT_EQ(r.s.ssthresh, UINT32_MAX);
  EXPECT_TRUE(r.h.searching());
}

TEST(HyStart, ARisingRoundTripEntersConservativeSlowStartThenLeavesSlowStart) {
  HyStartRounds r;
  r.round(10);
  r.round(10);
  r.round(13);  // 3 ms more: below the 4 ms floor of the threshold
  EXPECT_FALSE(r.s.css);
  r.round(17, 7);  // 4 ms over 13, but only 7 samples in the round
  EXPECT_FALSE(r.s.css);
  r.round(17);  // against 17: no rise
  r.round(21);  // 4 ms over 17, 8 samples: conservative slow start
  EXPECT_TRUE(r.s.css);
  EXPECT_EQ(r.s.ssthresh, UINT32_MAX);
  for (int i = 0; i < 4; ++i) r.round(21);
  EXPECT_TRUE(r.s.css);
  r.s.cwnd = 25'000;
  r.round(21);  // the fifth round of it begins: congestion avoidance at the present window
  EXPECT_FALSE(r.s.css);
  EXPECT_EQ(r.s.ssthresh, 25'000u);
  EXPECT_FALSE(r.h.searching());
}

TEST(HyStart, ARoundTripBackBelowTheBaselineResumesSlowStart) {
  HyStartRounds r;
  r.round(10);
  r.round(20);  // 10 ms over 10: conservative slow start, baseline 20 ms
  ASSERT_TRUE(r.s.css);
  r.round(25);
  EXPECT_TRUE(r.s.css);
  r.round(19);  // below the baseline: the rise was a fluke
  EXPECT_FALSE(r.s.css);
  EXPECT_TRUE(r.h.searching());
}

TEST(HyStart, APauseLeavesNoEarlierRoundToCompareWith) {
  HyStartRounds r;
  r.round(10);
  r.round(10);
  r.h.pause();
  r.round(30);  // would be 20 ms over the round before the pause
  EXPECT_FALSE(r.s.css);
  r.round(30);
  EXPECT_FALSE(r.s.css);
  r.round(40);  // against 30, measured after the pause
  EXPECT_TRUE(r.s.css);
}

// A pause in conservative slow start is not a round of it: its five rounds
// are counted where SND.UNA passes each round's end, pauses or not.
TEST(HyStart, PausesInConservativeSlowStartAreNotRounds) {
  HyStartRounds r;
  r.round(10);
  r.round(20);  // conservative slow start from here, baseline 20 ms
  ASSERT_TRUE(r.s.css);
  for (int i = 0; i < 3; ++i) r.round(25, 8, 4);  // its rounds 1 to 3, a pause in each
  EXPECT_TRUE(r.s.css);
  EXPECT_EQ(r.s.ssthresh, UINT32_MAX);
  r.round(25);  // round 4
  EXPECT_TRUE(r.s.css);
  r.s.cwnd = 30'000;
  r.round(25);  // round 5 begins: congestion avoidance
  EXPECT_FALSE(r.s.css);
  EXPECT_EQ(r.s.ssthresh, 30'000u);
}

// Through Congestion: ACKs that find the window not limiting the sender (an
// application that sends less than the window) neither grow the window nor
// feed HyStart++. A delay that rose meanwhile (another flow's queue) does not
// end the slow start of a window this connection never filled, and the first
// round after the window limits again is not compared with one before.
TEST(Congestion, HyStartIgnoresAcksThatTheWindowDidNotLimit) {
  Congestion c(CcAlgo::newreno, true);
  c.start(1000, 10'000, UINT32_MAX);
  uint32_t una = 0;
  auto round = [&](uint64_t rtt_ms, bool limited) {  // as HyStartRounds::round
    for (int i = 0; i < 8; ++i) {
      una += 1000;
      c.on_ack(1000, rtt_ms * 1'000'000, una, una + 8000, limited, true, 0);
    }
  };
  round(10, true);
  round(10, true);
  const uint32_t grown = c.cwnd();
  EXPECT_EQ(grown, 26'000u);  // slow start: 1000 bytes an ACK
  for (int i = 0; i < 10; ++i) round(30, false);
  EXPECT_EQ(c.cwnd(), grown);  // not limited: no growth
  EXPECT_TRUE(c.in_slow_start());
  round(30, true);  // no earlier round: full growth
  EXPECT_EQ(c.cwnd(), grown + 8000);
  round(30, true);
  EXPECT_EQ(c.cwnd(), grown + 16'000);
  round(40, true);  // 10 ms over the round before: conservative slow start from its 8th sample
  EXPECT_EQ(c.cwnd(), grown + 16'000 + 7 * 1000 + 250);
  EXPECT_TRUE(c.in_slow_start());
}
