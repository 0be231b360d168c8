// TCP Fast Open (RFC 7413): the server's cookies and its replay guard, and the
// cookie a client keeps for a server. See docs/fastopen.md.
//
// A cookie is 8 bytes: SipHash-2-4 of the client's and the server's address
// under the key of the present period (one hour), whose lowest bit is
// replaced by the period's parity, so a check costs one hash and a cookie of
// the period before still validates (one to two hours of life). Keys come
// from the endpoint's secret (tcp::PeriodKeys): every core validates what
// any core issued, with nothing shared or locked.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "tcp/path.hh"
#include "tcp/period_keys.hh"
#include "wire/addr.hh"

namespace ts::tcp {

class FastOpenCookies {
 public:
  static constexpr uint64_t kPeriodNs = 3600'000'000'000ull;
  static constexpr uint8_t kLen = 8;

  explicit FastOpenCookies(const std::array<uint8_t, 16>& secret)
      : keys_(secret, "fast open cookies") {}
  // The cookie for `client` talking to our address `server`.
  FastOpenCookie make(wire::Ipv4Addr client, wire::Ipv4Addr server, uint64_t now);
  // Whether `cookie` is one make() gave `client` for `server` in this period
  // or the one before.
  bool check(wire::Ipv4Addr client, wire::Ipv4Addr server, std::span<const uint8_t> cookie,
             uint64_t now);

 private:
  uint64_t mac(wire::Ipv4Addr client, wire::Ipv4Addr server, uint64_t period);
  PeriodKeys keys_;
};

// The optional replay guard (seed 004's duplicate transactions): a bounded
// table of the SYN-data recently delivered (client address, ISN, a hash of
// the data); a SYN whose data was delivered within kWindowNs is not
// delivered again. Direct-mapped: a newer entry may push out an older one,
// so the guard is a best effort over the last `entries` SYNs, never a
// promise; Fast Open is for idempotent requests (docs/fastopen.md).
class ReplayGuard {
 public:
  static constexpr uint64_t kWindowNs = 120'000'000'000ull;
  ReplayGuard(const std::array<uint8_t, 16>& secret, size_t entries);
  // True when this SYN-data was seen within the window (not delivered again);
  // otherwise remembers it.
  bool seen(wire::Ipv4Addr client, uint32_t isn, std::span<const uint8_t> data, uint64_t now);

 private:
  struct Entry {
    uint64_t fingerprint = 0;
    uint64_t at = 0;
  };
  std::array<uint8_t, 16> key_;
  std::vector<Entry> table_;
};

}  // namespace ts::tcp
