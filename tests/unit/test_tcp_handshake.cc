// Opening a connection, state by state (RFC 9293 3.3.2, 3.10.7.2-3): the
// SYN and SYN-ACK offered, the handshake's retransmission and failure cases,
// simultaneous open, and initial sequence numbers (RFC 6528). Each test feeds
// hand-written segments at given times and compares the segments sent back
// whole.
#include <gtest/gtest.h>

#include "tcp/isn.hh"
#include "tcp_harness.hh"

using namespace ts::test;
namespace wire = ts::wire;

// ------------------------------------------------------------------ SYN-SENT

TEST(TcpSynSent, ConnectSendsASynOfferingEveryOption) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  // The window is never scaled in a SYN; 256 KiB >> 3 fits 16 bits, so we
  // offer shift 3; the timestamp clock ticks in ms with offset 0.
  EXPECT_SENT(h, h.ours(flag::syn, 1000, 0)
                     .window(65535)
                     .options(Harness::syn_opts(1460, 3, true, true, 1000)));
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
  // ACK of the SYN: our scaled window (256 KiB >> 3), timestamps 1030/777.
  EXPECT_SENT(h, h.ours(flag::ack, 1001, 5001).window(262144 >> 3));
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
  EXPECT_SENT(h);
}

TEST(TcpSynSent, AnAckForSomethingElseGetsAReset) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  h.take();
  h.in(h.seg(7000, 4242, flag::ack));
  EXPECT_SENT(h, Harness::rst(4242));  // <SEQ=SEG.ACK><CTL=RST>
  EXPECT_EQ(h.conn->state(), State::syn_sent);
}

TEST(TcpSynSent, SimultaneousOpenAnswersWithSynAckThenEstablishes) {
  Harness h;
  h.conn->connect(1000, 0, h.now);
  h.take();
  h.in(h.seg(5000, 0, flag::syn, 65535, {}, Harness::syn_opts()));
  // The same ISS, now acknowledging the peer's SYN, offering what it offered.
  auto synack = Harness::syn_opts(1460, 3, true, true, 1000);
  synack.tsecr = 5000;
  EXPECT_SENT(h, h.ours(flag::syn | flag::ack, 1000, 5001).window(65535).options(synack));
  EXPECT_EQ(h.conn->state(), State::syn_received);
  h.in(h.seg(5001, 1001, flag::ack, 65535, {}, h.ts_opts(1000)));
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
    EXPECT_SENT(h);
    h.run_until(t0 + at * kSec);
    EXPECT_SENT(h, h.ours(flag::syn, 1000, 0)
                       .window(65535)
                       .options(Harness::syn_opts(1460, 3, true, true, uint32_t(h.now / kMs))))
        << at;
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
  // No window scale and no SACK-permitted: RFC 7323 and RFC 2018 answer
  // only a SYN that had them.
  auto offered = Harness::syn_opts(1460, -1, false, true, 1000);
  offered.tsecr = 777;
  EXPECT_SENT(h, h.ours(flag::syn | flag::ack, 9000, 5001).window(65535).options(offered));
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
  const auto first = h.take();
  ASSERT_EQ(first.size(), 1u);
  h.in(h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts()));
  EXPECT_SENT(h, first[0]);
}

TEST(TcpSynReceived, AnAckThatDoesNotAcknowledgeTheSynGetsAReset) {
  Harness h;
  h.conn->accept(h.seg(5000, 0, flag::syn, 64240, {}, Harness::syn_opts(1460, 7, true, false)),
                 9000, 0, h.now);
  h.take();
  h.in(h.seg(5001, 12345, flag::ack));
  EXPECT_SENT(h, Harness::rst(12345));
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

// ------------------------------------------------------------------ both ends

TEST(TcpHandshake, SimultaneousOpenBetweenTwoStacksCompletes) {
  Pair p;
  p.a->connect(1000, 0, p.now);
  p.b->connect(9000, 0, p.now);
  // The SYNs cross: both go to SYN-RECEIVED and send SYN-ACK.
  auto a_syn = p.a_out.q;
  p.a_out.q.clear();
  p.deliver(p.b_out, *p.a);
  p.a_out.q.insert(p.a_out.q.begin(), a_syn.begin(), a_syn.end());
  Pair::Link hold;
  hold.q.swap(p.a_out.q);
  hold.q.pop_back();  // a's SYN-ACK stays queued below; deliver a's SYN first
  EXPECT_EQ(p.a->state(), State::syn_received);
  p.deliver(hold, *p.b);
  EXPECT_EQ(p.b->state(), State::syn_received);
  // Now the SYN-ACKs cross; each answers with an ACK and is established.
  for (int round = 0; round < 3; ++round) {
    p.deliver(p.a_out, *p.b);
    p.deliver(p.b_out, *p.a);
  }
  EXPECT_EQ(p.a->state(), State::established);
  EXPECT_EQ(p.b->state(), State::established);
  EXPECT_EQ(p.a_app.connected, 1);
  EXPECT_EQ(p.b_app.connected, 1);
  // And data flows.
  p.a->send(bytes(500), p.now);
  p.deliver(p.a_out, *p.b);
  EXPECT_EQ(p.b_app.data, bytes(500));
}

TEST(TcpHandshake, TheWindowShiftIsTheLeastThatFitsTheBufferIn16Bits) {
  // RFC 7323 2.3: the shift offered makes the receive buffer fit the 16-bit
  // window field, and is at most 14. Checked at every power of two and on
  // either side of it, against the definition.
  auto least = [](uint64_t buf) {
    uint8_t s = 0;
    while (s < 14 && (buf >> s) > 65535) ++s;
    return s;
  };
  for (int b = 0; b < 32; ++b)
    for (int64_t d = -1; d <= 1; ++d) {
      const int64_t v = (int64_t(1) << b) + d;
      if (v < 0 || v > int64_t(UINT32_MAX)) continue;
      EXPECT_EQ(ts::tcp::window_shift_for(uint32_t(v)), least(uint64_t(v))) << v;
    }
  EXPECT_EQ(ts::tcp::window_shift_for(65535), 0);
  EXPECT_EQ(ts::tcp::window_shift_for(65536), 1);
  EXPECT_EQ(ts::tcp::window_shift_for(4u << 20), 7);
  EXPECT_EQ(ts::tcp::window_shift_for(UINT32_MAX), 14);
}

// ------------------------------------------------------------------ ISN

TEST(Isn, SipHashMatchesTheReferenceVector) {
  // The SipHash paper, appendix A: key 00..0f, message 00..0e.
  std::array<uint8_t, 16> key;
  for (int i = 0; i < 16; ++i) key[i] = uint8_t(i);
  uint8_t msg[15];
  for (int i = 0; i < 15; ++i) msg[i] = uint8_t(i);
  EXPECT_EQ(siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
}

TEST(Isn, AdvancesWithTheClockAndDiffersPerConnection) {
  std::array<uint8_t, 16> key{};
  key[0] = 42;
  IsnGenerator g(key);
  FourTuple a{wire::Ipv4Addr(0x0a000001), wire::Ipv4Addr(0x0a000002), 1000, 80};
  FourTuple b = a;
  b.local_port = 1001;
  EXPECT_EQ(g.isn(a, 4000), g.isn(a, 0) + 1);  // 4 us per tick (RFC 6528)
  EXPECT_NE(g.isn(a, 0), g.isn(b, 0));
  EXPECT_NE(g.ts_offset(a), g.ts_offset(b));
  std::array<uint8_t, 16> other{};
  EXPECT_NE(IsnGenerator(other).isn(a, 0), g.isn(a, 0));
}

