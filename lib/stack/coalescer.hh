// Receive coalescing, the stack's own GRO (docs/performance.md, "Receive
// coalescing"): within one receive burst, consecutive in-order data segments
// of one connection are merged into one segment before the connection sees
// them. The connection then does its per-segment work (flow lookup, window
// and PAWS checks, the ACK decision, the application's wakeup) once per run,
// as Linux's GRO makes its TCP do.
//
// A run is merged only when the merged segment says exactly what its parts
// said: the same connection, each segment starting where the previous one
// ended, the same ACK number, window and options (so the same timestamps),
// no flag but ACK (PSH may end a run), and every segment but the last as
// large as the first. Anything else ends the run, so no segment is reordered
// against another of its connection.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "tcp/four_tuple.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

namespace ts::stack {

class Coalescer {
 public:
  // The largest run: what one IPv4 packet could carry.
  static constexpr uint32_t kMaxBytes = 65535 - 20 - 20;

  // Disabled: holds nothing and allocates nothing.
  explicit Coalescer(bool enabled) : buf_(enabled ? new uint8_t[kMaxBytes] : nullptr) {}

  bool enabled() const { return buf_ != nullptr; }
  bool held() const { return held_; }

  // Whether `seg` may start a run: a data segment with ACK as its only flag,
  // no option but timestamps, and room left for another of its size (a
  // segment that could never be joined is not worth copying).
  static bool can_start(const wire::TcpRepr& seg) {
    return seg.flags == wire::tcpflag::ack && seg.urgent == 0 && !seg.payload.empty() &&
           seg.payload.size() <= kMaxBytes / 2 && seg.seg_size == 0 &&
           seg.options.at_most_timestamps();
  }

  // Starts a run with `seg` (can_start() holds) of flow `t`, for the
  // connection its caller names by `slot` and `generation`; the payload is
  // copied.
  void hold(const wire::Ipv4Repr& ip, const tcp::FourTuple& t, uint32_t slot,
            uint32_t generation, const wire::TcpRepr& seg) {
    ip_ = ip;
    flow_ = t;
    slot_ = slot;
    generation_ = generation;
    seg_ = seg;  // seg_size 0: can_start()
    std::memcpy(buf_.get(), seg.payload.data(), seg.payload.size());
    seg_.payload = {buf_.get(), seg.payload.size()};
    open_ = true;
    held_ = true;
  }

  // Appends `seg` of flow `t` to the held run when it continues it; false
  // when it does not (the caller then delivers the run first).
  bool append(const tcp::FourTuple& t, const wire::TcpRepr& seg) {
    const uint32_t size = uint32_t(seg.payload.size());
    const uint32_t len = uint32_t(seg_.payload.size());
    const uint32_t first = seg_.seg_size ? seg_.seg_size : len;
    if (!open_ || !(t == flow_) || seg.seq != seg_.seq + len || seg.ack != seg_.ack ||
        seg.window != seg_.window || seg.urgent != 0 ||
        (seg.flags & uint8_t(~wire::tcpflag::psh)) != wire::tcpflag::ack || size == 0 ||
        size > first || len + size > kMaxBytes || seg.seg_size != 0 ||
        !same_options(seg.options))
      return false;
    std::memcpy(buf_.get() + len, seg.payload.data(), size);
    seg_.payload = {buf_.get(), len + size};
    seg_.seg_size = uint16_t(first);
    seg_.flags |= seg.flags;
    // A short segment or a push ends the run: nothing may follow either
    // inside one segment.
    if (size < first || (seg.flags & wire::tcpflag::psh)) open_ = false;
    return true;
  }

  // The held run as one segment (seg_size set when it merged more than one),
  // its IP header, and whom it is for; valid until the next hold(). Nothing
  // is held afterwards.
  const wire::TcpRepr& take(const wire::Ipv4Repr*& ip, uint32_t& slot, uint32_t& generation) {
    held_ = false;
    ip = &ip_;
    slot = slot_;
    generation = generation_;
    return seg_;
  }

 private:
  // The held run has at most timestamps (can_start()): equal options are
  // the same timestamps, or none, and nothing else.
  bool same_options(const wire::TcpOptions& o) const {
    const wire::TcpOptions& h = seg_.options;
    return o.has_timestamps == h.has_timestamps &&
           (!o.has_timestamps || (o.tsval == h.tsval && o.tsecr == h.tsecr)) &&
           o.at_most_timestamps();
  }

  std::unique_ptr<uint8_t[]> buf_;
  wire::Ipv4Repr ip_;
  tcp::FourTuple flow_;
  wire::TcpRepr seg_;
  uint32_t slot_ = 0, generation_ = 0;
  bool open_ = false;  // more segments may join
  bool held_ = false;
};

}  // namespace ts::stack
