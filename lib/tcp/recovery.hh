// Sender-side loss recovery as a unit of its own, apart from segment arrival
// (as FreeBSD keeps tcp_sack.c apart from tcp_input.c): the SACK scoreboard,
// duplicate-ACK counting, the recovery styles (Tahoe, Reno, NewReno, and SACK
// with RFC 6675 and Proportional Rate Reduction), the records that find lost
// retransmissions, and the go-back-N state after a timeout.
//
// Pure code like the connection: it sees the send space as stream offsets
// (never sequence numbers), is told of every ACK and timeout, and answers what
// to (re)send; it never sends anything itself. The connection sends what it
// was told and reports each transmission made during recovery (sent()), and
// confirms the ones recovery chose (commit()). See docs/tcp.md.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "tcp/cc/congestion.hh"
#include "tcp/config.hh"
#include "tcp/counters.hh"
#include "tcp/fifo.hh"
#include "tcp/sack.hh"

namespace ts::tcp {

// The send space, as stream offsets of the data (offset 0 is the byte after
// our SYN). Where the FIN is concerned, the sequence space is one longer: it
// takes the offset after the last byte.
struct Flight {
  uint64_t una = 0;      // the first unacknowledged byte (SND.UNA)
  uint64_t max = 0;      // after the highest byte sent, never past `end` (SND.MAX)
  uint64_t end = 0;      // after the last byte queued
  uint64_t acked_to = 0; // SND.UNA in the sequence space: una, or end + 1 once the FIN is acknowledged
  uint64_t sent_to = 0;  // SND.MAX in the sequence space: max, or end + 1 once the FIN is sent
  uint32_t bytes = 0;    // FlightSize: SND.MAX - SND.UNA
  bool fin_sent = false;
};

// A segment recovery asks for: [begin, begin + len), with the FIN after it
// when `fin` is set (len may then be 0).
struct Transmission {
  enum class Kind : uint8_t {
    none,
    hole,      // a retransmission of a hole (it moves HighRxt)
    relost,    // a retransmission found lost itself, sent again
    rescue,    // RFC 6675's rescue retransmission of the highest segment
    new_data,  // new data: the connection picks it (its window and FIN decide)
  };
  Kind kind = Kind::none;
  uint64_t begin = 0;
  uint32_t len = 0;
  bool fin = false;
  explicit operator bool() const { return kind != Kind::none; }
};

class Recovery {
 public:
  static constexpr size_t kMaxRecords = 1024;

  Recovery(TcpCounters& ctr, uint8_t dupthresh) : ctr_(ctr), dupthresh_(dupthresh) {}
  Recovery(const Recovery&) = delete;
  Recovery& operator=(const Recovery&) = delete;

  // Set once the handshake tells whether SACK is in use.
  void set_style(RecoveryStyle s) { style_ = s; }
  RecoveryStyle style() const { return style_; }

  // What an arriving ACK says, after its SACK blocks were validated against
  // the send space and turned into offsets (RFC 2018).
  struct Ack {
    bool advanced = false;  // the cumulative ACK moved (data, or our FIN)
    uint32_t acked = 0;     // bytes of data it acknowledged
    bool duplicate = false; // a duplicate ACK by RFC 5681 2's definition
    std::span<const SackScoreboard::Range> sacks;
  };
  struct AckResult {
    Transmission retransmit;  // to send now: fast retransmit, or NewReno's partial ACK
    bool grow = false;        // outside recovery: the window may grow on this ACK
  };
  // Called after the connection moved SND.UNA; `flight()` gives the send
  // space after the ACK (called only when recovery needs all of it).
  template <class FlightFn>
  AckResult on_ack(const Ack& a, FlightFn&& flight, Congestion& cc, uint32_t smss, uint64_t now) {
    // Most ACKs find no recovery under way, no SACK information and no
    // duplicates counted: they only end a go-back-N that is done.
    if (!in_recovery_ && sb_.empty() && a.sacks.empty()) {
      if (a.advanced) {
        dupacks_ = 0;
        if (going_back_ && flight().acked_to >= recover_) going_back_ = false;
        return {{}, true};
      }
      if (!a.duplicate && dupacks_ < dupthresh_) return {};
    }
    return on_ack_with_recovery(a, flight(), cc, smss, now);
  }
  // Whether a Recovery that has seen no loss (dupacks 0, no scoreboard, not
  // going back) would act on `a`; when not, on_ack's first branch answers
  // {{}, a.advanced}. So a connection can hold none until this says yes
  // (docs/performance.md, "Memory"). Kept beside on_ack: the two must agree.
  static bool fresh_acts_on(const Ack& a, uint8_t dupthresh) {
    return !a.sacks.empty() || a.duplicate || (!a.advanced && dupthresh == 0);
  }
  // The retransmission timer expired with data outstanding (RFC 6298 5.4):
  // recovery ends, and everything from SND.UNA is sent again (go-back-N,
  // skipping what the scoreboard says the receiver holds) until what was
  // outstanding is acknowledged. The congestion response is the caller's.
  void on_timeout(const Flight& f);
  // The timer expired into a zero window: the retransmission went out as a
  // window probe covering up to `probed_to`, and the rest of the flight (which
  // lay beyond the window) goes again once it opens, without a congestion
  // response.
  void on_probe_timeout(const Flight& f, uint64_t probed_to);

  // RFC 6675 SetPipe: the bytes presumed in the network.
  uint32_t pipe(const Flight& f, uint32_t smss) const;
  // During SACK recovery: the next segment (RFC 6675 NextSeg). `wnd_end` is
  // the right edge of the peer's window; `new_data_ready` whether the
  // connection has new data (or its FIN) it could send within that window.
  Transmission next_segment(const Flight& f, uint32_t smss, uint64_t wnd_end,
                            bool new_data_ready);
  // A segment recovery chose went out.
  void commit(const Transmission& t);
  // Every segment the connection sent: during recovery PRR counts it, and a
  // retransmission is recorded (with the highest offset sent, `max`) so that
  // its own loss can be found.
  void sent(uint64_t begin, uint32_t len, bool retransmission, uint64_t max) {
    if (!in_recovery_) return;
    prr_out_ += len;
    if (retransmission && sack_style() && len && records_.size() < kMaxRecords)
      records_.push_back({begin, begin + len, max, episode_});
  }

  // Go-back-N after a timeout: where retransmission resumes at or after `off`
  // (past anything SACKed), and the first SACKed offset at or after it.
  uint64_t skip_sacked(uint64_t off) const { return sb_.skip_sacked(off); }
  uint64_t next_sacked(uint64_t off) const { return sb_.next_sacked(off); }

  // In fast recovery (Reno, NewReno or SACK).
  bool in_recovery() const { return in_recovery_; }
  // In SACK recovery, where the pipe and NextSeg decide what is sent.
  bool pipe_driven() const { return in_recovery_ && style_ == RecoveryStyle::sack; }
  // Going back after a timeout until what was outstanding then is acknowledged.
  bool going_back() const { return going_back_; }
  uint32_t dupacks() const { return dupacks_; }
  const SackScoreboard& scoreboard() const { return sb_; }
  uint64_t high_rxt() const { return high_rxt_; }
  // Bytes sent since recovery began (or last reduced the window): PRR's prr_out.
  uint64_t bytes_sent() const { return prr_out_; }

 private:
  bool sack_style() const { return style_ == RecoveryStyle::sack; }
  AckResult on_ack_with_recovery(const Ack& a, const Flight& f, Congestion& cc, uint32_t smss,
                                 uint64_t now);
  // Counts a duplicate ACK and enters recovery when loss is detected.
  Transmission detect_loss(bool dup, const Flight& f, Congestion& cc, uint32_t smss, uint64_t now);
  void check_lost_retransmissions(const Flight& f, Congestion& cc, uint32_t smss, uint64_t now);
  void prr_update(int64_t delivered, const Flight& f, Congestion& cc, uint32_t smss);
  void clear_records() {
    records_.clear();
    relost_.clear();
  }

  TcpCounters& ctr_;
  uint8_t dupthresh_;
  RecoveryStyle style_ = RecoveryStyle::newreno;
  SackScoreboard sb_;
  uint32_t dupacks_ = 0;
  bool in_recovery_ = false;
  bool going_back_ = false;  // after a timeout, until `recover_` is acknowledged
  bool rescue_done_ = false;
  // RecoveryPoint (RFC 6675) / recover (RFC 6582), in the sequence space: a
  // new loss event starts only once the cumulative ACK has passed it.
  uint64_t recover_ = 0;
  // After the highest byte retransmitted (HighRxt); any value at or below
  // SND.UNA means the same.
  uint64_t high_rxt_ = 0;
  uint64_t prr_delivered_ = 0, prr_out_ = 0, recover_fs_ = 1;  // RFC 6937
  // Retransmissions during SACK recovery, oldest first, each with the highest
  // offset sent when it went out. Once SACKs cover data sent sufficiently
  // after it while its range is still missing, the retransmission itself was
  // lost (RFC 6675 only finds that by timeout); it is queued to be sent again.
  struct Record {
    uint64_t begin, end, sent_max;
    uint32_t episode;  // which window reduction it was sent under
  };
  uint32_t episode_ = 0;
  BoundedFifo<Record, kMaxRecords> records_, relost_;
};

}  // namespace ts::tcp
