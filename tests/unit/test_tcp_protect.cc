// What protects a connection from blind attackers and from old duplicates:
// RFC 5961's challenge ACKs for resets and SYNs and its ACK acceptance range,
// and RFC 7323's PAWS.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;

TEST(TcpProtect, ResetInTheWindowButNotAtRcvNxtGetsAChallengeAck) {
  Harness h;
  h.establish_active();
  h.in(h.seg(5001 + 100, 0, flag::rst));
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001));  // RFC 5961 3.2
  EXPECT_EQ(h.ctr.tcp_challenge_acks, 1u);
  h.in(h.seg(5001, 0, flag::rst));  // exactly at RCV.NXT
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::reset);
}

TEST(TcpProtect, SynInASynchronizedStateGetsARateLimitedChallengeAck) {
  Harness h;
  h.establish_active();
  const uint32_t ts = h.peer_tsval;  // a SYN's timestamp is never taken
  for (int i = 0; i < 12; ++i) h.in(h.seg(777, 0, flag::syn, 65535, {}, Harness::syn_opts()));
  const std::vector<Sent> ten(10, h.ours(flag::ack, kData, 5001).tsecr(ts));
  EXPECT_EQ(h.sent(), ten);  // RFC 5961 4.2, at most 10 a second
  EXPECT_EQ(h.ctr.tcp_challenge_acks, 10u);
  EXPECT_EQ(h.ctr.tcp_challenge_acks_limited, 2u);
  EXPECT_EQ(h.conn->state(), State::established);
  h.now += kSec;  // a new second, a new allowance
  h.in(h.seg(777, 0, flag::syn, 65535, {}, Harness::syn_opts()));
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001).tsecr(ts));
}

TEST(TcpProtect, AcksForUnsentOrAncientDataAreRefused) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(100), h.now);
  h.take();
  h.in(h.seg(5001, kData + 5000, flag::ack, 65535, {}, h.ts_opts(0)));
  EXPECT_SENT(h, h.ours(flag::ack, kData + 100, 5001));  // the ACK beyond SND.MAX is answered
  EXPECT_EQ(h.ctr.tcp_bad_ack, 1u);
  EXPECT_EQ(h.conn->snd_una(), kData);
  h.in(h.seg(5001, kData - 3'000'000, flag::ack, 65535, {}, h.ts_opts(0)));  // RFC 5961 5.2
  EXPECT_EQ(h.ctr.tcp_bad_ack, 2u);
  EXPECT_EQ(h.conn->snd_una(), kData);
}

TEST(TcpProtect, PawsDropsASegmentWithAnOlderTimestamp) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, bytes(10)));
  auto stale = h.ts_opts(0);
  stale.tsval = 10;  // far older than what we have seen
  h.in(h.seg(5011, kData, flag::ack, 65535, bytes(10), stale));
  EXPECT_EQ(h.ctr.tcp_paws_drops, 1u);
  EXPECT_EQ(h.app.data.size(), 10u);
}
