#include "tcp/fastopen.hh"

#include <cstring>

#include "tcp/isn.hh"
#include "wire/bytes.hh"

namespace ts::tcp {

uint64_t FastOpenCookies::mac(wire::Ipv4Addr client, wire::Ipv4Addr server, uint64_t period) {
  uint8_t b[8];
  wire::store_be32(b, client.v);
  wire::store_be32(b + 4, server.v);
  return siphash24(keys_.of(period), b, sizeof b);
}

FastOpenCookie FastOpenCookies::make(wire::Ipv4Addr client, wire::Ipv4Addr server,
                                     uint64_t now) {
  const uint64_t period = now / kPeriodNs;
  const uint64_t m = (mac(client, server, period) & ~1ull) | (period & 1);
  FastOpenCookie c;
  c.len = kLen;
  std::memcpy(c.bytes.data(), &m, kLen);
  return c;
}

bool FastOpenCookies::check(wire::Ipv4Addr client, wire::Ipv4Addr server,
                            std::span<const uint8_t> cookie, uint64_t now) {
  if (cookie.size() != kLen) return false;
  uint64_t m;
  std::memcpy(&m, cookie.data(), kLen);
  const uint64_t period = now / kPeriodNs;
  // The parity bit says which of the two periods made it.
  const uint64_t made = (m & 1) == (period & 1) ? period : period - 1;
  if (period == 0 && made != period) return false;
  return ((mac(client, server, made) & ~1ull) | (made & 1)) == m;
}

ReplayGuard::ReplayGuard(const std::array<uint8_t, 16>& secret, size_t entries)
    : key_(derive_key128(secret, "fast open replay guard")), table_(std::max<size_t>(entries, 1)) {}

bool ReplayGuard::seen(wire::Ipv4Addr client, uint32_t isn, std::span<const uint8_t> data,
                       uint64_t now) {
  // Keyed, so that nobody can aim SYNs at one another's entries; the data is
  // hashed where it lies, then with the address and ISN.
  uint8_t b[16];
  wire::store_be32(b, client.v);
  wire::store_be32(b + 4, isn);
  const uint64_t h = siphash24(key_, data.data(), data.size());
  std::memcpy(b + 8, &h, 8);
  const uint64_t fp = siphash24(key_, b, sizeof b) | 1;  // 0 marks a free entry
  Entry& e = table_[(fp >> 1) % table_.size()];
  if (e.fingerprint == fp && now - e.at < kWindowNs) return true;
  e.fingerprint = fp;
  e.at = now;
  return false;
}

}  // namespace ts::tcp
