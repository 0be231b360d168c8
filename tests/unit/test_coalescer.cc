// Receive coalescing (docs/performance.md, "Receive coalescing"): which
// segments a run takes and which end it, and a transfer between two stacks
// whose bytes arrive intact, most of its segments merged.
#include <gtest/gtest.h>

#include <vector>

#include "stack/coalescer.hh"
#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "tcp/connection.hh"
#include "transfer.hh"

using namespace ts;
using stack::Coalescer;
using wire::tcpflag::ack;
using wire::tcpflag::psh;

namespace {

const wire::Ipv4Repr kIp{*wire::Ipv4Addr::parse("10.0.0.2"), *wire::Ipv4Addr::parse("10.0.0.1")};
const tcp::FourTuple kFlow{*wire::Ipv4Addr::parse("10.0.0.1"), *wire::Ipv4Addr::parse("10.0.0.2"),
                           80, 40000};

struct Segs {
  std::vector<std::vector<uint8_t>> bodies;
  // A data segment of `len` bytes starting at `seq`, each byte its offset
  // from 1000 (mod 251), with timestamps.
  wire::TcpRepr data(uint32_t seq, size_t len, uint8_t flags = ack, uint32_t tsval = 7) {
    std::vector<uint8_t> b(len);
    for (size_t i = 0; i < len; ++i) b[i] = uint8_t((seq - 1000 + i) % 251);
    bodies.push_back(std::move(b));
    wire::TcpRepr r;
    r.src_port = 40000;
    r.dst_port = 80;
    r.seq = seq;
    r.ack = 555;
    r.flags = flags;
    r.window = 1000;
    r.options.has_timestamps = true;
    r.options.tsval = tsval;
    r.options.tsecr = 9;
    r.payload = bodies.back();
    return r;
  }
};

bool pattern_from(const wire::TcpRepr& r, uint32_t seq) {
  for (size_t i = 0; i < r.payload.size(); ++i)
    if (r.payload[i] != uint8_t((seq - 1000 + i) % 251)) return false;
  return true;
}

TEST(Coalescer, MergesARunOfEqualSegmentsIntoOne) {
  Coalescer c(true);
  Segs s;
  const wire::TcpRepr first = s.data(1000, 1448);
  ASSERT_TRUE(Coalescer::can_start(first));
  c.hold(kIp, kFlow, 3, 11, first);
  EXPECT_TRUE(c.append(kFlow, s.data(2448, 1448)));
  EXPECT_TRUE(c.append(kFlow, s.data(3896, 1448)));
  // A shorter last segment with PSH joins and ends the run.
  EXPECT_TRUE(c.append(kFlow, s.data(5344, 100, ack | psh)));
  EXPECT_FALSE(c.append(kFlow, s.data(5444, 1448)));
  uint32_t slot = 0, gen = 0;
  const wire::Ipv4Repr* ip = nullptr;
  const wire::TcpRepr& run = c.take(ip, slot, gen);
  EXPECT_FALSE(c.held());
  EXPECT_EQ(slot, 3u);
  EXPECT_EQ(gen, 11u);
  EXPECT_EQ(run.seq, 1000u);
  EXPECT_EQ(run.payload.size(), 3u * 1448 + 100);
  EXPECT_EQ(run.seg_size, 1448u);
  EXPECT_EQ(run.flags, ack | psh);
  EXPECT_EQ(run.options.tsval, 7u);
  EXPECT_TRUE(pattern_from(run, 1000));
}

TEST(Coalescer, ALoneSegmentIsHandedOnAsItCame) {
  Coalescer c(true);
  Segs s;
  c.hold(kIp, kFlow, 0, 0, s.data(1000, 500));
  EXPECT_FALSE(c.append(kFlow, s.data(1600, 500)));  // a gap
  uint32_t slot = 0, gen = 0;
  const wire::Ipv4Repr* ip = nullptr;
  const wire::TcpRepr& run = c.take(ip, slot, gen);
  EXPECT_EQ(run.payload.size(), 500u);
  EXPECT_EQ(run.seg_size, 0u);  // not merged: TCP sees the segment's own size
  EXPECT_TRUE(pattern_from(run, 1000));
}

TEST(Coalescer, OnlyPlainDataSegmentsStartARun) {
  Segs s;
  EXPECT_TRUE(Coalescer::can_start(s.data(1000, 1)));
  EXPECT_FALSE(Coalescer::can_start(s.data(1000, 0)));  // a bare ACK
  for (uint8_t f : {uint8_t(ack | psh), uint8_t(ack | wire::tcpflag::fin),
                    uint8_t(ack | wire::tcpflag::syn), uint8_t(ack | wire::tcpflag::rst),
                    uint8_t(ack | wire::tcpflag::urg), uint8_t(ack | wire::tcpflag::ece),
                    uint8_t(ack | wire::tcpflag::cwr), uint8_t(0)})
    EXPECT_FALSE(Coalescer::can_start(s.data(1000, 100, f))) << int(f);
  wire::TcpRepr sack = s.data(1000, 100);
  sack.options.sack_count = 1;
  sack.options.sack[0] = {1, 2};
  EXPECT_FALSE(Coalescer::can_start(sack));
  wire::TcpRepr unknown = s.data(1000, 100);
  unknown.options.unknown = 1;
  EXPECT_FALSE(Coalescer::can_start(unknown));
  // No room for a second segment as large: not worth holding.
  EXPECT_TRUE(Coalescer::can_start(s.data(1000, Coalescer::kMaxBytes / 2)));
  EXPECT_FALSE(Coalescer::can_start(s.data(1000, Coalescer::kMaxBytes / 2 + 1)));
}

TEST(Coalescer, AnythingThatWouldChangeTheMeaningEndsTheRun) {
  Segs s;
  const auto refused = [&](wire::TcpRepr next, const tcp::FourTuple& flow = kFlow) {
    Coalescer c(true);
    c.hold(kIp, kFlow, 0, 0, s.data(1000, 1000));
    return !c.append(flow, next);
  };
  EXPECT_FALSE(refused(s.data(2000, 1000)));  // the control: this one joins
  tcp::FourTuple other = kFlow;
  other.remote_port = 40001;
  EXPECT_TRUE(refused(s.data(2000, 1000), other));  // another connection
  EXPECT_TRUE(refused(s.data(1999, 1000)));          // overlapping
  EXPECT_TRUE(refused(s.data(2000, 1001)));          // larger than the first
  EXPECT_TRUE(refused(s.data(2000, 1000, ack, 8)));  // another timestamp
  EXPECT_TRUE(refused(s.data(2000, 1000, ack | wire::tcpflag::fin)));
  EXPECT_TRUE(refused(s.data(2000, 1000, ack | wire::tcpflag::rst)));
  wire::TcpRepr r = s.data(2000, 1000);
  r.ack = 556;
  EXPECT_TRUE(refused(r));  // new data acknowledged
  r = s.data(2000, 1000);
  r.window = 999;
  EXPECT_TRUE(refused(r));  // a window update
  r = s.data(2000, 1000);
  r.options.has_timestamps = false;
  EXPECT_TRUE(refused(r));
  r = s.data(2000, 1000);
  r.options.sack_count = 1;
  EXPECT_TRUE(refused(r));
  // A short segment ends the run even without PSH.
  Coalescer c(true);
  c.hold(kIp, kFlow, 0, 0, s.data(1000, 1000));
  EXPECT_TRUE(c.append(kFlow, s.data(2000, 10)));
  EXPECT_FALSE(c.append(kFlow, s.data(2010, 10)));
}

TEST(Coalescer, ARunStopsAtTheLargestIpPacket) {
  Coalescer c(true);
  Segs s;
  uint32_t seq = 1000;
  c.hold(kIp, kFlow, 0, 0, s.data(seq, 9000));
  seq += 9000;
  int joined = 0;
  while (c.append(kFlow, s.data(seq, 9000))) {
    seq += 9000;
    ++joined;
  }
  EXPECT_EQ(joined, int(Coalescer::kMaxBytes / 9000) - 1);
  uint32_t slot = 0, gen = 0;
  const wire::Ipv4Repr* ip = nullptr;
  const wire::TcpRepr& run = c.take(ip, slot, gen);
  EXPECT_EQ(run.payload.size(), size_t(joined + 1) * 9000);
  EXPECT_LE(run.payload.size(), Coalescer::kMaxBytes);
  EXPECT_EQ(ip->src, kIp.src);
}

// A client sends `total` patterned bytes to a server over two in-memory
// devices wired back to back.
struct Transfer : test::PatternTransfer {
  // The client's frames pass through here: the `drop_nth` frame carrying
  // data (counted from 1; 0: none) is lost.
  struct Wire : stack::FrameSink {
    void take(stack::Packet& p, uint64_t) override {
      if (p.len > 200 && ++data_frames == drop_nth) {
        from->free(p);
        return;
      }
      to->deliver(p);
    }
    stack::MemDevice *from = nullptr, *to = nullptr;
    uint64_t data_frames = 0, drop_nth = 0;
  } wire;

  explicit Transfer(bool coalesce, bool sack = true, uint64_t drop_nth = 0) {
    cs.addr = *wire::Ipv4Cidr::parse("10.0.0.1/24");
    cc.addr = *wire::Ipv4Cidr::parse("10.0.0.2/24");
    cc.secret[0] = 1;
    cs.tcp.coalesce = cc.tcp.coalesce = coalesce;
    cs.tcp.tcp.sack = cc.tcp.tcp.sack = sack;
    dev_s.wire_to(&dev_c);
    wire.from = &dev_c;
    wire.to = &dev_s;
    wire.drop_nth = drop_nth;
    dev_c.set_sink(&wire);
    dev_s.reserve_rx(4096);
    server = std::make_unique<stack::Stack>(dev_s, cs);
    client = std::make_unique<stack::Stack>(dev_c, cc);
  }
  void run(size_t total) { send_all(*client, *server, total); }

  stack::StackConfig cs, cc;
  // The client's device first: the server's, wired to it, goes before it.
  stack::MemDevice dev_c{*wire::MacAddr::parse("02:00:00:00:00:02"), 4096};
  stack::MemDevice dev_s{*wire::MacAddr::parse("02:00:00:00:00:01"), 4096};
  std::unique_ptr<stack::Stack> server, client;
};

TEST(Coalescer, ATransferArrivesIntactMostlyMerged) {
  constexpr size_t kTotal = 4 << 20;
  Transfer with(true), without(false);
  with.run(kTotal);
  without.run(kTotal);
  for (Transfer* t : {&with, &without}) {
    EXPECT_EQ(t->received, kTotal);
    EXPECT_TRUE(t->intact);
    // Every segment on the wire is counted as received, merged or not (but
    // the SYN, which the listener took).
    EXPECT_EQ(t->server->counters().tcp.tcp_segs_in + 1, t->client->counters().tcp.tcp_segs_out);
  }
  const tcp::TcpCounters& w = with.server->counters().tcp;
  const tcp::TcpCounters& wo = without.server->counters().tcp;
  EXPECT_EQ(wo.tcp_segs_coalesced, 0u);
  // Most of the data segments joined a run; no more ACKs went back than
  // without (ACKs are already one per burst: docs/performance.md).
  EXPECT_GT(w.tcp_segs_coalesced, w.tcp_segs_in / 2);
  EXPECT_LE(w.tcp_segs_out, wo.tcp_segs_out);
  EXPECT_EQ(w.tcp_retransmits + with.client->counters().tcp.tcp_retransmits, 0u);
}

}  // namespace

namespace {

// Without SACK, a sender learns of a loss from duplicate ACKs alone: the
// segments after a hole must not be merged into one (one ACK), or a burst
// of them gives one duplicate ACK instead of several and the sender waits
// for its retransmission timer.
TEST(Coalescer, SegmentsAfterAHoleKeepTheirDuplicateAcks) {
  constexpr size_t kTotal = 1 << 20;
  Transfer t(true, false, 40);
  t.run(kTotal);
  EXPECT_EQ(t.received, kTotal);
  EXPECT_TRUE(t.intact);
  const tcp::TcpCounters& c = t.client->counters().tcp;
  EXPECT_GE(c.tcp_dup_acks, 3u);
  EXPECT_GE(c.tcp_fast_recoveries, 1u);
  EXPECT_EQ(c.tcp_rto_timeouts, 0u);
  // In order again after the repair, the rest merged as before.
  EXPECT_GT(t.server->counters().tcp.tcp_segs_coalesced, 0u);
}

}  // namespace
