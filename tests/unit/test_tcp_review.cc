// Regression tests for defects found in review: each builds the situation and
// checks the behaviour the RFCs (and interoperability with Linux) require.
#include <gtest/gtest.h>

#include <deque>

#include "tcp_harness.hh"

using namespace ts::test;
namespace wire = ts::wire;

namespace {

constexpr uint32_t kData = 1001;

// Two connections joined back to back, segments delivered by hand.
struct Pair {
  struct Link : Output {
    bool emit(const Connection&, const SegmentOut& s, const Payload& p) override {
      Sent x{s, {}};
      p.append_to(x.payload);
      q.push_back(std::move(x));
      return true;
    }
    std::deque<Sent> q;
  };
  Pair() {
    a_app.now = b_app.now = &now;
    FourTuple ta{wire::Ipv4Addr(0x0a000001), wire::Ipv4Addr(0x0a000002), 5000, 6000};
    FourTuple tb{wire::Ipv4Addr(0x0a000002), wire::Ipv4Addr(0x0a000001), 6000, 5000};
    a = std::make_unique<Connection>(TcpConfig{}, ta, a_out, ctr, &a_app);
    b = std::make_unique<Connection>(TcpConfig{}, tb, b_out, ctr, &b_app);
  }
  // Delivers everything queued from one side to the other, once.
  void deliver(Link& from, Connection& to) {
    std::deque<Sent> q;
    q.swap(from.q);
    for (const Sent& s : q) {
      opts.push_back(s.seg.options);
      payloads.push_back(s.payload);
      SegmentIn in{s.seg.seq, s.seg.ack, s.seg.flags, s.seg.window, 0, &opts.back(), payloads.back()};
      to.input(in, now);
    }
  }
  TcpCounters ctr;
  Link a_out, b_out;
  App a_app, b_app;
  std::unique_ptr<Connection> a, b;
  std::deque<wire::TcpOptions> opts;
  std::deque<std::vector<uint8_t>> payloads;
  uint64_t now = kSec;
};

}  // namespace

TEST(TcpReview, SimultaneousOpenBetweenTwoStacksCompletes) {
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

TEST(TcpReview, DataTheReceiverRenegedOnIsSentAgain) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(5 * 1448), h.now);
  h.note(h.take());
  // The peer SACKs segments 2-4, then acknowledges 0-1 only: it dropped 2-4.
  wire::TcpOptions o = h.ts_opts(h.last_tsval());
  o.sack_count = 1;
  o.sack[0] = {kData + 2 * 1448, kData + 5 * 1448};
  h.in(h.seg(5001, kData, flag::ack, 65535, {}, o));
  h.in(h.seg(5001, kData + 2 * 1448, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  EXPECT_EQ(h.ctr.tcp_sack_reneging, 1u);
  h.take();
  h.run_until(h.conn->rto_deadline());
  auto s = h.take();
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0].seg.seq, kData + 2 * 1448);  // the reneged data goes again
}

TEST(TcpReview, AResetAfterATimeoutCarriesTheNextNewSequenceNumber) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(3 * 1448), h.now);
  h.take();
  h.run_until(h.conn->rto_deadline());  // snd_nxt_ is wound back to SND.UNA
  h.take();
  h.conn->abort();
  auto s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.flags, flag::rst);
  EXPECT_EQ(s[0].seg.seq, kData + 3 * 1448);
}

TEST(TcpReview, BareAcksDuringGoBackNCarryTheNextNewSequenceNumber) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(3 * 1448), h.now);
  h.take();
  h.run_until(h.conn->rto_deadline());
  h.note(h.take());
  // Data from the peer that acknowledges nothing new: our ACK for it is bare.
  h.in(h.seg(5001, kData, flag::ack, 65535, bytes(100), h.ts_opts(h.last_tsval())));
  h.run_until(h.now + 50 * kMs);
  int bare = 0;
  for (const auto& s : h.take()) {
    if (s.len() == 0) {
      ++bare;
      EXPECT_EQ(s.seg.seq, kData + 3 * 1448);
    }
  }
  EXPECT_GE(bare, 1);
}

TEST(TcpReview, TheAdvertisedEdgeNeverPassesTheBuffer) {
  TcpConfig cfg;  // 256 KiB: window shift 3
  Harness h(cfg);
  h.app.auto_read = false;
  h.establish_active();
  ASSERT_EQ(h.conn->rcv_wscale(), 3);
  uint32_t seq = 5001;
  for (int i = 0; i < 2000 && h.conn->rcv_window() > 0; ++i) {
    h.in(h.data(seq, bytes(5)));
    seq += 5;
    for (const auto& s : h.take()) {
      const uint64_t edge = uint64_t(s.seg.ack - 5001) + (uint64_t(s.seg.window) << 3);
      ASSERT_LE(edge, 256u * 1024) << "after " << i << " segments";
    }
  }
}

TEST(TcpReview, AZeroWindowWithDataInFlightIsProbedNotTimedOut) {
  TcpConfig cfg;
  cfg.data_retries = 3;
  Harness h(cfg);
  h.establish_active();
  h.conn->send(bytes(3 * 1448), h.now);
  h.note(h.take());
  // The peer shrinks its window to zero without acknowledging anything.
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(h.last_tsval())));
  for (int i = 0; i < 10; ++i) {
    h.run_until(h.conn->rto_deadline());
    auto s = h.take();
    ASSERT_EQ(s.size(), 1u) << i;
    EXPECT_EQ(s[0].seg.seq, kData);
    h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(h.last_tsval())));  // still alive
  }
  EXPECT_EQ(h.conn->state(), State::established);  // more than data_retries timeouts
  h.in(h.seg(5001, kData, flag::ack, 100, {}, h.ts_opts(h.last_tsval())));
  EXPECT_FALSE(h.take().empty());
}

TEST(TcpReview, AnOrphanHeldInZeroWindowIsResetAfterTheRetryLimit) {
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
  EXPECT_EQ(s.back().seg.flags, flag::rst);
}

TEST(TcpReview, AnApplicationLimitedSenderDoesNotGrowItsWindow) {
  Harness h;
  h.establish_active();
  const uint32_t iw = h.conn->cwnd();
  for (int i = 0; i < 200; ++i) {
    h.conn->send(bytes(100), h.now);
    h.note(h.take());
    h.now += kMs;
    h.in(h.ack_all());
  }
  EXPECT_EQ(h.conn->cwnd(), iw);
}

TEST(TcpReview, TimestampEchoesFromTheFutureAreNotRttSamples) {
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
