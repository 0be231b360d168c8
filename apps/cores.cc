#include "apps/cores.hh"

#include <rte_launch.h>

#include "apps/runtime.hh"
#include "drivers-glue/clock.hh"

#include <stdexcept>
#include <string>

namespace ts::app {

Workers::Workers(const std::vector<unsigned>& lcores, size_t first,
                 std::function<void(size_t)> body, std::atomic<bool>& stop)
    : lcores_(lcores), running_(lcores.size(), false), body_(std::move(body)), stop_(stop) {
  launches_.reserve(lcores_.size());
  for (size_t i = 0; i < lcores_.size(); ++i) launches_.push_back({this, i});
  for (size_t i = first; i < lcores_.size(); ++i) {
    if (rte_eal_remote_launch(&Workers::entry, &launches_[i], lcores_[i]) != 0) {
      stop_.store(true);
      join();
      throw std::runtime_error("cannot start a loop on lcore " + std::to_string(lcores_[i]));
    }
    running_[i] = true;
  }
}

Workers::~Workers() {
  stop_.store(true);
  join();
}

int Workers::entry(void* arg) {
  auto* l = static_cast<Launch*>(arg);
  l->self->body_(l->index);
  return 0;
}

void Workers::join() {
  for (size_t i = 0; i < lcores_.size(); ++i)
    if (running_[i]) {
      rte_eal_wait_lcore(lcores_[i]);
      running_[i] = false;
    }
}

void drain_between_cores(DrainBarrier& b, size_t n, const glue::TscClock& clock,
                         const std::vector<Endpoint*>& eps) {
  const uint64_t until = clock.now_ns() + 1'000'000'000;
  auto poll = [&] {
    const uint64_t now = clock.now_ns();
    for (Endpoint* e : eps) e->poll(now);
    return now < until;
  };
  auto idle = [&] {
    for (Endpoint* e : eps)
      if (!e->steering_idle()) return false;
    return true;
  };
  for (Endpoint* e : eps) e->stop_receiving();
  b.quiet.fetch_add(1);
  while (b.quiet.load() < n && poll()) {
  }
  // Nobody passes frames on any more: take what is still in the rings.
  while (!idle() && poll()) {
  }
  b.done.fetch_add(1);
  // A core without a queue now stops sending; one with a queue transmits
  // what the others sent through it until they all have stopped.
  bool carrier = false;
  for (Endpoint* e : eps) carrier = carrier || e->owns_queue();
  while (b.done.load() < n && clock.now_ns() < until)
    if (carrier) poll();
  while (carrier && !idle() && poll()) {
  }
}

void run_on_cores(const std::vector<unsigned>& lcores, const std::function<void(size_t)>& body,
                  std::atomic<bool>& stop) {
  Workers workers(lcores, 1, body, stop);
  body(0);
  workers.join();
}

}  // namespace ts::app
