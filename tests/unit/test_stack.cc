// The endpoint's first slice, by behaviour: ARP answered and resolved, ICMP
// echo answered byte-exactly, every malformed fixture dropped with its own
// counter, nothing leaked.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "fixtures.hh"
#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "stack/steering.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"
#include "wire/udp.hh"

using namespace ts;
using namespace ts::stack;
using ts::test::fixture;
using ts::test::load_fixtures;
using wire::Ipv4Addr;
using wire::MacAddr;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;
const MacAddr kOurMac = *MacAddr::parse("02:00:00:00:00:02");
const MacAddr kPeerMac = *MacAddr::parse("02:00:00:00:00:01");
const Ipv4Addr kPeerIp = Ipv4Addr::from_octets(10, 77, 0, 1);

StackConfig config(uint16_t vlan = 0) {
  StackConfig c;
  c.addr = *wire::Ipv4Cidr::parse("10.77.0.2/24");
  c.vlan = vlan;
  return c;
}

struct Endpoint {
  explicit Endpoint(StackConfig c = config()) : dev(kOurMac), stack(dev, c) {}
  // Injects a frame and runs one poll at `now`; returns what was sent.
  std::vector<std::vector<uint8_t>> feed(const std::vector<uint8_t>& frame, uint64_t now = 0,
                                         uint32_t flags = 0) {
    EXPECT_TRUE(dev.inject(frame, flags));
    stack.poll(now);
    return dev.take_sent();
  }
  MemDevice dev;
  Stack stack;
};

std::vector<uint8_t> arp_reply_from_peer() {
  std::vector<uint8_t> f(42);
  const uint8_t hdr[] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
                         0, 1, 0x08, 0, 6, 4, 0, 2, 0x02, 0, 0, 0, 0, 1, 10, 77, 0, 1,
                         0x02, 0, 0, 0, 0, 2, 10, 77, 0, 2};
  std::memcpy(f.data(), hdr, sizeof hdr);
  return f;
}

// The reply an RFC-abiding host sends to the fixture's echo request, built by
// hand from the request: swapped addresses, type 0, TTL 64, fixed checksums.
std::vector<uint8_t> expected_echo_reply(std::vector<uint8_t> req) {
  std::memcpy(req.data(), kPeerMac.b.data(), 6);
  std::memcpy(req.data() + 6, kOurMac.b.data(), 6);
  uint8_t* ip = req.data() + 14;
  uint8_t tmp[4];
  std::memcpy(tmp, ip + 12, 4);
  std::memcpy(ip + 12, ip + 16, 4);
  std::memcpy(ip + 16, tmp, 4);
  ip[8] = 64;
  wire::store_be16(ip + 10, 0);
  wire::store_be16(ip + 10, wire::checksum(ip, 20));
  uint8_t* icmp = ip + 20;
  icmp[0] = 0;
  wire::store_be16(icmp + 2, 0);
  wire::store_be16(icmp + 2, wire::checksum(icmp, req.size() - 34));
  return req;
}

}  // namespace

TEST(StackArp, AnswersARequestForOurAddressExactly) {
  Endpoint ep;
  const auto all = load_fixtures();
  auto sent = ep.feed(fixture(all, "arp_request").bytes);
  ASSERT_EQ(sent.size(), 1u);
  std::vector<uint8_t> want(60, 0);
  const uint8_t hdr[] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x06,
                         0, 1, 0x08, 0, 6, 4, 0, 2, 0x02, 0, 0, 0, 0, 2, 10, 77, 0, 2,
                         0x02, 0, 0, 0, 0, 1, 10, 77, 0, 1};
  std::memcpy(want.data(), hdr, sizeof hdr);
  EXPECT_EQ(sent[0], want);
  EXPECT_EQ(ep.stack.counters().arp_requests_in, 1u);
  EXPECT_EQ(ep.stack.counters().arp_replies_out, 1u);
  // The requester was learned (RFC 826: it asked for us).
  EXPECT_NE(ep.stack.arp().size(), 0u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackArp, IgnoresRequestsForOthersAndDoesNotLearnFromThem) {
  Endpoint ep;
  const auto all = load_fixtures();
  auto frame = fixture(all, "arp_request").bytes;
  frame[14 + 27] = 77;  // target 10.77.0.77
  EXPECT_TRUE(ep.feed(frame).empty());
  EXPECT_EQ(ep.stack.counters().arp_not_for_us, 1u);
  EXPECT_EQ(ep.stack.arp().size(), 0u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackIcmp, AnswersEchoByteExactly) {
  Endpoint ep;
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);  // learn the peer's MAC
  const auto& req = fixture(all, "icmp_echo_request").bytes;
  auto sent = ep.feed(req, 1000);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], expected_echo_reply(req));
  EXPECT_EQ(ep.stack.counters().icmp_echo_requests_in, 1u);
  EXPECT_EQ(ep.stack.counters().icmp_echo_replies_out, 1u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackIcmp, TrimsEthernetPaddingFromTheReply) {
  Endpoint ep;
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);
  auto req = fixture(all, "icmp_echo_request").bytes;
  req[14 + 2] = 0;
  req[14 + 3] = 28 + 4;  // 4 bytes of payload left, the rest is padding
  req.resize(14 + 32);
  uint8_t* ip = req.data() + 14;
  wire::store_be16(ip + 10, 0);
  wire::store_be16(ip + 10, wire::checksum(ip, 20));
  wire::store_be16(ip + 22, 0);
  wire::store_be16(ip + 22, wire::checksum(ip + 20, 12));
  auto padded = req;
  padded.resize(60, 0xee);
  auto sent = ep.feed(padded);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], expected_echo_reply(req));
}

TEST(StackIcmp, ResolvesAnUnknownPeerBeforeReplying) {
  Endpoint ep;
  const auto all = load_fixtures();
  auto sent = ep.feed(fixture(all, "icmp_echo_request").bytes, 5 * kSec);
  // The reply waits; a broadcast ARP request goes out instead.
  ASSERT_EQ(sent.size(), 1u);
  const uint8_t want[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 2, 0x08, 0x06,
                          0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 2, 10, 77, 0, 2,
                          0, 0, 0, 0, 0, 0, 10, 77, 0, 1};
  ASSERT_EQ(sent[0].size(), 60u);
  EXPECT_EQ(0, std::memcmp(sent[0].data(), want, sizeof want));
  EXPECT_EQ(ep.dev.buffers_in_use(), 1u);  // the held reply
  sent = ep.feed(arp_reply_from_peer(), 5 * kSec + 100);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], expected_echo_reply(fixture(all, "icmp_echo_request").bytes));
  EXPECT_EQ(ep.stack.counters().arp_replies_in, 1u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackArp, RetriesThenGivesUpAndFreesWaitingPackets) {
  Endpoint ep;
  const auto all = load_fixtures();
  const auto& req = fixture(all, "icmp_echo_request").bytes;
  ep.dev.inject(req);
  ep.dev.inject(req);
  ep.stack.poll(0);
  EXPECT_EQ(ep.dev.take_sent().size(), 1u);  // one request for both packets
  EXPECT_EQ(ep.stack.next_deadline(), kSec);
  ep.stack.poll(kSec - 1);
  EXPECT_TRUE(ep.dev.take_sent().empty());
  ep.stack.poll(kSec);
  EXPECT_EQ(ep.dev.take_sent().size(), 1u);
  ep.stack.poll(2 * kSec);
  EXPECT_EQ(ep.dev.take_sent().size(), 1u);
  EXPECT_EQ(ep.stack.counters().arp_requests_out, 3u);
  ep.stack.poll(3 * kSec);
  EXPECT_TRUE(ep.dev.take_sent().empty());
  EXPECT_EQ(ep.stack.counters().arp_resolve_failed, 2u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
  EXPECT_EQ(ep.stack.arp().size(), 0u);
  EXPECT_EQ(ep.stack.next_deadline(), UINT64_MAX);
}

TEST(StackArp, WaitingQueueIsBounded) {
  StackConfig c = config();
  c.arp.queue_per_entry = 4;
  Endpoint ep(c);
  const auto all = load_fixtures();
  for (int i = 0; i < 10; ++i) ep.dev.inject(fixture(all, "icmp_echo_request").bytes);
  ep.stack.poll(0);
  EXPECT_EQ(ep.dev.take_sent().size(), 1u);  // the ARP request
  EXPECT_EQ(ep.stack.counters().arp_queue_full, 6u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 4u);
  auto sent = ep.feed(arp_reply_from_peer(), 10);
  EXPECT_EQ(sent.size(), 4u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackArp, TableFullIsCountedNotFatal) {
  StackConfig c = config();
  c.arp.capacity = 8;  // holds 6 at the 3/4 load limit
  Endpoint ep(c);
  const uint8_t payload[16] = {};
  for (uint8_t host = 10; host < 20; ++host)
    ep.stack.send_echo_request(Ipv4Addr::from_octets(10, 77, 0, host), 1, host, payload, 0);
  ep.stack.poll(0);
  EXPECT_EQ(ep.stack.arp().size(), 6u);
  EXPECT_EQ(ep.stack.counters().arp_table_full, 4u);
  EXPECT_EQ(ep.stack.counters().arp_requests_out, 6u);
  for (uint64_t t = 1; t <= 3; ++t) ep.stack.poll(t * kSec);  // two retries, then give up
  EXPECT_EQ(ep.stack.arp().size(), 0u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackArp, StaleMappingIsResolvedAgain) {
  StackConfig c = config();
  c.arp.reachable_ns = 10 * kSec;
  Endpoint ep(c);
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes, 0);
  EXPECT_EQ(ep.feed(fixture(all, "icmp_echo_request").bytes, 9 * kSec).size(), 1u);
  auto sent = ep.feed(fixture(all, "icmp_echo_request").bytes, 11 * kSec);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(wire::load_be16(sent[0].data() + 12), 0x0806);  // an ARP request, not the reply
  EXPECT_EQ(ep.feed(arp_reply_from_peer(), 11 * kSec + 5).size(), 1u);
}

TEST(StackArp, DoesNotLearnGroupOrOwnAddresses) {
  Endpoint ep;
  const auto all = load_fixtures();
  auto frame = fixture(all, "arp_request").bytes;
  frame[14 + 8] = 0x01;  // sender MAC 01:... is a group address
  ep.feed(frame);
  EXPECT_EQ(ep.stack.arp().size(), 0u);
  frame = fixture(all, "arp_request").bytes;
  frame[14 + 17] = 2;  // sender claims our own IP
  ep.feed(frame);
  EXPECT_EQ(ep.stack.arp().size(), 0u);
}

TEST(StackRouting, OffLinkGoesViaGatewayOrIsCounted) {
  const uint8_t payload[16] = {};
  {
    Endpoint ep;
    EXPECT_TRUE(ep.stack.send_echo_request(Ipv4Addr::from_octets(192, 0, 2, 1), 1, 1, payload, 0));
    EXPECT_EQ(ep.stack.counters().ipv4_no_route, 1u);
  }
  StackConfig c = config();
  c.gateway = Ipv4Addr::from_octets(10, 77, 0, 1);
  Endpoint ep(c);
  ep.stack.send_echo_request(Ipv4Addr::from_octets(192, 0, 2, 1), 1, 1, payload, 0);
  ep.stack.poll(0);
  auto sent = ep.dev.take_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(wire::load_be32(sent[0].data() + 14 + 24), kPeerIp.v);  // ARP for the gateway
  sent = ep.feed(arp_reply_from_peer(), 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(0, std::memcmp(sent[0].data(), kPeerMac.b.data(), 6));
  EXPECT_EQ(wire::load_be32(sent[0].data() + 14 + 16), 0xc0000201u);  // IP dst unchanged
}

TEST(StackVlan, TaggedInterfaceAnswersTagged) {
  Endpoint ep(config(5));
  const auto all = load_fixtures();
  auto arp = fixture(all, "arp_request").bytes;
  std::vector<uint8_t> tagged(arp.begin(), arp.begin() + 12);
  const uint8_t tag[] = {0x81, 0x00, 0x00, 0x05};
  tagged.insert(tagged.end(), tag, tag + 4);
  tagged.insert(tagged.end(), arp.begin() + 12, arp.end());
  auto sent = ep.feed(tagged);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(wire::load_be16(sent[0].data() + 12), 0x8100);
  EXPECT_EQ(wire::load_be16(sent[0].data() + 14), 5);
  EXPECT_EQ(wire::load_be16(sent[0].data() + 16), 0x0806);
  // Untagged frames do not belong to a tagged interface.
  EXPECT_TRUE(ep.feed(arp).empty());
  EXPECT_EQ(ep.stack.counters().vlan_mismatch, 1u);
}

TEST(StackVlan, PriorityTaggedRequestGetsAnUntaggedReply) {
  Endpoint ep;
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);
  const auto& req = fixture(all, "icmp_echo_request").bytes;
  std::vector<uint8_t> tagged(req.begin(), req.begin() + 12);
  const uint8_t tag[] = {0x81, 0x00, 0xa0, 0x00};  // PCP 5, VID 0
  tagged.insert(tagged.end(), tag, tag + 4);
  tagged.insert(tagged.end(), req.begin() + 12, req.end());
  auto sent = ep.feed(tagged);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], expected_echo_reply(req));
}

TEST(StackOffload, DeviceChecksumVerdictsAreHonoured) {
  Endpoint ep;
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);
  // A device that verified the IP checksum is trusted...
  EXPECT_EQ(ep.feed(fixture(all, "ipv4_bad_checksum").bytes, 0, pktflag::rx_ip_csum_good).size(),
            1u);
  // ... and one that flagged a bad L4 checksum drops the segment.
  ep.feed(fixture(all, "tcp_syn_all_options").bytes, 0, pktflag::rx_l4_csum_bad);
  EXPECT_EQ(ep.stack.counters().parse_error(wire::Error::tcp_bad_checksum), 1u);
  ep.feed(fixture(all, "icmp_echo_request").bytes, 0, pktflag::rx_ip_csum_bad);
  EXPECT_EQ(ep.stack.counters().parse_error(wire::Error::ipv4_bad_checksum), 1u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

// A TSO frame with no large buffer free: the stack sends its segments itself,
// as the device would have cut them (docs/performance.md, "Segmentation offload").
TEST(StackOffload, ATsoFrameWithNoLargeBufferIsCutAsTheDeviceWould) {
  Endpoint ep;
  ep.dev.set_in_process(true);
  ep.dev.set_tso(2030);
  ep.dev.set_large_alloc_fails(true);
  ASSERT_EQ(ep.stack.tso_max(), 2030u);
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);  // learn the peer's MAC
  std::vector<uint8_t> data(2500);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7);
  wire::TcpRepr seg;
  seg.src_port = 80;
  seg.dst_port = 40000;
  seg.seq = 1000;
  seg.ack = 77;
  seg.flags = wire::tcpflag::ack | wire::tcpflag::psh | wire::tcpflag::fin;
  seg.window = 500;
  seg.seg_size = 1000;
  tcp::Payload payload;
  payload.part[0] = data;
  payload.n = 1;
  const Ipv4Addr us = config().addr.addr;
  ASSERT_TRUE(ep.stack.send_tcp(us, kPeerIp, seg, payload, 0));
  ep.stack.poll(0);
  const auto sent = ep.dev.take_sent();
  ASSERT_EQ(sent.size(), 3u);
  for (size_t i = 0; i < sent.size(); ++i) {
    wire::Ipv4Repr ip;
    ASSERT_EQ(wire::Ipv4Repr::parse(wire::Ipv4View({sent[i].data() + 14, sent[i].size() - 14}), ip,
                                    wire::CsumCheck::trust),
              wire::Error::ok);
    wire::TcpRepr t;
    ASSERT_EQ(wire::TcpRepr::parse(wire::TcpView({sent[i].data() + 34, ip.payload_len}), us,
                                   kPeerIp, t, wire::CsumCheck::trust),
              wire::Error::ok);
    EXPECT_EQ(t.seq, 1000u + 1000u * i);
    EXPECT_EQ(t.ack, 77u);
    ASSERT_EQ(t.payload.size(), i < 2 ? 1000u : 500u);
    EXPECT_TRUE(std::equal(t.payload.begin(), t.payload.end(), data.begin() + 1000 * i));
    // PSH and FIN on the last segment only.
    EXPECT_EQ(t.flags, i < 2 ? wire::tcpflag::ack : seg.flags);
  }
  EXPECT_EQ(ep.stack.counters().tx_tso_cut, 1u);
  EXPECT_EQ(ep.stack.counters().tx_alloc_failed, 0u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackFixtures, EveryFrameBumpsItsOwnCounterAndTheEndpointKeepsAnswering) {
  const auto all = load_fixtures();
  for (const auto& f : all) {
    Endpoint ep;
    ep.feed(fixture(all, "arp_request").bytes);
    Counters before = ep.stack.counters();
    ep.feed(f.bytes, 1);
    const Counters& after = ep.stack.counters();
    ASSERT_GE(before.get(f.counter), 0) << "unknown counter " << f.counter;
    EXPECT_EQ(after.get(f.counter), before.get(f.counter) + 1) << f.name;
    // No other drop counter moved.
    uint64_t other_drops = after.drops() - before.drops();
    bool counter_is_drop = false;
    after.for_each([&](std::string_view n, uint64_t, bool drop, std::string_view) {
      if (n == f.counter) counter_is_drop = drop;
    });
    EXPECT_EQ(other_drops, counter_is_drop ? 1u : 0u) << f.name;
    EXPECT_EQ(ep.dev.buffers_in_use(), 0u) << f.name;
    // And the endpoint still answers a ping afterwards.
    EXPECT_EQ(ep.feed(fixture(all, "icmp_echo_request").bytes, 2).size(), 1u) << f.name;
  }
}

TEST(StackFixtures, AFullBurstOfEveryFixtureCountsEachAsAloneAndKeepsNothing) {
  // A burst of 8 or more goes through the flow-table prefetch pass first,
  // which reads headers of frames not yet checked: truncated and malformed
  // fixtures (and cut-off copies of them) must come out counted as one at a
  // time, with every buffer returned (the sanitizer build checks the reads).
  const auto all = load_fixtures();
  Endpoint alone, burst;
  alone.feed(fixture(all, "arp_request").bytes);
  burst.feed(fixture(all, "arp_request").bytes);
  std::vector<std::vector<uint8_t>> frames;
  for (const auto& f : all) {
    frames.push_back(f.bytes);
    for (size_t cut : {size_t(13), size_t(34), size_t(37), size_t(38), size_t(53)})
      if (f.bytes.size() > cut) frames.emplace_back(f.bytes.begin(), f.bytes.begin() + long(cut));
  }
  ASSERT_GE(frames.size(), size_t(Stack::kBurst));
  for (size_t i = 0; i < frames.size(); ++i) alone.feed(frames[i], 1);
  const auto& no_flow = fixture(all, "tcp_data_segment").bytes;
  for (size_t i = 0; i < frames.size(); i += Stack::kBurst) {
    // The pass runs after a burst with a frame for no flow (TcpLayer::prefetch_pays).
    alone.feed(no_flow, 1);
    burst.feed(no_flow, 1);
    ASSERT_TRUE(burst.stack.tcp().prefetch_pays());
    for (size_t k = i; k < std::min(frames.size(), i + Stack::kBurst); ++k)
      ASSERT_TRUE(burst.dev.inject(frames[k]));
    burst.stack.poll(1);
    burst.dev.take_sent();
  }
  alone.stack.counters().for_each([&](std::string_view n, uint64_t v, bool, std::string_view) {
    EXPECT_EQ(burst.stack.counters().get(n), int64_t(v)) << n;
  });
  EXPECT_EQ(burst.dev.buffers_in_use(), 0u);
}

TEST(StackFixtures, ThePrefetchPassFollowsFramesForNoFlow) {
  // A burst with a segment for no flow (a SYN, a stray segment) makes the next
  // burst prefetch; a burst without one (here ARP and ICMP) stops it (the
  // table holds no flow, far from the 4,096 that keep the pass on).
  const auto all = load_fixtures();
  Endpoint ep;
  ep.feed(fixture(all, "arp_request").bytes);
  EXPECT_FALSE(ep.stack.tcp().prefetch_pays());
  ep.feed(fixture(all, "tcp_syn_all_options").bytes);
  EXPECT_TRUE(ep.stack.tcp().prefetch_pays());
  ep.feed(fixture(all, "icmp_echo_request").bytes);
  EXPECT_FALSE(ep.stack.tcp().prefetch_pays());
  ep.feed(fixture(all, "tcp_data_segment").bytes);
  EXPECT_TRUE(ep.stack.tcp().prefetch_pays());
}

TEST(StackPool, ExhaustedBufferPoolIsCounted) {
  Endpoint ep;
  ep.dev.set_alloc_fails(true);
  const uint8_t payload[16] = {};
  EXPECT_FALSE(ep.stack.send_echo_request(kPeerIp, 1, 1, payload, 0));
  EXPECT_EQ(ep.stack.counters().tx_alloc_failed, 1u);
  const auto all = load_fixtures();
  ep.feed(fixture(all, "icmp_echo_request").bytes);  // needs a buffer for the ARP request
  EXPECT_EQ(ep.stack.counters().tx_alloc_failed, 2u);
}

TEST(StackIcmp, EchoWithIpOptionsIsAnsweredWithoutThem) {
  Endpoint ep;
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);
  const auto& req = fixture(all, "icmp_echo_record_route").bytes;
  auto sent = ep.feed(req);
  ASSERT_EQ(sent.size(), 1u);
  // The reply equals the reply to the same echo without options.
  std::vector<uint8_t> plain(req.begin(), req.begin() + 34);
  plain.insert(plain.end(), req.begin() + 14 + 40, req.end());
  plain[14] = 0x45;
  wire::store_be16(plain.data() + 16, uint16_t(plain.size() - 14));
  EXPECT_EQ(sent[0], expected_echo_reply(plain));
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackIpv4, SourcesThatAreNoSingleRemoteHostAreDropped) {
  // One stack throughout, a good source's echo before each bad one: the good
  // source the stack remembers (docs/performance.md, "Instructions") lets
  // only itself skip the check.
  Endpoint ep;
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);
  const auto& good = fixture(all, "icmp_echo_request").bytes;
  auto from = [&](uint32_t src) {
    auto req = good;
    uint8_t* ip = req.data() + 14;
    wire::store_be32(ip + 12, src);
    wire::store_be16(ip + 10, 0);
    wire::store_be16(ip + 10, wire::checksum(ip, 20));
    return req;
  };
  // 0.0.0.0 first, to a stack that has kept no good source yet (its "none").
  EXPECT_TRUE(ep.feed(from(0)).empty());
  EXPECT_EQ(ep.stack.counters().ipv4_bad_source, 1u);
  uint64_t dropped = 1;
  for (uint32_t src : {0x7f000001u, 0x00010203u, 0u, 0xf0000001u, 0x0a4d0002u, 0x0a4d00ffu,
                       0xe0000001u, 0xffffffffu}) {
    EXPECT_EQ(ep.feed(good).size(), 1u);
    const auto req = from(src);
    EXPECT_TRUE(ep.feed(req).empty()) << Ipv4Addr(src).str();
    EXPECT_EQ(ep.stack.counters().ipv4_bad_source, ++dropped) << Ipv4Addr(src).str();
    EXPECT_TRUE(ep.feed(req).empty()) << Ipv4Addr(src).str();  // again, after itself
    EXPECT_EQ(ep.stack.counters().ipv4_bad_source, ++dropped) << Ipv4Addr(src).str();
  }
  EXPECT_EQ(ep.feed(good).size(), 1u);
}

TEST(StackIpv4, UnicastInALinkBroadcastIsDropped) {
  Endpoint ep;
  const auto all = load_fixtures();
  ep.feed(fixture(all, "arp_request").bytes);
  EXPECT_TRUE(ep.feed(fixture(all, "ipv4_unicast_in_link_broadcast").bytes).empty());
  EXPECT_EQ(ep.stack.counters().ipv4_link_broadcast, 1u);
}

// A TCP segment in the form the one-pass parser takes (wire/ipv4_tcp.hh; its
// options: SACK, or NOP NOP timestamps) is dropped and counted for its
// addresses, and for a device's verdict, as any packet is.
TEST(StackIpv4, ACommonTcpSegmentIsDroppedForItsAddressesAndVerdicts) {
  const auto all = load_fixtures();
  const auto sack = fixture(all, "tcp_data_segment").bytes;
  auto ts = sack;
  ts[14 + 20 + 22] = wire::tcpopt::timestamps;  // NOP NOP SACK(10) -> NOP NOP TS(10)
  const uint16_t trusted = pktflag::rx_ip_csum_good | pktflag::rx_l4_csum_good;
  for (const auto& good : {sack, ts}) {
    Endpoint ep;
    ep.feed(fixture(all, "arp_request").bytes);
    auto with_ip = [&](size_t at, uint32_t v) {
      auto f = good;
      wire::store_be32(f.data() + 14 + at, v);
      return f;
    };
    const auto& c = ep.stack.counters();
    EXPECT_TRUE(ep.feed(with_ip(16, 0x0a4d0063), 0, trusted).empty());  // to 10.77.0.99
    EXPECT_EQ(c.ipv4_not_for_us, 1u);
    EXPECT_TRUE(ep.feed(with_ip(12, 0x7f000001), 0, trusted).empty());  // from 127.0.0.1
    EXPECT_EQ(c.ipv4_bad_source, 1u);
    auto broadcast = good;
    std::fill(broadcast.begin(), broadcast.begin() + 6, uint8_t(0xff));
    EXPECT_TRUE(ep.feed(broadcast, 0, trusted).empty());
    EXPECT_EQ(c.ipv4_link_broadcast, 1u);
    EXPECT_TRUE(ep.feed(good, 0, pktflag::rx_l4_csum_bad).empty());
    EXPECT_EQ(c.parse_error(wire::Error::tcp_bad_checksum), 1u);
    EXPECT_TRUE(ep.feed(good, 0, pktflag::rx_ip_csum_bad).empty());
    EXPECT_EQ(c.parse_error(wire::Error::ipv4_bad_checksum), 1u);
    // Unchanged, to a port with no listener: answered with a reset.
    const auto out = ep.feed(good, 0, trusted);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0][14 + 20 + 13] & wire::tcpflag::rst, wire::tcpflag::rst);
    EXPECT_EQ(c.tcp.tcp_rst_out, 1u);
    EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
  }
}

TEST(StackArp, OffLinkSendersAreAnsweredButNotLearned) {
  Endpoint ep;
  const auto all = load_fixtures();
  auto frame = fixture(all, "arp_request").bytes;
  wire::store_be32(frame.data() + 14 + 14, 0xc0000201);  // sender 192.0.2.1
  EXPECT_EQ(ep.feed(frame).size(), 1u);
  EXPECT_EQ(ep.stack.arp().size(), 0u);
}

TEST(StackArp, PriorityTaggedRequestGetsAnUntaggedReply) {
  Endpoint ep;
  const auto all = load_fixtures();
  const auto& req = fixture(all, "arp_request").bytes;
  std::vector<uint8_t> tagged(req.begin(), req.begin() + 12);
  const uint8_t tag[] = {0x81, 0x00, 0xa0, 0x00};
  tagged.insert(tagged.end(), tag, tag + 4);
  tagged.insert(tagged.end(), req.begin() + 12, req.end());
  auto sent = ep.feed(tagged);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent, ep.feed(req));  // the same bytes as the reply to the untagged request
}

TEST(StackLifetime, DestroyingTheStackFreesPacketsWaitingForArp) {
  MemDevice dev(kOurMac);
  {
    Stack st(dev, config());
    const auto all = load_fixtures();
    dev.inject(fixture(all, "icmp_echo_request").bytes);
    st.poll(0);
    EXPECT_EQ(dev.buffers_in_use(), 1u);  // the reply waits for ARP
  }
  EXPECT_EQ(dev.buffers_in_use(), 0u);
}

TEST(StackPool, OversizedEchoIsCounted) {
  Endpoint ep;
  std::vector<uint8_t> payload(1500);
  EXPECT_FALSE(ep.stack.send_echo_request(kPeerIp, 1, 1, payload, 0));
  EXPECT_EQ(ep.stack.counters().tx_too_big, 1u);
}

TEST(MemDeviceLifetime, WiredPeerDestroyedFirstTakesItsFramesBack) {
  auto a = std::make_unique<MemDevice>(kOurMac, 8);
  MemDevice b(kPeerMac, 8);
  a->wire_to(&b);
  b.wire_to(a.get());
  Packet p;
  ASSERT_TRUE(a->alloc(p));
  p.len = 60;
  a->send(p);
  a->flush(0);
  EXPECT_EQ(b.rx_pending(), 1u);
  a.reset();  // the frame belongs to a's pool
  EXPECT_EQ(b.rx_pending(), 0u);
  Packet q;
  EXPECT_EQ(b.rx_burst(&q, 1, 0), 0);
}

// UDP: a bound port's receiver gets its datagrams; a closed port answers
// with ICMP port unreachable quoting the datagram, at most so many a second
// per destination; datagrams go out with a valid checksum.
namespace {

struct Recorder final : UdpReceiver {
  void on_datagram(const Datagram& d, uint64_t) override {
    got.push_back(d);
    payloads.emplace_back(d.payload.begin(), d.payload.end());
  }
  std::vector<Datagram> got;
  std::vector<std::vector<uint8_t>> payloads;
};

// The IPv4 packet of an Ethernet frame (untagged), parsed with checksums verified.
wire::Ipv4Repr ip_of(const std::vector<uint8_t>& frame, std::span<const uint8_t>& l4) {
  wire::Ipv4Repr r;
  const wire::Ipv4View v({frame.data() + 14, frame.size() - 14});
  EXPECT_EQ(wire::Ipv4Repr::parse(v, r), wire::Error::ok);
  l4 = v.payload();
  return r;
}

TEST(StackUdp, ABoundPortReceivesItsDatagrams) {
  const auto all = load_fixtures();
  Endpoint ep;
  Recorder rx;
  ASSERT_TRUE(ep.stack.udp_bind(9, &rx));
  EXPECT_FALSE(ep.stack.udp_bind(9, &rx));  // taken
  EXPECT_FALSE(ep.stack.udp_bind(0, &rx));
  EXPECT_TRUE(ep.feed(fixture(all, "udp_datagram").bytes, 1).empty());
  ASSERT_EQ(rx.got.size(), 1u);
  EXPECT_EQ(rx.got[0].src, kPeerIp);
  EXPECT_EQ(rx.got[0].src_port, 5353);
  EXPECT_EQ(rx.got[0].dst_port, 9);
  EXPECT_EQ(std::string(rx.payloads[0].begin(), rx.payloads[0].end()), "hello");
  EXPECT_EQ(ep.stack.counters().udp_datagrams_in, 1u);
  EXPECT_EQ(ep.stack.counters().udp_no_listener, 0u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
  ep.stack.udp_unbind(9);
  ep.feed(fixture(all, "udp_datagram").bytes, 2);
  EXPECT_EQ(rx.got.size(), 1u);
  EXPECT_EQ(ep.stack.counters().udp_no_listener, 1u);
}

// With several cores, a core's own UDP ports are ones whose datagrams from
// the remote hash to it (docs/multicore.md), as its TCP ports are.
TEST(StackUdp, EphemeralPortsLandOnTheirCore) {
  const stack::FlowPlacement fp = stack::FlowPlacement::spread(2);
  for (uint16_t core : {0, 1}) {
    StackConfig c = config();
    c.tcp.placement = &fp;
    c.tcp.core = core;
    Endpoint ep(c);
    Recorder rx;
    std::set<uint16_t> ports;
    for (uint32_t i = 0; i < 20; ++i) {
      const uint16_t p = ep.stack.udp_bind_ephemeral(kPeerIp, 53, &rx, 1000);
      ASSERT_GE(p, 49152);
      EXPECT_EQ(fp.owner(kPeerIp, c.addr.addr, 53, p), core) << p;
      ports.insert(p);
    }
    EXPECT_EQ(ports.size(), 20u);  // each bind a port of its own
  }
  // Without placement (one core) the search takes the next free port.
  Endpoint one;
  Recorder rx;
  EXPECT_EQ(one.stack.udp_bind_ephemeral(kPeerIp, 53, &rx, 7), 49152 + 7);
  EXPECT_EQ(one.stack.udp_bind_ephemeral(kPeerIp, 53, &rx, 7), 49152 + 8);
}

TEST(StackUdp, AClosedPortAnswersPortUnreachableQuotingTheDatagram) {
  const auto all = load_fixtures();
  Endpoint ep;
  ep.feed(fixture(all, "arp_request").bytes);  // the peer's MAC
  const auto& dgram = fixture(all, "udp_datagram").bytes;
  const auto out = ep.feed(dgram, 1);
  ASSERT_EQ(out.size(), 1u);
  std::span<const uint8_t> l4;
  const wire::Ipv4Repr ip = ip_of(out[0], l4);
  EXPECT_EQ(ip.protocol, wire::ipproto::icmp);
  EXPECT_EQ(ip.src, Ipv4Addr::from_octets(10, 77, 0, 2));
  EXPECT_EQ(ip.dst, kPeerIp);
  wire::IcmpRepr ic;
  ASSERT_EQ(wire::IcmpRepr::parse(wire::IcmpView(l4), ic), wire::Error::ok);  // checksum verified
  EXPECT_EQ(ic.type, wire::icmptype::dest_unreachable);
  EXPECT_EQ(ic.code, 3);
  // The whole datagram is quoted: its IP header, UDP header and data.
  const std::vector<uint8_t> quoted(l4.begin() + 8, l4.end());
  EXPECT_EQ(quoted, std::vector<uint8_t>(dgram.begin() + 14, dgram.end()));
  EXPECT_EQ(ep.stack.counters().icmp_unreachable_out, 1u);
  EXPECT_EQ(ep.dev.buffers_in_use(), 0u);
}

TEST(StackUdp, PortUnreachableIsLimitedPerDestinationPerSecond) {
  const auto all = load_fixtures();
  StackConfig c = config();
  c.icmp_unreachable_per_sec = 3;
  Endpoint ep(c);
  ep.feed(fixture(all, "arp_request").bytes);
  size_t sent = 0;
  for (int i = 0; i < 5; ++i) sent += ep.feed(fixture(all, "udp_datagram").bytes, 10).size();
  EXPECT_EQ(sent, 3u);
  EXPECT_EQ(ep.stack.counters().icmp_unreachable_limited, 2u);
  EXPECT_EQ(ep.stack.counters().udp_no_listener, 5u);
  // The next second has a budget of its own.
  EXPECT_EQ(ep.feed(fixture(all, "udp_datagram").bytes, kSec + 10).size(), 1u);
  // Off: none at all.
  c.icmp_unreachable_per_sec = 0;
  Endpoint quiet(c);
  quiet.feed(fixture(all, "arp_request").bytes);
  EXPECT_TRUE(quiet.feed(fixture(all, "udp_datagram").bytes, 1).empty());
}

TEST(StackUdp, SentDatagramsCarryAValidChecksum) {
  const auto all = load_fixtures();
  Endpoint ep;
  ep.feed(fixture(all, "arp_request").bytes);
  const std::string q = "a query of some length";
  ASSERT_TRUE(ep.stack.send_udp(Ipv4Addr::from_octets(10, 77, 0, 2), kPeerIp, 40000, 53,
                                {reinterpret_cast<const uint8_t*>(q.data()), q.size()}, 1));
  ep.stack.poll(1);
  const auto out = ep.dev.take_sent();
  ASSERT_EQ(out.size(), 1u);
  std::span<const uint8_t> l4;
  const wire::Ipv4Repr ip = ip_of(out[0], l4);
  ASSERT_EQ(ip.protocol, wire::ipproto::udp);
  wire::UdpRepr u;
  ASSERT_EQ(wire::UdpRepr::parse(wire::UdpView(l4), ip.src, ip.dst, u), wire::Error::ok);
  EXPECT_EQ(u.src_port, 40000);
  EXPECT_EQ(u.dst_port, 53);
  EXPECT_EQ(std::string(u.payload.begin(), u.payload.end()), q);
  EXPECT_EQ(ep.stack.counters().udp_datagrams_out, 1u);
  // Too big for the MTU: refused and counted.
  const std::vector<uint8_t> big(1500, 0);
  EXPECT_FALSE(ep.stack.send_udp(Ipv4Addr::from_octets(10, 77, 0, 2), kPeerIp, 40000, 53, big, 2));
  EXPECT_EQ(ep.stack.counters().tx_too_big, 1u);
}

// Header templates (docs/performance.md): after the first packet to a host,
// the link and IPv4 headers are copied and patched. What goes out must be what
// writing them field by field gives, and must follow the ARP cache.
std::vector<std::vector<uint8_t>> send_udps(Endpoint& ep, int n, uint64_t now, size_t len = 20) {
  const std::vector<uint8_t> data(len, 0x5a);
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(ep.stack.send_udp(Ipv4Addr::from_octets(10, 77, 0, 2), kPeerIp, 40000, 53, data, now));
  ep.stack.poll(now);
  return ep.dev.take_sent();
}

TEST(StackHeaderTemplate, CopiedHeadersMatchWrittenOnesAndCountUp) {
  const auto all = load_fixtures();
  Endpoint ep;
  ep.feed(fixture(all, "arp_request").bytes);
  const auto out = send_udps(ep, 3, 1);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(ep.stack.counters().tx_headers_written, 1u);  // only the first
  uint16_t ident = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(i);
    std::span<const uint8_t> l4;
    const wire::Ipv4Repr ip = ip_of(out[i], l4);  // checksums verified
    EXPECT_EQ(0, std::memcmp(out[i].data(), kPeerMac.b.data(), 6));
    EXPECT_EQ(0, std::memcmp(out[i].data() + 6, kOurMac.b.data(), 6));
    EXPECT_EQ(ip.payload_len, 8u + 20u);
    EXPECT_TRUE(ip.dont_frag);
    EXPECT_EQ(ip.ttl, 64);
    if (i) {
      EXPECT_EQ(ip.ident, uint16_t(ident + 1));
    }
    ident = ip.ident;
    // Byte for byte what the first (written) frame has, but for the identification and checksum.
    std::vector<uint8_t> a = out[0], b = out[i];
    for (auto* f : {&a, &b}) {
      wire::store_be16(f->data() + 14 + 4, 0);
      wire::store_be16(f->data() + 14 + 10, 0);
    }
    EXPECT_EQ(a, b);
  }
  // Another length and another protocol (no don't-fragment bit): right as well.
  const auto longer = send_udps(ep, 1, 2, 300);
  ASSERT_EQ(longer.size(), 1u);
  std::span<const uint8_t> l4;
  EXPECT_EQ(ip_of(longer[0], l4).payload_len, 8u + 300u);
  const uint8_t ping[8] = {};
  ASSERT_TRUE(ep.stack.send_echo_request(kPeerIp, 7, 1, ping, 3));
  ep.stack.poll(3);
  const auto echo = ep.dev.take_sent();
  ASSERT_EQ(echo.size(), 1u);
  const wire::Ipv4Repr e = ip_of(echo[0], l4);
  EXPECT_EQ(e.protocol, wire::ipproto::icmp);
  EXPECT_FALSE(e.dont_frag);
  EXPECT_EQ(ep.stack.counters().tx_headers_written, 2u);
  // The echo took the slot of this source and destination: UDP writes its own again.
  const auto again = send_udps(ep, 2, 4);
  ASSERT_EQ(again.size(), 2u);
  for (const auto& f : again) {
    const wire::Ipv4Repr u = ip_of(f, l4);
    EXPECT_EQ(u.protocol, wire::ipproto::udp);
    EXPECT_TRUE(u.dont_frag);
  }
  EXPECT_EQ(ep.stack.counters().tx_headers_written, 3u);
}

TEST(StackHeaderTemplate, OffLinkPacketsCopyTheGatewaysMac) {
  StackConfig c = config();
  c.gateway = kPeerIp;
  Endpoint ep(c);
  const Ipv4Addr far = Ipv4Addr::from_octets(192, 0, 2, 1);
  const std::vector<uint8_t> data(10, 1);
  ASSERT_TRUE(ep.stack.send_udp(Ipv4Addr::from_octets(10, 77, 0, 2), far, 40000, 53, data, 1));
  ep.stack.poll(1);
  ASSERT_EQ(ep.dev.take_sent().size(), 1u);  // the ARP request for the gateway
  ASSERT_EQ(ep.feed(arp_reply_from_peer(), 2).size(), 1u);  // the datagram that waited
  EXPECT_EQ(ep.stack.counters().tx_headers_written, 1u);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(ep.stack.send_udp(Ipv4Addr::from_octets(10, 77, 0, 2), far, 40000, 53, data, 3));
  ep.stack.poll(3);
  const auto out = ep.dev.take_sent();
  ASSERT_EQ(out.size(), 3u);
  for (const auto& f : out) {
    std::span<const uint8_t> l4;
    EXPECT_EQ(0, std::memcmp(f.data(), kPeerMac.b.data(), 6));
    EXPECT_EQ(ip_of(f, l4).dst, far);
  }
  // The first after resolution is written (a packet that waited for ARP makes
  // no template); the next two copy it.
  EXPECT_EQ(ep.stack.counters().tx_headers_written, 2u);
}

TEST(StackHeaderTemplate, FollowsANewMacAndExpiresWithTheMapping) {
  const auto all = load_fixtures();
  StackConfig c = config();
  c.arp.reachable_ns = 10 * kSec;
  Endpoint ep(c);
  ep.feed(fixture(all, "arp_request").bytes, 0);
  ASSERT_EQ(send_udps(ep, 2, 1).size(), 2u);
  // The peer moves to another MAC (a reply, as after a failover).
  const MacAddr moved = *MacAddr::parse("02:00:00:00:00:09");
  auto reply = arp_reply_from_peer();
  std::memcpy(reply.data() + 6, moved.b.data(), 6);
  std::memcpy(reply.data() + 22, moved.b.data(), 6);
  ep.feed(reply, 2 * kSec);
  auto out = send_udps(ep, 2, 3 * kSec);
  ASSERT_EQ(out.size(), 2u);
  for (const auto& f : out) EXPECT_EQ(0, std::memcmp(f.data(), moved.b.data(), 6));
  // The mapping expires 10 s after it was learned: what follows asks again
  // instead of going to the MAC the template holds.
  out = send_udps(ep, 1, 13 * kSec);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(wire::load_be16(out[0].data() + 12), 0x0806);
  EXPECT_EQ(ep.stack.counters().arp_requests_out, 1u);
}

TEST(StackHeaderTemplate, ChecksumLeftToTheDeviceAndTaggedFrames) {
  const auto all = load_fixtures();
  {
    Endpoint ep;
    ep.dev.set_in_process(true);  // IPv4 checksum offload
    ep.feed(fixture(all, "arp_request").bytes);
    const auto out = send_udps(ep, 2, 1);
    ASSERT_EQ(out.size(), 2u);
    for (const auto& f : out) EXPECT_EQ(wire::load_be16(f.data() + 14 + 10), 0);
    EXPECT_EQ(ep.stack.counters().tx_headers_written, 1u);
  }
  Endpoint ep(config(5));
  auto arp = fixture(all, "arp_request").bytes;
  std::vector<uint8_t> tagged(arp.begin(), arp.begin() + 12);
  const uint8_t tag[] = {0x81, 0x00, 0x00, 0x05};
  tagged.insert(tagged.end(), tag, tag + 4);
  tagged.insert(tagged.end(), arp.begin() + 12, arp.end());
  ep.feed(tagged);
  const auto out = send_udps(ep, 3, 1);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(ep.stack.counters().tx_headers_written, 1u);
  for (const auto& f : out) {
    EXPECT_EQ(wire::load_be16(f.data() + 12), 0x8100);
    EXPECT_EQ(wire::load_be16(f.data() + 14), 5);
    EXPECT_EQ(wire::load_be16(f.data() + 16), 0x0800);
    wire::Ipv4Repr r;
    EXPECT_EQ(wire::Ipv4Repr::parse(wire::Ipv4View({f.data() + 18, f.size() - 18}), r), wire::Error::ok);
    EXPECT_EQ(r.dst, kPeerIp);
    EXPECT_EQ(r.payload_len, 28u);
  }
}

}  // namespace
