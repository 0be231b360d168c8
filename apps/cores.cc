#include "apps/cores.hh"

#include <rte_launch.h>

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

void run_on_cores(const std::vector<unsigned>& lcores, const std::function<void(size_t)>& body,
                  std::atomic<bool>& stop) {
  Workers workers(lcores, 1, body, stop);
  body(0);
  workers.join();
}

}  // namespace ts::app
