#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <vector>

#include "stack/impair.hh"
#include "stack/mem_device.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"

using namespace ts::stack;

namespace {

const auto kMac = *ts::wire::MacAddr::parse("02:00:00:00:00:09");

std::vector<uint8_t> frame_with_id(uint32_t id, size_t len = 100) {
  std::vector<uint8_t> f(len, 0);
  ts::wire::store_be32(f.data() + 20, id);
  return f;
}

uint32_t id_of(const Packet& p) { return ts::wire::load_be32(p.data + 20); }

// Pushes n frames through the receive side and returns their ids in arrival order.
std::vector<uint32_t> receive_all(MemDevice& inner, ImpairedDevice& dev, uint32_t n,
                                  uint64_t step_ns = 1000) {
  std::vector<uint32_t> out;
  uint64_t now = 0;
  for (uint32_t i = 0; i < n; ++i) {
    inner.inject(frame_with_id(i));
    Packet pkts[64];
    uint16_t got = dev.rx_burst(pkts, 64, now);
    for (uint16_t k = 0; k < got; ++k) {
      out.push_back(id_of(pkts[k]));
      dev.free(pkts[k]);
    }
    now += step_ns;
  }
  for (int drain = 0; drain < 100; ++drain) {  // let held packets out
    now += 1'000'000;
    Packet pkts[64];
    uint16_t got = dev.rx_burst(pkts, 64, now);
    for (uint16_t k = 0; k < got; ++k) {
      out.push_back(id_of(pkts[k]));
      dev.free(pkts[k]);
    }
  }
  return out;
}

}  // namespace

TEST(ImpairParse, AcceptsTheDocumentedSyntax) {
  ImpairSpec rx, tx;
  EXPECT_EQ(parse_impair("loss=0.01,dup=0.001,reorder=1%,delay=200us,corrupt=0.0001,seed=7", rx,
                         tx),
            "");
  EXPECT_DOUBLE_EQ(rx.loss, 0.01);
  EXPECT_DOUBLE_EQ(tx.reorder, 0.01);
  EXPECT_EQ(rx.delay_ns, 200'000u);
  EXPECT_EQ(tx.seed, 7u);
  ImpairSpec rx2, tx2;
  EXPECT_EQ(parse_impair("tx:loss=0.5", rx2, tx2), "");
  EXPECT_DOUBLE_EQ(tx2.loss, 0.5);
  EXPECT_DOUBLE_EQ(rx2.loss, 0);
  EXPECT_FALSE(rx2.active());
}

TEST(ImpairParse, RejectsWithOneClearLine) {
  ImpairSpec rx, tx;
  for (const char* bad : {"", "loss", "loss=2", "loss=x", "delay=5x", "jitter=1ms", "seed=-1",
                          "rx:"}) {
    std::string err = parse_impair(bad, rx, tx);
    EXPECT_FALSE(err.empty()) << bad;
    EXPECT_EQ(err.find('\n'), std::string::npos);
  }
}

TEST(Impair, LossRateIsAsAskedAndReplaysFromTheSeed) {
  ImpairSpec rx;
  rx.loss = 0.1;
  rx.seed = 99;
  std::vector<uint32_t> first;
  for (int run = 0; run < 2; ++run) {
    MemDevice inner(kMac, 256);
    ImpairedDevice dev(inner, rx, ImpairSpec{});
    auto got = receive_all(inner, dev, 20000);
    EXPECT_NEAR(double(got.size()), 18000.0, 300.0);
    EXPECT_EQ(dev.rx_stats().dropped + got.size(), 20000u);
    if (run == 0)
      first = got;
    else
      EXPECT_EQ(got, first);  // same seed, same packets lost
    EXPECT_EQ(inner.buffers_in_use(), 0u);
  }
}

TEST(Impair, DuplicatesAreCopies) {
  ImpairSpec rx;
  rx.dup = 1.0;
  MemDevice inner(kMac, 256);
  ImpairedDevice dev(inner, rx, ImpairSpec{});
  auto got = receive_all(inner, dev, 10);
  ASSERT_EQ(got.size(), 20u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(got[2 * i], i);
    EXPECT_EQ(got[2 * i + 1], i);
  }
  EXPECT_EQ(inner.buffers_in_use(), 0u);
}

TEST(Impair, ReorderLetsTheNextPacketOvertake) {
  ImpairSpec rx;
  rx.reorder = 0.2;
  rx.seed = 3;
  MemDevice inner(kMac, 256);
  ImpairedDevice dev(inner, rx, ImpairSpec{});
  auto got = receive_all(inner, dev, 5000);
  ASSERT_EQ(got.size(), 5000u);  // nothing lost
  size_t inversions = 0;
  for (size_t i = 1; i < got.size(); ++i) {
    if (got[i] < got[i - 1]) {
      ++inversions;
      EXPECT_EQ(got[i] + 1, got[i - 1]) << "only neighbours swap";
    }
  }
  EXPECT_EQ(inversions, dev.rx_stats().reordered);
  EXPECT_GT(inversions, 500u);
  std::vector<uint32_t> sorted = got;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < 5000; ++i) ASSERT_EQ(sorted[i], i);
}

TEST(Impair, DelayHoldsPacketsUntilDue) {
  ImpairSpec rx;
  rx.delay_ns = 200'000;
  MemDevice inner(kMac, 64);
  ImpairedDevice dev(inner, rx, ImpairSpec{});
  inner.inject(frame_with_id(1));
  Packet pkts[4];
  EXPECT_EQ(dev.rx_burst(pkts, 4, 1'000'000), 0);
  EXPECT_EQ(dev.rx_burst(pkts, 4, 1'199'999), 0);
  ASSERT_EQ(dev.rx_burst(pkts, 4, 1'200'000), 1);
  EXPECT_EQ(id_of(pkts[0]), 1u);
  dev.free(pkts[0]);
}

TEST(Impair, CorruptionFlipsExactlyOneBitPastTheEthernetHeader) {
  ImpairSpec rx;
  rx.corrupt = 1.0;
  MemDevice inner(kMac, 64);
  ImpairedDevice dev(inner, rx, ImpairSpec{});
  for (int i = 0; i < 200; ++i) {
    auto f = frame_with_id(7, 64);
    inner.inject(f, pktflag::rx_ip_csum_good);
    Packet p;
    ASSERT_EQ(dev.rx_burst(&p, 1, 0), 1);
    int bits = 0;
    for (size_t k = 0; k < f.size(); ++k) {
      bits += std::popcount(unsigned(f[k] ^ p.data[k]));
      if (k < 14) {
        EXPECT_EQ(f[k], p.data[k]);
      }
    }
    EXPECT_EQ(bits, 1);
    EXPECT_EQ(p.flags & pktflag::rx_ip_csum_good, 0u);  // the device's verdict is void
    dev.free(p);
  }
}

TEST(Impair, TransmitCorruptionCopiesAndCompletesOffloadedChecksums) {
  ImpairSpec tx;
  tx.corrupt = 1.0;
  MemDevice inner(kMac, 64);
  ImpairedDevice dev(inner, ImpairSpec{}, tx);
  Packet p;
  ASSERT_TRUE(dev.alloc(p));
  // A bare 20-byte IPv4 header after a 14-byte Ethernet header, checksum left
  // to the device, so that the flipped bit lands in the header.
  std::memset(p.data, 0, 34);
  p.data[14] = 0x45;
  p.data[14 + 3] = 20;
  p.data[14 + 8] = 64;
  p.len = 34;
  p.l2_len = 14;
  p.l3_len = 20;
  p.flags = pktflag::tx_ip_csum;
  const std::vector<uint8_t> original(p.data, p.data + 34);
  void* original_handle = p.handle;
  dev.send(p);
  dev.flush(0);
  auto sent = inner.take_sent();
  ASSERT_EQ(sent.size(), 1u);
  // The original buffer was replaced by a corrupted copy.
  EXPECT_NE(original_handle, nullptr);
  EXPECT_EQ(inner.buffers_in_use(), 0u);
  int diff_bits = 0;
  for (size_t k = 0; k < 34; ++k)
    if (k != 24 && k != 25) diff_bits += std::popcount(unsigned(original[k] ^ sent[0][k]));
  EXPECT_LE(diff_bits, 1);  // one flipped bit (or it hit the checksum field itself)
  // The checksum was computed before the flip, so the header no longer verifies
  // (unless the flipped bit was in the checksum field: then it cannot verify either).
  EXPECT_NE(ts::wire::ones_sum(sent[0].data() + 14, 20), 0xffff);
}

TEST(Impair, InactiveSpecIsATransparentPassThrough) {
  MemDevice inner(kMac, 64);
  ImpairedDevice dev(inner, ImpairSpec{}, ImpairSpec{});
  auto got = receive_all(inner, dev, 100);
  ASSERT_EQ(got.size(), 100u);
  for (uint32_t i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
}

TEST(Impair, HeldPacketsAreFreedOnDestruction) {
  MemDevice inner(kMac, 64);
  {
    ImpairSpec rx;
    rx.delay_ns = 1'000'000'000;
    ImpairedDevice dev(inner, rx, rx);
    for (int i = 0; i < 10; ++i) inner.inject(frame_with_id(i));
    Packet pkts[16];
    EXPECT_EQ(dev.rx_burst(pkts, 16, 0), 0);
    Packet p;
    ASSERT_TRUE(dev.alloc(p));
    p.len = 60;
    dev.send(p);
    dev.flush(0);
    EXPECT_EQ(inner.buffers_in_use(), 11u);
  }
  EXPECT_EQ(inner.buffers_in_use(), 0u);
}
