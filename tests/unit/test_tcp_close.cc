// Closing a connection, state by state (RFC 9293 3.3.2, 3.10.4-3.10.7): FIN
// after the queued data, half-close, TIME-WAIT, simultaneous and passive
// close, a lost FIN, a FIN beyond a hole, abort, close()'s discarding, and
// the orphans a peer's zero window would otherwise keep.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;

TEST(TcpClose, ShutdownSendsFinAfterTheQueuedDataAndWalksToTimeWait) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(100), h.now);
  h.conn->shutdown(h.now);
  // The data went out at send(); the FIN follows it.
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData, 5001, bytes(100)),
              h.ours(flag::ack | flag::fin, kData + 100, 5001));
  EXPECT_EQ(h.conn->state(), State::fin_wait_1);
  h.in(h.ack_all());  // acknowledges data and FIN
  EXPECT_EQ(h.conn->state(), State::fin_wait_2);
  EXPECT_EQ(h.conn->rto_deadline(), 0u);
  // Half-close: data still arrives in FIN-WAIT-2.
  h.in(h.data(5001, bytes(10, 3)));
  EXPECT_EQ(h.app.data, bytes(10, 3));
  const uint32_t data_ts = h.peer_tsval;
  h.in(h.data(5011, {}, flag::fin));
  // The FIN lies beyond the last ACK we sent, so the timestamp echoed stays
  // that of the data (RFC 7323 4.3).
  // The edge we advertise has not moved for these 11 bytes (RFC 9293 3.8.6.2.2).
  EXPECT_SENT(h, h.ours(flag::ack, kData + 101, 5012, {}, 11).tsecr(data_ts));
  EXPECT_EQ(h.conn->state(), State::time_wait);
  EXPECT_EQ(h.app.peer_closed, 1);
  EXPECT_EQ(h.conn->time_wait_deadline(), h.now + 60 * kSec);  // 2 MSL with MSL 30 s
}

TEST(TcpClose, TimeWaitAcksARetransmittedFinRestartsAndThenCloses) {
  Harness h;
  h.establish_active();
  h.conn->shutdown(h.now);
  h.sent();
  h.in(h.ack_all());
  h.in(h.data(5001, {}, flag::fin));
  h.take();
  ASSERT_EQ(h.conn->state(), State::time_wait);
  const uint32_t fin_ts = h.peer_tsval;
  h.now += 10 * kSec;
  // Our ACK was lost. The retransmitted FIN is not an acceptable segment, so
  // the echo stays the first FIN's (RFC 7323 4.3).
  h.in(h.data(5001, {}, flag::fin));
  EXPECT_SENT(h, h.ours(flag::ack, kData + 1, 5002, {}, 1).tsecr(fin_ts));
  EXPECT_EQ(h.conn->time_wait_deadline(), h.now + 60 * kSec);
  // RFC 1337: a reset does not end TIME-WAIT early.
  h.in(h.seg(5002, 0, flag::rst));
  EXPECT_EQ(h.conn->state(), State::time_wait);
  h.run_until(h.now + 60 * kSec);
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::normal);
  EXPECT_EQ(h.ctr.tcp_conn_closed, 1u);
}

TEST(TcpClose, SimultaneousCloseGoesThroughClosing) {
  Harness h;
  h.establish_active();
  h.conn->shutdown(h.now);
  EXPECT_SENT(h, h.ours(flag::ack | flag::fin, kData, 5001));
  // The peer's FIN crosses ours: it does not acknowledge our FIN.
  h.in(h.seg(5001, kData, flag::ack | flag::fin, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.conn->state(), State::closing);
  EXPECT_SENT(h, h.ours(flag::ack, kData + 1, 5002, {}, 1));
  h.in(h.seg(5002, kData + 1, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.conn->state(), State::time_wait);
}

TEST(TcpClose, PassiveCloseThroughCloseWaitAndLastAck) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, bytes(20), flag::fin));
  EXPECT_EQ(h.conn->state(), State::close_wait);
  EXPECT_EQ(h.app.peer_closed, 1);
  EXPECT_EQ(h.app.data, bytes(20));
  // 20 bytes and the FIN, which the advertised edge has not moved for.
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5022, {}, 21));
  // We may still send after the peer's FIN.
  EXPECT_EQ(h.conn->send(bytes(30), h.now), 30u);
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData, 5022, bytes(30), 21));
  h.conn->shutdown(h.now);
  EXPECT_SENT(h, h.ours(flag::ack | flag::fin, kData + 30, 5022, {}, 21));
  EXPECT_EQ(h.conn->state(), State::last_ack);
  h.peer_nxt = 5022;
  h.in(h.ack_all());
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::normal);
}

TEST(TcpClose, LostFinIsRetransmittedInLastAck) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, {}, flag::fin));
  h.conn->shutdown(h.now);
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5002, {}, 1),
              h.ours(flag::ack | flag::fin, kData, 5002, {}, 1));
  // The RTO after a 10 ms sample is the 200 ms minimum.
  h.run_until(h.now + 200 * kMs);
  EXPECT_SENT(h, h.ours(flag::ack | flag::fin, kData, 5002, {}, 1));
  EXPECT_EQ(h.ctr.tcp_retransmits, 1u);
}

TEST(TcpClose, FinBeyondAHoleWaitsForTheMissingData) {
  Harness h;
  h.establish_active();
  h.in(h.data(5011, bytes(10, 2), flag::fin));  // bytes 5001-5010 missing
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_EQ(h.app.peer_closed, 0);
  h.in(h.data(5001, bytes(10, 1)));
  EXPECT_EQ(h.conn->state(), State::close_wait);
  EXPECT_EQ(h.app.peer_closed, 1);
  EXPECT_EQ(h.conn->rcv_nxt(), 5022u);
  auto expect = bytes(10, 1);
  auto tail = bytes(10, 2);
  expect.insert(expect.end(), tail.begin(), tail.end());
  EXPECT_EQ(h.app.data, expect);
}

TEST(TcpClose, AbortSendsResetAndCloses) {
  Harness h;
  h.establish_active();
  h.conn->abort();
  EXPECT_SENT(h, Harness::rst(kData));
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::aborted);
}

TEST(TcpClose, AResetAfterATimeoutCarriesTheNextNewSequenceNumber) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(3 * 1448), h.now);
  h.take();
  h.run_until(h.conn->rto_deadline());  // SND.NXT is wound back to SND.UNA
  h.take();
  h.conn->abort();
  EXPECT_SENT(h, Harness::rst(kData + 3 * 1448));  // RFC 9293 3.10.5's SND.NXT
}

TEST(TcpClose, CloseDiscardsLaterDataAndTimesOutFinWait2) {
  Harness h;
  h.establish_active();
  h.conn->close(h.now);
  h.sent();
  h.in(h.ack_all());
  EXPECT_EQ(h.conn->state(), State::fin_wait_2);
  h.in(h.data(5001, bytes(50)));
  EXPECT_TRUE(h.app.data.empty());
  EXPECT_EQ(h.ctr.tcp_data_after_close, 50u);
  EXPECT_EQ(h.conn->rcv_nxt(), 5051u);  // acknowledged all the same
  h.run_until(h.now + 61 * kSec);
  EXPECT_EQ(h.conn->state(), State::closed);
}

TEST(TcpClose, AnOrphanHeldInZeroWindowIsResetAfterTheRetryLimit) {
  TcpConfig cfg;
  cfg.data_retries = 4;
  Harness h(cfg);
  h.establish_active();
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));
  h.conn->send(bytes(1000), h.now);
  h.conn->close(h.now);
  for (int i = 0; i < 50 && h.conn->state() != State::closed; ++i) {
    h.run_until(h.conn->next_deadline());
    h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));  // answered, window still shut
  }
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::timeout);
  auto s = h.take();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back(), Harness::rst(kData));  // nothing was ever acknowledged
}
