// The TCP state machine in ESTABLISHED: sending (Nagle, windows, persist,
// retransmission, fast recovery with and without SACK), receiving (delayed and
// immediate ACKs, out-of-order data, SACK blocks, silly-window avoidance), and
// the RFC 5961 / RFC 7323 protections.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;
namespace wire = ts::wire;

namespace {

// Our ISS 1000 -> data starts at 1001; the peer's 5000 -> its data at 5001.
constexpr uint32_t kData = 1001;

uint32_t total_len(const std::vector<Sent>& v) {
  uint32_t n = 0;
  for (const auto& s : v) n += s.len();
  return n;
}

}  // namespace

// ------------------------------------------------------------------ sending

TEST(TcpSend, NagleHoldsASmallSegmentWhileDataIsUnacknowledged) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(10), h.now);
  auto s = h.take();
  h.note(s);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::ack | flag::psh);
  EXPECT_EQ(s[0].seg.seq, kData);
  EXPECT_EQ(s[0].len(), 10u);
  h.conn->send(bytes(10, 9), h.now);
  EXPECT_TRUE(h.take().empty());  // RFC 9293 3.7.4
  h.now += 10 * kMs;
  h.in(h.ack_all());
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.seq, kData + 10);
  EXPECT_EQ(s[0].payload, bytes(10, 9));
}

TEST(TcpSend, MinshallsNagleSendsTheTailOfABulkWriteAtOnce) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(2 * 1448 + 100), h.now);
  auto s = h.take();
  ASSERT_EQ(s.size(), 3u);  // no small segment was outstanding, so the tail goes too
  EXPECT_EQ(s[2].len(), 100u);
  h.conn->send(bytes(50), h.now);
  EXPECT_TRUE(h.take().empty());  // now one is
}

TEST(TcpSend, NoDelaySendsSmallSegmentsAtOnce) {
  TcpConfig cfg;
  cfg.nodelay = true;
  Harness h(cfg);
  h.establish_active();
  h.conn->send(bytes(10), h.now);
  h.conn->send(bytes(10), h.now);
  EXPECT_EQ(h.take().size(), 2u);
}

TEST(TcpSend, TheInitialWindowLimitsTheFirstFlightAndSlowStartGrowsIt) {
  Harness h;
  h.establish_active();
  ASSERT_EQ(h.conn->smss(), 1448u);
  h.conn->send(bytes(100000), h.now);
  auto s = h.take();
  h.note(s);
  ASSERT_EQ(s.size(), 10u);  // IW = 10 segments (RFC 6928)
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].seg.seq, kData + i * 1448);
    EXPECT_EQ(s[i].len(), 1448u);
  }
  EXPECT_EQ(h.conn->rto_deadline(), h.now + 200 * kMs);
  // One ACK for all ten: appropriate byte counting lets cwnd grow by 2 SMSS (RFC 3465).
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_EQ(h.conn->cwnd(), 12u * 1448);
  EXPECT_EQ(h.take().size(), 12u);
}

TEST(TcpSend, TheSendBufferBoundsWhatIsQueuedAndSpaceIsSignalled) {
  TcpConfig cfg;
  cfg.sndbuf = 4096;
  Harness h(cfg);
  h.establish_active();
  EXPECT_EQ(h.conn->send(bytes(10000), h.now), 4096u);
  EXPECT_EQ(h.conn->send(bytes(10), h.now), 0u);
  h.note(h.take());
  EXPECT_EQ(h.app.writable, 0);
  h.in(h.ack_all());  // all 4096 went out: with Minshall's Nagle the 1200-byte tail need not wait
  EXPECT_EQ(h.app.writable, 1);
  EXPECT_EQ(h.conn->send_space(), 4096u);
}

TEST(TcpSend, ThePeersScaledWindowLimitsTheFlight) {
  Harness h;
  h.establish_active();  // the peer offered window scale 7
  h.in(h.seg(5001, kData, flag::ack, 20, {}, h.ts_opts(0)));  // 20 << 7 = 2560 bytes
  EXPECT_EQ(h.conn->snd_wnd(), 2560u);
  h.conn->send(bytes(10000), h.now);
  auto s = h.take();
  EXPECT_EQ(total_len(s), 1448u);  // 2560 - 1448 = 1112 left: below half the largest window
}

TEST(TcpSend, ZeroWindowIsProbedWithBackoffForAsLongAsThePeerAnswers) {
  Harness h;
  h.establish_active();
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));
  h.conn->send(bytes(3000), h.now);
  EXPECT_TRUE(h.take().empty());
  const uint64_t first = h.conn->persist_deadline();
  ASSERT_NE(first, 0u);
  EXPECT_EQ(first, h.now + 200 * kMs);
  uint64_t interval = 200 * kMs;
  // RFC 6429: more probes than the retry limit, all answered: keep going.
  for (int i = 0; i < 20; ++i) {
    h.run_until(h.conn->persist_deadline());
    auto s = h.take();
    ASSERT_EQ(s.size(), 1u) << i;
    EXPECT_EQ(s[0].seg.seq, kData - 1);  // one below SND.UNA, no data
    EXPECT_EQ(s[0].len(), 0u);
    h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));
    interval = std::min(interval * 2, 60 * kSec);
    EXPECT_EQ(h.conn->persist_deadline(), h.now + interval) << i;
  }
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_EQ(h.ctr.tcp_window_probes, 20u);
  // The window opens: data flows, persist stops.
  h.in(h.seg(5001, kData, flag::ack, 100, {}, h.ts_opts(0)));
  EXPECT_EQ(total_len(h.take()), 3000u);
  EXPECT_EQ(h.conn->persist_deadline(), 0u);
}

TEST(TcpSend, UnansweredZeroWindowProbesEndTheConnection) {
  TcpConfig cfg;
  cfg.data_retries = 3;
  Harness h(cfg);
  h.establish_active();
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));
  h.conn->send(bytes(100), h.now);
  h.run_until(h.now + 3600 * kSec);
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::timeout);
  EXPECT_EQ(h.ctr.tcp_window_probes, 4u);
}

TEST(TcpSend, RetransmissionTimerBacksOffAndGivesUp) {
  TcpConfig cfg;
  cfg.data_retries = 4;
  cfg.cc = CcAlgo::newreno;  // the RFC 5681 numbers
  Harness h(cfg);
  h.establish_active();
  h.conn->send(bytes(3 * 1448), h.now);
  auto s = h.take();
  ASSERT_EQ(s.size(), 3u);
  const uint64_t t0 = h.now;
  uint64_t at = t0, rto = 200 * kMs;
  for (int i = 0; i < 4; ++i) {
    at += rto;
    h.run_until(at - 1);
    EXPECT_TRUE(h.take().empty());
    h.run_until(at);
    s = h.take();
    ASSERT_EQ(s.size(), 1u) << i;  // one segment: cwnd fell to the loss window
    EXPECT_EQ(s[0].seg.seq, kData);
    EXPECT_EQ(s[0].len(), 1448u);
    EXPECT_EQ(h.conn->cwnd(), 1448u);
    rto *= 2;
  }
  EXPECT_EQ(h.conn->ssthresh(), 2u * 1448);  // max(FlightSize / 2, 2 SMSS), set once
  h.run_until(at + rto);
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::timeout);
}

TEST(TcpSend, AfterATimeoutGoBackNResendsAndTheTimestampGivesTheRtt) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(2896), h.now);
  auto s = h.take();
  h.note(s);
  ASSERT_EQ(s.size(), 2u);
  h.run_until(h.now + 200 * kMs);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  const uint32_t retx_ts = s[0].seg.options.tsval;
  h.now += 30 * kMs;
  // The peer acknowledges the first segment, echoing the retransmission's timestamp.
  h.in(h.seg(5001, kData + 1448, flag::ack, 65535, {}, h.ts_opts(retx_ts)));
  // A 30.5 ms sample (ms timestamps, rounded to the middle) into an SRTT of 10 ms.
  EXPECT_NEAR(double(h.conn->rtt().srtt()), 10e6 * 7 / 8 + 30.5e6 / 8, 1e5);
  s = h.take();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0].seg.seq, kData + 1448);  // the rest goes again
}

TEST(TcpSend, ThreeDuplicateAcksTriggerNewRenoFastRetransmitWithoutSack) {
  TcpConfig cfg;
  cfg.cc = CcAlgo::newreno;
  Harness h(cfg);
  h.establish_active(1000, 5000, Harness::syn_opts(1460, 7, false, true));
  ASSERT_FALSE(h.conn->sack_enabled());
  h.in(h.ack_all());  // the first scaled window: later ACKs leave it unchanged
  h.conn->send(bytes(20 * 1448), h.now);
  h.note(h.take());  // 10 segments
  h.now += 10 * kMs;
  auto dup = [&] { h.in(h.seg(5001, kData, flag::ack, 65535, {}, h.ts_opts(h.last_tsval()))); };
  dup();
  dup();
  EXPECT_TRUE(h.take().empty());
  dup();  // the third
  auto s = h.take();
  ASSERT_GE(s.size(), 1u);
  EXPECT_EQ(s[0].seg.seq, kData);  // RFC 6582 3.2 step 2
  EXPECT_TRUE(h.conn->in_recovery());
  EXPECT_EQ(h.conn->ssthresh(), 5u * 1448);            // FlightSize / 2
  EXPECT_EQ(h.conn->cwnd(), 5u * 1448 + 3 * 1448);     // ssthresh + 3 SMSS
  dup();  // inflation: one more segment may go
  EXPECT_EQ(h.conn->cwnd(), 9u * 1448);
  // A partial ACK retransmits the next hole at once (RFC 6582 3.2 step 3).
  h.take();
  h.in(h.seg(5001, kData + 2 * 1448, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  s = h.take();
  ASSERT_GE(s.size(), 1u);
  EXPECT_EQ(s[0].seg.seq, kData + 2 * 1448);
  EXPECT_TRUE(h.conn->in_recovery());
  // The full ACK ends recovery with cwnd = ssthresh.
  h.in(h.seg(5001, kData + 10 * 1448, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_FALSE(h.conn->in_recovery());
  EXPECT_EQ(h.conn->cwnd(), h.conn->ssthresh());
  EXPECT_EQ(h.ctr.tcp_fast_recoveries, 1u);
}

TEST(TcpSend, SackRecoveryRetransmitsOnlyTheHole) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(10 * 1448), h.now);
  h.note(h.take());
  h.now += 10 * kMs;
  // Segment 0 lost; the peer SACKs 1..k as they arrive.
  for (uint32_t k = 1; k <= 3; ++k) {
    wire::TcpOptions o = h.ts_opts(h.last_tsval());
    o.sack_count = 1;
    o.sack[0] = {kData + 1448, kData + (k + 1) * 1448};
    h.in(h.seg(5001, kData, flag::ack, 65535, {}, o));
  }
  auto s = h.take();
  ASSERT_GE(s.size(), 1u);
  EXPECT_EQ(s[0].seg.seq, kData);
  EXPECT_EQ(s[0].len(), 1448u);
  for (size_t i = 1; i < s.size(); ++i) EXPECT_GE(s[i].seg.seq, kData + 10 * 1448) << i;
  EXPECT_TRUE(h.conn->in_recovery());
  EXPECT_EQ(h.ctr.tcp_retransmits, 1u);
  // Everything acknowledged: recovery ends.
  h.in(h.seg(5001, h.conn->snd_nxt(), flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_FALSE(h.conn->in_recovery());
}

TEST(TcpSend, ARejectedEmitIsRetriedByTheTimer) {
  Harness h;
  h.establish_active();
  h.out.fail = true;
  h.conn->send(bytes(100), h.now);
  EXPECT_EQ(h.ctr.tcp_emit_failed, 1u);
  EXPECT_NE(h.conn->rto_deadline(), 0u);
  h.out.fail = false;
  h.run_until(h.conn->rto_deadline());
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].len(), 100u);
}

// ------------------------------------------------------------------ receiving

TEST(TcpReceive, OneSegmentIsAckedAfterTheDelayTwoAtOnce) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, bytes(1448)));
  EXPECT_TRUE(h.take().empty());
  EXPECT_EQ(h.conn->delack_deadline(), h.now + 40 * kMs);
  h.in(h.data(5001 + 1448, bytes(1448)));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);  // every second full-sized segment (RFC 9293 3.8.6.3)
  EXPECT_EQ(s[0].seg.ack, 5001u + 2 * 1448);
  EXPECT_EQ(h.conn->delack_deadline(), 0u);
  h.in(h.data(5001 + 2 * 1448, bytes(100)));
  EXPECT_TRUE(h.take().empty());
  h.run_until(h.now + 40 * kMs);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.ack, 5001u + 2 * 1448 + 100);
}

TEST(TcpReceive, OutOfOrderDataIsAckedAtOnceWithSackBlocksAndDeliveredWhenTheHoleFills) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001 + 1000, bytes(500, 2)));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.ack, 5001u);
  ASSERT_EQ(s[0].seg.options.sack_count, 1);
  EXPECT_EQ(s[0].seg.options.sack[0], (wire::SackBlock{6001, 6501}));
  h.in(h.data(5001 + 2000, bytes(100, 3)));
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(s[0].seg.options.sack_count, 2);
  EXPECT_EQ(s[0].seg.options.sack[0], (wire::SackBlock{7001, 7101}));  // newest first (RFC 2018 4)
  EXPECT_EQ(s[0].seg.options.sack[1], (wire::SackBlock{6001, 6501}));
  EXPECT_TRUE(h.app.data.empty());
  h.in(h.data(5001, bytes(1000, 1)));
  s = h.take();
  ASSERT_EQ(s.size(), 1u);  // filling a hole is acknowledged at once
  EXPECT_EQ(s[0].seg.ack, 6501u);
  ASSERT_EQ(s[0].seg.options.sack_count, 1);
  EXPECT_EQ(h.app.data.size(), 1500u);
  EXPECT_EQ(h.ctr.tcp_ooo_segments, 2u);
}

TEST(TcpReceive, DuplicateAndOutOfWindowSegmentsAreAnsweredNotDelivered) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, bytes(100)));
  h.take();
  h.in(h.data(5001, bytes(100)));  // again
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.ack, 5101u);
  EXPECT_EQ(h.app.data.size(), 100u);
  h.in(h.data(5101 + 10'000'000, bytes(100)));  // far beyond the window
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(h.ctr.tcp_bad_seq, 2u);  // the duplicate counted too
  EXPECT_EQ(h.app.data.size(), 100u);
  // Bare ACKs outside the window are answered at most every 500 ms.
  h.now += kSec;
  for (int i = 0; i < 5; ++i) h.in(h.seg(5101 + 10'000'000, kData, flag::ack, 65535, {}, h.ts_opts(0)));
  EXPECT_EQ(h.take().size(), 1u);
  EXPECT_EQ(h.ctr.tcp_oow_acks_limited, 4u);
}

TEST(TcpReceive, UrgentDataStaysInTheStream) {
  Harness h;
  h.establish_active();
  SegmentIn sg = h.data(5001, bytes(50), flag::urg);
  sg.urgent = 10;
  h.in(sg);
  EXPECT_EQ(h.app.data, bytes(50));
}

TEST(TcpReceive, TheWindowClosesWhenNobodyReadsAndReopensInMssSteps) {
  TcpConfig cfg;
  cfg.rcvbuf = 8192;
  Harness h(cfg);
  h.app.auto_read = false;
  h.establish_active();
  ASSERT_EQ(h.conn->rcv_wscale(), 0);
  h.in(h.data(5001, bytes(1448)));
  h.in(h.data(5001 + 1448, bytes(1448)));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.window, 8192 - 2896);
  // Reading a little does not announce a tiny window increase (RFC 9293 3.8.6.2.2)...
  h.conn->consume(100, h.now);
  EXPECT_TRUE(h.take().empty());
  // ... reading a segment's worth does.
  h.conn->consume(1400, h.now);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.window, 8192 - 2896 + 1500);
}

// ------------------------------------------------------------------ protections

TEST(TcpProtect, ResetInTheWindowButNotAtRcvNxtGetsAChallengeAck) {
  Harness h;
  h.establish_active();
  h.in(h.seg(5001 + 100, 0, flag::rst));
  EXPECT_EQ(h.conn->state(), State::established);
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::ack);
  EXPECT_EQ(s[0].seg.ack, 5001u);
  EXPECT_EQ(h.ctr.tcp_challenge_acks, 1u);
  h.in(h.seg(5001, 0, flag::rst));  // exactly at RCV.NXT
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::reset);
}

TEST(TcpProtect, SynInASynchronizedStateGetsARateLimitedChallengeAck) {
  Harness h;
  h.establish_active();
  for (int i = 0; i < 12; ++i) h.in(h.seg(777, 0, flag::syn, 65535, {}, Harness::syn_opts()));
  EXPECT_EQ(h.take().size(), 10u);
  EXPECT_EQ(h.ctr.tcp_challenge_acks, 10u);
  EXPECT_EQ(h.ctr.tcp_challenge_acks_limited, 2u);
  EXPECT_EQ(h.conn->state(), State::established);
  h.now += kSec;  // a new second, a new allowance
  h.in(h.seg(777, 0, flag::syn, 65535, {}, Harness::syn_opts()));
  EXPECT_EQ(h.take().size(), 1u);
}

TEST(TcpProtect, AcksForUnsentOrAncientDataAreRefused) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(100), h.now);
  h.take();
  h.in(h.seg(5001, kData + 5000, flag::ack, 65535, {}, h.ts_opts(0)));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::ack);
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

TEST(TcpProtect, KeepaliveProbesAnIdlePeerAndGivesUp) {
  TcpConfig cfg;
  cfg.keepalive = true;
  cfg.keepalive_idle_ns = 10 * kSec;
  cfg.keepalive_interval_ns = 1 * kSec;
  cfg.keepalive_probes = 3;
  Harness h(cfg);
  h.establish_active();
  const uint64_t t0 = h.now;
  h.run_until(t0 + 10 * kSec);
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.seq, kData - 1);
  h.in(h.seg(5001, kData, flag::ack, 65535, {}, h.ts_opts(0)));  // answered: idle again
  h.run_until(h.now + 9 * kSec);
  EXPECT_TRUE(h.take().empty());
  h.run_until(h.now + 60 * kSec);  // no answers: 3 probes, then give up
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::timeout);
  EXPECT_EQ(h.ctr.tcp_keepalive_probes, 4u);
}

TEST(TcpSequence, DataCrossesThe32BitWrapBothWays) {
  Harness h;
  h.establish_active(0xfffffe00u, 0xffffff00u);
  h.conn->send(bytes(3 * 1448), h.now);
  auto s = h.take();
  h.note(s);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].seg.seq, 0xfffffe01u);
  EXPECT_EQ(s[2].seg.seq, uint32_t(0xfffffe01u + 2 * 1448));  // past zero
  h.in(h.seg(0xffffff01u, 0xfffffe01u + 3 * 1448, flag::ack, 65535, {},
             h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.conn->bytes_acked(), 3u * 1448);
  EXPECT_EQ(h.conn->rto_deadline(), 0u);
  // Receiving across the wrap.
  h.in(h.data(0xffffff01u, bytes(1000, 4)));
  h.in(h.data(0xffffff01u + 1000, bytes(1000, 5)));
  EXPECT_EQ(h.conn->rcv_nxt(), uint32_t(0xffffff01u + 2000));
  EXPECT_EQ(h.app.data.size(), 2000u);
}

TEST(TcpSequence, ThePeersMssCapsOurSegments) {
  Harness h;
  h.establish_active(1000, 5000, Harness::syn_opts(536));
  EXPECT_EQ(h.conn->smss(), 524u);
  h.conn->send(bytes(5000), h.now);
  for (const auto& s : h.take()) EXPECT_LE(s.len(), 524u);
}
