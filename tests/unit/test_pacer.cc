// The pacing every workload mode shares: the closed loop's limit, the open
// loop's due times, its backlog in order, and what overflows it.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "workload/handshake_window.hh"
#include "workload/pacer.hh"
#include "workload/workload.hh"

using ts::workload::Pacer;

TEST(Pacer, ClosedLoopIssuesUpToTheLimitAndIsDoneWhenAllEnded) {
  Pacer p(0, 3);
  EXPECT_FALSE(p.may_issue());  // not started
  p.start(100);
  EXPECT_FALSE(p.open_loop());
  EXPECT_EQ(p.next_due(), UINT64_MAX);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(p.may_issue());
    p.issue();
  }
  EXPECT_FALSE(p.may_issue());
  p.finish();
  p.finish();
  EXPECT_FALSE(p.done());
  p.finish();
  EXPECT_TRUE(p.done());
}

TEST(Pacer, OpenLoopReleasesDueTimesAtTheRate) {
  Pacer p(1000, 0);  // one every millisecond
  p.start(1'000'000);
  std::vector<uint64_t> taken;
  p.release_due(4'500'000, 100, [&](uint64_t due) {
    taken.push_back(due);
    return true;
  });
  // Due at 1, 2, 3 and 4 ms; 5 ms is not yet.
  EXPECT_EQ(taken, (std::vector<uint64_t>{1'000'000, 2'000'000, 3'000'000, 4'000'000}));
  EXPECT_EQ(p.next_due(), 5'000'000u);
  EXPECT_EQ(p.issued(), 4u);
}

TEST(Pacer, RequestsWithoutRoomWaitInOrderAndKeepTheirDueTime) {
  Pacer p(1000, 0);
  p.start(0);
  int room = 1;
  std::vector<uint64_t> taken;
  auto take = [&](uint64_t due) {
    if (!room) return false;
    --room;
    taken.push_back(due);
    return true;
  };
  p.release_due(3'000'000, 100, take);  // 0 taken; 1, 2, 3 ms wait
  EXPECT_EQ(taken, (std::vector<uint64_t>{0}));
  ASSERT_TRUE(p.waiting());
  EXPECT_EQ(p.oldest_waiting(), 1'000'000u);
  // Room again: a newly due request may not overtake those waiting.
  room = 5;
  p.release_due(4'000'000, 100, take);
  EXPECT_EQ(taken.size(), 1u);
  uint64_t due;
  std::vector<uint64_t> waited;
  while (p.pop_waiting(due)) waited.push_back(due);
  EXPECT_EQ(waited, (std::vector<uint64_t>{1'000'000, 2'000'000, 3'000'000, 4'000'000}));
}

TEST(Pacer, AFullBacklogDropsAndCountsTheRequestAsFinished) {
  Pacer p(1000, 5, 2);  // a backlog of two, five requests in all
  p.start(0);
  p.release_due(10'000'000, 100, [](uint64_t) { return false; });
  EXPECT_EQ(p.issued(), 5u);  // the limit
  EXPECT_EQ(p.late_dropped(), 3u);
  uint64_t due;
  ASSERT_TRUE(p.pop_waiting(due));
  EXPECT_EQ(due, 0u);
  p.finish();
  ASSERT_TRUE(p.pop_waiting(due));
  EXPECT_EQ(due, 1'000'000u);
  EXPECT_FALSE(p.done());
  p.finish();
  EXPECT_TRUE(p.done());  // three dropped and two answered
}

TEST(Pacer, ABoundedReleaseLeavesTheRestDueAndStopEndsIssuing) {
  Pacer p(1'000'000, 0);  // one every microsecond
  p.start(0);
  unsigned n = 0;
  p.release_due(1'000'000, 10, [&](uint64_t) { return ++n, true; });
  EXPECT_EQ(n, 10u);
  EXPECT_EQ(p.next_due(), 10'000u);
  p.stop();
  EXPECT_FALSE(p.may_issue());
  EXPECT_EQ(p.next_due(), UINT64_MAX);
}

namespace {

// Every due time the pacer releases up to `until`, all taken.
std::vector<uint64_t> due_times(Pacer& p, uint64_t until) {
  std::vector<uint64_t> v;
  p.release_due(until, 1u << 30, [&](uint64_t due) {
    v.push_back(due);
    return true;
  });
  return v;
}

}  // namespace

TEST(PacerSchedule, ARampRisesLinearlyThenHoldsTheRate) {
  using ts::workload::constant_rate;
  // 0 to 1000/s over 2 s: 1000 requests in the ramp (the area under it),
  // then 1000/s.
  Pacer p(constant_rate(1000, 2'000'000'000), 0);
  p.start(0);
  const auto v = due_times(p, 4'000'000'000 - 1);
  const auto in = [&](uint64_t from, uint64_t to) {
    return std::count_if(v.begin(), v.end(), [&](uint64_t t) { return t >= from && t < to; });
  };
  EXPECT_NEAR(double(in(0, 2'000'000'000)), 1000, 2);
  // The first half second of the ramp carries a sixteenth of it, the last
  // half second seven sixteenths.
  EXPECT_NEAR(double(in(0, 500'000'000)), 1000.0 / 16, 2);
  EXPECT_NEAR(double(in(1'500'000'000, 2'000'000'000)), 1000.0 * 7 / 16, 2);
  EXPECT_NEAR(double(in(2'000'000'000, 4'000'000'000)), 2000, 2);
  EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
  EXPECT_NEAR(p.rate_now(1'000'000'000), 500, 1e-9);
  EXPECT_FALSE(p.done());
}

TEST(PacerSchedule, StepsHoldEachRateForItsTimeThenTheScheduleEnds) {
  using ts::workload::RateStep;
  // 100/s for 1 s, a pause of 1 s, 1000/s for 0.5 s.
  Pacer p({{1'000'000'000, 100, 100}, {1'000'000'000, 0, 0}, {500'000'000, 1000, 1000}}, 0);
  p.start(10);
  const auto v = due_times(p, 10'000'000'000);
  const auto in = [&](uint64_t from, uint64_t to) {
    return std::count_if(v.begin(), v.end(), [&](uint64_t t) { return t >= 10 + from && t < 10 + to; });
  };
  EXPECT_EQ(in(0, 1'000'000'000), 100);
  EXPECT_EQ(in(1'000'000'000, 2'000'000'000), 0);
  EXPECT_EQ(in(2'000'000'000, 2'500'000'000), 500);
  EXPECT_EQ(v.size(), 600u);
  EXPECT_EQ(v.front(), 10u);
  // Over: nothing more is due, and the run is done once all have ended.
  EXPECT_FALSE(p.may_issue());
  EXPECT_EQ(p.next_due(), UINT64_MAX);
  EXPECT_FALSE(p.done());
  for (size_t i = 0; i < v.size(); ++i) p.finish();
  EXPECT_TRUE(p.done());
  EXPECT_EQ(ts::workload::schedule_length({{1'000'000'000, 100, 100}, {500'000'000, 1, 1}}),
            1'500'000'000u);
}

// The handshake window: a burst's worth of new handshakes per tick, growth
// per quick answer, and one halving per round when answers come slowly
// (a queue at the target) as when a SYN had to be sent again.
TEST(HandshakeWindow, GrowsOnQuickAnswersAndHalvesOncePerRoundOnQueueingDelay) {
  using ts::workload::HandshakeWindow;
  HandshakeWindow w;
  uint64_t now = 1000;
  std::vector<uint64_t> seqs;
  while (w.may_open(now)) seqs.push_back(w.opened());
  EXPECT_EQ(seqs.size(), size_t(HandshakeWindow::kFirstBurst));
  for (uint64_t s : seqs) w.answered(s, false, 100'000);  // 100 us each
  EXPECT_EQ(w.window(), 2 * HandshakeWindow::kFirstBurst);
  EXPECT_EQ(w.in_flight(), 0u);
  // No more than kPerTick new ones in one tick, whatever the window.
  for (int i = 0; i < 200; ++i) w.answered(w.opened(), false, 100'000);
  ++now;
  unsigned in_tick = 0;
  while (w.may_open(now)) {
    w.opened();
    ++in_tick;
  }
  EXPECT_EQ(in_tick, HandshakeWindow::kPerTick);
  // A round of answers slowed by a queue (over 4x the quickest + 0.5 ms):
  // one halving for the round, not one per answer.
  const uint32_t before = w.window();
  seqs.clear();
  ++now;
  for (int i = 0; i < 8; ++i) seqs.push_back(w.opened());
  for (uint64_t s : seqs) w.answered(s, false, 2'000'000);
  EXPECT_EQ(w.window(), before / 2);
  // A slow path seen from the start is not a queue: 100 ms handshakes grow it.
  HandshakeWindow far;
  for (int i = 0; i < 10; ++i) far.answered(far.opened(), false, 100'000'000 + i * 1'000'000);
  EXPECT_EQ(far.window(), HandshakeWindow::kFirstBurst + 10);
  // A path that became slower for good is the new normal after kEpoch answers.
  HandshakeWindow moved;
  for (uint32_t i = 0; i < HandshakeWindow::kEpoch; ++i) moved.answered(moved.opened(), false, 100'000);
  for (uint32_t i = 0; i < HandshakeWindow::kEpoch; ++i) moved.answered(moved.opened(), false, 5'000'000);
  const uint32_t w0 = moved.window();
  for (int i = 0; i < 10; ++i) moved.answered(moved.opened(), false, 5'000'000);
  EXPECT_EQ(moved.window(), w0 + 10);
}

// gen --window: the window grows to its maximum and no further; a maximum
// under the first burst is where it starts and the floor of its halvings.
TEST(HandshakeWindow, StopsAtItsMaximum) {
  using ts::workload::HandshakeWindow;
  HandshakeWindow def;
  for (int i = 0; i < 1000; ++i) def.answered(def.opened(), false, 100'000);
  EXPECT_EQ(def.window(), HandshakeWindow::kDefaultMax);
  HandshakeWindow w(40);
  for (int i = 0; i < 100; ++i) w.answered(w.opened(), false, 100'000);
  EXPECT_EQ(w.window(), 40u);
  HandshakeWindow small(4);
  EXPECT_EQ(small.window(), 4u);
  uint64_t now = 7;
  unsigned opened = 0;
  while (small.may_open(now)) {
    small.opened();
    ++opened;
  }
  EXPECT_EQ(opened, 4u);
  small.answered(1, true);  // a retransmitted SYN: halving stops at the floor
  EXPECT_EQ(small.window(), 4u);
  EXPECT_EQ(HandshakeWindow(0).max(), 1u);
  // gen's default: 256 in the open loop, 1024 in the closed loop; --window wins.
  ts::workload::GenConfig g;
  EXPECT_EQ(g.window_max(), HandshakeWindow::kClosedLoopMax);
  g.rate = 1000;
  EXPECT_EQ(g.window_max(), HandshakeWindow::kDefaultMax);
  g.window = 40;
  EXPECT_EQ(g.window_max(), 40u);
}
