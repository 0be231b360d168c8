// When requests are due, shared by every workload mode (docs/architecture.md,
// "Workload modes"). Closed loop (no schedule): a request starts whenever the
// mode has room (a connection or a window slot free) and the limit allows,
// its latency counted from when it was sent. Open loop: requests are due at
// times a rate schedule sets from the start; one that finds no room waits in
// a bounded backlog, and its latency counts from when it was due, so a
// server that stalls shows in the tail instead of slowing the generator down
// (no coordinated omission).
//
// A schedule is a list of stretches, each with a rate that moves linearly
// from one value to another over its length: a constant rate (--rate) is one
// endless stretch, a ramp (--ramp) a rising stretch before it, and --steps a
// list of constant stretches after which no more requests are due.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ts::workload {

struct RateStep {
  static constexpr uint64_t kForever = UINT64_MAX;
  uint64_t ns = kForever;  // its length
  double from = 0, to = 0;  // requests per second at its start and end
  bool operator==(const RateStep&) const = default;
};
// The schedule of --rate R (with --ramp T: rising from 0 over T first).
std::vector<RateStep> constant_rate(double rate, uint64_t ramp_ns = 0);
// The total length of a schedule; RateStep::kForever when it never ends.
uint64_t schedule_length(const std::vector<RateStep>& s);
// The rate it sets `t` ns after its start (0 once it has ended).
double rate_at(const std::vector<RateStep>& s, uint64_t t);

class Pacer {
 public:
  static constexpr size_t kBacklog = 1 << 20;  // open loop: due requests that may wait

  // `limit`: requests to issue in all (0: no limit). An empty schedule is
  // the closed loop.
  Pacer(std::vector<RateStep> schedule, uint64_t limit, size_t backlog = kBacklog);
  // A constant rate (0: the closed loop).
  Pacer(double rate, uint64_t limit, size_t backlog = kBacklog)
      : Pacer(constant_rate(rate), limit, backlog) {}

  bool open_loop() const { return !schedule_.empty(); }
  void start(uint64_t now);
  bool started() const { return started_; }
  // Issues nothing more; requests in flight may still complete.
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  // Whether another request may be issued (started, not stopped, the limit
  // not reached, the schedule not over).
  bool may_issue() const {
    return started_ && !stopped_ && !over_ && (!limit_ || issued_ < limit_);
  }
  // Closed loop: a request is issued now.
  void issue() { ++issued_; }

  // Open loop: each request due by `now` (at most `max` of them, so a core far
  // behind keeps polling), oldest first, goes to take(due); when take() has no
  // room for it, or older requests still wait, it joins the backlog (or, with
  // the backlog full, is dropped: counted finished and in late_dropped()).
  template <class Take>
  void release_due(uint64_t now, unsigned max, Take&& take) {
    for (unsigned n = 0; n < max && next_due_ <= now && may_issue(); ++n) {
      const uint64_t due = next_due_;
      advance();
      ++issued_;
      if (!waiting() && take(due)) continue;
      if (count_ == backlog_.size()) {
        ++late_dropped_;
        ++finished_;
        continue;
      }
      backlog_[(head_ + count_) % backlog_.size()] = due;
      ++count_;
    }
  }
  // The oldest request waiting in the backlog.
  bool waiting() const { return count_ > 0; }
  uint64_t oldest_waiting() const { return backlog_[head_]; }
  bool pop_waiting(uint64_t& due) {
    if (!count_) return false;
    due = backlog_[head_];
    head_ = (head_ + 1) % backlog_.size();
    --count_;
    return true;
  }

  // A request ended (answered, failed or lost).
  void finish() { ++finished_; }
  // Every request the limit (or the schedule) allows has ended.
  bool done() const {
    return (limit_ && finished_ >= limit_) || (over_ && finished_ >= issued_);
  }
  // Open loop: when the next request is due; UINT64_MAX when none will be.
  uint64_t next_due() const { return open_loop() && may_issue() ? next_due_ : UINT64_MAX; }
  uint64_t issued() const { return issued_; }
  uint64_t late_dropped() const { return late_dropped_; }
  // The schedule's rate now (0 in the closed loop).
  double rate_now(uint64_t now) const {
    return open_loop() && started_ ? rate_at(schedule_, now - start_) : 0;
  }

 private:
  // Moves next_due_ to the next request's due time (or ends the schedule).
  void advance();
  // When the k-th request of the current stretch is due, from its start (ns);
  // false when it falls beyond the stretch.
  bool due_in_step(uint64_t k, uint64_t& at) const;

  std::vector<RateStep> schedule_;
  uint64_t limit_;
  std::vector<uint64_t> backlog_;  // a ring of due times
  size_t head_ = 0, count_ = 0;
  size_t step_ = 0;            // the current stretch
  uint64_t step_start_ = 0;    // when it began
  uint64_t in_step_ = 0;       // requests it has made due
  uint64_t start_ = 0;
  uint64_t next_due_ = 0;
  uint64_t issued_ = 0, finished_ = 0, late_dropped_ = 0;
  bool started_ = false, stopped_ = false, over_ = false;
};

}  // namespace ts::workload
