// The loss-recovery unit on its own: scripted ACK sequences (duplicates,
// partial and full ACKs, SACK blocks, timeouts) against each recovery style,
// checking what it asks to send and what it does to the window.
#include <gtest/gtest.h>

#include <vector>

#include "tcp/recovery.hh"

namespace {

using namespace ts::tcp;
using Kind = Transmission::Kind;
using Range = SackScoreboard::Range;

constexpr uint32_t kSmss = 1000;

// A sender with `segments` full segments outstanding from offset 0, a
// NewReno window of 10 segments, and a recovery unit of the given style.
struct Script {
  explicit Script(RecoveryStyle style, uint32_t segments = 10)
      : cc(CcAlgo::newreno, false), rec(ctr, 3) {
    rec.set_style(style);
    cc.start(kSmss, 10 * kSmss, UINT32_MAX / 2);
    f.end = f.max = uint64_t(segments) * kSmss;
    sync();
  }
  void sync() {
    f.acked_to = f.una;
    f.sent_to = f.max;
    f.bytes = uint32_t(f.max - f.una);
  }
  // A duplicate ACK, optionally with SACK blocks.
  Recovery::AckResult dup(std::vector<Range> sacks = {}) {
    Recovery::Ack a;
    a.duplicate = true;
    a.sacks = sacks;
    return rec.on_ack(a, [this] { return f; }, cc, kSmss, now += 1000);
  }
  // The cumulative ACK moves to `una`.
  Recovery::AckResult ack(uint64_t una, std::vector<Range> sacks = {}) {
    Recovery::Ack a;
    a.advanced = true;
    a.acked = uint32_t(una - f.una);
    a.sacks = sacks;
    f.una = una;
    sync();
    return rec.on_ack(a, [this] { return f; }, cc, kSmss, now += 1000);
  }
  // New data sent after the flight.
  void send_new(uint32_t bytes) {
    rec.sent(f.max, bytes, false, f.max);
    f.end = f.max = f.max + bytes;
    sync();
  }
  // Sends what recovery asks for, as the connection would.
  Transmission send_next() {
    Transmission t = rec.next_segment(f, kSmss, f.una + 1'000'000, false);
    if (t && t.kind != Kind::new_data) {
      rec.sent(t.begin, t.len, true, f.max);
      rec.commit(t);
    }
    return t;
  }
  void sent_retransmission(const Transmission& t) {
    rec.sent(t.begin, t.len, true, f.max);
    rec.commit(t);
  }

  TcpCounters ctr;
  Congestion cc;
  Recovery rec;
  Flight f;
  uint64_t now = 1'000'000;
};

bool is(const Transmission& t, Kind k, uint64_t begin, uint32_t len) {
  return t.kind == k && t.begin == begin && t.len == len && !t.fin;
}

TEST(RecoveryNewReno, ThirdDuplicateRetransmitsInflatesAndPartialAcksStayInRecovery) {
  Script s(RecoveryStyle::newreno);
  EXPECT_FALSE(s.dup().retransmit);
  EXPECT_FALSE(s.dup().retransmit);
  const auto r = s.dup();  // RFC 6582 3.2 step 2
  EXPECT_TRUE(is(r.retransmit, Kind::hole, 0, kSmss));
  s.sent_retransmission(r.retransmit);
  EXPECT_TRUE(s.rec.in_recovery());
  EXPECT_EQ(s.cc.ssthresh(), 5 * kSmss);  // FlightSize / 2
  EXPECT_EQ(s.cc.cwnd(), 8 * kSmss);      // ssthresh + 3 SMSS
  EXPECT_EQ(s.ctr.tcp_fast_recoveries, 1u);
  EXPECT_EQ(s.ctr.tcp_dup_acks, 3u);
  s.dup();  // step 4: inflation
  EXPECT_EQ(s.cc.cwnd(), 9 * kSmss);
  // A partial ACK: the next hole at once, the window deflated by what was
  // acknowledged less one segment, and recovery goes on (step 3).
  const auto p = s.ack(2 * kSmss);
  EXPECT_TRUE(is(p.retransmit, Kind::hole, 2 * kSmss, kSmss));
  EXPECT_FALSE(p.grow);
  EXPECT_TRUE(s.rec.in_recovery());
  EXPECT_EQ(s.cc.cwnd(), 9 * kSmss - 2 * kSmss + kSmss);
  // The ACK of the recovery point ends it with cwnd = ssthresh.
  const auto full = s.ack(10 * kSmss);
  EXPECT_FALSE(full.retransmit);
  EXPECT_FALSE(full.grow);  // the ACK that ends recovery does not grow the window
  EXPECT_FALSE(s.rec.in_recovery());
  EXPECT_EQ(s.cc.cwnd(), 5 * kSmss);
  // Afterwards ACKs are ordinary again.
  s.send_new(5 * kSmss);
  EXPECT_TRUE(s.ack(12 * kSmss).grow);
}

TEST(RecoveryNewReno, DuplicatesBelowTheRecoveryPointStartNoSecondReduction) {
  Script s(RecoveryStyle::newreno, 20);
  for (int i = 0; i < 3; ++i) s.dup();
  ASSERT_TRUE(s.rec.in_recovery());
  s.ack(20 * kSmss);  // recovery point: everything outstanding at entry
  ASSERT_FALSE(s.rec.in_recovery());
  EXPECT_EQ(s.ctr.tcp_fast_recoveries, 1u);
  // After a timeout the recovery point is SND.MAX then: duplicates of the
  // go-back-N retransmissions must not start a fast recovery.
  s.send_new(10 * kSmss);
  s.rec.on_timeout(s.f);
  EXPECT_TRUE(s.rec.going_back());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(s.dup().retransmit);
  EXPECT_EQ(s.ctr.tcp_fast_recoveries, 1u);
  EXPECT_TRUE(s.ack(25 * kSmss).grow);
  EXPECT_TRUE(s.rec.going_back());  // not all of it yet
  s.ack(30 * kSmss);
  EXPECT_FALSE(s.rec.going_back());
}

TEST(RecoveryReno, TheFirstNewAckEndsRecoveryAndASecondLossHalvesAgain) {
  Script s(RecoveryStyle::reno, 20);
  for (int i = 0; i < 3; ++i) s.dup();
  ASSERT_TRUE(s.rec.in_recovery());
  EXPECT_EQ(s.cc.ssthresh(), 10 * kSmss);
  // A partial ACK ends Reno's recovery (RFC 5681 3.2 step 6), no retransmission.
  const auto p = s.ack(2 * kSmss);
  EXPECT_FALSE(p.retransmit);
  EXPECT_FALSE(s.rec.in_recovery());
  EXPECT_EQ(s.cc.cwnd(), 10 * kSmss);
  // The next hole makes duplicates again: a second fast retransmit and a
  // second reduction for the same window (Reno's weakness with several losses).
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(s.dup().retransmit);
  EXPECT_TRUE(is(s.dup().retransmit, Kind::hole, 2 * kSmss, kSmss));
  EXPECT_EQ(s.ctr.tcp_fast_recoveries, 2u);
  EXPECT_EQ(s.cc.ssthresh(), 9 * kSmss);  // half of the 18 segments now in flight
}

TEST(RecoveryTahoe, FastRetransmitThenSlowStartFromOneSegment) {
  Script s(RecoveryStyle::tahoe);
  s.dup();
  s.dup();
  const auto r = s.dup();
  EXPECT_TRUE(is(r.retransmit, Kind::hole, 0, kSmss));
  EXPECT_FALSE(s.rec.in_recovery());  // no fast recovery
  EXPECT_EQ(s.cc.cwnd(), kSmss);
  EXPECT_EQ(s.cc.ssthresh(), 5 * kSmss);
  // Further duplicates neither inflate nor retransmit again.
  EXPECT_FALSE(s.dup().retransmit);
  EXPECT_FALSE(s.dup().retransmit);
  EXPECT_EQ(s.cc.cwnd(), kSmss);
  // The next new ACK is an ordinary one: the window may grow (slow start).
  EXPECT_TRUE(s.ack(kSmss).grow);
}

TEST(RecoverySack, SackedBytesFindTheLossBeforeThreeDuplicates) {
  Script s(RecoveryStyle::sack);
  // Segment 0 lost; one duplicate SACKs three segments above it: more than
  // (DupThresh - 1) * SMSS bytes above, so it is lost (RFC 6675 IsLost).
  const auto r = s.dup({{kSmss, 4 * kSmss}});
  EXPECT_TRUE(is(r.retransmit, Kind::hole, 0, kSmss));
  EXPECT_TRUE(s.rec.in_recovery());
  EXPECT_TRUE(s.rec.pipe_driven());
  EXPECT_EQ(s.rec.dupacks(), 1u);
  s.sent_retransmission(r.retransmit);
  EXPECT_EQ(s.rec.high_rxt(), kSmss);
  // pipe: 6 unSACKed segments above the hole not lost, plus the retransmission.
  EXPECT_EQ(s.rec.pipe(s.f, kSmss), 7 * kSmss);
}

TEST(RecoverySack, NextSegRetransmitsLostHolesThenNewDataThenTheRescue) {
  Script s(RecoveryStyle::sack);
  // Segments 0 and 5 lost, everything else SACKed.
  const auto r = s.dup({{kSmss, 5 * kSmss}, {6 * kSmss, 10 * kSmss}});
  ASSERT_TRUE(is(r.retransmit, Kind::hole, 0, kSmss));
  s.sent_retransmission(r.retransmit);
  // (1) the lost hole above HighRxt.
  EXPECT_TRUE(is(s.send_next(), Kind::hole, 5 * kSmss, kSmss));
  // (2) new data when the connection has some (ahead of the rescue).
  EXPECT_EQ(s.rec.next_segment(s.f, kSmss, 1'000'000, true).kind, Kind::new_data);
  s.send_new(2 * kSmss);  // 10..12 outstanding, not SACKed
  // Nothing left but the top: (4) the rescue of the highest segment, once.
  EXPECT_TRUE(is(s.send_next(), Kind::rescue, 11 * kSmss, kSmss));
  EXPECT_FALSE(s.send_next());
}

TEST(RecoverySack, AnUnsackedHoleNotYetLostIsSentWhenNothingBetterIs) {
  Script s(RecoveryStyle::sack);
  // Holes at 0 (lost: all SACKed above) and 8 (only one segment SACKed above it).
  const auto r = s.dup({{kSmss, 8 * kSmss}, {9 * kSmss, 10 * kSmss}});
  s.sent_retransmission(r.retransmit);
  // (3): not lost by RFC 6675's rule, but nothing else is waiting.
  EXPECT_TRUE(is(s.send_next(), Kind::hole, 8 * kSmss, kSmss));
}

TEST(RecoverySack, ProportionalRateReductionSpreadsTheReduction) {
  Script s(RecoveryStyle::sack, 20);
  const auto r = s.dup({{kSmss, 4 * kSmss}});
  s.sent_retransmission(r.retransmit);
  EXPECT_EQ(s.cc.ssthresh(), 10 * kSmss);
  // Each further SACKed segment delivers one; pipe stays above ssthresh, so
  // PRR lets out ssthresh / RecoverFS of a segment per segment delivered.
  s.dup({{kSmss, 5 * kSmss}});
  const uint32_t p = s.rec.pipe(s.f, kSmss);
  ASSERT_GT(p, s.cc.ssthresh());
  // delivered 1 segment: ceil(1000 * 10000 / 20000) = 500 bytes, less the
  // retransmission already sent (1000): nothing more yet.
  EXPECT_EQ(s.cc.cwnd(), p);
  s.dup({{kSmss, 6 * kSmss}});
  s.dup({{kSmss, 7 * kSmss}});
  // 3 delivered: 1500 allowed, 1000 sent: 500 bytes of room.
  EXPECT_EQ(s.cc.cwnd(), s.rec.pipe(s.f, kSmss) + 500);
}

TEST(RecoverySack, ALostRetransmissionIsSentAgainAndReducesOnceMore) {
  Script s(RecoveryStyle::sack);
  const auto r = s.dup({{kSmss, 4 * kSmss}});
  s.sent_retransmission(r.retransmit);  // recorded with sent_max = 10 segments
  const uint32_t ssthresh = s.cc.ssthresh();
  s.send_new(4 * kSmss);
  // SACKs reach well beyond what was sent when the retransmission went out,
  // while offset 0 is still missing: the retransmission was lost too.
  s.dup({{kSmss, 14 * kSmss}});
  EXPECT_EQ(s.ctr.tcp_lost_retransmits, 1u);
  // A second congestion signal within the same recovery: ssthresh from the
  // flight now (14 segments), and no new fast recovery counted.
  EXPECT_NE(s.cc.ssthresh(), ssthresh);
  EXPECT_EQ(s.cc.ssthresh(), 7 * kSmss);
  EXPECT_EQ(s.ctr.tcp_fast_recoveries, 1u);
  EXPECT_TRUE(is(s.send_next(), Kind::relost, 0, kSmss));
  // Sent again: the record is spent, and nothing else is missing.
  EXPECT_FALSE(s.rec.next_segment(s.f, kSmss, 1'000'000, false));
}

TEST(RecoverySack, AnAckStoppingAtSackedDataMeansTheReceiverReneged) {
  Script s(RecoveryStyle::sack);
  s.dup({{3 * kSmss, 4 * kSmss}});
  ASSERT_FALSE(s.rec.scoreboard().empty());
  s.ack(3 * kSmss);
  EXPECT_TRUE(s.rec.scoreboard().empty());
  EXPECT_EQ(s.ctr.tcp_sack_reneging, 1u);
}

TEST(RecoveryTimeout, GoBackNSkipsWhatTheReceiverHolds) {
  Script s(RecoveryStyle::sack);
  s.dup({{2 * kSmss, 4 * kSmss}});
  s.rec.on_timeout(s.f);
  EXPECT_FALSE(s.rec.in_recovery());
  EXPECT_EQ(s.rec.dupacks(), 0u);
  EXPECT_TRUE(s.rec.going_back());
  EXPECT_EQ(s.rec.skip_sacked(2 * kSmss), 4 * kSmss);
  EXPECT_EQ(s.rec.next_sacked(0), 2 * kSmss);
  EXPECT_EQ(s.rec.high_rxt(), 0u);
}

TEST(SackScoreboard, MergesAdvancesAndDetectsLossAsRfc6675Says) {
  SackScoreboard sb;
  EXPECT_EQ(sb.add(3000, 4000), 1000u);
  EXPECT_EQ(sb.add(5000, 6000), 1000u);
  EXPECT_EQ(sb.add(3500, 5200), 1000u);  // bridges the gap: 1000 new bytes
  EXPECT_EQ(sb.size(), 1u);
  EXPECT_EQ(sb.sacked_bytes(), 3000u);
  EXPECT_TRUE(sb.is_sacked(4500));
  EXPECT_EQ(sb.skip_sacked(3200), 6000u);
  EXPECT_EQ(sb.next_sacked(1000), 3000u);
  // IsLost: more than (DupThresh - 1) * SMSS bytes above, or DupThresh ranges.
  EXPECT_TRUE(sb.is_lost(0, 3, 1000));
  SackScoreboard two;
  two.add(3000, 4000);
  two.add(5000, 6000);
  EXPECT_FALSE(two.is_lost(0, 3, 1000));  // 2000 bytes, 2 ranges
  two.add(7000, 7001);
  EXPECT_TRUE(two.is_lost(0, 3, 1000));   // 3 discontiguous ranges
  sb.advance(4000);
  EXPECT_EQ(sb.sacked_bytes(), 2000u);
  sb.advance(7000);
  EXPECT_TRUE(sb.empty());
}

TEST(RecoveryStyleNames, EveryStyleHasItsName) {
  EXPECT_STREQ(recovery_style_name(RecoveryStyle::tahoe), "tahoe");
  EXPECT_STREQ(recovery_style_name(RecoveryStyle::reno), "reno");
  EXPECT_STREQ(recovery_style_name(RecoveryStyle::newreno), "newreno");
  EXPECT_STREQ(recovery_style_name(RecoveryStyle::sack), "sack");
}

}  // namespace
