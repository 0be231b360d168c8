// The timer wheel against a brute-force model: random arming, re-arming,
// cancelling and advancing over spans from microseconds to days; every timer
// fires exactly once, never before its time and at most one tick after the
// first advance that reaches it.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "stack/timer_wheel.hh"
#include "util/rng.hh"

using ts::stack::TimerWheel;

namespace {

constexpr uint64_t kTick = uint64_t(1) << TimerWheel::kTickShift;

TEST(TimerWheel, FiresOnceInTimeAndCancelWorks) {
  TimerWheel w(8, 1'000'000);
  std::vector<uint32_t> fired;
  auto rec = [&](uint32_t id) { fired.push_back(id); };
  const uint64_t t0 = 1'000'000;
  w.schedule(0, t0 + 50'000, t0);       // 50 us
  w.schedule(1, t0 + 200'000'000, t0);  // 200 ms: level 1
  w.schedule(2, t0 + 5'000'000, t0);    // 5 ms, then cancelled
  w.schedule(3, t0 + 10'000, t0);       // re-armed later below
  w.cancel(2);
  w.schedule(3, t0 + 3'000'000, t0);
  EXPECT_EQ(w.size(), 3u);
  EXPECT_FALSE(w.armed(2));
  w.advance(t0 + 49'000, rec);
  EXPECT_TRUE(fired.empty());
  w.advance(t0 + 50'000 + kTick, rec);
  ASSERT_EQ(fired, std::vector<uint32_t>{0});
  w.advance(t0 + 199'000'000, rec);
  ASSERT_EQ(fired, (std::vector<uint32_t>{0, 3}));
  w.advance(t0 + 200'000'000 + kTick, rec);
  ASSERT_EQ(fired, (std::vector<uint32_t>{0, 3, 1}));
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.next_deadline(), UINT64_MAX);
}

TEST(TimerWheel, NextDeadlineIsALowerBound) {
  TimerWheel w(2, 0);
  w.schedule(0, 3'000'000'000, 0);  // 3 s: level 2
  uint64_t now = 0;
  int polls = 0;
  bool done = false;
  // Polling only at next_deadline() (as the simulator does) reaches the timer
  // in a step per level, never past its tick.
  while (!done && polls < 1000) {
    const uint64_t d = w.next_deadline();
    ASSERT_GT(d, now);
    ASSERT_LE(d, 3'000'000'000 + kTick);
    now = d;
    w.advance(now, [&](uint32_t) { done = true; });
    ++polls;
  }
  EXPECT_TRUE(done);
  EXPECT_GE(now, 3'000'000'000u);
  EXPECT_LE(polls, 4);  // one per level the timer passes through
}

TEST(TimerWheel, MatchesModelUnderRandomUse) {
  constexpr uint32_t kIds = 512;
  TimerWheel w(kIds, 0);
  struct Armed {
    uint64_t at;
    bool beyond_horizon;  // may fire early, at the 19.5 h clamp
  };
  std::map<uint32_t, Armed> model;
  constexpr uint64_t kHorizon = (uint64_t(1) << 32) * kTick - 2 * kTick;
  ts::util::Rng rng(42);
  uint64_t now = 0;
  uint64_t fired_total = 0;
  for (int step = 0; step < 200'000; ++step) {
    const uint32_t op = uint32_t(rng.next() % 10);
    const uint32_t id = uint32_t(rng.next() % kIds);
    if (op < 5) {
      // Delays from 1 us to about two days, log-uniform-ish.
      const unsigned scale = unsigned(rng.next() % 48);
      const uint64_t delay = 1000 + (rng.next() % (uint64_t(1) << scale));
      w.schedule(id, now + delay, now);
      model[id] = {now + delay, delay >= kHorizon};
    } else if (op < 6) {
      w.cancel(id);
      model.erase(id);
    } else {
      const unsigned scale = unsigned(rng.next() % 36);
      now += rng.next() % (uint64_t(1) << scale);
      w.advance(now, [&](uint32_t f) {
        auto it = model.find(f);
        ASSERT_NE(it, model.end()) << "fired a timer that is not armed";
        // Never early (except times beyond the wheel's 19.5 h horizon).
        if (!it->second.beyond_horizon) {
          ASSERT_LE(it->second.at, now);
        }
        model.erase(it);
        ++fired_total;
      });
      // Everything due a tick ago has fired.
      uint64_t earliest = UINT64_MAX;
      for (auto& [mid, a] : model) {
        ASSERT_GT(a.at + kTick, now) << "timer " << mid << " is late";
        earliest = std::min(earliest, a.at);
      }
      // next_deadline() is a lower bound of the next firing, in the future.
      const uint64_t nd = w.next_deadline();
      ASSERT_GT(nd, now);
      if (earliest != UINT64_MAX) {
        ASSERT_LE(nd, earliest + kTick);
      }
    }
    ASSERT_EQ(w.size(), model.size());
  }
  EXPECT_GT(fired_total, 10'000u);
}

}  // namespace

namespace {

TEST(TimerWheel, FireMayCancelOrRearmTimersOfTheSameTick) {
  TimerWheel w(4, 0);
  for (uint32_t id = 0; id < 4; ++id) w.schedule(id, 100'000, 0);  // one tick
  std::vector<uint32_t> fired;
  w.advance(200'000, [&](uint32_t id) {
    fired.push_back(id);
    if (fired.size() == 1) {
      // The first to fire cancels one sibling and re-arms another for later.
      const uint32_t a = (id + 1) % 4, b = (id + 2) % 4;
      w.cancel(a);
      w.schedule(b, 10'000'000, 200'000);
    }
  });
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_EQ(w.size(), 1u);
  w.advance(10'000'000 + kTick, [&](uint32_t id) { fired.push_back(id); });
  EXPECT_EQ(fired.size(), 3u);
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
