// Receiving in ESTABLISHED: delayed ACKs, out-of-order data with SACK blocks,
// duplicates and segments outside the window, urgent data, and the receive
// window (silly-window avoidance, the advertised edge).
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;

TEST(TcpReceive, OneSegmentIsAckedAfterTheDelayTwoAtOnce) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, bytes(1448)));
  EXPECT_SENT(h);
  EXPECT_EQ(h.conn->delack_deadline(), h.now + 40 * kMs);
  const uint32_t first_ts = h.peer_tsval;
  h.in(h.data(5001 + 1448, bytes(1448)));
  // Every second full-sized segment (RFC 9293 3.8.6.3), echoing the
  // timestamp of the first segment it acknowledges (RFC 7323 4.3).
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001 + 2 * 1448).tsecr(first_ts));
  EXPECT_EQ(h.conn->delack_deadline(), 0u);
  h.in(h.data(5001 + 2 * 1448, bytes(100)));
  EXPECT_SENT(h);
  h.run_until(h.now + 40 * kMs);
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001 + 2 * 1448 + 100, {}, 100));
}

TEST(TcpReceive, ACoalescedRunCountsAsTheSegmentsItWas) {
  Harness h;
  h.establish_active();
  // Three 1000-byte segments merged by receive coalescing: more than two
  // full-sized segments, acknowledged at once.
  SegmentIn run = h.data(5001, bytes(3000));
  run.gro_size = 1000;
  h.in(run);
  std::vector<Sent> s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.ack, 8001u);
  EXPECT_EQ(h.app.data.size(), 3000u);
  // "Full-sized" stays 1000 bytes, not the run's 3000: the next two single
  // segments are acknowledged together, as they would have been.
  h.in(h.data(8001, bytes(1000)));
  EXPECT_SENT(h);
  h.in(h.data(9001, bytes(1000)));
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.ack, 10001u);
}

TEST(TcpReceive, OutOfOrderDataIsAckedAtOnceWithSackBlocksAndDeliveredWhenTheHoleFills) {
  Harness h;
  h.establish_active();
  const uint32_t ts0 = h.peer_tsval;  // out-of-order segments do not move TS.Recent
  h.in(h.data(5001 + 1000, bytes(500, 2)));
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001).tsecr(ts0).sack({{6001, 6501}}));
  h.in(h.data(5001 + 2000, bytes(100, 3)));
  // Newest first (RFC 2018 4).
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001)
                     .tsecr(ts0)
                     .sack({{7001, 7101}, {6001, 6501}}));
  EXPECT_TRUE(h.app.data.empty());
  h.in(h.data(5001, bytes(1000, 1)));
  // Filling a hole is acknowledged at once; the block beyond the next hole remains.
  EXPECT_SENT(h, h.ours(flag::ack, kData, 6501).sack({{7001, 7101}}));
  EXPECT_EQ(h.app.data.size(), 1500u);
  EXPECT_EQ(h.ctr.tcp_ooo_segments, 2u);
}

TEST(TcpReceive, DuplicateAndOutOfWindowSegmentsAreAnsweredNotDelivered) {
  Harness h;
  h.establish_active();
  h.in(h.data(5001, bytes(100)));
  h.take();
  // Unacceptable segments do not move TS.Recent: every answer echoes the
  // timestamp of the data.
  const uint32_t ts = h.peer_tsval;
  h.in(h.data(5001, bytes(100)));  // again
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5101, {}, 100).tsecr(ts));
  EXPECT_EQ(h.app.data.size(), 100u);
  h.in(h.data(5101 + 10'000'000, bytes(100)));  // far beyond the window
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5101, {}, 100).tsecr(ts));
  EXPECT_EQ(h.ctr.tcp_bad_seq, 2u);  // the duplicate counted too
  EXPECT_EQ(h.app.data.size(), 100u);
  // Bare ACKs outside the window are answered at most every 500 ms.
  h.now += kSec;
  for (int i = 0; i < 5; ++i)
    h.in(h.seg(5101 + 10'000'000, kData, flag::ack, 65535, {}, h.ts_opts(0)));
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5101, {}, 100).tsecr(ts));
  EXPECT_EQ(h.ctr.tcp_oow_acks_limited, 4u);
}

TEST(TcpReceive, UrgentDataStaysInTheStream) {
  Harness h;
  h.establish_active();
  SegmentIn sg = h.data(5001, bytes(50), flag::urg);
  sg.urgent = 10;
  h.in(sg);
  EXPECT_EQ(h.app.data, bytes(50));  // RFC 6093: the pointer is not acted on
}

TEST(TcpReceive, TheWindowClosesWhenNobodyReadsAndReopensInMssSteps) {
  TcpConfig cfg;
  cfg.rcvbuf = 8192;
  Harness h(cfg);
  h.app.auto_read = false;
  h.establish_active();
  ASSERT_EQ(h.conn->rcv_wscale(), 0);
  h.in(h.data(5001, bytes(1448)));
  const uint32_t first_ts = h.peer_tsval;
  h.in(h.data(5001 + 1448, bytes(1448)));
  EXPECT_SENT(h,
              h.ours(flag::ack, kData, 5001 + 2896, {}, 2896).window(8192 - 2896).tsecr(first_ts));
  // Reading a little does not announce a tiny window increase (RFC 9293 3.8.6.2.2)...
  h.conn->consume(100, h.now);
  EXPECT_SENT(h);
  // ... reading a segment's worth does.
  h.conn->consume(1400, h.now);
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001 + 2896, {}, 1396)
                     .window(8192 - 2896 + 1500)
                     .tsecr(first_ts));
}

TEST(TcpReceive, TheAdvertisedEdgeNeverPassesTheBuffer) {
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

// Receive in place (docs/performance.md, "Receive in place"): the application
// reads a segment's data where it arrived, and what it leaves unread is
// copied before input() returns, so the connection never reads the segment's
// memory after it is gone; later data follows it in order.
TEST(TcpReceive, DataLeftUnreadOutlivesTheSegmentItCameIn) {
  for (const size_t read : {size_t(0), size_t(200), size_t(500)}) {
    SCOPED_TRACE(read);
    Harness h;
    h.establish_active();
    h.app.read_at_most = read;
    std::vector<uint8_t> pkt = bytes(500);
    const std::vector<uint8_t> want = pkt;
    SegmentIn s = h.data(5001, {});
    s.payload = pkt;
    h.in(s);
    EXPECT_EQ(h.app.data, std::vector<uint8_t>(want.begin(), want.begin() + long(read)));
    // Counted: the rest, as copied.
    EXPECT_EQ(h.ctr.tcp_recv_bytes_copied, 500 - read);
    std::fill(pkt.begin(), pkt.end(), 0xee);  // the packet's buffer, reused
    Bytes2 r = h.conn->readable();
    std::vector<uint8_t> left(r.a.begin(), r.a.end());
    left.insert(left.end(), r.b.begin(), r.b.end());
    EXPECT_EQ(left, std::vector<uint8_t>(want.begin() + long(read), want.end()));
    // The window counts the unread bytes as held, wherever they lie.
    EXPECT_EQ(h.conn->rcv_window(), h.cfg.rcvbuf - (500 - read));
    h.app.read_at_most = SIZE_MAX;
    h.in(h.data(5501, bytes(300, 9)));
    std::vector<uint8_t> all = want;
    const std::vector<uint8_t> more = bytes(300, 9);
    all.insert(all.end(), more.begin(), more.end());
    EXPECT_EQ(h.app.data, all);
  }
}

// Receive in place with the peer's FIN in the same segment: read in full, the
// ring goes back to the pool at once (no more data can come) while the bytes
// are still lent, and nothing is copied; read in part, the rest is copied
// and stays readable after the FIN, which is acknowledged after the data.
TEST(TcpReceive, DataWithTheFinIsReadInPlaceAndItsUnreadRestKept) {
  for (const size_t read : {size_t(300), size_t(120)}) {
    SCOPED_TRACE(read);
    Harness h;
    h.establish_active();
    h.app.read_at_most = read;
    std::vector<uint8_t> pkt = bytes(300, 4);
    const std::vector<uint8_t> want = pkt;
    SegmentIn s = h.data(5001, {}, flag::fin);
    s.payload = pkt;
    h.in(s);
    std::fill(pkt.begin(), pkt.end(), 0);
    EXPECT_EQ(h.app.peer_closed, 1);
    EXPECT_EQ(h.conn->state(), State::close_wait);
    EXPECT_EQ(h.app.data, std::vector<uint8_t>(want.begin(), want.begin() + long(read)));
    EXPECT_EQ(h.ctr.tcp_recv_bytes_copied, 300 - read);
    const Bytes2 r = h.conn->readable();
    std::vector<uint8_t> left(r.a.begin(), r.a.end());
    left.insert(left.end(), r.b.begin(), r.b.end());
    EXPECT_EQ(left, std::vector<uint8_t>(want.begin() + long(read), want.end()));
    // Read in full: the ring is back in the pool; in part: it holds the rest.
    EXPECT_EQ(h.conn->ring_storage() != 0, read < 300);
    const std::vector<Sent> sent = h.take();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent.back().seg.ack, 5001u + 300 + 1);
  }
}

namespace {

struct PredictRun {
  std::vector<Sent> sent;
  std::vector<uint8_t> data;
  uint64_t predicted = 0, paws_drops = 0, bad_ack = 0, ooo = 0;
  uint32_t snd_una = 0, rcv_nxt = 0;
  State state = State::closed;
};

// One script of segments, each kind header prediction must take or leave.
PredictRun predict_script(bool on) {
  TcpConfig cfg;
  cfg.predict_input = on;
  Harness h(cfg);
  h.establish_active();
  PredictRun r;
  auto step = [&] {
    for (Sent& s : h.take()) r.sent.push_back(std::move(s));
    h.now += kMs;
  };
  h.conn->send(bytes(300), h.now);
  step();
  h.in(h.data(5001, bytes(100)));  // in order, acknowledging our data: taken
  step();
  h.in(h.seg(5101, kData + 300, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));  // a bare ACK: taken
  step();
  h.in(h.data(5201, bytes(100)));  // out of order: left
  step();
  auto stale = h.ts_opts(h.last_tsval());
  stale.tsval = 3;  // older than TS.Recent: left (PAWS drops it)
  h.in(h.seg(5101, kData + 300, flag::ack, 65535, bytes(100), stale));
  step();
  auto sack = h.ts_opts(h.last_tsval());
  sack.sack_count = 1;
  sack.sack[0] = {kData + 400, kData + 500};  // with (stale) SACK blocks: taken
  h.in(h.seg(5101, kData + 300, flag::ack, 65535, {}, sack));
  step();
  h.in(h.seg(5101, kData + 900, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));  // beyond SND.MAX: left
  step();
  h.in(h.data(5101, bytes(100)));  // in order, filling the hole: taken
  step();
  h.in(h.data(5301, bytes(10), flag::fin));  // in order, with a FIN: taken
  step();
  r.data = h.app.data;
  r.predicted = h.ctr.tcp_segs_in_predicted;
  r.paws_drops = h.ctr.tcp_paws_drops;
  r.bad_ack = h.ctr.tcp_bad_ack;
  r.ooo = h.ctr.tcp_ooo_segments;
  r.snd_una = h.conn->snd_una();
  r.rcv_nxt = h.conn->rcv_nxt();
  r.state = h.conn->state();
  return r;
}

}  // namespace

// Header prediction takes in-order ACKs of an established connection (with or
// without data, SACK blocks or a FIN) and leaves every other segment to the
// general checks: with it and without, the same segments answer the script.
TEST(TcpReceive, HeaderPredictionTakesOnlyInOrderAcksAndChangesNothing) {
  const PredictRun on = predict_script(true);
  const PredictRun off = predict_script(false);
  EXPECT_EQ(on.predicted, 5u);
  EXPECT_EQ(off.predicted, 0u);
  EXPECT_EQ(on.paws_drops, 1u);
  EXPECT_EQ(on.bad_ack, 1u);
  EXPECT_EQ(on.ooo, 1u);
  EXPECT_EQ(on.data.size(), 310u);
  EXPECT_EQ(on.snd_una, kData + 300);
  EXPECT_EQ(on.rcv_nxt, 5001u + 311);
  EXPECT_EQ(on.state, State::close_wait);
  EXPECT_EQ(on.sent, off.sent);
  EXPECT_EQ(on.data, off.data);
  EXPECT_EQ(on.paws_drops, off.paws_drops);
  EXPECT_EQ(on.bad_ack, off.bad_ack);
  EXPECT_EQ(on.ooo, off.ooo);
  EXPECT_EQ(on.snd_una, off.snd_una);
  EXPECT_EQ(on.rcv_nxt, off.rcv_nxt);
  EXPECT_EQ(on.state, off.state);
}

// A SYN or a reset that also carries the ACK flag looks like an in-order ACK:
// header prediction must leave both to RFC 5961's checks (a challenge ACK;
// the reset at RCV.NXT closes).
TEST(TcpReceive, HeaderPredictionLeavesSynsAndResetsWithAnAckToTheGeneralChecks) {
  for (bool on : {true, false}) {
    SCOPED_TRACE(on ? "prediction on" : "prediction off");
    TcpConfig cfg;
    cfg.predict_input = on;
    Harness h(cfg);
    h.establish_active();
    h.in(h.seg(5001, kData, flag::syn | flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
    EXPECT_EQ(h.ctr.tcp_challenge_acks, 1u);
    EXPECT_EQ(h.conn->state(), State::established);
    h.in(h.seg(5001, kData, flag::rst | flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
    EXPECT_EQ(h.conn->state(), State::closed);
    EXPECT_EQ(h.app.reason, CloseReason::reset);
    EXPECT_EQ(h.ctr.tcp_segs_in_predicted, 0u);
  }
}
