// The connection's timers: the retransmission timer (RFC 6298) with backoff
// and its limit, the persist timer probing a zero window (RFC 9293 3.8.6.1,
// RFC 6429), keepalive (RFC 1122 4.2.3.6), a send the device refused, and
// the RTT estimator they all rest on.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;

TEST(TcpRetransmitTimer, BacksOffAndGivesUp) {
  TcpConfig cfg;
  cfg.data_retries = 4;
  cfg.cc = CcAlgo::newreno;  // the RFC 5681 numbers
  Harness h(cfg);
  h.establish_active();
  const auto data = bytes(3 * 1448);
  h.conn->send(data, h.now);
  ASSERT_EQ(h.sent().size(), 3u);
  uint64_t at = h.now, rto = 200 * kMs;
  for (int i = 0; i < 4; ++i) {
    at += rto;
    h.run_until(at - 1);
    EXPECT_SENT(h);
    h.run_until(at);
    // One segment: cwnd fell to the loss window.
    EXPECT_SENT(h, h.ours(flag::ack, kData, 5001, slice(data, 0, 1448))) << i;
    EXPECT_EQ(h.conn->cwnd(), 1448u);
    rto *= 2;
  }
  EXPECT_EQ(h.conn->ssthresh(), 2u * 1448);  // max(FlightSize / 2, 2 SMSS), set once
  h.run_until(at + rto);
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::timeout);
}

TEST(TcpRetransmitTimer, ARejectedEmitIsRetriedByTheTimer) {
  Harness h;
  h.establish_active();
  h.out.fail = true;
  h.conn->send(bytes(100), h.now);
  EXPECT_EQ(h.ctr.tcp_emit_failed, 1u);
  EXPECT_NE(h.conn->rto_deadline(), 0u);
  h.out.fail = false;
  h.run_until(h.conn->rto_deadline());
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData, 5001, bytes(100)));
}

TEST(TcpPersist, AZeroWindowIsProbedWithBackoffForAsLongAsThePeerAnswers) {
  Harness h;
  h.establish_active();
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));
  h.conn->send(bytes(3000), h.now);
  EXPECT_SENT(h);
  ASSERT_EQ(h.conn->persist_deadline(), h.now + 200 * kMs);
  uint64_t interval = 200 * kMs;
  // RFC 6429: more probes than the retry limit, all answered: keep going.
  for (int i = 0; i < 20; ++i) {
    h.run_until(h.conn->persist_deadline());
    EXPECT_SENT(h, h.ours(flag::ack, kData - 1, 5001)) << i;  // one below SND.UNA, no data
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

TEST(TcpPersist, UnansweredZeroWindowProbesEndTheConnection) {
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

TEST(TcpPersist, AZeroWindowWithDataInFlightIsProbedNotTimedOut) {
  TcpConfig cfg;
  cfg.data_retries = 3;
  Harness h(cfg);
  h.establish_active();
  const auto data = bytes(3 * 1448);
  h.conn->send(data, h.now);
  h.sent();
  // The peer shrinks its window to zero without acknowledging anything.
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(h.last_tsval())));
  for (int i = 0; i < 10; ++i) {
    h.run_until(h.conn->rto_deadline());
    // The retransmission of the first segment is the probe.
    EXPECT_SENT(h, h.ours(flag::ack, kData, 5001, slice(data, 0, 1448))) << i;
    h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(h.last_tsval())));  // still alive
  }
  EXPECT_EQ(h.conn->state(), State::established);  // more than data_retries timeouts
  h.in(h.seg(5001, kData, flag::ack, 100, {}, h.ts_opts(h.last_tsval())));
  EXPECT_FALSE(h.take().empty());
}

// The timeout's probe of a window shut with data in flight resends at most a
// segment of the flight. With less than a segment in flight and more queued
// behind it, a whole segment from SND.UNA would reach past SND.MAX, and the
// peer's acknowledgment of it would be refused as acknowledging data never
// sent (RFC 5961 5.2), window update and all: the connection would stall.
TEST(TcpPersist, AProbeOfAShutWindowResendsOnlyWhatIsInFlight) {
  Harness h;
  h.establish_active();
  const auto data = bytes(20000);
  h.conn->send(data, h.now);
  ASSERT_EQ(h.take().size(), 10u);  // the initial window: 14,480 bytes
  // The peer takes all but 480 bytes of them and shuts its window.
  const uint32_t acked = 14000, in_flight = 480;
  h.in(h.seg(5001, kData + acked, flag::ack, 0, {}, h.ts_opts(h.last_tsval())));
  EXPECT_SENT(h);
  h.run_until(h.conn->rto_deadline());
  EXPECT_SENT(h, h.ours(flag::ack, kData + acked, 5001, slice(data, acked, in_flight)));
  EXPECT_EQ(h.ctr.tcp_window_probes, 1u);
  // The window opens: the peer acknowledges the probe, and the rest goes.
  h.in(h.seg(5001, kData + acked + in_flight, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.ctr.tcp_bad_ack, 0u);
  EXPECT_EQ(h.conn->snd_una(), kData + acked + in_flight);
  uint32_t more = 0;
  for (const Sent& s : h.take()) more += s.len();
  EXPECT_EQ(more, 20000u - acked - in_flight);
}

TEST(TcpKeepalive, ProbesAnIdlePeerAndGivesUp) {
  TcpConfig cfg;
  cfg.keepalive = true;
  cfg.keepalive_idle_ns = 10 * kSec;
  cfg.keepalive_interval_ns = 1 * kSec;
  cfg.keepalive_probes = 3;
  Harness h(cfg);
  h.establish_active();
  const uint64_t t0 = h.now;
  h.run_until(t0 + 10 * kSec);
  EXPECT_SENT(h, h.ours(flag::ack, kData - 1, 5001));
  h.in(h.seg(5001, kData, flag::ack, 65535, {}, h.ts_opts(0)));  // answered: idle again
  h.run_until(h.now + 9 * kSec);
  EXPECT_SENT(h);
  h.run_until(h.now + 60 * kSec);  // no answers: 3 probes, then give up
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::timeout);
  EXPECT_EQ(h.ctr.tcp_keepalive_probes, 4u);
}

TEST(RttEstimator, FollowsRfc6298) {
  const RtoBounds b{200'000'000, 60'000'000'000};
  RttEstimator r(1'000'000'000);
  EXPECT_EQ(r.rto(b.max_ns), 1'000'000'000u);  // 2.1
  r.sample(100'000'000, b);                    // 2.2: SRTT = R, RTTVAR = R/2
  EXPECT_EQ(r.srtt(), 100'000'000u);
  EXPECT_EQ(r.rttvar(), 50'000'000u);
  EXPECT_EQ(r.rto(b.max_ns), 300'000'000u);
  r.sample(200'000'000, b);  // 2.3
  EXPECT_EQ(r.rttvar(), 50'000'000u * 3 / 4 + 100'000'000u / 4);
  EXPECT_EQ(r.srtt(), 100'000'000u * 7 / 8 + 200'000'000u / 8);
  r.sample(1'000'000, b);
  r.sample(1'000'000, b);
  r.sample(1'000'000, b);
  EXPECT_GE(r.rto(b.max_ns), 200'000'000u);  // the minimum
  for (int i = 0; i < 40; ++i) r.backoff();
  EXPECT_EQ(r.rto(b.max_ns), 60'000'000'000u);  // the maximum, without overflow
}

// The minimum is kept in 32 bits of nanoseconds: "none" until a sample, a
// sample of 4.29 s or more reads as the largest value below "none".
TEST(RttEstimator, MinimumSaturatesInsteadOfWrapping) {
  const RtoBounds b{200'000'000, 60'000'000'000};
  RttEstimator r(1'000'000'000);
  EXPECT_EQ(r.min_rtt(), UINT64_MAX);
  r.sample(5'000'000'000, b);  // 5 s: would wrap to 0.7 s in 32 bits
  EXPECT_EQ(r.min_rtt(), uint64_t(UINT32_MAX) - 1);
  EXPECT_EQ(r.srtt(), 5'000'000'000u);  // SRTT keeps its 64 bits
  r.sample(30'000'000, b);
  EXPECT_EQ(r.min_rtt(), 30'000'000u);
  r.sample(90'000'000, b);
  EXPECT_EQ(r.min_rtt(), 30'000'000u);
}

static TcpConfig keepalive_after(uint64_t idle_ns) {
  TcpConfig cfg;
  cfg.keepalive = true;
  cfg.keepalive_idle_ns = idle_ns;
  return cfg;
}

// Keepalive and the 2 MSL wait share one timer slot: keepalive while the
// connection may still send, the 2 MSL wait once close() left FIN-WAIT-2
// nobody to read for, and in TIME-WAIT.
TEST(TcpKeepalive, GivesWayToTheTwoMslWaitAfterClose) {
  Harness h(keepalive_after(10 * kSec));
  h.establish_active();
  EXPECT_EQ(h.conn->keepalive_deadline(), h.now + 10 * kSec);
  EXPECT_EQ(h.conn->time_wait_deadline(), 0u);
  h.conn->close(h.now);
  h.sent();
  h.in(h.ack_all());
  ASSERT_EQ(h.conn->state(), State::fin_wait_2);
  EXPECT_EQ(h.conn->time_wait_deadline(), h.now + 60 * kSec);  // 2 MSL, MSL 30 s
  EXPECT_EQ(h.conn->keepalive_deadline(), 0u);
  // Data after close() is counted and acknowledged, but does not push the
  // wait back as it would push back a keepalive.
  const uint64_t deadline = h.conn->time_wait_deadline();
  h.now += kSec;
  h.in(h.data(5001, bytes(10)));
  EXPECT_EQ(h.conn->time_wait_deadline(), deadline);
  h.run_until(deadline - 1);
  EXPECT_EQ(h.conn->state(), State::fin_wait_2);
  h.run_until(deadline);
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::normal);
  EXPECT_EQ(h.ctr.tcp_keepalive_probes, 0u);
}

// A half-closed connection (shutdown(), still reading) keeps no 2 MSL wait:
// the keepalive deadline armed before falls due without closing it, and
// close() then starts the wait.
TEST(TcpKeepalive, AHalfClosedConnectionWaitsForTheCloseNotTheSlot) {
  Harness h(keepalive_after(10 * kSec));
  h.establish_active();
  h.conn->shutdown(h.now);
  h.sent();
  h.in(h.ack_all());
  ASSERT_EQ(h.conn->state(), State::fin_wait_2);
  EXPECT_EQ(h.conn->time_wait_deadline(), 0u);
  h.run_until(h.now + 120 * kSec);
  EXPECT_EQ(h.conn->state(), State::fin_wait_2);  // still reading
  h.in(h.data(5001, bytes(10, 3)));
  EXPECT_EQ(h.app.data, bytes(10, 3));
  h.conn->close(h.now);
  EXPECT_EQ(h.conn->time_wait_deadline(), h.now + 60 * kSec);
  h.run_until(h.now + 60 * kSec);
  EXPECT_EQ(h.conn->state(), State::closed);
}

// The handshake's time is kept in 32 bits of milliseconds: the age reads
// right across the counter's wrap.
TEST(TcpTimes, EstablishedAgeIsInMillisecondsAcrossTheWrap) {
  Harness h;
  h.now = (uint64_t(UINT32_MAX) - 500) * 1'000'000;  // 0.5 s before the wrap
  EXPECT_EQ(h.conn->established_for_ms(h.now), 0u);   // not yet established
  h.establish_active();
  const uint64_t t0 = h.now;
  EXPECT_EQ(h.conn->established_for_ms(t0 + 1'500'000'000), 1500u);
  EXPECT_EQ(h.conn->established_for_ms(t0 + 999'999), 0u);
}
