// Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation) for
// algorithms that ask for it (cc.hh: wants_rate_samples). The draft keeps
// its state in every packet; here a bounded set of tracked segments stands in
// for them: a new-data segment is tracked when it starts at least a
// sixteenth of a window after the last tracked one, so a round trip gives
// about sixteen samples whatever the window, at a fixed cost per connection.
// Retransmissions are not tracked (which transmission an ACK answers is
// ambiguous). A tracked segment is delivered when the cumulative ACK passes
// its end or SACK covers its last byte; the newest delivered one gives the
// sample, as the draft's "most recently sent packet" rule says.
#pragma once

#include <cstdint>

#include "tcp/cc/cc.hh"

namespace ts::tcp {

class DeliveryRate {
 public:
  static constexpr uint32_t kTracked = 32;

  // A segment of new data [begin, end) goes out at `now` with `flight` bytes
  // in flight before it; `min_gap` is the spacing of tracked segments.
  void on_send(uint64_t begin, uint64_t end, uint32_t flight, uint32_t min_gap, uint64_t now) {
    if (flight == 0) first_sent_ = delivered_time_ = now;  // a new flight starts
    if (n_ == kTracked || (tracked_any_ && begin < last_end_ + min_gap)) return;
    recs_[n_++] = {end, delivered_, delivered_time_, first_sent_, now, app_limited_ != 0};
    last_end_ = end;
    tracked_any_ = true;
  }
  // After an ACK: `delivered` is every byte acknowledged or SACKed so far,
  // `una` the cumulative position; `sacked(pos)` whether SACK covers pos.
  // Returns the sample this ACK gives (invalid when none).
  template <class Sacked>
  RateSample on_ack(uint64_t delivered, uint64_t una, Sacked&& sacked, uint64_t now) {
    RateSample rs;
    if (delivered <= delivered_) return rs;
    delivered_ = delivered;
    delivered_time_ = now;
    if (app_limited_ && delivered_ > app_limited_) app_limited_ = 0;
    const Rec* newest = nullptr;
    Rec best{};
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n_; ++i) {
      const Rec& r = recs_[i];
      if (r.end <= una || sacked(r.end - 1)) {
        if (!newest || r.delivered >= best.delivered) {
          best = r;
          newest = &best;
        }
      } else {
        recs_[kept++] = r;
      }
    }
    n_ = kept;
    if (!newest) return rs;
    first_sent_ = best.sent_time;
    const uint64_t send_elapsed = best.sent_time - best.first_sent_time;
    const uint64_t ack_elapsed = delivered_time_ - best.delivered_time;
    rs.delivered = delivered_ - best.delivered;
    rs.prior_delivered = best.delivered;
    rs.app_limited = best.app_limited;
    rs.rtt_ns = now - best.sent_time;
    if (rs.rtt_ns < min_rtt_) min_rtt_ = rs.rtt_ns;
    const uint64_t interval = send_elapsed > ack_elapsed ? send_elapsed : ack_elapsed;
    // An interval shorter than the path's smallest RTT would overstate the
    // rate (ACK compression); the draft discards such samples.
    rs.interval_ns = interval >= min_rtt_ ? interval : 0;
    return rs;
  }
  // The sender has nothing more to send with room in the window: samples
  // until what is in flight now is delivered measure the application.
  void mark_app_limited(uint32_t flight) { app_limited_ = (delivered_ + flight) | 1; }
  // After a timeout everything goes again: tracked segments would mix
  // transmissions.
  void on_timeout() { n_ = 0; }
  uint64_t delivered() const { return delivered_; }
  uint32_t tracked() const { return n_; }

 private:
  struct Rec {
    uint64_t end, delivered, delivered_time, first_sent_time, sent_time;
    bool app_limited;
  };
  Rec recs_[kTracked];
  uint32_t n_ = 0;
  uint64_t last_end_ = 0;
  bool tracked_any_ = false;
  uint64_t delivered_ = 0, delivered_time_ = 0, first_sent_ = 0;
  uint64_t min_rtt_ = UINT64_MAX;  // of the tracked segments
  uint64_t app_limited_ = 0;  // delivered count that ends the app-limited phase; 0: not limited
};

}  // namespace ts::tcp
