// Running one loop per core: launching the worker lcores and joining them
// however the caller's scope is left, and the one way a core's numbers reach
// another while both run (a snapshot the owning core takes on request).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace ts::glue {
class TscClock;
}

namespace ts::app {

class Endpoint;

// A value owned by one core, copied by that core when another asks. The asker
// calls ask(), then reads value() once ready(); the owner calls serve() on
// every loop iteration (one acquire load when nothing is asked).
template <class T>
class Snapshot {
 public:
  void ask() { asked_.store(answered_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  bool ready() const {
    return answered_.load(std::memory_order_acquire) == asked_.load(std::memory_order_relaxed);
  }
  const T& value() const { return value_; }

  template <class Fill>
  void serve(Fill&& fill) {
    const uint32_t a = asked_.load(std::memory_order_acquire);
    if (a == answered_.load(std::memory_order_relaxed)) return;
    fill(value_);
    answered_.store(a, std::memory_order_release);
  }

 private:
  alignas(64) std::atomic<uint32_t> asked_{0};
  alignas(64) std::atomic<uint32_t> answered_{0};
  T value_{};
};

// Asks cores 1..n-1 for a snapshot: snap(k) is core k's Snapshot.
template <class SnapOf>
void ask_all(size_t n, SnapOf&& snap) {
  for (size_t k = 1; k < n; ++k) snap(k).ask();
}

// Whether cores 1..n-1 have all answered.
template <class SnapOf>
bool all_ready(size_t n, SnapOf&& snap) {
  for (size_t k = 1; k < n; ++k)
    if (!snap(k).ready()) return false;
  return true;
}

// Runs body(i) on lcores[i] for every i >= first (the caller runs the others
// itself). join() waits for them; the destructor sets `stop` and joins, so a
// worker never outlives what it uses. Throws when a launch fails.
class Workers {
 public:
  Workers(const std::vector<unsigned>& lcores, size_t first, std::function<void(size_t)> body,
          std::atomic<bool>& stop);
  ~Workers();
  Workers(const Workers&) = delete;
  Workers& operator=(const Workers&) = delete;
  void join();

 private:
  struct Launch {
    Workers* self;
    size_t index;
  };
  static int entry(void* arg);
  std::vector<unsigned> lcores_;
  std::vector<Launch> launches_;
  std::vector<bool> running_;
  std::function<void(size_t)> body_;
  std::atomic<bool>& stop_;
};

// The end of a run on several cores without frames left between them: each
// core stops taking frames from its port queue, then polls until every core
// has and its rings are empty; then cores with a queue go on until every core
// is through, transmitting what the queue-less cores sent through them (at
// most a second in all). Afterwards steer_out equals steer_in.
struct DrainBarrier {
  std::atomic<size_t> quiet{0}, done{0};
};
void drain_between_cores(DrainBarrier& b, size_t n, const glue::TscClock& clock,
                         const std::vector<Endpoint*>& eps);

// body(0) on the calling core and body(i) on lcores[i] for the others, until
// all return (`stop` is set if the calling core's body throws).
void run_on_cores(const std::vector<unsigned>& lcores, const std::function<void(size_t)>& body,
                  std::atomic<bool>& stop);

}  // namespace ts::app
