// TCP segmentation offload (docs/performance.md, "Segmentation offload"): what
// the sender puts in one frame (whole segments of SMSS, new data only, at
// most a millisecond of the pacing rate), how the frames are counted, and a
// transfer between two stacks whose in-process devices pass TSO frames on
// whole, as Linux's veth does.
#include <gtest/gtest.h>

#include <memory>

#include "stack/impair.hh"
#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "tcp_harness.hh"
#include "transfer.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"

using namespace ts;
using namespace ts::test;

namespace {

Sent frame(const Harness& h, uint32_t seq, std::vector<uint8_t> payload, uint8_t flags = flag::ack) {
  Sent x = h.ours(flags, seq, 5001, std::move(payload));
  x.seg.seg_size = 1448;
  return x;
}

// ESTABLISHED over a device that takes TSO frames of up to 64,000 bytes.
void establish_with_tso(Harness& h) {
  h.host.tso_max = 64000;
  h.establish_active();
}

TEST(TsoSend, TheInitialWindowGoesAsOneFrameOfWholeSegments) {
  Harness h;
  establish_with_tso(h);
  const auto data = bytes(100000);
  h.conn->send(data, h.now);
  EXPECT_SENT(h, frame(h, kData, slice(data, 0, 10 * 1448)));
  // Counted as the ten segments the device makes of it.
  EXPECT_EQ(h.ctr.tcp_data_segs_out, 10u);
  EXPECT_EQ(h.ctr.tcp_segs_offloaded, 9u);
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_EQ(h.conn->cwnd(), 12u * 1448);
  EXPECT_SENT(h, frame(h, kData + 10 * 1448, slice(data, 10 * 1448, 12 * 1448)));
}

TEST(TsoSend, AFrameIsWholeSegmentsButForTheLastOfTheData) {
  Harness h;
  establish_with_tso(h);
  // The end of the data: its short tail rides in the frame, with PSH.
  const auto data = bytes(3 * 1448 + 100);
  h.conn->send(data, h.now);
  EXPECT_SENT(h, frame(h, kData, data, flag::ack | flag::psh));
  EXPECT_EQ(h.ctr.tcp_data_segs_out, 4u);
  h.now += 10 * kMs;
  h.in(h.ack_all(39));  // the peer scales by 7: 4992 bytes
  // Three whole segments (4344); the 648 bytes left in the window would be a
  // short segment mid-flight, so they wait (RFC 9293 3.8.6.2.1), as they
  // would without TSO.
  const auto more = bytes(20000, 3);
  h.conn->send(more, h.now);
  EXPECT_SENT(h, frame(h, kData + data.size(), slice(more, 0, 3 * 1448)));
}

TEST(TsoSend, AFrameHoldsAtMostAMillisecondOfThePacingRate) {
  TcpConfig cfg;
  cfg.pacing = true;
  Harness h(cfg);
  establish_with_tso(h);
  // SRTT 10 ms from the handshake, cwnd 14480: twice cwnd per SRTT in slow
  // start is 2.9 MB/s, 2896 bytes a millisecond: two segments.
  h.conn->send(bytes(100000), h.now);
  std::vector<Sent> s = h.take();
  ASSERT_EQ(s.size(), 1u);  // the next waits for the pacer
  EXPECT_EQ(s[0].len(), 2u * 1448);
  EXPECT_EQ(s[0].seg.seg_size, 1448u);
}

TEST(TsoSend, AFramesShortTailWaitsWhereNagleWouldHoldIt) {
  Harness h;
  establish_with_tso(h);
  const auto first = bytes(2 * 1448 + 100);
  h.conn->send(first, h.now);  // no short segment outstanding: the tail goes
  EXPECT_SENT(h, frame(h, kData, first, flag::ack | flag::psh));
  // The 100-byte tail is unacknowledged: the next write's 52-byte tail waits
  // (RFC 9293 3.7.4), and goes when the ACK comes.
  const auto second = bytes(2 * 1448 + 52, 5);
  h.conn->send(second, h.now);
  EXPECT_SENT(h, frame(h, kData + first.size(), slice(second, 0, 2 * 1448)));
  h.now += 10 * kMs;
  h.in(h.ack_all());
  EXPECT_SENT(h, h.ours(flag::ack | flag::psh, kData + first.size() + 2 * 1448, 5001,
                        slice(second, 2 * 1448, 52)));
}

TEST(TsoSend, TheFinRidesOnTheFramesLastSegment) {
  Harness h;
  establish_with_tso(h);
  h.in(h.seg(5001, kData, flag::ack, 0, {}, h.ts_opts(0)));  // the peer's window closes
  const auto data = bytes(3 * 1448 + 100);
  h.conn->send(data, h.now);
  h.conn->shutdown(h.now);
  EXPECT_SENT(h);
  h.in(h.ack_all());  // and opens again
  EXPECT_SENT(h, frame(h, kData, data, flag::ack | flag::psh | flag::fin));
  EXPECT_EQ(h.ctr.tcp_data_segs_out, 4u);
}

TEST(TsoSend, AFrameCarriesNoSackBlocks) {
  Harness h;
  establish_with_tso(h);
  // Data beyond a hole: our ACKs now carry a SACK block...
  h.in(h.data(5001 + 1000, bytes(100)));
  std::vector<Sent> s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].seg.options.sack_count, 1u);
  // ...but a frame's copies of its header must each fit the MTU with SMSS of
  // data, so it goes without them.
  h.conn->send(bytes(5 * 1448), h.now);
  s = h.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].len(), 5u * 1448);
  EXPECT_EQ(s[0].seg.seg_size, 1448u);
  EXPECT_EQ(s[0].seg.options.sack_count, 0u);
  EXPECT_TRUE(s[0].seg.options.has_timestamps);
}

TEST(TsoSend, AFrameHoldsNoMoreSegmentsThanTheDeviceCuts) {
  Harness h;
  h.host.tso_segs = 4;  // as DPDK's TAP port, which cuts at most 64
  establish_with_tso(h);
  const auto data = bytes(100000);
  h.conn->send(data, h.now);
  EXPECT_SENT(h, frame(h, kData, slice(data, 0, 4 * 1448)),
              frame(h, kData + 4 * 1448, slice(data, 4 * 1448, 4 * 1448)),
              frame(h, kData + 8 * 1448, slice(data, 8 * 1448, 2 * 1448)));
  EXPECT_EQ(h.ctr.tcp_segs_offloaded, 7u);
}

TEST(TsoSend, AFramesSegmentsAreShorterWhereTheDeviceCountsTheEthernetHeader) {
  Harness h;
  h.host.tso_trim = 14;  // as DPDK's TAP port: segments of 1434 bytes
  establish_with_tso(h);
  const auto data = bytes(100000);
  h.conn->send(data, h.now);
  // The initial window (14,480 bytes) holds ten such segments; the 140 bytes
  // left of it would be a short segment mid-flight, so they wait.
  Sent f = frame(h, kData, slice(data, 0, 10 * 1434));
  f.seg.seg_size = 1434;
  EXPECT_SENT(h, f);
  EXPECT_EQ(h.ctr.tcp_data_segs_out, 10u);
  EXPECT_EQ(h.ctr.tcp_segs_offloaded, 9u);
}

TEST(TsoSend, RetransmissionsAreSingleSegments) {
  Harness h;
  establish_with_tso(h);
  const auto data = bytes(100000);
  h.conn->send(data, h.now);
  ASSERT_EQ(h.take().size(), 1u);
  h.run_until(h.conn->rto_deadline());
  // Go-back-N after the timeout resends one segment (cwnd is 1 SMSS), not a frame.
  EXPECT_SENT(h, h.ours(flag::ack, kData, 5001, slice(data, 0, 1448)));
}

TEST(TsoSend, NothingButSegmentsWithoutTheOffload) {
  Harness h;  // host.tso_max 0
  h.establish_active();
  h.conn->send(bytes(100000), h.now);
  const std::vector<Sent> s = h.take();
  ASSERT_EQ(s.size(), 10u);
  for (const Sent& x : s) {
    EXPECT_EQ(x.len(), 1448u);
    EXPECT_EQ(x.seg.seg_size, 0u);
  }
  EXPECT_EQ(h.ctr.tcp_segs_offloaded, 0u);
}

// Two stacks on in-process devices at MTU 1500 that offer TSO (`tso_max`; 0:
// none). The client's frames pass a recording wire on their way.
struct TsoTransfer : PatternTransfer {
  struct Frame {
    uint32_t l3_len, payload;
    uint16_t seg_size;
    bool merged, push;
    // The TCP checksum field holds the pseudo-header sum without the length
    // (DPDK's rule for a TSO frame; an offloaded segment's includes it).
    bool phdr_without_length;
  };
  struct Wire : stack::FrameSink {
    void take(stack::Packet& sent, uint64_t) override {
      const stack::Packet p = from->arriving(sent);
      const uint8_t* l3 = p.data + 14;
      if (p.data[12] != 0x08 || p.data[13] != 0x00 || l3[9] != 6) {  // not TCP/IPv4
        to->deliver(p);
        return;
      }
      const uint32_t l3_len = uint32_t(l3[2]) << 8 | l3[3];
      const uint32_t hlen = uint32_t(l3[20 + 12] >> 4) * 4;
      const uint32_t payload = l3_len - 20 - hlen;
      const wire::Ipv4Addr src{wire::load_be32(l3 + 12)}, dst{wire::load_be32(l3 + 16)};
      if (payload)
        frames.push_back({l3_len, payload, p.seg_size,
                          (p.flags & stack::pktflag::rx_tcp_merged) != 0,
                          (l3[20 + 13] & 0x08) != 0,
                          wire::load_be16(l3 + 20 + 16) ==
                              wire::pseudo_header_sum(src, dst, wire::ipproto::tcp, 0)});
      to->deliver(p);
    }
    stack::MemDevice *from = nullptr, *to = nullptr;
    std::vector<Frame> frames;
  } wire;

  explicit TsoTransfer(uint16_t tso_max, bool layer_tso = true, bool large_fails = false,
                       uint16_t tso_segs = 0, uint16_t tso_min_seg = 0) {
    cs.addr = *wire::Ipv4Cidr::parse("10.0.0.1/24");
    cc.addr = *wire::Ipv4Cidr::parse("10.0.0.2/24");
    cc.secret[0] = 1;
    cc.tcp.tso = layer_tso;
    for (stack::MemDevice* d : {&dev_c, &dev_s}) {
      d->set_in_process(true);
      d->set_tso(tso_max, tso_segs, tso_min_seg);
    }
    dev_c.set_large_alloc_fails(large_fails);
    dev_s.wire_to(&dev_c);
    wire.from = &dev_c;
    wire.to = &dev_s;
    dev_c.set_sink(&wire);
    dev_s.reserve_rx(1024);
    server = std::make_unique<stack::Stack>(dev_s, cs);
    client = std::make_unique<stack::Stack>(dev_c, cc);
  }
  void run(size_t total) {
    if (tcp::Connection* c = send_all(*client, *server, total)) mss = c->smss();
  }

  stack::StackConfig cs, cc;
  // The client's device first: the server's, wired to it, goes before it.
  stack::MemDevice dev_c{*wire::MacAddr::parse("02:00:00:00:00:02"), 512, 65536};
  stack::MemDevice dev_s{*wire::MacAddr::parse("02:00:00:00:00:01"), 512, 65536};
  std::unique_ptr<stack::Stack> server, client;
  uint32_t mss = 0;
};

TEST(TsoTransfer, DataGoesInFramesOfWholeSegmentsThatEachFitTheMtu) {
  constexpr size_t kTotal = 4 << 20;
  TsoTransfer t(64000);
  t.run(kTotal);
  EXPECT_EQ(t.received, kTotal);
  EXPECT_TRUE(t.intact);
  ASSERT_EQ(t.mss, 1448u);
  size_t frames = 0, segments = 0;
  for (const TsoTransfer::Frame& f : t.wire.frames) {
    EXPECT_LE(f.l3_len, 64000u);
    ++frames;
    if (f.payload <= t.mss) {
      ++segments;
      EXPECT_EQ(f.seg_size, 0u);
      EXPECT_FALSE(f.phdr_without_length);
      continue;
    }
    EXPECT_TRUE(f.merged);
    EXPECT_TRUE(f.phdr_without_length);
    EXPECT_EQ(f.seg_size, t.mss);
    EXPECT_LE(f.l3_len - f.payload + f.seg_size, 1500u);  // each segment cut fits the MTU
    if (!f.push) {
      EXPECT_EQ(f.payload % t.mss, 0u);
    }
    segments += (f.payload + t.mss - 1) / t.mss;
  }
  // Far fewer frames than segments, and both ends count the segments.
  EXPECT_LT(frames * 8, segments);
  const tcp::TcpCounters& c = t.client->counters().tcp;
  const tcp::TcpCounters& s = t.server->counters().tcp;
  EXPECT_EQ(c.tcp_data_segs_out, segments);
  EXPECT_EQ(c.tcp_segs_offloaded, segments - frames);
  EXPECT_EQ(s.tcp_segs_in + 1, c.tcp_segs_out);  // all but the SYN, which the listener took
  EXPECT_EQ(c.tcp_retransmits, 0u);
}

TEST(TsoTransfer, FramesAreCutIntoNoMoreSegmentsThanTheDeviceTakes) {
  constexpr size_t kTotal = 1 << 20;
  TsoTransfer t(64000, true, false, 6);
  t.run(kTotal);
  EXPECT_EQ(t.received, kTotal);
  EXPECT_TRUE(t.intact);
  size_t frames = 0;
  for (const TsoTransfer::Frame& f : t.wire.frames) {
    EXPECT_LE(f.payload, 6u * t.mss);
    frames += f.merged;
  }
  EXPECT_GT(frames, 0u);
  EXPECT_GT(t.client->counters().tcp.tcp_segs_offloaded, 0u);
}

TEST(TsoTransfer, NoFrameExceedsTheMtuWithoutTheOffload) {
  constexpr size_t kTotal = 1 << 20;
  for (bool device : {false, true}) {
    // The device does not offer it, or the TCP layer is told not to use it.
    TsoTransfer t(device ? 64000 : 0, !device);
    t.run(kTotal);
    EXPECT_EQ(t.received, kTotal);
    EXPECT_TRUE(t.intact);
    for (const TsoTransfer::Frame& f : t.wire.frames) {
      EXPECT_LE(f.l3_len, 1500u);
      EXPECT_FALSE(f.merged);
    }
    EXPECT_EQ(t.client->counters().tcp.tcp_segs_offloaded, 0u);
  }
}

TEST(TsoTransfer, WithoutALargeBufferTheStackCutsTheFrameItself) {
  constexpr size_t kTotal = 1 << 20;
  TsoTransfer t(64000, true, true);
  t.run(kTotal);
  EXPECT_EQ(t.received, kTotal);
  EXPECT_TRUE(t.intact);
  size_t segments = 0;
  for (const TsoTransfer::Frame& f : t.wire.frames) {
    EXPECT_LE(f.l3_len, 1500u);
    EXPECT_FALSE(f.merged);
    ++segments;
  }
  const tcp::TcpCounters& c = t.client->counters().tcp;
  EXPECT_GT(t.client->counters().tx_tso_cut, 0u);
  EXPECT_GT(c.tcp_segs_offloaded, 0u);
  EXPECT_EQ(c.tcp_data_segs_out, segments);  // as the wire saw them
  EXPECT_EQ(t.client->counters().tx_alloc_failed, 0u);
  EXPECT_EQ(c.tcp_retransmits, 0u);
}

TEST(TsoTransfer, SegmentsShorterThanTheDeviceCutsAreCutByTheStack) {
  constexpr size_t kTotal = 256 << 10;
  // The server takes 200-byte segments; one device cuts any size, the other
  // none under 256 bytes (as i40e's driver refuses them).
  for (uint16_t min_seg : {0, 256}) {
    TsoTransfer t(64000, true, false, 0, min_seg);
    t.cs.tcp.tcp.mss = 200;
    t.server = std::make_unique<stack::Stack>(t.dev_s, t.cs);
    t.run(kTotal);
    EXPECT_EQ(t.received, kTotal);
    EXPECT_TRUE(t.intact);
    ASSERT_LT(t.mss, 256u);
    size_t merged = 0;
    for (const TsoTransfer::Frame& f : t.wire.frames) {
      EXPECT_LE(f.payload, min_seg ? t.mss : 64000u);
      merged += f.merged;
    }
    if (min_seg) {
      EXPECT_EQ(merged, 0u);
      EXPECT_GT(t.client->counters().tx_tso_cut, 0u);
    } else {
      EXPECT_GT(merged, 0u);
      EXPECT_EQ(t.client->counters().tx_tso_cut, 0u);
    }
    EXPECT_EQ(t.client->counters().tcp.tcp_retransmits, 0u);
  }
}

TEST(TsoDevice, OfferedOnlyInProcessAndWithinABuffer) {
  stack::MemDevice small(*wire::MacAddr::parse("02:00:00:00:00:03"), 4, 1518);
  small.set_in_process(true);
  small.set_tso(64000);
  EXPECT_EQ(small.info().tso_max, 0u);  // its buffers hold no more than the MTU
  stack::MemDevice mid(*wire::MacAddr::parse("02:00:00:00:00:05"), 4, 16384);
  mid.set_in_process(true);
  mid.set_tso(64000);
  EXPECT_EQ(mid.info().tso_max, 16384u - 18);  // as large as its buffers allow
  stack::MemDevice big(*wire::MacAddr::parse("02:00:00:00:00:04"), 4, 65536);
  big.set_tso(64000);
  EXPECT_EQ(big.info().tso_max, 0u);  // not in process: a wire would need real segments
  big.set_in_process(true);
  big.set_tso(64000);
  EXPECT_EQ(big.info().tso_max, 64000u);
  // An impaired link loses wire segments, never a frame's worth at once.
  stack::ImpairedDevice impaired(big, {}, {});
  EXPECT_EQ(impaired.info().tso_max, 0u);
  EXPECT_TRUE(impaired.info().tx_tcp_csum);
  big.set_in_process(false);
  EXPECT_EQ(big.info().tso_max, 0u);
}

}  // namespace
