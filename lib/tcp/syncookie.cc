#include "tcp/syncookie.hh"

#include "tcp/isn.hh"
#include "wire/bytes.hh"

namespace ts::tcp {

SynCookies::SynCookies(const std::array<uint8_t, 16>& secret) : keys_(secret, "syn cookies") {}

uint64_t SynCookies::hash(const FourTuple& t, uint32_t irs, uint32_t top8, uint64_t period) {
  uint8_t b[17];
  wire::store_be32(b, t.local_ip.v);
  wire::store_be32(b + 4, t.remote_ip.v);
  wire::store_be16(b + 8, t.local_port);
  wire::store_be16(b + 10, t.remote_port);
  wire::store_be32(b + 12, irs);
  b[16] = uint8_t(top8);
  return siphash24(keys_.of(period), b, sizeof b);
}

uint32_t SynCookies::make(const FourTuple& t, uint32_t irs, uint16_t mss, uint64_t now,
                          uint32_t& ts_offset) {
  const uint64_t period = now / kPeriodNs;
  const uint16_t peer = mss ? mss : 536;
  uint32_t m = 0;
  for (uint32_t i = 0; i < 8; ++i)
    if (kMss[i] <= peer) m = i;
  const uint32_t top8 = (uint32_t(period & 31) << 3) | m;
  const uint64_t h = hash(t, irs, top8, period);
  ts_offset = uint32_t(h >> 32);
  return (top8 << 24) | (uint32_t(h) & 0xffffff);
}

bool SynCookies::period_of(uint32_t top8, uint64_t now, uint64_t& made) {
  // The period a cookie was made in: this one or the one before.
  const uint64_t period = now / kPeriodNs;
  if ((top8 >> 3) == (period & 31)) {
    made = period;
    return true;
  }
  if (period > 0 && (top8 >> 3) == ((period - 1) & 31)) {
    made = period - 1;
    return true;
  }
  return false;
}

SynCookies::Verdict SynCookies::check(const FourTuple& t, uint32_t irs, uint32_t cookie,
                                      uint64_t now, uint16_t& mss, uint32_t& ts_offset) {
  const uint32_t top8 = cookie >> 24;
  uint64_t made;
  if (!period_of(top8, now, made)) return Verdict::stale;
  const uint64_t h = hash(t, irs, top8, made);
  if ((cookie & 0xffffff) != (uint32_t(h) & 0xffffff)) return Verdict::forged;
  mss = kMss[top8 & 7];
  ts_offset = uint32_t(h >> 32);
  return Verdict::ok;
}

uint32_t SynCookies::ts_with_options(uint32_t ts_now, int wscale, bool sack) {
  const uint32_t opts = uint32_t(wscale >= 0 && wscale <= 14 ? wscale : 0xf) | (sack ? 0x10 : 0);
  uint32_t ts = (ts_now & ~0x3fu) | opts;
  if (ts > ts_now) ts -= 0x40;  // stay at or behind our clock
  return ts;
}

void SynCookies::options_from_ts(uint32_t tsecr, int& wscale, bool& sack) {
  const uint32_t ws = tsecr & 0xf;
  wscale = ws <= 14 ? int(ws) : -1;
  sack = (tsecr & 0x10) != 0;
}

}  // namespace ts::tcp
