#include "workload/pacer.hh"

#include <cmath>

namespace ts::workload {

std::vector<RateStep> constant_rate(double rate, uint64_t ramp_ns) {
  if (rate <= 0) return {};
  std::vector<RateStep> s;
  if (ramp_ns) s.push_back({ramp_ns, 0, rate});
  s.push_back({RateStep::kForever, rate, rate});
  return s;
}

uint64_t schedule_length(const std::vector<RateStep>& s) {
  uint64_t total = 0;
  for (const RateStep& r : s) {
    if (r.ns == RateStep::kForever) return RateStep::kForever;
    total += r.ns;
  }
  return total;
}

double rate_at(const std::vector<RateStep>& s, uint64_t t) {
  for (const RateStep& r : s) {
    if (r.ns == RateStep::kForever) return r.from;
    if (t < r.ns) return r.from + (r.to - r.from) * double(t) / double(r.ns);
    t -= r.ns;
  }
  return 0;
}

Pacer::Pacer(std::vector<RateStep> schedule, uint64_t limit, size_t backlog)
    : schedule_(std::move(schedule)),
      limit_(limit),
      backlog_(schedule_.empty() ? 0 : std::max<size_t>(backlog, 1)) {}

void Pacer::start(uint64_t now) {
  started_ = true;
  start_ = step_start_ = now;
  step_ = 0;
  in_step_ = 0;
  if (!open_loop()) return;
  // The first request of the first stretch that makes any.
  uint64_t at;
  while (!due_in_step(0, at)) {
    if (schedule_[step_].ns == RateStep::kForever || step_ + 1 == schedule_.size()) {
      over_ = true;
      return;
    }
    step_start_ += schedule_[step_].ns;
    ++step_;
  }
  next_due_ = step_start_ + at;
}

bool Pacer::due_in_step(uint64_t k, uint64_t& at) const {
  const RateStep& r = schedule_[step_];
  const bool forever = r.ns == RateStep::kForever;
  // Requests made by time t (s) into the stretch: n(t) = from t + a t^2 / 2,
  // a = (to - from) / length; the k-th is due where n(t) = k.
  const double len = forever ? 0 : double(r.ns) / 1e9;
  const double a = forever ? 0 : (r.to - r.from) / len;
  double t;
  if (std::abs(a) < 1e-12) {
    if (r.from <= 0) return false;
    t = double(k) / r.from;
  } else {
    const double disc = r.from * r.from + 2 * a * double(k);
    if (disc < 0) return false;  // a falling rate that never reaches k
    t = (std::sqrt(disc) - r.from) / a;
  }
  if (!forever && t >= len) return false;
  const double ns = t * 1e9;
  if (!(ns < 9e18)) return false;
  at = uint64_t(std::llround(ns));
  return true;
}

void Pacer::advance() {
  ++in_step_;
  uint64_t at;
  while (!due_in_step(in_step_, at)) {
    if (schedule_[step_].ns == RateStep::kForever || step_ + 1 == schedule_.size()) {
      over_ = true;
      return;
    }
    step_start_ += schedule_[step_].ns;
    ++step_;
    in_step_ = 0;
  }
  next_due_ = step_start_ + at;
}

}  // namespace ts::workload
