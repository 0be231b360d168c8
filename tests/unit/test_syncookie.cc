// SYN cookies: every MSS of the table round-trips, a cookie lives for its
// period and the next, anything altered or aged is refused, and the options
// carried in timestamps come back.
#include <gtest/gtest.h>

#include "tcp/syncookie.hh"

using namespace ts;
using tcp::SynCookies;
static uint32_t off, off2;  // timestamp offsets (checked in one test)

namespace {

constexpr uint64_t kSec = 1'000'000'000;
const tcp::FourTuple kT{wire::Ipv4Addr::from_octets(10, 0, 0, 1),
                        wire::Ipv4Addr::from_octets(10, 0, 0, 2), 80, 40000};
std::array<uint8_t, 16> secret(uint8_t seed) {
  std::array<uint8_t, 16> s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = uint8_t(seed * 31 + i);
  return s;
}

}  // namespace

TEST(SynCookie, EveryMssOfTheTableRoundTripsAndOthersRoundDown) {
  SynCookies c(secret(1));
  const uint64_t now = 1000 * kSec;
  for (uint16_t mss : SynCookies::kMss) {
    const uint32_t cookie = c.make(kT, 12345, mss, now, off);
    uint16_t got = 0;
    ASSERT_EQ(c.check(kT, 12345, cookie, now + kSec, got, off2), SynCookies::Verdict::ok) << mss;
    EXPECT_EQ(got, mss);
  }
  uint16_t got = 0;
  ASSERT_EQ(c.check(kT, 7, c.make(kT, 7, 1459, now, off), now, got, off2), SynCookies::Verdict::ok);
  EXPECT_EQ(got, 1452);  // the largest not above it
  ASSERT_EQ(c.check(kT, 7, c.make(kT, 7, 9000, now, off), now, got, off2), SynCookies::Verdict::ok);
  EXPECT_EQ(got, 1460);
  ASSERT_EQ(c.check(kT, 7, c.make(kT, 7, 0, now, off), now, got, off2), SynCookies::Verdict::ok);
  EXPECT_EQ(got, 536);  // no MSS option: RFC 9293's default
  ASSERT_EQ(c.check(kT, 7, c.make(kT, 7, 100, now, off), now, got, off2), SynCookies::Verdict::ok);
  EXPECT_EQ(got, 536);
}

TEST(SynCookie, ValidInItsPeriodAndTheNextThenStale) {
  SynCookies c(secret(2));
  const uint64_t p = SynCookies::kPeriodNs;
  const uint64_t made = 77 * p + 5 * kSec;
  const uint32_t cookie = c.make(kT, 99, 1460, made, off);
  uint16_t mss;
  EXPECT_EQ(c.check(kT, 99, cookie, made, mss, off2), SynCookies::Verdict::ok);
  EXPECT_EQ(c.check(kT, 99, cookie, 78 * p + p - 1, mss, off2), SynCookies::Verdict::ok);  // next period
  EXPECT_EQ(c.check(kT, 99, cookie, 79 * p, mss, off2), SynCookies::Verdict::stale);
  EXPECT_EQ(c.check(kT, 99, cookie, 77 * p + 32 * p, mss, off2), SynCookies::Verdict::forged)
      << "32 periods later the clock bits match again, but the key does not";
  // Another core (its own SynCookies from the same secret) validates it: the
  // keys are derived, not shared.
  SynCookies other(secret(2));
  EXPECT_EQ(other.check(kT, 99, cookie, made + 70 * kSec, mss, off2), SynCookies::Verdict::ok);
  SynCookies stranger(secret(3));
  EXPECT_EQ(stranger.check(kT, 99, cookie, made, mss, off2), SynCookies::Verdict::forged);
}

TEST(SynCookie, AnythingAlteredIsForged) {
  SynCookies c(secret(4));
  const uint64_t now = 5000 * kSec;
  const uint32_t cookie = c.make(kT, 424242, 1440, now, off);
  uint16_t mss;
  tcp::FourTuple other = kT;
  other.remote_port = 40001;
  EXPECT_EQ(c.check(other, 424242, cookie, now, mss, off2), SynCookies::Verdict::forged);
  other = kT;
  other.remote_ip = wire::Ipv4Addr::from_octets(10, 0, 0, 3);
  EXPECT_EQ(c.check(other, 424242, cookie, now, mss, off2), SynCookies::Verdict::forged);
  EXPECT_EQ(c.check(kT, 424243, cookie, now, mss, off2), SynCookies::Verdict::forged);
  // Every single bit flipped in the MAC or the MSS index is caught; the clock
  // bits make it stale or forged.
  for (int bit = 0; bit < 32; ++bit) {
    const auto v = c.check(kT, 424242, cookie ^ (1u << bit), now, mss, off2);
    EXPECT_NE(v, SynCookies::Verdict::ok) << bit;
  }
  // A blind guess almost never passes: 2^-24 per try.
  int passed = 0;
  for (uint32_t guess = 0; guess < 200000; ++guess)
    passed += c.check(kT, 424242, (cookie & 0xff000000) | guess, now, mss, off2) == SynCookies::Verdict::ok;
  EXPECT_LE(passed, 1);
}

TEST(SynCookie, OptionsRideInTheTimestamp) {
  for (int ws : {-1, 0, 7, 14})
    for (bool sack : {false, true})
      for (uint32_t now : {1000u, 1000000u, 0x12345678u, 63u + 64u}) {
        const uint32_t ts = SynCookies::ts_with_options(now, ws, sack);
        EXPECT_LE(ts, now) << "never ahead of our clock";
        EXPECT_LT(now - ts, 128u);
        int got_ws;
        bool got_sack;
        SynCookies::options_from_ts(ts, got_ws, got_sack);
        EXPECT_EQ(got_ws, ws);
        EXPECT_EQ(got_sack, sack);
      }
}

TEST(SynCookie, TheTimestampOffsetComesBackWithTheCookie) {
  SynCookies c(secret(5));
  uint32_t made_off = 0, got_off = 0;
  uint16_t mss;
  const uint32_t cookie = c.make(kT, 1, 1460, kSec, made_off);
  ASSERT_EQ(c.check(kT, 1, cookie, kSec, mss, got_off), SynCookies::Verdict::ok);
  EXPECT_EQ(got_off, made_off);
  // Another connection, another offset (RFC 7323 5.4: not one clock for all).
  tcp::FourTuple other = kT;
  other.remote_port = 1;
  uint32_t other_off = 0;
  c.make(other, 1, 1460, kSec, other_off);
  EXPECT_NE(other_off, made_off);
}
