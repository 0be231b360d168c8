// What the TCP layer judges reclaiming by (docs/defences.md): how long a
// connection has been held back by its peer's window and how much the peer
// accepted meanwhile (a window opened by a byte now and then does not end
// it), and how long a live peer has made no progress.
#include <gtest/gtest.h>

#include "tcp_harness.hh"

using namespace ts::test;

TEST(TcpPressure, AZeroWindowHoldsItBackUntilThePeerKeepsUp) {
  Harness h;
  h.establish_active(1000, 5000, Harness::syn_opts(1460, -1));  // no window scaling
  EXPECT_EQ(h.conn->held_back_for(h.now), 0u);
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));
  h.conn->send(bytes(100000), h.now);
  const uint64_t start = h.now;
  EXPECT_EQ(h.conn->persist_entries(), 1u);
  h.run_until(start + 10 * kSec);
  h.sent();
  EXPECT_EQ(h.conn->held_back_for(h.now), 10 * kSec);
  EXPECT_EQ(h.conn->acked_while_held(), 0u);
  EXPECT_EQ(h.conn->stalled_for(h.now), 0u);  // held back, not stalled
  EXPECT_GT(h.conn->memory(), 100000u);       // the connection and its send ring

  // The byte-now-and-then trick: every 2 s the peer opens its window by a
  // byte, takes what comes and closes it again. The connection may leave
  // persist and enter it again, but stays held back: a byte every 2 s is far
  // below a segment a second.
  for (int i = 0; i < 10; ++i) {
    h.in(h.seg(5001, h.conn->snd_una(), flag::ack, 1, {}, h.ts_opts(h.last_tsval())));
    h.run_until(h.now + kSec);
    h.sent();
    h.in(h.seg(5001, h.conn->snd_nxt(), flag::ack, 0, {}, h.ts_opts(h.last_tsval())));
    h.run_until(h.now + kSec);
    h.sent();
  }
  EXPECT_GE(h.conn->held_back_for(h.now), 30 * kSec);
  EXPECT_GT(h.conn->acked_while_held(), 0u);
  EXPECT_LE(h.conn->acked_while_held(), 10u);

  // A reader that keeps up: it acknowledges everything sent, with its
  // window wide open, and the data flows.
  for (int i = 0; i < 400 && h.conn->send_queued(); ++i) {
    h.now += kMs;
    h.in(h.ack_all(65535));
    h.sent();
  }
  EXPECT_EQ(h.conn->send_queued(), 0u);
  EXPECT_EQ(h.conn->held_back_for(h.now), 0u);
}

TEST(TcpPressure, ALivePeerThatAcknowledgesNothingIsStalledASilentOneIsNot) {
  Harness h;
  h.establish_active();
  const auto data = bytes(3000);
  h.conn->send(data, h.now);
  h.take();
  // The peer keeps sending (a byte of data each time, already acknowledged
  // by us) but never acknowledges ours: no progress, yet alive.
  const uint64_t start = h.now;
  for (int i = 0; i < 5; ++i) {
    h.now += 100 * kMs;
    h.in(h.seg(5001, kData, flag::ack, 65535, {}, h.ts_opts(h.last_tsval())));
  }
  EXPECT_EQ(h.conn->stalled_for(h.now), h.now - start);
  // Silence: the retransmission timer takes over, and it is no longer
  // "stalled" but the network's problem.
  h.run_until(h.conn->rto_deadline());
  EXPECT_EQ(h.conn->stalled_for(h.now), 0u);
}

TEST(TcpPressure, ReclaimResetsAndSaysWhy) {
  Harness h;
  h.establish_active();
  h.conn->send(bytes(100), h.now);
  h.take();
  h.conn->reclaim();
  const auto sent = h.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(flag::rst));
  EXPECT_EQ(h.conn->state(), State::closed);
  EXPECT_EQ(h.app.reason, CloseReason::reclaimed);
}

// An idle established connection holds no ring storage (docs/performance.md,
// "Memory"): the send ring goes back once everything is acknowledged, the
// receive ring once everything is read, and both come back with data. With
// ring_park_ns 0 that is at once.
TEST(TcpPressure, AnIdleConnectionHoldsNoRings) {
  TcpConfig cfg;
  cfg.ring_park_ns = 0;
  Harness h(cfg);
  h.app.auto_read = false;
  h.establish_active();
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection));
  h.conn->send(bytes(100), h.now);
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection) + 2048);
  h.sent();
  h.in(h.ack_all());
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection));  // all acknowledged
  h.in(h.data(5001, bytes(300)));
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection) + 2048);
  h.conn->consume(200, h.now);
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection) + 2048);  // 100 bytes unread
  h.conn->consume(100, h.now);
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection));
  h.in(h.data(5301, bytes(50)));
  EXPECT_EQ(h.conn->readable().size(), 50u);
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection) + 2048);
}

// What few connections need (the zero-window state, the rate limits of
// challenge ACKs, the delivery-rate sampler) is taken at its first need
// (docs/performance.md, "Memory"): a connection that exchanges data with a
// window always open carries only itself and its rings.
TEST(TcpPressure, RareStateIsTakenAtItsFirstNeed) {
  TcpConfig cfg;
  cfg.ring_park_ns = 0;
  Harness h(cfg);
  h.establish_active(1000, 5000, Harness::syn_opts(1460, -1));
  const size_t bare = sizeof(ts::tcp::Connection);
  h.conn->send(bytes(3000), h.now);
  h.sent();
  h.in(h.ack_all());
  EXPECT_EQ(h.conn->memory() - h.conn->ring_storage(), bare);
  // The peer shuts its window: persist takes the block, and keeps it.
  h.in(h.seg(5001, h.conn->snd_una(), flag::ack, 0, {}, h.ts_opts(h.last_tsval())));
  h.conn->send(bytes(100), h.now);
  EXPECT_EQ(h.conn->persist_entries(), 1u);
  const size_t with_cold = h.conn->memory() - h.conn->ring_storage();
  EXPECT_GT(with_cold, bare);
  h.in(h.ack_all(65535));
  EXPECT_EQ(h.conn->memory() - h.conn->ring_storage(), with_cold);
}

// By default an emptied ring waits ring_park_ns: a connection exchanging
// messages keeps its rings from one to the next, and they go back once it has
// been idle that long, counted from the first ring emptied; a ring that holds
// data then is kept.
TEST(TcpPressure, EmptiedRingsGoBackAfterTheParkDelay) {
  Harness h;
  const uint64_t delay = h.cfg.ring_park_ns;
  ASSERT_GT(delay, 0u);
  h.app.auto_read = false;
  h.establish_active();
  h.conn->send(bytes(100), h.now);
  h.sent();
  h.in(h.ack_all());
  const uint64_t emptied = h.now;
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection) + 2048);  // kept for the next message
  EXPECT_LE(h.conn->next_deadline(), emptied + delay);
  h.run_until(emptied + delay / 2);
  h.in(h.data(5001, bytes(300)));
  h.conn->consume(300, h.now);  // the receive ring is empty too
  h.conn->send(bytes(10), h.now);  // and the send ring holds data again
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection) + 2 * 2048);
  h.run_until(emptied + delay);
  // The receive ring went back; the send ring, holding 10 bytes, stayed.
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection) + 2048);
  h.sent();
  h.in(h.data(5301, {}));  // acknowledges the 10 bytes
  EXPECT_EQ(h.conn->send_queued(), 0u);
  h.run_until(h.now + delay);
  EXPECT_EQ(h.conn->memory(), sizeof(ts::tcp::Connection));
  h.in(h.data(5301, bytes(50)));
  EXPECT_EQ(h.conn->readable().size(), 50u);
}
