// When requests are due, shared by every workload mode (docs/architecture.md,
// "Workload modes"). Closed loop (rate 0): a request starts whenever the mode
// has room (a connection or a window slot free) and the limit allows, its
// latency counted from when it was sent. Open loop: requests are due at fixed
// times from the start, one every 1/rate seconds; one that finds no room
// waits in a bounded backlog, and its latency counts from when it was due, so
// a server that stalls shows in the tail instead of slowing the generator
// down (no coordinated omission).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ts::workload {

class Pacer {
 public:
  static constexpr size_t kBacklog = 1 << 20;  // open loop: due requests that may wait

  // `limit`: requests to issue in all (0: no limit).
  Pacer(double rate, uint64_t limit, size_t backlog = kBacklog);

  bool open_loop() const { return rate_ > 0; }
  void start(uint64_t now) {
    started_ = true;
    next_due_ = now;
  }
  bool started() const { return started_; }
  // Issues nothing more; requests in flight may still complete.
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  // Whether another request may be issued (started, not stopped, the limit not reached).
  bool may_issue() const { return started_ && !stopped_ && (!limit_ || issued_ < limit_); }
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
      next_due_ += interval_;
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
  // Every request the limit allows has ended.
  bool done() const { return limit_ && finished_ >= limit_; }
  // Open loop: when the next request is due; UINT64_MAX when none will be.
  uint64_t next_due() const { return open_loop() && may_issue() ? next_due_ : UINT64_MAX; }
  uint64_t issued() const { return issued_; }
  uint64_t late_dropped() const { return late_dropped_; }

 private:
  double rate_;
  uint64_t interval_;
  uint64_t limit_;
  std::vector<uint64_t> backlog_;  // a ring of due times
  size_t head_ = 0, count_ = 0;
  uint64_t next_due_ = 0;
  uint64_t issued_ = 0, finished_ = 0, late_dropped_ = 0;
  bool started_ = false, stopped_ = false;
};

}  // namespace ts::workload
