#include <gtest/gtest.h>

#include <vector>

#include "util/rng.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"

using namespace ts::wire;

namespace {

// The textbook loop of RFC 1071 section 4.1, as an independent reference.
uint16_t reference_sum(const uint8_t* p, size_t len, uint32_t sum = 0) {
  while (len > 1) {
    sum += uint32_t(p[0]) << 8 | p[1];
    p += 2;
    len -= 2;
  }
  if (len) sum += uint32_t(p[0]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

}  // namespace

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ones_sum(b, sizeof b), 0xddf2);
  EXPECT_EQ(checksum(b, sizeof b), uint16_t(~0xddf2));
}

TEST(Checksum, KnownIpv4Header) {
  // A header with a known-good checksum (0xb861), from the classic worked example.
  uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(checksum(h, sizeof h), 0xb861);
  store_be16(h + 10, 0xb861);
  EXPECT_EQ(ones_sum(h, sizeof h), 0xffff);
}

TEST(Checksum, MatchesReferenceForEveryLengthAndAlignment) {
  ts::util::Rng rng(42);
  std::vector<uint8_t> buf(3000 + 8);
  for (auto& b : buf) b = uint8_t(rng.next());
  for (size_t off = 0; off < 8; ++off) {
    for (size_t len = 0; len <= 3000; len += (len < 100 ? 1 : 37)) {
      const uint16_t init = uint16_t(rng.next());
      ASSERT_EQ(ones_sum(buf.data() + off, len, init), reference_sum(buf.data() + off, len, init))
          << "len " << len << " offset " << off;
    }
  }
}

TEST(Checksum, AllOnesInputDoesNotOverflow) {
  std::vector<uint8_t> buf(65535, 0xff);
  EXPECT_EQ(ones_sum(buf.data(), buf.size()), reference_sum(buf.data(), buf.size()));
}

TEST(Checksum, IncrementalUpdateMatchesRecompute) {
  ts::util::Rng rng(7);
  for (int iter = 0; iter < 10000; ++iter) {
    uint8_t buf[40];
    for (auto& b : buf) b = uint8_t(rng.next());
    store_be16(buf + 10, 0);
    store_be16(buf + 10, checksum(buf, sizeof buf));
    // Change one aligned 16-bit word (not the checksum itself) and update.
    size_t w = 2 * rng.below(20);
    if (w == 10) w = 12;
    const uint16_t old_word = load_be16(buf + w);
    const uint16_t new_word = uint16_t(rng.next());
    store_be16(buf + w, new_word);
    store_be16(buf + 10, checksum_update16(load_be16(buf + 10), old_word, new_word));
    ASSERT_EQ(ones_sum(buf, sizeof buf), 0xffff) << "iteration " << iter;
  }
}

TEST(Checksum, IncrementalUpdate32) {
  uint8_t buf[20] = {0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  store_be16(buf + 10, checksum(buf, 20));
  const uint32_t old_dst = load_be32(buf + 16);
  store_be32(buf + 16, 0xc0a80101);
  store_be16(buf + 10, checksum_update32(load_be16(buf + 10), old_dst, 0xc0a80101));
  EXPECT_EQ(ones_sum(buf, 20), 0xffff);
}

TEST(Checksum, PseudoHeader) {
  const auto src = Ipv4Addr::from_octets(10, 77, 0, 1), dst = Ipv4Addr::from_octets(10, 77, 0, 2);
  const uint8_t ph[] = {10, 77, 0, 1, 10, 77, 0, 2, 0, 6, 0x01, 0x00};
  EXPECT_EQ(pseudo_header_sum(src, dst, 6, 256), reference_sum(ph, sizeof ph));
}
