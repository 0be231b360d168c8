// The TCP state machine, state by state (RFC 9293 3.3.2): opening and closing.
// Each test builds a connection in a state, feeds hand-written segments at
// given times, and checks the exact segments sent back and the timers armed.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;

// ------------------------------------------------------------------ SYN-SENT

TEST(TcpSynSent, ConnectSendsASynOfferingEveryOption) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  const SegmentOut& syn = s[0].seg;
  EXPECT_EQ(syn.flags, flag::syn);
  EXPECT_EQ(syn.seq, 1000u);
  EXPECT_EQ(syn.window, 65535);  // never scaled in a SYN
  EXPECT_TRUE(syn.options.has_mss);
  EXPECT_EQ(syn.options.mss, 1460);
  EXPECT_TRUE(syn.options.has_wscale);
  EXPECT_EQ(syn.options.wscale, 3);  // 256 KiB >> 3 fits 16 bits
  EXPECT_TRUE(syn.options.sack_permitted);
  EXPECT_TRUE(syn.options.has_timestamps);
  EXPECT_EQ(syn.options.tsval, 1000u);  // 1 ms ticks, offset 0
  EXPECT_EQ(syn.options.tsecr, 0u);
  EXPECT_EQ(h.conn->state(), State::syn_sent);
  EXPECT_EQ(h.conn->rto_deadline(), h.now + kSec);  // RFC 6298 2.1: initial RTO 1 s
}

TEST(TcpSynSent, SynAckEstablishesTheConnectionAndIsAcknowledged) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  h.take();
  h.now += 30 * kMs;
  auto o = Harness::syn_opts(1400, 7, true, true, 777);
  o.tsecr = 1000;
  h.in(h.seg(5000, 1001, flag::syn | flag::ack, 29200, {}, o));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::ack);
  EXPECT_EQ(s[0].seg.seq, 1001u);
  EXPECT_EQ(s[0].seg.ack, 5001u);
  EXPECT_EQ(s[0].seg.window, 262144 >> 3);
  EXPECT_EQ(s[0].seg.options.tsval, 1030u);
  EXPECT_EQ(s[0].seg.options.tsecr, 777u);
  EXPECT_EQ(s[0].seg.options.sack_count, 0);
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_EQ(h.app.connected, 1);
  EXPECT_EQ(h.conn->snd_wnd(), 29200u);  // the SYN-ACK's window is not scaled
  EXPECT_EQ(h.conn->snd_wscale(), 7);
  EXPECT_EQ(h.conn->smss(), 1400u - 12);  // the peer's MSS less the timestamps
  EXPECT_EQ(h.conn->cwnd(), 10u * 1388);  // RFC 6928
  EXPECT_EQ(h.conn->rtt().srtt(), 30 * kMs);
  EXPECT_EQ(h.conn->rto_deadline(), 0u);
  EXPECT_EQ(h.ctr.tcp_conn_established, 1u);
}

TEST(TcpSynSent, ResetThatAcknowledgesTheSynRefusesTheConnection) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  h.take();
  h.in(h.seg(0, 999, flag::rst | flag::ack));  // does not acknowledge our SYN: ignored
  EXPECT_EQ(h.conn->state(), State::syn_sent);
  h.in(h.seg(0, 1000, flag::rst));  // no ACK: ignored (RFC 5961 3.2)
  EXPECT_EQ(h.conn->state(), State::syn_sent);
  h.take();
  h.in(h.seg(0, 1001, flag::rst | flag::ack));
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.closed, 1);
  EXPECT_EQ(h.app.reason, CloseReason::refused);
  EXPECT_TRUE(h.take().empty());
}

TEST(TcpSynSent, AnAckForSomethingElseGetsAReset) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  h.take();
  h.in(h.seg(7000, 4242, flag::ack));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::rst);
  EXPECT_EQ(s[0].seg.seq, 4242u);  // <SEQ=SEG.ACK><CTL=RST>
  EXPECT_EQ(h.conn->state(), State::syn_sent);
}

TEST(TcpSynSent, SimultaneousOpenAnswersWithSynAckThenEstablishes) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  h.take();
  h.in(h.seg(5000, 0, flag::syn, 65535, {}, Harness::syn_opts()));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::syn | flag::ack);
  EXPECT_EQ(s[0].seg.seq, 1000u);  // the same ISS
  EXPECT_EQ(s[0].seg.ack, 5001u);
  EXPECT_EQ(h.conn->state(), State::syn_received);
  auto o = h.ts_opts(s[0].seg.options.tsval);
  h.in(h.seg(5001, 1001, flag::ack, 65535, {}, o));
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_EQ(h.app.connected, 1);
}

TEST(TcpSynSent, SynIsRetransmittedWithBackoffThenAbandoned) {
  TcpConfig cfg;
  cfg.syn_retries = 3;
  Harness h(cfg);
  const uint64_t t0 = h.now;
  h.conn->connect(1000, 0, t0);
  h.take();
  for (uint64_t at : {1u, 3u, 7u}) {  // 1 s, then 2 s, then 4 s later
    h.run_until(t0 + at * kSec - 1);
    EXPECT_TRUE(h.take().empty());
    h.run_until(t0 + at * kSec);
    auto s = h.take();
    ASSERT_EQ(s.size(), 1u) << at;
    EXPECT_EQ(s[0].seg.flags, flag::syn);
    EXPECT_EQ(s[0].seg.seq, 1000u);
  }
  h.run_until(t0 + 15 * kSec);
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::timeout);
  EXPECT_EQ(h.ctr.tcp_conn_timeout, 1u);
}

TEST(TcpSynSent, AfterALostSynTheInitialWindowIsOneSegmentAndTheRtoThreeSeconds) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  h.run_until(h.now + kSec);  // SYN retransmitted
  h.take();
  h.in(h.seg(5000, 1001, flag::syn | flag::ack, 65535, {}, Harness::syn_opts()));
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_EQ(h.conn->cwnd(), h.conn->smss());  // RFC 5681 3.1
  h.take();
  h.conn->send(bytes(100), h.now);
  EXPECT_EQ(h.conn->rto_deadline(), h.now + 3 * kSec);  // RFC 6298 5.7
}

// ------------------------------------------------------------------ SYN-RECEIVED

TEST(TcpSynReceived, SynAckOffersOnlyWhatTheSynOffered) {
  Harness h;
  auto syn = h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts(1460, -1, false, true, 777));
  h.conn->accept(syn, 9000, 0, h.now);
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  const SegmentOut& sa = s[0].seg;
  EXPECT_EQ(sa.flags, flag::syn | flag::ack);
  EXPECT_EQ(sa.seq, 9000u);
  EXPECT_EQ(sa.ack, 5001u);
  EXPECT_EQ(sa.window, 65535);
  EXPECT_TRUE(sa.options.has_mss);
  EXPECT_FALSE(sa.options.has_wscale);  // RFC 7323: only in reply to a SYN that had it
  EXPECT_FALSE(sa.options.sack_permitted);
  EXPECT_TRUE(sa.options.has_timestamps);
  EXPECT_EQ(sa.options.tsecr, 777u);
  EXPECT_EQ(h.conn->state(), State::syn_received);
  EXPECT_EQ(h.conn->rto_deadline(), h.now + kSec);
}

TEST(TcpSynReceived, TheHandshakeAckEstablishesAndItsDataIsDelivered) {
  Harness h;
  h.conn->accept(h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts(1460, -1, false, true, 777)),
                 9000, 0, h.now);
  auto sa = h.take();
  h.now += 5 * kMs;
  h.in(h.seg(5001, 9001, flag::ack, 64240, bytes(100), h.ts_opts(sa[0].seg.options.tsval)));
  EXPECT_EQ(h.conn->state(), State::established);
  EXPECT_EQ(h.app.connected, 1);
  EXPECT_EQ(h.app.data, bytes(100));
  EXPECT_EQ(h.conn->snd_wnd(), 64240u);  // no window scaling was agreed
  EXPECT_EQ(h.conn->rtt().srtt(), 5 * kMs);
  EXPECT_EQ(h.conn->rto_deadline(), 0u);
}

TEST(TcpSynReceived, ARetransmittedSynGetsTheSynAckAgain) {
  Harness h;
  auto syn = h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts());
  h.conn->accept(syn, 9000, 0, h.now);
  h.take();
  h.in(h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts()));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::syn | flag::ack);
  EXPECT_EQ(s[0].seg.seq, 9000u);
}

TEST(TcpSynReceived, AnAckThatDoesNotAcknowledgeTheSynGetsAReset) {
  Harness h;
  h.conn->accept(h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts(1460, 7, true, false)),
                 9000, 0, h.now);
  h.take();
  h.in(h.seg(5001, 12345, flag::ack));
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::rst);
  EXPECT_EQ(s[0].seg.seq, 12345u);
  EXPECT_EQ(h.conn->state(), State::syn_received);
}

TEST(TcpSynReceived, AResetAtRcvNxtDropsTheHalfOpenConnection) {
  Harness h;
  h.conn->accept(h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts(1460, 7, true, false)),
                 9000, 0, h.now);
  h.take();
  h.in(h.seg(5001, 0, flag::rst));
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::reset);
}

// ------------------------------------------------------------------ closing

TEST(TcpClose, ShutdownSendsFinAfterTheQueuedDataAndWalksToTimeWait) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(100), h.now);
  h.conn->shutdown(h.now);
  auto s = h.take();
  h.note(s);
  ASSERT_EQ(s.size(), 2u);  // the data went out at send(); the FIN follows it
  EXPECT_EQ(s[0].seg.flags, flag::ack | flag::psh);
  EXPECT_EQ(s[0].seg.seq, 1001u);
  EXPECT_EQ(s[0].len(), 100u);
  EXPECT_EQ(s[1].seg.flags, flag::ack | flag::fin);
  EXPECT_EQ(s[1].seg.seq, 1101u);
  EXPECT_EQ(h.conn->state(), State::fin_wait_1);
  h.in(h.ack_all());  // acknowledges data and FIN
  EXPECT_EQ(h.conn->state(), State::fin_wait_2);
  EXPECT_EQ(h.conn->rto_deadline(), 0u);
  // Half-close: data still arrives in FIN-WAIT-2.
  h.in(h.data(5001, bytes(10, 3)));
  EXPECT_EQ(h.app.data, bytes(10, 3));
  h.in(h.data(5011, {}, flag::fin));
  s = h.take();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().seg.flags, flag::ack);
  EXPECT_EQ(s.back().seg.ack, 5012u);
  EXPECT_EQ(h.conn->state(), State::time_wait);
  EXPECT_EQ(h.app.peer_closed, 1);
  EXPECT_EQ(h.conn->time_wait_deadline(), h.now + 60 * kSec);  // 2 MSL with MSL 30 s
}

TEST(TcpClose, TimeWaitAcksARetransmittedFinRestartsAndThenCloses) {
  Harness h;
  h.establish_active();
  h.conn->shutdown(h.now);
  h.note(h.take());
  h.in(h.ack_all());
  h.in(h.data(5001, {}, flag::fin));
  h.take();
  ASSERT_EQ(h.conn->state(), State::time_wait);
  h.now += 10 * kSec;
  h.in(h.data(5001, {}, flag::fin));  // our ACK was lost
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.ack, 5002u);
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
  auto s = h.take();
  h.note(s);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(flag::fin));
  // The peer's FIN crosses ours: it does not acknowledge our FIN.
  h.in(h.seg(5001, 1001, flag::ack | flag::fin, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.conn->state(), State::closing);
  s = h.take();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().seg.ack, 5002u);
  h.in(h.seg(5002, 1002, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.conn->state(), State::time_wait);
}

TEST(TcpClose, PassiveCloseThroughCloseWaitAndLastAck) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, bytes(20), flag::fin));
  EXPECT_EQ(h.conn->state(), State::close_wait);
  EXPECT_EQ(h.app.peer_closed, 1);
  EXPECT_EQ(h.app.data, bytes(20));
  auto s = h.take();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back().seg.ack, 5022u);  // 20 bytes and the FIN
  // We may still send after the peer's FIN.
  EXPECT_EQ(h.conn->send(bytes(30), h.now), 30u);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].len(), 30u);
  h.conn->shutdown(h.now);
  s = h.take();
  h.note(s);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::ack | flag::fin);
  EXPECT_EQ(s[0].seg.seq, 1031u);
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
  auto s = h.take();
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(s.back().has(flag::fin));
  const uint32_t fin_seq = s.back().seg.seq;
  h.run_until(h.now + 200 * kMs);  // the RTO after a 10 ms sample is the 200 ms minimum
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].has(flag::fin));
  EXPECT_EQ(s[0].seg.seq, fin_seq);
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
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::rst);
  EXPECT_EQ(s[0].seg.seq, 1001u);
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::aborted);
}

TEST(TcpClose, CloseDiscardsLaterDataAndTimesOutFinWait2) {
  Harness h;
  h.establish_active();
  h.conn->close(h.now);
  h.note(h.take());
  h.in(h.ack_all());
  EXPECT_EQ(h.conn->state(), State::fin_wait_2);
  h.in(h.data(5001, bytes(50)));
  EXPECT_TRUE(h.app.data.empty());
  EXPECT_EQ(h.ctr.tcp_data_after_close, 50u);
  EXPECT_EQ(h.conn->rcv_nxt(), 5051u);  // acknowledged all the same
  h.run_until(h.now + 61 * kSec);
  EXPECT_EQ(h.conn->state(), State::closed);
}
