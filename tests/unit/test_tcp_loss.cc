// Loss and its repair on a connection: go-back-N after a timeout with the
// timestamp sample Karn's rule leaves, fast retransmit and recovery in each
// recovery style (NewReno, SACK, Reno, Tahoe), data the receiver reneged on,
// and RTT samples that cannot be true. The recovery unit's own rules are
// tested in test_recovery.cc; these check the connection acts on them.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;
namespace wire = ts::wire;

namespace {

// A connection without SACK, `style` recovery and NewReno's windows, with 20
// segments queued and the initial window's 10 sent.
struct NoSack {
  explicit NoSack(RecoveryStyle style) : h(config(style)) {
    h.establish_active(1000, 5000, Harness::syn_opts(1460, 7, false, true));
    h.in(h.ack_all());  // the first scaled window: later ACKs leave it unchanged
    h.conn->send(data, h.now);
    h.sent();
    h.now += 10 * kMs;
  }
  static TcpConfig config(RecoveryStyle style) {
    TcpConfig c;
    c.cc = CcAlgo::newreno;
    c.recovery = style;
    return c;
  }
  void dup() { h.in(h.seg(5001, kData, flag::ack, 65535, {}, h.ts_opts(h.last_tsval()))); }
  void ack(uint32_t to) { h.in(h.seg(5001, to, flag::ack, 65535, {}, h.ts_opts(h.last_tsval()))); }
  Sent segment(uint32_t i) { return h.ours(flag::ack, kData + i * 1448, 5001, slice(data, i * 1448, 1448)); }

  Harness h;
  std::vector<uint8_t> data = bytes(20 * 1448);
};

}  // namespace

TEST(TcpLoss, AfterATimeoutGoBackNResendsAndTheTimestampGivesTheRtt) {
  Harness h;
  h.establish_active();
  const auto data = bytes(2896);
  h.conn->send(data, h.now);
  ASSERT_EQ(h.sent().size(), 2u);
  EXPECT_FALSE(h.conn->holds_recovery_state());
  h.run_until(h.now + 200 * kMs);
  EXPECT_TRUE(h.conn->holds_recovery_state());  // taken by the timeout
  const Sent retx = h.ours(flag::ack, kData, 5001, slice(data, 0, 1448));
  EXPECT_SENT(h, retx);
  h.now += 30 * kMs;
  // The peer acknowledges the first segment, echoing the retransmission's timestamp.
  h.in(h.seg(5001, kData + 1448, flag::ack, 65535, {}, h.ts_opts(retx.seg.options.tsval)));
  // A 30.5 ms sample (ms timestamps, rounded to the middle) into an SRTT of 10 ms.
  EXPECT_NEAR(double(h.conn->rtt().srtt()), 10e6 * 7 / 8 + 30.5e6 / 8, 1e5);
  // The rest goes again (go-back-N, RFC 6298 5.4).
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData + 1448, 5001, slice(data, 1448, 1448)));
}

TEST(TcpLoss, ThreeDuplicateAcksTriggerNewRenoFastRetransmitWithoutSack) {
  NoSack n(RecoveryStyle::sack);  // SACK is not negotiated: NewReno
  Harness& h = n.h;
  ASSERT_FALSE(h.conn->sack_enabled());
  // ACKs of new data (the handshake's, the window's) are no sign of loss:
  // the recovery state is not taken until the first duplicate.
  EXPECT_FALSE(h.conn->holds_recovery_state());
  n.dup();
  EXPECT_TRUE(h.conn->holds_recovery_state());
  n.dup();
  EXPECT_SENT(h);
  n.dup();  // the third
  EXPECT_SENT(h, n.segment(0));  // RFC 6582 3.2 step 2
  EXPECT_TRUE(h.conn->in_recovery());
  EXPECT_EQ(h.conn->ssthresh(), 5u * 1448);         // FlightSize / 2
  EXPECT_EQ(h.conn->cwnd(), 5u * 1448 + 3 * 1448);  // ssthresh + 3 SMSS
  n.dup();  // inflation: one more segment may go
  EXPECT_EQ(h.conn->cwnd(), 9u * 1448);
  // A partial ACK retransmits the next hole at once (RFC 6582 3.2 step 3).
  h.take();
  n.ack(kData + 2 * 1448);
  EXPECT_SENT(h, n.segment(2));
  EXPECT_TRUE(h.conn->in_recovery());
  // The full ACK ends recovery with cwnd = ssthresh.
  n.ack(kData + 10 * 1448);
  EXPECT_FALSE(h.conn->in_recovery());
  EXPECT_EQ(h.conn->cwnd(), h.conn->ssthresh());
  EXPECT_EQ(h.ctr.tcp_fast_recoveries, 1u);
}

TEST(TcpLoss, RenoLeavesRecoveryAtAPartialAckWithoutRetransmitting) {
  NoSack n(RecoveryStyle::reno);
  Harness& h = n.h;
  for (int i = 0; i < 3; ++i) n.dup();
  EXPECT_SENT(h, n.segment(0));
  ASSERT_TRUE(h.conn->in_recovery());
  n.ack(kData + 2 * 1448);
  // Out of recovery with cwnd = ssthresh = 5 segments, 8 outstanding: the
  // next hole waits for duplicates (or the timer), unlike NewReno.
  EXPECT_SENT(h);
  EXPECT_FALSE(h.conn->in_recovery());
  EXPECT_EQ(h.conn->cwnd(), 5u * 1448);
}

TEST(TcpLoss, TahoeRetransmitsThenSlowStartsFromOneSegment) {
  NoSack n(RecoveryStyle::tahoe);
  Harness& h = n.h;
  for (int i = 0; i < 3; ++i) n.dup();
  EXPECT_SENT(h, n.segment(0));
  EXPECT_FALSE(h.conn->in_recovery());
  EXPECT_EQ(h.conn->cwnd(), 1448u);
  n.dup();
  n.dup();
  EXPECT_SENT(h);  // no inflation, no second retransmission
  // Everything outstanding acknowledged: slow start from one segment grows
  // by two (RFC 3465's limit), and three new segments go.
  n.ack(kData + 10 * 1448);
  EXPECT_EQ(h.conn->cwnd(), 3u * 1448);
  EXPECT_SENT(h, n.segment(10), n.segment(11), n.segment(12));
}

TEST(TcpLoss, SackRecoveryRetransmitsOnlyTheHole) {
  Harness h;
  h.establish_active();
  const auto data = bytes(10 * 1448);
  h.conn->send(data, h.now);
  h.sent();
  h.now += 10 * kMs;
  // Segment 0 lost; the peer SACKs 1..k as they arrive.
  for (uint32_t k = 1; k <= 3; ++k) {
    wire::TcpOptions o = h.ts_opts(h.last_tsval());
    o.sack_count = 1;
    o.sack[0] = {kData + 1448, kData + (k + 1) * 1448};
    h.in(h.seg(5001, kData, flag::ack, 65535, {}, o));
  }
  // Only the hole goes again: nothing else is lost and no new data is queued.
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001, slice(data, 0, 1448)));
  EXPECT_TRUE(h.conn->in_recovery());
  EXPECT_EQ(h.ctr.tcp_retransmits, 1u);
  // Everything acknowledged: recovery ends.
  h.in(h.seg(5001, h.conn->snd_nxt(), flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_FALSE(h.conn->in_recovery());
}

TEST(TcpLoss, DataTheReceiverRenegedOnIsSentAgain) {
  Harness h;
  h.establish_active();
  const auto data = bytes(5 * 1448);
  h.conn->send(data, h.now);
  h.sent();
  // The peer SACKs segments 2-4, then acknowledges 0-1 only: it dropped 2-4.
  wire::TcpOptions o = h.ts_opts(h.last_tsval());
  o.sack_count = 1;
  o.sack[0] = {kData + 2 * 1448, kData + 5 * 1448};
  h.in(h.seg(5001, kData, flag::ack, 65535, {}, o));
  h.in(h.seg(5001, kData + 2 * 1448, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.ctr.tcp_sack_reneging, 1u);
  h.take();
  h.run_until(h.conn->rto_deadline());
  // The reneged data goes again (RFC 2018 8).
  EXPECT_SENT(h, h.ours(flag::ack, kData + 2 * 1448, 5001, slice(data, 2 * 1448, 1448)));
}

TEST(TcpLoss, BareAcksDuringGoBackNCarryTheNextNewSequenceNumber) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(3 * 1448), h.now);
  h.take();
  h.run_until(h.conn->rto_deadline());
  h.sent();
  // Data from the peer that acknowledges nothing new: our ACK for it is bare.
  h.in(h.seg(5001, kData, flag::ack, 65535, bytes(100), h.ts_opts(h.last_tsval())));
  h.run_until(h.now + 50 * kMs);
  int bare = 0;
  for (const auto& s : h.take()) {
    if (s.len() == 0) {
      ++bare;
      EXPECT_EQ(s.seg.seq, kData + 3 * 1448);  // SND.MAX, not the wound-back SND.NXT
    }
  }
  EXPECT_GE(bare, 1);
}

TEST(TcpLoss, TimestampEchoesFromTheFutureAreNotRttSamples) {
  Harness h;
  h.establish_active();
  const uint64_t srtt = h.conn->rtt().srtt();
  h.conn->send(bytes(1448), h.now);
  h.take();
  h.run_until(h.conn->rto_deadline());  // retransmitted: the next sample comes from a timestamp
  h.take();
  wire::TcpOptions o = h.ts_opts(0);
  o.tsecr = 0x7fffffff;  // nothing we sent
  h.in(h.seg(5001, kData + 1448, flag::ack, 65535, {}, o));
  EXPECT_EQ(h.conn->rtt().srtt(), srtt);
}
