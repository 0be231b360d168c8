// A connection's congestion window: the algorithm it runs (behind cc.hh's
// interface), HyStart++ in front of the algorithm's slow start, and the state
// they share. The connection reports ACKs of new data outside recovery and
// the idle restarts; the loss-recovery unit (tcp/recovery.hh) reports
// congestion signals and the end of recovery, and sets cwnd itself where its
// RFC says so (NewReno's inflation, PRR).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "tcp/cc/bbr.hh"
#include "tcp/cc/cc.hh"
#include "tcp/cc/compound.hh"
#include "tcp/cc/cubic.hh"
#include "tcp/cc/hystart.hh"
#include "tcp/cc/newreno.hh"
#include "tcp/cc/reno.hh"
#include "tcp/cc/tahoe.hh"
#include "tcp/cc/vegas.hh"
#include "tcp/config.hh"

namespace ts::tcp {

class Congestion {
 public:
  Congestion(CcAlgo algo, bool hystart);
  ~Congestion() { alg().~CongestionControl(); }
  Congestion(const Congestion&) = delete;
  Congestion& operator=(const Congestion&) = delete;

  // The handshake completed: the window starts at `cwnd` bytes (the initial
  // window, or what a cached path suggests) below `ssthresh`.
  void start(uint32_t smss, uint32_t cwnd, uint32_t ssthresh);
  // `acked` bytes of new data were acknowledged outside loss recovery, with
  // `rtt_ns` measured by this ACK (0: none); `ack` is the new SND.UNA and
  // `snd_max` the highest sequence sent. When the window limited the sender,
  // HyStart++ looks at the round in slow start (unless `probe_slow_start` is
  // false, as during go-back-N) and the algorithm grows the window.
  void on_ack(uint32_t acked, uint64_t rtt_ns, uint32_t ack, uint32_t snd_max,
              bool cwnd_limited, bool probe_slow_start, uint64_t now) {
    // The window grows only while it limits sending (RFC 7661; RFC 9438 5.8):
    // an application that sends little must not build up a huge cwnd to burst
    // with later. Nor does HyStart++ judge slow start while it is not growing
    // the window: a rise in delay then is a queue someone else built, and
    // leaving slow start for it would cap a window this connection never used.
    // What it measured before is forgotten (HyStart::pause; docs/tcp.md).
    if (!cwnd_limited) {
      hystart_.pause();
      return;
    }
    if (hystart_.searching() && probe_slow_start && in_slow_start() && !alg().own_slow_start())
      hystart_.on_ack(s_, rtt_ns, ack, snd_max);
    if (acked) alg().on_ack(s_, acked, now);
  }
  // A congestion signal with `flight` bytes outstanding; ends HyStart++'s
  // search for good (RFC 9406 4.3).
  void on_congestion(CongestionSignal sig, uint32_t flight, uint64_t now);
  // A further timeout of the same data: RFC 5681 eq. 4 set ssthresh at the
  // first; the loss window is one segment (RFC 5681 3.1).
  void collapse() {
    hystart_.stop(s_);
    s_.cwnd = s_.smss;
  }
  void on_recovery_exit(uint64_t now) { alg().on_recovery_exit(s_, now); }
  // Every ACK of new data, after on_ack and the recovery unit (cc.hh).
  void on_sample(const AckSample& a, uint64_t now) { alg().on_sample(s_, a, now); }
  bool wants_rate_samples() const { return algorithm().wants_rate_samples(); }
  // Bytes per second the algorithm asks to pace at; 0: none.
  // (A flag read per segment instead of a virtual call for the algorithms
  // that set none.)
  uint64_t pacing_rate() const { return paces_ ? algorithm().pacing_rate() : 0; }
  bool sets_pacing_rate() const { return paces_; }
  // Sending resumes after idle, or the window is capped from outside
  // (ensemble sharing): the algorithm restarts its growth from `window`.
  void on_idle(uint32_t window, uint64_t now) { alg().on_idle(s_, window, now); }
  void set_srtt(uint64_t srtt_ns) {
    // A measured RTT below 1 us stays measured (1 us), not "none" (0).
    s_.srtt_us = srtt_ns ? uint32_t(std::clamp<uint64_t>(srtt_ns / 1000, 1, UINT32_MAX)) : 0;
  }
  // Loss recovery sets the window directly (RFC 6582's inflation, PRR).
  void set_cwnd(uint32_t cwnd) { s_.cwnd = cwnd; }
  void set_ssthresh(uint32_t ssthresh) { s_.ssthresh = ssthresh; }

  uint32_t cwnd() const { return s_.cwnd; }
  uint32_t ssthresh() const { return s_.ssthresh; }
  uint32_t smss() const { return s_.smss; }
  bool in_slow_start() const { return s_.cwnd < s_.ssthresh; }
  const CongestionControl& algorithm() const {
    return *std::launder(reinterpret_cast<const CongestionControl*>(impl_));
  }

 private:
  CongestionControl& alg() { return *std::launder(reinterpret_cast<CongestionControl*>(impl_)); }
  template <class T>
  void make();

  // BBR's state (three times Cubic's, and run by few connections) is out of
  // line, behind this forwarder, so that every other connection does not
  // carry it (docs/performance.md, "Memory").
  class OutOfLineBbr final : public CongestionControl {
   public:
    const char* name() const override { return b_->name(); }
    void init(CcState& s) override { b_->init(s); }
    void on_ack(CcState& s, uint32_t acked, uint64_t now) override { b_->on_ack(s, acked, now); }
    void on_congestion(CcState& s, CongestionSignal sig, uint64_t now) override {
      b_->on_congestion(s, sig, now);
    }
    void on_recovery_exit(CcState& s, uint64_t now) override { b_->on_recovery_exit(s, now); }
    void on_idle(CcState& s, uint32_t window, uint64_t now) override {
      b_->on_idle(s, window, now);
    }
    void on_sample(CcState& s, const AckSample& a, uint64_t now) override {
      b_->on_sample(s, a, now);
    }
    bool own_slow_start() const override { return b_->own_slow_start(); }
    bool wants_rate_samples() const override { return b_->wants_rate_samples(); }
    uint64_t pacing_rate() const override { return b_->pacing_rate(); }
    bool sets_pacing_rate() const override { return b_->sets_pacing_rate(); }

   private:
    std::unique_ptr<Bbr> b_ = std::make_unique<Bbr>();
  };
  static constexpr size_t kImplSize =
      std::max({sizeof(NewReno), sizeof(Cubic), sizeof(Tahoe), sizeof(Reno), sizeof(Vegas),
                sizeof(Compound), sizeof(OutOfLineBbr)});

  // The algorithm, constructed in place. Every algorithm derives from
  // CongestionControl, whose virtual table tells them apart, so neither a
  // variant's index nor a pointer to the base is kept beside it
  // (docs/performance.md, "Memory").
  alignas(8) unsigned char impl_[kImplSize];
  [[no_unique_address]] CcState s_;  // paces_ takes its tail padding
  bool paces_ = false;               // the algorithm's sets_pacing_rate()
  HyStart hystart_;  // disabled: searching() is false from the start
};

}  // namespace ts::tcp
