// SYN cookies (RFC 4987 3.6): a listener that keeps no state for a SYN puts
// what it must remember into its SYN-ACK's sequence number, and checks it when
// the ACK that completes the handshake echoes it back.
//
// The cookie (our ISN) is 32 bits: 5 bits of a coarse clock (64-second
// periods, modulo 32), 3 bits indexing a table of MSS values, and 24 bits of
// a keyed MAC (SipHash-2-4) of the 4-tuple, the peer's ISN and those 8 bits.
// The key of a period is derived from the endpoint's secret and the period's
// number, so every core derives the same keys without sharing anything, and
// a cookie is valid in its own period and the next (64 to 128 s old at most).
//
// When the peer sends timestamps, what else the SYN negotiated (its window
// scale, SACK-permitted) rides in the low 6 bits of our SYN-ACK's TSval and
// comes back in the ACK's TSecr, so a cookie connection keeps them; without
// timestamps it starts without them (the lecture's "the server forgets all
// other options"). See docs/defences.md.
#pragma once

#include <array>
#include <cstdint>

#include "tcp/four_tuple.hh"
#include "tcp/period_keys.hh"

namespace ts::tcp {

class SynCookies {
 public:
  static constexpr uint64_t kPeriodNs = 64'000'000'000ull;
  // Peer MSS values a cookie can carry: the largest not above the peer's is
  // chosen (536 when it sent none).
  static constexpr uint16_t kMss[8] = {536, 1220, 1300, 1360, 1400, 1440, 1452, 1460};

  explicit SynCookies(const std::array<uint8_t, 16>& secret);

  // Our ISN for a SYN from the peer of `t` with sequence number `irs` and
  // MSS option `mss` (0: none). `ts_offset` is the connection's timestamp
  // offset (RFC 7323 5.4), from the same keyed hash, so that a cookie costs
  // one hash.
  uint32_t make(const FourTuple& t, uint32_t irs, uint16_t mss, uint64_t now, uint32_t& ts_offset);

  enum class Verdict : uint8_t { ok, stale, forged };
  // Checks the cookie an ACK returns (its acknowledgment number less one)
  // for its SYN's `irs` (its sequence number less one); with ok, `mss` is the
  // MSS the cookie carried and `ts_offset` the one make() gave.
  Verdict check(const FourTuple& t, uint32_t irs, uint32_t cookie, uint64_t now, uint16_t& mss,
                uint32_t& ts_offset);

  // The TSval of a cookie's SYN-ACK: our clock `ts_now` with its low 6 bits
  // replaced by the options (wscale 0-14, or -1 for none; SACK-permitted),
  // never ahead of `ts_now` (the peer's PAWS would otherwise reject our next
  // segments).
  static uint32_t ts_with_options(uint32_t ts_now, int wscale, bool sack);
  // The options an ACK's TSecr carries back.
  static void options_from_ts(uint32_t tsecr, int& wscale, bool& sack);

 private:
  // The period of a cookie whose top byte is `top8`: false when it is older
  // than the previous one (stale).
  static bool period_of(uint32_t top8, uint64_t now, uint64_t& made);
  // The keyed hash: its low 24 bits are the MAC, its high 32 the timestamp offset.
  uint64_t hash(const FourTuple& t, uint32_t irs, uint32_t top8, uint64_t period);

  // The keys of the two periods in use, derived when a period begins (per
  // core: nothing is shared or locked).
  PeriodKeys keys_;
};

}  // namespace ts::tcp
