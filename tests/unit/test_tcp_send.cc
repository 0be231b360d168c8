// Sending in ESTABLISHED: Nagle's algorithm with Minshall's refinement, the
// initial window and slow start, the send buffer, the peer's (scaled) window
// and MSS, application-limited senders, and sequence numbers across the
// 32-bit wrap. Loss and timers have files of their own.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;

TEST(TcpSend, NagleHoldsASmallSegmentWhileDataIsUnacknowledged) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(10), h.now);
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData, 5001, bytes(10)));
  h.conn->send(bytes(10, 9), h.now);
  EXPECT_SENT(h);  // RFC 9293 3.7.4
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData + 10, 5001, bytes(10, 9)));
}

TEST(TcpSend, MinshallsNagleSendsTheTailOfABulkWriteAtOnce) {
  Harness h;
  h.establish_active();
  const auto data = bytes(2 * 1448 + 100);
  h.conn->send(data, h.now);
  // No small segment was outstanding, so the tail goes too; PSH marks the
  // segment that empties the send buffer.
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001, slice(data, 0, 1448)),
              h.ours(flag::ack, kData + 1448, 5001, slice(data, 1448, 1448)),
              h.ours(flag::ack | flag::psh, kData + 2896, 5001, slice(data, 2896, 100)));
  h.conn->send(bytes(50), h.now);
  EXPECT_SENT(h);  // now one is
}

TEST(TcpSend, NoDelaySendsSmallSegmentsAtOnce) {
  TcpConfig cfg;
  cfg.nodelay = true;
  Harness h(cfg);
  h.establish_active();
  h.conn->send(bytes(10), h.now);
  h.conn->send(bytes(10, 3), h.now);
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData, 5001, bytes(10)),
              h.ours(flag::ack | flag::psh, kData + 10, 5001, bytes(10, 3)));
}

TEST(TcpSend, TheInitialWindowLimitsTheFirstFlightAndSlowStartGrowsIt) {
  Harness h;
  h.establish_active();
  ASSERT_EQ(h.conn->smss(), 1448u);
  const auto data = bytes(100000);
  h.conn->send(data, h.now);
  std::vector<Sent> want;  // IW = 10 segments (RFC 6928)
  for (uint32_t i = 0; i < 10; ++i)
    want.push_back(h.ours(flag::ack, kData + i * 1448, 5001, slice(data, i * 1448, 1448)));
  EXPECT_EQ(h.sent(), want);
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
  // All 4096 went out: with Minshall's Nagle the 1200-byte tail need not wait.
  EXPECT_EQ(total_len(h.sent()), 4096u);
  EXPECT_EQ(h.app.writable, 0);
  h.in(h.ack_all());
  EXPECT_EQ(h.app.writable, 1);
  EXPECT_EQ(h.conn->send_space(), 4096u);
}

TEST(TcpSend, OnlyAnApplicationThatWantsRoomHearsOfIt) {
  // docs/tcp.md, "Writable": an ACK that frees room raises on_writable only
  // after a send() took less than offered or the application asked
  // send_space(), once each time.
  TcpConfig cfg;
  cfg.sndbuf = 4096;
  Harness h(cfg);
  h.establish_active();
  EXPECT_EQ(h.conn->send(bytes(100), h.now), 100u);  // all of it: wants nothing more
  h.in(h.ack_all());
  EXPECT_EQ(h.app.writable, 0);
  EXPECT_EQ(h.conn->send(bytes(5000), h.now), 4096u);  // short: wants room
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_EQ(h.app.writable, 1);
  EXPECT_EQ(h.conn->send(bytes(50), h.now), 50u);
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_EQ(h.app.writable, 1);  // told once; nothing asked since
  // Asking with the buffer empty wants nothing (no ACK can add room)...
  EXPECT_EQ(h.conn->send_space(), 4096u);
  EXPECT_EQ(h.conn->send(bytes(60), h.now), 60u);
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_EQ(h.app.writable, 1);
  // ...asking while data waits does.
  EXPECT_EQ(h.conn->send(bytes(70), h.now), 70u);
  EXPECT_EQ(h.conn->send_space(), 4096u - 70);
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_EQ(h.app.writable, 2);
}

TEST(TcpSend, ThePeersScaledWindowLimitsTheFlight) {
  Harness h;
  h.establish_active();  // the peer offered window scale 7
  h.in(h.seg(5001, kData, flag::ack, 20, {}, h.ts_opts(0)));  // 20 << 7 = 2560 bytes
  EXPECT_EQ(h.conn->snd_wnd(), 2560u);
  const auto data = bytes(10000);
  h.conn->send(data, h.now);
  // 2560 - 1448 = 1112 left: below half the largest window, so it waits.
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001, slice(data, 0, 1448)));
}

TEST(TcpSend, AnApplicationLimitedSenderDoesNotGrowItsWindow) {
  Harness h;
  h.establish_active();
  const uint32_t iw = h.conn->cwnd();
  for (int i = 0; i < 200; ++i) {
    h.conn->send(bytes(100), h.now);
    h.sent();
    h.now += kMs;
    h.in(h.ack_all());
  }
  EXPECT_EQ(h.conn->cwnd(), iw);  // RFC 7661
}

TEST(TcpSequence, DataCrossesThe32BitWrapBothWays) {
  Harness h;
  h.establish_active(0xfffffe00u, 0xffffff00u);
  const auto data = bytes(3 * 1448);
  h.conn->send(data, h.now);
  EXPECT_SENT(h, h.ours(flag::ack, 0xfffffe01u, 0xffffff01u, slice(data, 0, 1448)),
              h.ours(flag::ack, 0xfffffe01u + 1448, 0xffffff01u, slice(data, 1448, 1448)),
              h.ours(flag::ack | flag::psh, uint32_t(0xfffffe01u + 2 * 1448), 0xffffff01u,
                     slice(data, 2896, 1448)));  // past zero
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
  EXPECT_EQ(h.conn->smss(), 524u);  // less the timestamps
  h.conn->send(bytes(5000), h.now);
  const auto s = h.sent();
  ASSERT_EQ(s.size(), 10u);  // 9 full segments and the tail, within the initial window
  for (size_t i = 0; i < 9; ++i) EXPECT_EQ(s[i].len(), 524u) << i;
  EXPECT_EQ(total_len(s), 5000u);
}

// Output's one-segment path (docs/performance.md, "Instructions") leaves a
// send after an idle period longer than the RTO to the general path, which
// restarts the window (RFC 5681 4.1): a grown window comes back to the
// initial one before the small message goes, with the path and without.
TEST(TcpSend, AfterIdleTheOneSegmentPathLetsTheWindowRestart) {
  for (bool whole : {true, false}) {
    SCOPED_TRACE(whole ? "send_whole on" : "send_whole off");
    TcpConfig cfg;
    cfg.send_whole = whole;
    Harness h(cfg);
    h.establish_active();
    const auto data = bytes(200000);
    ASSERT_EQ(h.conn->send(data, h.now), data.size());
    for (int round = 0; round < 40; ++round) {
      h.now += 10 * kMs;
      h.in(h.ack_all());
      h.take();
    }
    ASSERT_EQ(h.conn->snd_una(), h.conn->snd_nxt());  // all acknowledged
    EXPECT_GT(h.conn->cwnd(), 20u * 1448);  // grown well past the initial window
    h.now += 5 * kSec;                      // idle, far beyond the RTO
    const auto small = bytes(100);
    h.conn->send(small, h.now);
    EXPECT_EQ(h.conn->cwnd(), 10u * 1448);
    const std::vector<Sent> s = h.take();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].payload, small);
  }
}
