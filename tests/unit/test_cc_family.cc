// The delay- and rate-based members of the family (Vegas, Compound, BBR), the
// delivery-rate samples they read, and pacing, against their papers' rules
// with scripted ACKs and RTTs (docs/congestion.md).
#include <gtest/gtest.h>

#include <cmath>

#include "tcp/cc/bbr.hh"
#include "tcp/cc/compound.hh"
#include "tcp/cc/vegas.hh"
#include "tcp/delivery_rate.hh"
#include "tcp_harness.hh"

namespace ts::tcp {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint32_t kSeg = 1000;

// Plays rounds of ACKs at a given RTT: two ACKs inside the round and one that
// ends it (its ACK passes what was sent when the round began).
struct Rounds {
  uint32_t seq = 0;
  void start(CongestionControl& cc, CcState& s) {
    AckSample a;
    a.ack = seq;
    a.snd_max = seq + 100;
    cc.on_sample(s, a, 0);
  }
  void round(CongestionControl& cc, CcState& s, uint64_t rtt, bool limited = true) {
    for (uint32_t ack : {seq + 1, seq + 2, seq + 100}) {
      AckSample a;
      a.rtt_ns = rtt;
      a.cwnd_limited = limited;
      a.ack = ack;
      a.snd_max = seq + 200;
      cc.on_sample(s, a, 0);
    }
    seq += 100;
  }
};

CcState avoidance(uint32_t cwnd_segs) {
  CcState s;
  s.smss = kSeg;
  s.cwnd = cwnd_segs * kSeg;
  s.ssthresh = 2 * kSeg;
  return s;
}

TEST(Vegas, GrowsBelowAlphaHoldsBetweenAndShrinksAboveBeta) {
  Vegas v;
  CcState s = avoidance(20);
  v.init(s);
  Rounds r;
  r.start(v, s);
  r.round(v, s, 100 * kMs);  // BaseRTT 100 ms, no queue: diff 0 < alpha
  EXPECT_EQ(v.base_rtt(), 100 * kMs);
  EXPECT_TRUE(v.delay_mode());
  EXPECT_EQ(s.cwnd, 21u * kSeg);
  // 21 segments at 120 ms: 21 * 20 / 120 = 3.5 queued, between alpha and beta.
  r.round(v, s, 120 * kMs);
  EXPECT_NEAR(v.last_diff(), 3.5, 1e-9);
  EXPECT_EQ(s.cwnd, 21u * kSeg);
  // At 150 ms: 7 queued, above beta: one segment less.
  r.round(v, s, 150 * kMs);
  EXPECT_NEAR(v.last_diff(), 7.0, 1e-9);
  EXPECT_EQ(s.cwnd, 20u * kSeg);
  // A round in which the application limited the sender decides nothing.
  r.round(v, s, 100 * kMs, false);
  EXPECT_EQ(s.cwnd, 20u * kSeg);
}

TEST(Vegas, FallsBackToRenoWithoutEnoughSamples) {
  Vegas v;
  CcState s = avoidance(20);
  v.init(s);
  Rounds r;
  r.start(v, s);
  // A round of ACKs without RTT samples: Reno's growth, one segment per window.
  r.round(v, s, 0);
  EXPECT_FALSE(v.delay_mode());
  v.on_ack(s, 20 * kSeg, 0);
  EXPECT_EQ(s.cwnd, 21u * kSeg);
}

TEST(Vegas, SlowStartGrowsEveryOtherRoundAndEndsAboveGamma) {
  Vegas v;
  CcState s;
  s.smss = kSeg;
  s.cwnd = 10 * kSeg;
  v.init(s);
  Rounds r;
  r.start(v, s);
  r.round(v, s, 100 * kMs);
  ASSERT_TRUE(v.delay_mode());
  const uint32_t before = s.cwnd;
  v.on_ack(s, 2 * kSeg, 0);
  const bool grew_first = s.cwnd > before;
  r.round(v, s, 100 * kMs);
  const uint32_t mid = s.cwnd;
  v.on_ack(s, 2 * kSeg, 0);
  const bool grew_second = s.cwnd > mid;
  EXPECT_NE(grew_first, grew_second) << "slow start doubles only every other round";
  // 40 segments at 110 ms: 40 * 10 / 110 = 3.6 queued > gamma: avoidance from
  // the window that fills the path, 40 * 100 / 110 + 1 = 37 segments.
  s.cwnd = 40 * kSeg;
  r.round(v, s, 110 * kMs);
  EXPECT_EQ(s.cwnd, 37u * kSeg);
  EXPECT_LT(s.ssthresh, s.cwnd);
}

TEST(Compound, DelayWindowGrowsWithoutQueueAndGivesWayToOne) {
  Compound c;
  CcState s = avoidance(100);
  c.init(s);
  Rounds r;
  r.start(c, s);
  r.round(c, s, 100 * kMs);
  // No queue: dwnd += alpha * win^k - 1 = 0.125 * 100^0.75 - 1 = 2.95 segments.
  EXPECT_NEAR(double(c.delay_window()) / kSeg, 0.125 * std::pow(100.0, 0.75) - 1, 0.01);
  EXPECT_EQ(s.cwnd, c.loss_window() + c.delay_window());
  for (int i = 0; i < 10; ++i) r.round(c, s, 100 * kMs);
  const uint32_t grown = c.delay_window();
  EXPECT_GT(grown, 25u * kSeg);
  // Twice the base RTT: half the window is queued, far above gamma; dwnd
  // gives way by that much, to zero.
  r.round(c, s, 200 * kMs);
  EXPECT_EQ(c.delay_window(), 0u);
  EXPECT_EQ(s.cwnd, c.loss_window());
}

TEST(Compound, StaysRenoBelowTheLowWindow) {
  Compound c;
  CcState s = avoidance(30);
  c.init(s);
  Rounds r;
  r.start(c, s);
  for (int i = 0; i < 5; ++i) r.round(c, s, 100 * kMs);
  EXPECT_EQ(c.delay_window(), 0u);
}

TEST(Compound, LossCutsTheSumByBetaAndTheLossWindowByHalf) {
  Compound c;
  CcState s = avoidance(100);
  c.init(s);
  Rounds r;
  r.start(c, s);
  for (int i = 0; i < 8; ++i) r.round(c, s, 100 * kMs);
  const uint32_t cw = c.loss_window(), win = s.cwnd;
  ASSERT_GT(c.delay_window(), 0u);
  s.flight = win;
  c.on_congestion(s, CongestionSignal::loss, 0);
  EXPECT_EQ(c.loss_window(), cw / 2);
  EXPECT_NEAR(double(s.ssthresh), win * (1 - Compound::kBeta), 1.0);
  EXPECT_EQ(c.loss_window() + c.delay_window(), s.ssthresh);
}

// BBR fed by rounds of rate samples at a fixed bandwidth and RTT.
struct BbrPath {
  Bbr b;
  CcState s;
  uint64_t now = 0, delivered = 0, lost = 0;
  uint64_t bw = 10'000'000;  // bytes/s
  uint64_t rtt = 40 * kMs;
  BbrPath() {
    s.smss = kSeg;
    s.cwnd = 10 * kSeg;
    b.init(s);
  }
  // One round: the path delivers bw * rtt bytes; `flight` is in flight after.
  void round(uint64_t flight, uint64_t lost_now = 0) {
    const uint64_t prior = delivered;
    now += rtt;
    delivered += bw * rtt / 1'000'000'000;
    lost += lost_now;
    AckSample a;
    a.acked = uint32_t(delivered - prior);
    a.flight = uint32_t(flight);
    a.cwnd_limited = true;
    a.delivered = delivered;
    a.lost = lost;
    a.rate.delivered = delivered - prior;
    a.rate.prior_delivered = prior;
    a.rate.interval_ns = rtt;
    a.rate.rtt_ns = rtt;
    b.on_sample(s, a, now);
  }
  uint64_t bdp() const { return bw * rtt / 1'000'000'000; }
};

TEST(Bbr, StartupFindsThePipeThenDrainsIntoProbeBw) {
  BbrPath p;
  EXPECT_EQ(p.b.state(), Bbr::State::startup);
  p.round(10 * kSeg);
  EXPECT_EQ(p.b.max_bw(), p.bw);
  EXPECT_EQ(p.b.min_rtt(), p.rtt);
  // At least the startup gain over the measured bandwidth (before the pipe
  // is full the rate never falls, so the initial window's may stand).
  EXPECT_GE(double(p.b.pacing_rate()), Bbr::kStartupPacingGain * p.bw * 0.99 - 2.0);
  // Three rounds without 25% more bandwidth: the pipe is full.
  for (int i = 0; i < 3 && p.b.state() == Bbr::State::startup; ++i) p.round(2 * p.bdp());
  EXPECT_TRUE(p.b.full_pipe());
  EXPECT_EQ(p.b.state(), Bbr::State::drain);
  EXPECT_LT(p.b.pacing_rate(), p.bw);  // drains at 0.35
  p.round(p.bdp() / 2);  // the queue is gone: ProbeBW, down or already cruising
  EXPECT_TRUE(p.b.state() == Bbr::State::probe_bw_down ||
              p.b.state() == Bbr::State::probe_bw_cruise);
  // The window is the BDP at cwnd gain 2 (plus the pacing allowance).
  EXPECT_NEAR(double(p.s.cwnd), 2.0 * p.bdp() + 3 * kSeg, 2.0 * kSeg);
}

TEST(Bbr, ProbeBwCyclesUpAndBackDown) {
  BbrPath p;
  for (int i = 0; i < 6; ++i) p.round(p.bdp());
  ASSERT_EQ(p.b.state(), Bbr::State::probe_bw_cruise);
  bool up = false, down_again = false;
  // Within 3 s (and at most 63 rounds, Reno's pace) it probes.
  for (int i = 0; i < 80 && !down_again; ++i) {
    const bool in_up = p.b.state() == Bbr::State::probe_bw_up;
    up |= in_up;
    p.round(in_up ? p.bdp() * 13 / 10 : p.bdp());
    if (up && p.b.state() == Bbr::State::probe_bw_down) down_again = true;
  }
  EXPECT_TRUE(up);
  EXPECT_TRUE(down_again) << "a queue of a quarter BDP ends the probe";
}

TEST(Bbr, LossAboveTwoPercentEndsStartupAndBoundsInflight) {
  BbrPath p;
  p.round(10 * kSeg);
  p.round(20 * kSeg);
  ASSERT_EQ(p.b.state(), Bbr::State::startup);
  const uint64_t flight = 3 * p.bdp();
  p.round(flight, p.bdp() / 10);  // 10% lost
  EXPECT_TRUE(p.b.full_pipe());
  EXPECT_EQ(p.b.inflight_hi(), flight);
  // One percent in a round of ProbeBW: below the threshold, the long-term
  // bound stays, the short-term one follows what the round delivered.
  for (int i = 0; i < 4; ++i) p.round(p.bdp());
  const uint64_t hi = p.b.inflight_hi();
  p.round(p.bdp(), p.bdp() / 100);
  EXPECT_EQ(p.b.inflight_hi(), hi);
  EXPECT_GE(p.b.inflight_lo(), p.bdp());
  EXPECT_GE(p.s.cwnd, p.bdp());
}

TEST(Bbr, ProbeRttAfterFiveSecondsWithoutANewMinimum) {
  BbrPath p;
  for (int i = 0; i < 6; ++i) p.round(p.bdp());
  p.rtt = 50 * kMs;  // a standing queue: no new minimum
  for (int i = 0; i < 200 && p.b.state() != Bbr::State::probe_rtt; ++i) p.round(p.bdp());
  ASSERT_EQ(p.b.state(), Bbr::State::probe_rtt);
  EXPECT_GE(p.now, 5'000'000'000u);
  EXPECT_LE(p.s.cwnd, std::max<uint64_t>(p.b.bdp() / 2, 4 * kSeg));
  // Half a BDP in flight for 200 ms and a round, then back to ProbeBW.
  for (int i = 0; i < 10 && p.b.state() == Bbr::State::probe_rtt; ++i) p.round(p.b.bdp() / 2);
  EXPECT_EQ(p.b.state(), Bbr::State::probe_bw_down);
}

TEST(DeliveryRate, MeasuresTheRateOfDeliveryOverTheLongerOfSendAndAckIntervals) {
  DeliveryRate d;
  // Ten segments sent 1 ms apart, each acknowledged 100 ms after it left.
  for (uint32_t i = 0; i < 10; ++i) d.on_send(i * kSeg, (i + 1) * kSeg, i * kSeg, 0, i * kMs);
  EXPECT_EQ(d.tracked(), 10u);
  auto none = [](uint64_t) { return false; };
  RateSample rs;
  for (uint32_t i = 0; i < 10; ++i)
    rs = d.on_ack((i + 1) * kSeg, (i + 1) * kSeg, none, (100 + i) * kMs);
  ASSERT_TRUE(rs.valid());
  EXPECT_EQ(rs.rtt_ns, 100 * kMs);
  // The last ACK's sample is of the last segment: all 10 were delivered
  // since it left, and the longer of its intervals is the ACK interval, from
  // the start of the flight (0) to now (109 ms).
  EXPECT_EQ(rs.delivered, 10u * kSeg);
  EXPECT_EQ(rs.interval_ns, 109 * kMs);
  EXPECT_EQ(rs.rate(), 10ull * kSeg * 1'000'000'000 / (109 * kMs));
  EXPECT_FALSE(rs.app_limited);
  EXPECT_EQ(d.tracked(), 0u);
}

TEST(DeliveryRate, SackedSegmentsCountAndAppLimitedSamplesAreMarked) {
  DeliveryRate d;
  d.on_send(0, kSeg, 0, 0, 0);
  d.mark_app_limited(kSeg);
  d.on_send(kSeg, 2 * kSeg, kSeg, 0, kMs);
  // The second segment SACKed, the first still missing.
  auto sacked = [](uint64_t pos) { return pos >= kSeg && pos < 2 * kSeg; };
  const RateSample rs = d.on_ack(kSeg, 0, sacked, 50 * kMs);
  EXPECT_EQ(rs.rtt_ns, 49 * kMs);
  EXPECT_TRUE(rs.app_limited);
  EXPECT_EQ(d.tracked(), 1u);  // the first waits for its ACK
}

}  // namespace
}  // namespace ts::tcp

namespace ts::test {
namespace {

// After an ACK 20 ms into a bulk transfer: how many segments left at once,
// how many within the next 20 ms, and the window in segments.
struct AfterAck {
  size_t at_once, within, window;
};
AfterAck flight_after_ack(bool pacing) {
  TcpConfig cfg;
  cfg.pacing = pacing;
  Harness h(cfg);
  h.establish_active();
  h.conn->send(bytes(400000), h.now);
  h.take();
  h.now += 20 * kMs;
  h.in(h.ack_all());
  AfterAck r{h.take().size(), 0, h.conn->cwnd() / h.conn->smss()};
  h.run_until(h.now + 20 * kMs);
  r.within = r.at_once + h.take().size();
  return r;
}

TEST(Pacing, SpreadsAWindowOverTheRoundTripInsteadOfABurst) {
  const AfterAck burst = flight_after_ack(false);
  EXPECT_EQ(burst.at_once, burst.window);  // the whole window at once
  EXPECT_EQ(burst.within, burst.window);
  const AfterAck paced = flight_after_ack(true);
  EXPECT_LE(paced.at_once, 2u);
  EXPECT_EQ(paced.within, paced.window) << "pacing delays segments by less than an RTT";
}

}  // namespace
}  // namespace ts::test
