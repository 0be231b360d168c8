#include "tcp/recovery.hh"

#include <algorithm>

namespace ts::tcp {

const char* recovery_style_name(RecoveryStyle s) {
  switch (s) {
    case RecoveryStyle::tahoe: return "tahoe";
    case RecoveryStyle::reno: return "reno";
    case RecoveryStyle::newreno: return "newreno";
    case RecoveryStyle::sack: return "sack";
  }
  return "?";
}

Recovery::AckResult Recovery::on_ack_with_recovery(const Ack& a, const Flight& f, Congestion& cc,
                                                   uint32_t smss, uint64_t now) {
  AckResult r;
  const uint64_t sacked_before = sb_.sacked_bytes();
  if (sack_style())
    for (const SackScoreboard::Range& b : a.sacks) sb_.add(b.begin, b.end);

  if (!a.advanced) {
    const bool was_in_recovery = in_recovery_;
    r.retransmit = detect_loss(a.duplicate, f, cc, smss, now);
    if (was_in_recovery && sack_style()) {
      check_lost_retransmissions(f, cc, smss, now);
      prr_update(int64_t(sb_.sacked_bytes()) - int64_t(sacked_before), f, cc, smss);
    }
    return r;
  }

  sb_.advance(f.una);
  if (!sb_.empty() && sb_.range(0).begin <= f.una) {
    // The cumulative ACK stops exactly where data it had SACKed begins: the
    // receiver threw that data away (reneged; Linux prunes its out-of-order
    // queue under memory pressure). Forget every SACK, so that it is sent
    // again (RFC 2018 8).
    sb_.clear();
    ++ctr_.tcp_sack_reneging;
  }
  high_rxt_ = std::max(high_rxt_, f.una);
  dupacks_ = 0;

  if (in_recovery_) {
    // Reno's recovery ends at the first ACK of new data (RFC 5681 3.2 step
    // 6); NewReno's and SACK's once the recovery point is acknowledged.
    if (f.acked_to >= recover_ || style_ == RecoveryStyle::reno) {
      in_recovery_ = false;
      clear_records();
      cc.on_recovery_exit(now);
    } else if (sack_style()) {
      check_lost_retransmissions(f, cc, smss, now);
      prr_update(int64_t(a.acked) + int64_t(sb_.sacked_bytes()) - int64_t(sacked_before), f, cc,
                 smss);
    } else {
      // RFC 6582 3.2 step 3, a partial ACK: retransmit the next hole at once
      // and deflate the window by what was acknowledged (the connection
      // restarts the timer, as after every ACK of new data).
      const uint32_t len = uint32_t(std::min<uint64_t>(smss, f.end - f.una));
      if (len || f.fin_sent)
        r.retransmit = {Transmission::Kind::hole, f.una, len, len == 0 && f.fin_sent};
      uint32_t cwnd = cc.cwnd() > a.acked ? cc.cwnd() - a.acked : smss;
      if (a.acked >= smss) cwnd += smss;
      cc.set_cwnd(cwnd);
    }
    return r;
  }
  if (going_back_ && f.acked_to >= recover_) going_back_ = false;
  r.grow = true;
  return r;
}

Transmission Recovery::detect_loss(bool dup, const Flight& f, Congestion& cc, uint32_t smss,
                                   uint64_t now) {
  if (dup) {
    ++dupacks_;
    ++ctr_.tcp_dup_acks;
  }
  if (in_recovery_) {
    // RFC 6582 3.2 step 4 (RFC 5681 3.2 step 4): each further duplicate ACK
    // means a segment left the network, so the window may admit one more.
    if (!sack_style() && dup) cc.set_cwnd(cc.cwnd() + smss);
    return {};
  }
  if (going_back_ || f.bytes == 0) return {};
  // Tahoe retransmits at the DupThresh-th duplicate only: it has no recovery
  // to say the loss was already answered.
  bool lost = style_ == RecoveryStyle::tahoe ? dup && dupacks_ == dupthresh_
                                             : dupacks_ >= dupthresh_;
  if (sack_style() && !lost && !sb_.empty())
    lost = sb_.is_lost(f.una, dupthresh_, smss);  // RFC 6675 5
  if (!lost) return {};
  // NewReno and SACK: a new loss event only once the cumulative ACK has
  // passed the previous recovery point (RFC 6582 3.2 step 1, RFC 6675 5).
  if ((style_ == RecoveryStyle::newreno || sack_style()) && f.acked_to < recover_) return {};

  ++ctr_.tcp_fast_recoveries;
  cc.on_congestion(CongestionSignal::loss, f.bytes, now);
  recover_ = f.sent_to;
  // Retransmit the first segment presumed lost at once (RFC 6675 5 step 4.3,
  // RFC 6582 3.2 step 2), whatever the window says.
  const uint32_t len = uint32_t(std::min<uint64_t>(smss, f.end - f.una));
  const uint64_t hole_end =
      sack_style() ? std::min(sb_.next_sacked(f.una), f.una + len) : f.una + len;
  const uint32_t rlen = uint32_t(hole_end - f.una);
  const Transmission t{Transmission::Kind::hole, f.una, rlen, rlen == 0 && f.fin_sent};
  if (style_ == RecoveryStyle::tahoe) {
    cc.set_cwnd(smss);  // slow start again from one segment
    return t;
  }
  in_recovery_ = true;
  prr_delivered_ = prr_out_ = 0;
  recover_fs_ = std::max<uint64_t>(f.bytes, 1);
  ++episode_;
  high_rxt_ = f.una;
  rescue_done_ = false;
  // RFC 6582 3.2 step 2, RFC 5681 3.2 step 3: the window inflated by the
  // three segments the duplicates say have left.
  if (!sack_style()) cc.set_cwnd(cc.ssthresh() + 3 * smss);
  return t;
}

void Recovery::check_lost_retransmissions(const Flight& f, Congestion& cc, uint32_t smss,
                                          uint64_t now) {
  const uint64_t hi = sb_.highest();
  const uint64_t margin = uint64_t(dupthresh_ - 1) * smss;  // as IsLost tolerates reordering
  bool reduce = false;
  while (!records_.empty()) {
    const Record r = records_.front();
    if (r.end <= f.una) {
      records_.pop_front();
      continue;
    }
    if (hi <= r.sent_max + margin) break;  // later records were sent later still
    records_.pop_front();
    const uint64_t s = sb_.skip_sacked(std::max(r.begin, f.una));
    if (s < r.end) {
      relost_.push_back({s, r.end, 0, 0});
      ++ctr_.tcp_lost_retransmits;
      reduce |= r.episode == episode_;
    }
  }
  if (!reduce) return;
  // A retransmission sent after the window was reduced was lost as well: the
  // reduction was not enough (after a slow-start overshoot it rarely is), so
  // this is a new congestion signal. Once per episode: what was sent under the
  // previous window cannot tell us about the new one.
  ++episode_;
  recover_ = f.sent_to;
  cc.on_congestion(CongestionSignal::loss, f.bytes, now);
  prr_delivered_ = prr_out_ = 0;
  recover_fs_ = std::max<uint64_t>(pipe(f, smss), 1);
}

void Recovery::prr_update(int64_t delivered, const Flight& f, Congestion& cc, uint32_t smss) {
  // Proportional Rate Reduction (RFC 6937) sets cwnd during SACK recovery, so
  // that the reduction to ssthresh is spread over the recovery instead of
  // stopping transmission and then bursting, and so that a window far above
  // ssthresh (a slow-start overshoot) drains the queue instead of keeping it
  // full and losing the retransmissions too.
  if (!in_recovery_) return;
  if (delivered > 0) prr_delivered_ += uint64_t(delivered);
  const uint64_t p = pipe(f, smss);
  const uint64_t ssthresh = cc.ssthresh();
  int64_t sndcnt;
  if (p > ssthresh) {
    sndcnt = int64_t((prr_delivered_ * ssthresh + recover_fs_ - 1) / recover_fs_) - int64_t(prr_out_);
  } else {
    // PRR-SSRB: grow back toward ssthresh no faster than slow start.
    const int64_t limit = std::max<int64_t>(int64_t(prr_delivered_) - int64_t(prr_out_),
                                            std::max<int64_t>(delivered, 0)) + smss;
    sndcnt = std::min<int64_t>(int64_t(ssthresh - p), limit);
  }
  if (sndcnt < 0) sndcnt = 0;
  cc.set_cwnd(uint32_t(std::min<uint64_t>(p + uint64_t(sndcnt), UINT32_MAX / 2)));
}

void Recovery::on_timeout(const Flight& f) {
  in_recovery_ = false;
  dupacks_ = 0;
  going_back_ = true;
  recover_ = f.sent_to;
  clear_records();
  high_rxt_ = f.una;
}

void Recovery::on_probe_timeout(const Flight& f, uint64_t probed_to) {
  high_rxt_ = std::max(high_rxt_, probed_to);
  going_back_ = true;
  recover_ = f.sent_to;
}

uint32_t Recovery::pipe(const Flight& f, uint32_t smss) const {
  // RFC 6675 SetPipe: every unSACKed byte not presumed lost counts once, and
  // every retransmitted byte (below HighRxt) once more. One walk from the top:
  // whether a hole is lost depends only on what is SACKed above it.
  const uint64_t lost_bytes = uint64_t(dupthresh_ - 1) * smss;
  uint64_t pipe = 0, above = 0;
  unsigned ranges_above = 0;
  auto hole = [&](uint64_t b, uint64_t e) {
    if (e <= b) return;
    const bool lost = ranges_above >= dupthresh_ || above > lost_bytes;
    if (!lost) pipe += e - b;
    if (high_rxt_ > b) pipe += std::min(high_rxt_, e) - b;
  };
  uint64_t hi = f.max;
  for (size_t i = sb_.size(); i-- > 0;) {
    const auto& r = sb_.range(i);
    if (r.end <= f.una) break;
    hole(std::max(r.end, f.una), hi);
    above += r.end - std::max(r.begin, f.una);
    ++ranges_above;
    hi = std::min(hi, r.begin);
  }
  hole(f.una, hi);
  return uint32_t(std::min<uint64_t>(pipe, UINT32_MAX));
}

Transmission Recovery::next_segment(const Flight& f, uint32_t smss, uint64_t wnd_end,
                                    bool new_data_ready) {
  using Kind = Transmission::Kind;
  // Nothing starting beyond the peer's window goes out, retransmission or
  // not, except the segment at SND.UNA (as Linux): a shrunk window is obeyed.
  auto in_window = [&](uint64_t at) { return at < wnd_end || at == f.una; };
  const uint64_t hi = std::min(sb_.highest(), f.end);
  const uint64_t s = sb_.skip_sacked(std::max(high_rxt_, f.una));
  auto hole = [&]() {
    const uint64_t hole_end = std::min(sb_.next_sacked(s), hi);
    return Transmission{Kind::hole, s, uint32_t(std::min<uint64_t>(smss, hole_end - s)), false};
  };
  // First, retransmissions found lost themselves (check_lost_retransmissions).
  while (!relost_.empty()) {
    const Record& r = relost_.front();
    const uint64_t b = sb_.skip_sacked(std::max(r.begin, f.una));
    if (b >= r.end) {
      relost_.pop_front();
      continue;
    }
    if (!in_window(b)) break;
    const uint64_t e = std::min({r.end, sb_.next_sacked(b), b + smss});
    return {Kind::relost, b, uint32_t(e - b), false};
  }
  // NextSeg (RFC 6675 4): (1) the first lost hole above HighRxt;
  if (s < hi && in_window(s) && sb_.is_lost(s, dupthresh_, smss)) return hole();
  // (2) new data, as far as the receiver's window allows;
  if (new_data_ready) return {Kind::new_data, 0, 0, false};
  // (3) an unSACKed hole not yet presumed lost;
  if (s < hi && in_window(s)) return hole();
  // (4) once per recovery, the highest outstanding segment (the rescue).
  if (!rescue_done_) {
    rescue_done_ = true;
    const uint64_t top = f.max;
    const uint64_t start = std::max(f.una, top > smss ? top - smss : 0);
    if (top > f.una && !sb_.is_sacked(top - 1) && in_window(start))
      return {Kind::rescue, start, uint32_t(top - start), f.fin_sent && top == f.end};
  }
  return {};
}

void Recovery::commit(const Transmission& t) {
  switch (t.kind) {
    case Transmission::Kind::hole:
      high_rxt_ = std::max(high_rxt_, t.begin + t.len);
      break;
    case Transmission::Kind::relost:
      if (!relost_.empty()) relost_.front().begin = t.begin + t.len;
      break;
    default:
      break;
  }
}

}  // namespace ts::tcp
