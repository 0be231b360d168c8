// HyStart++ (RFC 9406): leaves slow start when the round trip time starts to
// grow (the queue is filling) instead of when packets are lost, through a
// phase of conservative slow start that resumes slow start if the increase was
// a fluke. Congestion-control independent: it decides when slow start ends and
// how fast it grows; the algorithm keeps doing the rest.
//
// Its round-trip times are kept in 32 bits of nanoseconds (every connection
// carries this state; docs/performance.md, "Memory"): a sample of 4.29 s or
// more counts as that much, and a path whose round trips are all that slow
// leaves slow start by loss, as without HyStart++.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tcp/cc/cc.hh"
#include "tcp/seq.hh"

namespace ts::tcp {

class HyStart {
 public:
  // A disabled HyStart++ is one whose search is over from the start.
  explicit HyStart(bool enabled = true) : done_(!enabled) {}
  // Still looking at rounds (enabled, and no congestion signal yet).
  bool searching() const { return !done_; }
  static constexpr uint64_t kMinRttThresh = 4'000'000;   // 4 ms
  static constexpr uint64_t kMaxRttThresh = 16'000'000;  // 16 ms
  static constexpr uint64_t kMinRttDivisor = 8;
  static constexpr unsigned kRttSamples = 8;  // N_RTT_SAMPLE
  static constexpr unsigned kCssRounds = 5;

  // Called for every ACK of new data while cwnd < ssthresh, before the window
  // grows. `rtt_ns` is a sample for this ACK (0 if none); `acked_seq` the new
  // SND.UNA and `snd_max` the highest sequence sent. Sets s.css and may end
  // slow start (ssthresh = cwnd).
  void on_ack(CcState& s, uint64_t rtt_ns, uint32_t acked_seq, uint32_t snd_max) {
    if (done_) return;
    if (!started_ || seq_ge(acked_seq, window_end_)) {  // a new round
      started_ = true;
      window_end_ = snd_max;
      last_round_min_ = current_round_min_;
      current_round_min_ = kNone;
      samples_ = 0;
      if (s.css && ++css_rounds_ >= kCssRounds) {
        // Conservative slow start lasted long enough: congestion avoidance.
        s.ssthresh = s.cwnd;
        s.css = false;
        done_ = true;
        return;
      }
    }
    if (rtt_ns == 0) return;
    const uint32_t rtt = uint32_t(std::min<uint64_t>(rtt_ns, kNone));
    current_round_min_ = std::min(current_round_min_, rtt);
    if (samples_ < kRttSamples) ++samples_;
    if (samples_ < kRttSamples || last_round_min_ == kNone) return;
    if (!s.css) {
      const uint64_t thresh =
          std::clamp<uint64_t>(last_round_min_ / kMinRttDivisor, kMinRttThresh, kMaxRttThresh);
      if (current_round_min_ >= uint64_t(last_round_min_) + thresh) {
        css_baseline_ = current_round_min_;
        s.css = true;
        css_rounds_ = 0;
      }
    } else if (current_round_min_ < css_baseline_) {
      s.css = false;  // the RTT fell back: the exit was spurious, slow start again
    }
  }
  // An ACK that found the window not limiting the sender: the round trips
  // measured so far are forgotten (one measured before the pause says nothing
  // about the queue slow start builds after it), so no round is compared with
  // one before the last pause. Rounds still end where they would, so a pause
  // neither counts as a round of conservative slow start nor stops its count.
  // Three stores, so that an application-limited connection pays little on
  // every ACK.
  void pause() {
    last_round_min_ = current_round_min_ = kNone;
    samples_ = 0;
  }
  // Loss or timeout ends the search for good (RFC 9406 4.3).
  void stop(CcState& s) {
    s.css = false;
    done_ = true;
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;  // no sample (or all of 4.29 s and more)
  bool started_ = false, done_;
  uint8_t samples_ = 0;  // this round's, counted up to kRttSamples
  uint8_t css_rounds_ = 0;
  uint32_t window_end_ = 0;
  uint32_t last_round_min_ = kNone, current_round_min_ = kNone;  // ns
  uint32_t css_baseline_ = 0;                                     // ns
};

}  // namespace ts::tcp
