#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fixtures.hh"
#include "wire/arp.hh"
#include "wire/bytes.hh"
#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/ipv4_tcp.hh"
#include "wire/tcp.hh"
#include "wire/udp.hh"

using namespace ts::wire;
using ts::test::fixture;
using ts::test::load_fixtures;

namespace {

const auto kPeer = Ipv4Addr::from_octets(10, 77, 0, 1);
const auto kUs = Ipv4Addr::from_octets(10, 77, 0, 2);

// Parses a frame down to the deepest layer the wire code knows, returning the
// first error (the stack does the same, plus delivery decisions).
Error parse_all(std::span<const uint8_t> frame) {
  EthernetRepr eth;
  if (Error e = EthernetRepr::parse(frame, eth); e != Error::ok) return e;
  auto l3 = frame.subspan(eth.header_len());
  if (eth.ethertype == ethertype::arp) {
    ArpRepr a;
    return ArpRepr::parse(l3, a);
  }
  if (eth.ethertype != ethertype::ipv4) return Error::ok;
  Ipv4View v(l3);
  Ipv4Repr ip;
  if (Error e = Ipv4Repr::parse(v, ip); e != Error::ok) return e;
  auto l4 = v.payload();
  switch (ip.protocol) {
    case ipproto::icmp: {
      IcmpRepr r;
      return IcmpRepr::parse(IcmpView(l4), r);
    }
    case ipproto::udp: {
      UdpRepr r;
      return UdpRepr::parse(UdpView(l4), ip.src, ip.dst, r);
    }
    case ipproto::tcp: {
      TcpRepr r;
      return TcpRepr::parse(TcpView(l4), ip.src, ip.dst, r);
    }
  }
  return Error::ok;
}

}  // namespace

TEST(WireFixtures, EveryMalformedFrameGetsItsOwnReason) {
  int malformed = 0;
  for (const auto& f : load_fixtures()) {
    const Error e = parse_all(f.bytes);
    bool is_parse_reason = false;
    for (unsigned i = 1; i < kErrorCount; ++i)
      if (f.counter == error_name(Error(i))) is_parse_reason = true;
    if (is_parse_reason) {
      ++malformed;
      EXPECT_STREQ(error_name(e), f.counter.c_str()) << f.name;
    } else {
      EXPECT_EQ(e, Error::ok) << f.name << ": " << error_name(e);
    }
  }
  // Every parse error reason has at least one fixture.
  for (unsigned i = 1; i < kErrorCount; ++i) {
    bool covered = false;
    for (const auto& f : load_fixtures()) covered |= f.counter == error_name(Error(i));
    EXPECT_TRUE(covered) << "no fixture for " << error_name(Error(i));
  }
  EXPECT_GE(malformed, int(kErrorCount) - 1);
}

// How many bytes of `frame` its layers claim: the Ethernet header and, for
// ARP, the 28-byte packet or, for IPv4, the total length; 0 when the frame
// does not parse that far.
static size_t claimed_length(std::span<const uint8_t> frame) {
  EthernetRepr eth;
  if (EthernetRepr::parse(frame, eth) != Error::ok) return 0;
  if (eth.ethertype == ethertype::arp) return eth.header_len() + 28;
  if (eth.ethertype != ethertype::ipv4) return eth.header_len();
  Ipv4View v(frame.subspan(eth.header_len()));
  if (v.check() != Error::ok) return 0;
  return eth.header_len() + v.total_len();
}

static bool is_length_error(Error e) {
  switch (e) {
    case Error::eth_truncated:
    case Error::vlan_truncated:
    case Error::arp_truncated:
    case Error::ipv4_truncated:
    case Error::ipv4_len_beyond_buffer:
    case Error::icmp_truncated:
    case Error::udp_truncated:
    case Error::udp_bad_length:
    case Error::tcp_truncated:
    case Error::tcp_offset_beyond_packet:
      return true;
    default:
      return false;
  }
}

TEST(WireFixtures, EveryCutShortFrameIsRefusedForItsLength) {
  // Every prefix of every well-formed fixture, in a buffer of exactly its
  // size: one that ends before what the frame's layers claim is refused with
  // a length error (never parsed from bytes beyond it, which the ASan build
  // of this suite also checks), and one that keeps all of it parses as the
  // whole frame does (what follows is Ethernet padding).
  size_t frames = 0, cuts = 0;
  for (const auto& f : load_fixtures()) {
    if (parse_all(f.bytes) != Error::ok) continue;
    const size_t claimed = claimed_length(f.bytes);
    ASSERT_GT(claimed, 0u) << f.name;
    ASSERT_LE(claimed, f.bytes.size()) << f.name;
    ++frames;
    for (size_t n = 0; n < f.bytes.size(); ++n) {
      std::vector<uint8_t> copy(f.bytes.begin(), f.bytes.begin() + long(n));
      const Error e = parse_all(copy);
      if (n < claimed) {
        ++cuts;
        EXPECT_TRUE(is_length_error(e)) << f.name << " cut to " << n << ": " << error_name(e);
      } else {
        EXPECT_EQ(e, Error::ok) << f.name << " cut to " << n << ": " << error_name(e);
      }
    }
  }
  EXPECT_GE(frames, 5u);
  EXPECT_GT(cuts, 100u);
}

TEST(Ethernet, VlanTag) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "vlan_other_id");
  EthernetRepr e;
  ASSERT_EQ(EthernetRepr::parse(f.bytes, e), Error::ok);
  EXPECT_TRUE(e.vlan);
  EXPECT_EQ(e.vlan_id, 5);
  EXPECT_EQ(e.ethertype, ethertype::ipv4);
  EXPECT_EQ(e.header_len(), 18u);
  uint8_t out[18];
  e.emit(out);
  EXPECT_EQ(0, std::memcmp(out, f.bytes.data(), 18));
}

TEST(Arp, ParseAndEmitRoundTrip) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "arp_request");
  ArpRepr a;
  ASSERT_EQ(ArpRepr::parse(std::span(f.bytes).subspan(14), a), Error::ok);
  EXPECT_EQ(a.op, ArpOp::request);
  EXPECT_EQ(a.sender_ip, kPeer);
  EXPECT_EQ(a.target_ip, kUs);
  EXPECT_EQ(a.sender_mac.str(), "02:00:00:00:00:01");
  uint8_t out[kArpLen];
  a.emit(out);
  EXPECT_EQ(0, std::memcmp(out, f.bytes.data() + 14, kArpLen));
}

TEST(Ipv4, ParseFieldsAndEmitIdentically) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "icmp_echo_request");
  Ipv4View v(std::span(f.bytes).subspan(14));
  Ipv4Repr r;
  ASSERT_EQ(Ipv4Repr::parse(v, r), Error::ok);
  EXPECT_EQ(r.src, kPeer);
  EXPECT_EQ(r.dst, kUs);
  EXPECT_EQ(r.protocol, ipproto::icmp);
  EXPECT_EQ(r.ttl, 64);
  EXPECT_EQ(r.ident, 0x1234);
  EXPECT_TRUE(r.dont_frag);
  EXPECT_EQ(r.payload_len, 64);
  uint8_t out[20];
  r.emit(out);
  EXPECT_EQ(0, std::memcmp(out, f.bytes.data() + 14, 20));
  // Offload leaves the checksum for the device.
  r.emit(out, CsumFill::offload);
  EXPECT_EQ(load_be16(out + 10), 0);
}

TEST(Ipv4, PaddedFrameIsTrimmedToTotalLength) {
  const auto all = load_fixtures();
  auto bytes = fixture(all, "udp_datagram").bytes;
  const size_t ip_len = bytes.size() - 14;
  bytes.resize(bytes.size() + 20, 0);  // Ethernet padding
  Ipv4View v(std::span<const uint8_t>(bytes).subspan(14));
  Ipv4Repr r;
  ASSERT_EQ(Ipv4Repr::parse(v, r), Error::ok);
  EXPECT_EQ(v.payload().size(), ip_len - 20);
}

TEST(Ipv4, TrustedChecksumIsNotVerified) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "ipv4_bad_checksum");
  Ipv4Repr r;
  EXPECT_EQ(Ipv4Repr::parse(Ipv4View(std::span(f.bytes).subspan(14)), r, CsumCheck::trust),
            Error::ok);
}

TEST(Icmp, EchoToReplyInPlace) {
  const auto all = load_fixtures();
  auto bytes = fixture(all, "icmp_echo_request").bytes;
  std::span<uint8_t> msg(bytes.data() + 34, bytes.size() - 34);
  icmp_echo_request_to_reply(msg);
  IcmpRepr r;
  ASSERT_EQ(IcmpRepr::parse(IcmpView(msg), r), Error::ok);
  EXPECT_EQ(r.type, icmptype::echo_reply);
  EXPECT_EQ(r.ident, 0x4242);
  EXPECT_EQ(r.seq, 1);
  ASSERT_EQ(r.payload.size(), 56u);
  for (size_t i = 0; i < 56; ++i) EXPECT_EQ(r.payload[i], i);
}

TEST(Icmp, EmitMatchesFixture) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "icmp_echo_request");
  std::vector<uint8_t> msg(f.bytes.begin() + 34, f.bytes.end());
  std::vector<uint8_t> out = msg;
  std::memset(out.data(), 0, 8);
  IcmpRepr{icmptype::echo_request, 0, 0x4242, 1, std::span(msg).subspan(8)}.emit_header(out);
  EXPECT_EQ(out, msg);
}

TEST(Udp, ParseAndEmit) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "udp_datagram");
  std::span<const uint8_t> d(f.bytes.data() + 34, f.bytes.size() - 34);
  UdpRepr u;
  ASSERT_EQ(UdpRepr::parse(UdpView(d), kPeer, kUs, u), Error::ok);
  EXPECT_EQ(u.src_port, 5353);
  EXPECT_EQ(u.dst_port, 9);
  EXPECT_EQ(std::string(u.payload.begin(), u.payload.end()), "hello");
  std::vector<uint8_t> out(d.begin(), d.end());
  std::memset(out.data(), 0, 8);
  u.emit_header(out, kPeer, kUs);
  EXPECT_EQ(out, std::vector<uint8_t>(d.begin(), d.end()));
}

TEST(Udp, ZeroChecksumMeansNone) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "udp_no_checksum");
  UdpRepr u;
  EXPECT_EQ(UdpRepr::parse(UdpView(std::span(f.bytes).subspan(34)), kPeer, kUs, u), Error::ok);
}

TEST(Tcp, SynOptionsParsedExactly) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "tcp_syn_all_options");
  TcpRepr t;
  ASSERT_EQ(TcpRepr::parse(TcpView(std::span(f.bytes).subspan(34)), kPeer, kUs, t), Error::ok);
  EXPECT_EQ(t.src_port, 40000);
  EXPECT_EQ(t.dst_port, 80);
  EXPECT_EQ(t.seq, 1000u);
  EXPECT_EQ(t.flags, tcpflag::syn);
  EXPECT_EQ(t.window, 64240);
  const TcpOptions& o = t.options;
  EXPECT_TRUE(o.has_mss);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_TRUE(o.has_timestamps);
  EXPECT_EQ(o.tsval, 0x01020304u);
  EXPECT_EQ(o.tsecr, 0u);
  EXPECT_TRUE(o.has_wscale);
  EXPECT_EQ(o.wscale, 7);
  EXPECT_TRUE(o.has_fastopen);
  ASSERT_EQ(o.fastopen_cookie_len, 8);
  EXPECT_EQ(o.fastopen_cookie[0], 0xa1);
  EXPECT_EQ(o.fastopen_cookie[7], 0xa8);
  EXPECT_EQ(o.unknown, 1);
  EXPECT_TRUE(t.payload.empty());
}

TEST(Tcp, SackBlocksAndPayload) {
  const auto all = load_fixtures();
  const auto& f = fixture(all, "tcp_data_segment");
  TcpRepr t;
  ASSERT_EQ(TcpRepr::parse(TcpView(std::span(f.bytes).subspan(34)), kPeer, kUs, t), Error::ok);
  ASSERT_EQ(t.options.sack_count, 1);
  EXPECT_EQ(t.options.sack[0], (SackBlock{5000, 6000}));
  EXPECT_EQ(t.flags, tcpflag::psh | tcpflag::ack);
  EXPECT_EQ(t.payload.size(), 100u);
}

TEST(Tcp, OptionLayoutOfASyn) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.tsval = 0x11223344;
  o.tsecr = 0;
  o.has_wscale = true;
  o.wscale = 9;
  uint8_t buf[40];
  ASSERT_EQ(o.len(), 20u);
  ASSERT_EQ(o.emit(buf), 20u);
  const uint8_t want[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22,
                          0x33, 0x44, 0, 0, 0, 0, 1, 3, 3, 9};
  EXPECT_EQ(0, std::memcmp(buf, want, sizeof want));
  TcpOptions back;
  ASSERT_EQ(TcpOptions::parse({buf, 20}, back), Error::ok);
  EXPECT_EQ(back.mss, 1460);
  EXPECT_EQ(back.wscale, 9);
  EXPECT_EQ(back.tsval, 0x11223344u);
  EXPECT_TRUE(back.sack_permitted);
}

TEST(Tcp, SackBlocksAreCutToTheOptionSpace) {
  TcpOptions o;
  o.has_timestamps = true;
  o.sack_count = 4;
  for (uint32_t i = 0; i < 4; ++i) o.sack[i] = {i * 1000, i * 1000 + 500};
  // 12 bytes of timestamps leave room for three blocks (RFC 2018 3).
  uint8_t buf[40];
  ASSERT_EQ(o.emit(buf), 40u);
  TcpOptions back;
  ASSERT_EQ(TcpOptions::parse({buf, 40}, back), Error::ok);
  ASSERT_EQ(back.sack_count, 3);
  EXPECT_EQ(back.sack[0], o.sack[0]);
  EXPECT_EQ(back.sack[2], o.sack[2]);
  o.has_timestamps = false;
  ASSERT_EQ(o.emit(buf), 36u);
  ASSERT_EQ(TcpOptions::parse({buf, 36}, back), Error::ok);
  EXPECT_EQ(back.sack_count, 4);
}

TEST(Tcp, OptionsLengthIsWhatTheyWrite) {
  // len() counts (without writing) what emit() writes, for every mix of
  // options: each kind on or off, cookies of every length, 0 to 4 SACK blocks
  // (cut to the space left, as emit() cuts them).
  for (unsigned kinds = 0; kinds < 32; ++kinds)
    for (uint8_t cookie = 0; cookie <= kMaxFastOpenCookie; ++cookie)
      for (uint8_t blocks = 0; blocks <= kMaxSackBlocks; ++blocks) {
        TcpOptions o;
        o.has_mss = kinds & 1;
        o.mss = 1460;
        o.has_timestamps = kinds & 2;
        o.tsval = 7;
        o.tsecr = 9;
        o.sack_permitted = kinds & 4;
        o.has_wscale = kinds & 8;
        o.wscale = 7;
        o.has_fastopen = kinds & 16;
        o.fastopen_cookie_len = cookie;
        for (uint8_t i = 0; i < cookie; ++i) o.fastopen_cookie[i] = i;
        o.sack_count = blocks;
        for (uint32_t i = 0; i < blocks; ++i) o.sack[i] = {i * 100, i * 100 + 50};
        uint8_t buf[40];
        const size_t n = o.emit(buf);
        EXPECT_EQ(o.len(), n) << "kinds " << kinds << ", cookie " << int(cookie) << ", blocks "
                              << int(blocks);
        EXPECT_EQ(n % 4, 0u);
      }
}

TEST(Tcp, FastOpenCookieRequestAndCookie) {
  TcpOptions o;
  o.has_mss = true;
  o.mss = 1400;
  o.has_fastopen = true;  // an empty option asks for a cookie
  uint8_t buf[40];
  size_t n = o.emit(buf);
  ASSERT_EQ(n % 4, 0u);
  TcpOptions back;
  ASSERT_EQ(TcpOptions::parse({buf, n}, back), Error::ok);
  EXPECT_TRUE(back.has_fastopen);
  EXPECT_EQ(back.fastopen_cookie_len, 0);
  o.fastopen_cookie_len = 16;
  for (int i = 0; i < 16; ++i) o.fastopen_cookie[i] = uint8_t(i + 1);
  n = o.emit(buf);
  ASSERT_EQ(TcpOptions::parse({buf, n}, back), Error::ok);
  EXPECT_EQ(back.fastopen_cookie_len, 16);
  EXPECT_EQ(back.fastopen_cookie[15], 16);
  // Cookies of 1-3 or more than 16 bytes are invalid (RFC 7413 4.1.1).
  const uint8_t short_cookie[] = {34, 4, 1, 2};
  EXPECT_EQ(TcpOptions::parse(short_cookie, back), Error::tcp_option_bad_length);
}

TEST(Tcp, OptionErrors) {
  TcpOptions o;
  const uint8_t eol_stops[] = {2, 4, 1, 0, 0, 0xff, 0xff, 0xff};  // garbage after EOL is ignored
  EXPECT_EQ(TcpOptions::parse(eol_stops, o), Error::ok);
  EXPECT_EQ(o.mss, 256);
  const uint8_t ws_bad[] = {3, 4, 7, 0};
  EXPECT_EQ(TcpOptions::parse(ws_bad, o), Error::tcp_option_bad_length);
  const uint8_t ts_bad[] = {8, 8, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(TcpOptions::parse(ts_bad, o), Error::tcp_option_bad_length);
  const uint8_t unknown_overrun[] = {200, 10, 0, 0};
  EXPECT_EQ(TcpOptions::parse(unknown_overrun, o), Error::tcp_option_overrun);
}

TEST(Tcp, EmitWholeSegmentRoundTrip) {
  TcpRepr t;
  t.src_port = 80;
  t.dst_port = 40000;
  t.seq = 0xfffffff0;  // near the wrap
  t.ack = 1001;
  t.flags = tcpflag::syn | tcpflag::ack;
  t.window = 65535;
  t.options.has_mss = true;
  t.options.mss = 1460;
  const char body[] = "payload!";
  std::vector<uint8_t> seg(t.header_len() + 8);
  std::memcpy(seg.data() + t.header_len(), body, 8);
  t.emit_header(seg, kUs, kPeer);
  TcpRepr back;
  ASSERT_EQ(TcpRepr::parse(TcpView(seg), kUs, kPeer, back), Error::ok);
  EXPECT_EQ(back.seq, t.seq);
  EXPECT_EQ(back.ack, t.ack);
  EXPECT_EQ(back.flags, t.flags);
  EXPECT_EQ(back.options.mss, 1460);
  EXPECT_EQ(std::string(back.payload.begin(), back.payload.end()), "payload!");
  // Another address in the pseudo-header must fail the checksum.
  EXPECT_EQ(TcpRepr::parse(TcpView(seg), Ipv4Addr::from_octets(10, 77, 0, 3), kPeer, back),
            Error::tcp_bad_checksum);
}

TEST(Icmp, ReplyToAnAllZeroEchoKeepsAValidChecksum) {
  // Found by fuzz_icmp: type 8 and nothing else, so the reply's data sums to +0
  // and the incremental update alone would give 0x0000 instead of 0xffff.
  std::vector<uint8_t> msg = {0x08, 0x00, 0xf7, 0xff, 0, 0, 0, 0};
  ASSERT_EQ(ones_sum(msg.data(), msg.size()), 0xffff);
  icmp_echo_request_to_reply(msg);
  EXPECT_EQ(msg[0], 0);
  EXPECT_EQ(load_be16(&msg[2]), 0xffff);
  EXPECT_EQ(ones_sum(msg.data(), msg.size()), 0xffff);
}

TEST(Ethernet, VlanDropEligibleBitSurvivesARoundTrip) {
  // Found by fuzz_ethernet: the DEI bit of the tag was lost on emit.
  const uint8_t frame[] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x81, 0x00, 0x3a, 0x00,
                           0x12, 0x34};
  EthernetRepr e;
  ASSERT_EQ(EthernetRepr::parse(frame, e), Error::ok);
  EXPECT_TRUE(e.vlan_dei);
  EXPECT_EQ(e.vlan_priority, 1);
  EXPECT_EQ(e.vlan_id, 0xa00);
  uint8_t out[18];
  e.emit(out);
  EXPECT_EQ(0, std::memcmp(out, frame, 18));
}

TEST(Tcp, OptionParserBoundsItsArraysWhateverTheSpan) {
  // TcpOptions::parse is public: a span longer than the 40 bytes a header can
  // carry must still not let a SACK option claim more than four blocks.
  std::vector<uint8_t> opts(260, 0);
  opts[0] = tcpopt::sack;
  opts[1] = 250;
  TcpOptions o;
  EXPECT_EQ(TcpOptions::parse(opts, o), Error::tcp_option_bad_length);
  TcpOptions big;
  big.has_fastopen = true;
  big.fastopen_cookie_len = 200;  // out of range: emitted as 16 bytes
  uint8_t buf[40];
  const size_t n = big.emit(buf);
  ASSERT_EQ(TcpOptions::parse({buf, n}, o), Error::ok);
  EXPECT_EQ(o.fastopen_cookie_len, 16);
}

// NOP, NOP, timestamps (the layout of nearly every segment) is read by a
// shortcut; it must agree with the general loop, which reads the same option
// in another layout, and leave malformed variants to the loop's checks.
TEST(TcpOptions, TheTimestampShortcutAgreesWithTheGeneralParse) {
  const uint8_t usual[12] = {1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04};
  const uint8_t other[12] = {8, 10, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 1, 0};
  TcpOptions a, b;
  ASSERT_EQ(TcpOptions::parse(usual, a), Error::ok);
  ASSERT_EQ(TcpOptions::parse(other, b), Error::ok);
  EXPECT_TRUE(a.has_timestamps);
  EXPECT_EQ(a.tsval, 0xdeadbeefu);
  EXPECT_EQ(a.tsecr, 0x01020304u);
  EXPECT_EQ(a.tsval, b.tsval);
  EXPECT_EQ(a.tsecr, b.tsecr);
  EXPECT_FALSE(a.has_mss || a.has_wscale || a.sack_permitted || a.sack_count || a.has_fastopen);
  uint8_t bad[12];
  std::memcpy(bad, usual, sizeof bad);
  bad[3] = 9;  // a timestamps option of the wrong length
  TcpOptions c;
  EXPECT_EQ(TcpOptions::parse(bad, c), Error::tcp_option_bad_length);
}

// The SYN layouts the parser reads by a shortcut (MSS; SACK-permitted or two
// NOPs, then timestamps; NOP, window scale) give what the general parse gives
// for the same options in another order, and a wrong length in any of them
// still goes to the general parse and its error.
TEST(TcpOptions, TheSynShortcutAgreesWithTheGeneralParse) {
  for (bool sack_ok : {true, false}) {
    const uint8_t usual[20] = {2, 4, 0x05, 0xb4, uint8_t(sack_ok ? 4 : 1), uint8_t(sack_ok ? 2 : 1),
                               8, 10, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 1, 3, 3, 7};
    // The same options, the general parse's way: window scale first, then
    // timestamps, SACK-permitted and MSS.
    uint8_t other[24] = {1, 3, 3, 7, 8, 10, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04,
                         1, 1, 4, 2, 2, 4, 0x05, 0xb4, 0, 0};
    if (!sack_ok) other[16] = other[17] = 1;
    TcpOptions a, b;
    ASSERT_EQ(TcpOptions::parse(usual, a), Error::ok);
    ASSERT_EQ(TcpOptions::parse(other, b), Error::ok);
    EXPECT_TRUE(a.has_mss && a.has_wscale && a.has_timestamps);
    EXPECT_EQ(a.mss, 1460u);
    EXPECT_EQ(a.wscale, 7u);
    EXPECT_EQ(a.tsval, 0xdeadbeefu);
    EXPECT_EQ(a.tsecr, 0x01020304u);
    EXPECT_EQ(a.sack_permitted, sack_ok);
    EXPECT_TRUE(a == b);
    EXPECT_FALSE(a.sack_count || a.has_fastopen || a.unknown);
    // The segment our SYN writer makes is read back by the shortcut.
    uint8_t mine[kTcpMaxOptionsLen];
    ASSERT_EQ(a.emit(mine), 20u);
    EXPECT_EQ(std::memcmp(mine, usual, 20), 0);
    for (size_t at : {size_t(1), size_t(5), size_t(7), size_t(18)}) {
      uint8_t bad[20];
      std::memcpy(bad, usual, sizeof bad);
      bad[at] = uint8_t(bad[at] + 1);  // a length one too long
      TcpOptions c;
      EXPECT_NE(TcpOptions::parse(bad, c), Error::ok) << "byte " << at;
    }
  }
}

namespace {

// An IPv4 packet carrying a TCP segment, both checksums right; with
// `ip_options`, four bytes of them (NOP, NOP, NOP, end of list).
std::vector<uint8_t> ipv4_tcp_packet(const TcpRepr& t, size_t payload, size_t padding,
                                     bool ip_options) {
  Ipv4Repr ip;
  ip.src = kPeer;
  ip.dst = kUs;
  ip.protocol = ipproto::tcp;
  ip.ttl = 61;
  ip.tos = 0x10;
  ip.ident = 0xbeef;
  ip.payload_len = uint16_t(t.header_len() + payload);
  std::vector<uint8_t> b(kIpv4HeaderLen + ip.payload_len + padding, 0);
  ip.emit({b.data(), kIpv4HeaderLen});
  for (size_t i = 0; i < payload; ++i) b[kIpv4HeaderLen + t.header_len() + i] = uint8_t(i * 7 + 1);
  t.emit_header({b.data() + kIpv4HeaderLen, ip.payload_len}, ip.src, ip.dst);
  if (ip_options) {
    const uint8_t opts[4] = {1, 1, 1, 0};
    b.insert(b.begin() + kIpv4HeaderLen, opts, opts + 4);
    b[0] = 0x46;
    store_be16(&b[2], uint16_t(load_be16(&b[2]) + 4));
    store_be16(&b[10], 0);
    store_be16(&b[10], checksum(b.data(), 24));
  }
  return b;
}

// What the general parsers make of `b`, as the stack runs them.
bool general_parse(std::span<const uint8_t> b, CsumCheck ci, CsumCheck ct, Ipv4Repr& ip,
                   TcpRepr& t) {
  Ipv4View v(b);
  if (Ipv4Repr::parse(v, ip, ci) != Error::ok || ip.protocol != ipproto::tcp) return false;
  return TcpRepr::parse(TcpView(v.payload()), ip.src, ip.dst, t, ct) == Error::ok;
}

void expect_same(const Ipv4Repr& a, const Ipv4Repr& b, const TcpRepr& x, const TcpRepr& y) {
  EXPECT_TRUE(a.src == b.src && a.dst == b.dst && a.protocol == b.protocol && a.ttl == b.ttl &&
              a.tos == b.tos && a.ident == b.ident && a.dont_frag == b.dont_frag &&
              a.payload_len == b.payload_len);
  EXPECT_TRUE(x.src_port == y.src_port && x.dst_port == y.dst_port && x.seq == y.seq &&
              x.ack == y.ack && x.flags == y.flags && x.window == y.window &&
              x.urgent == y.urgent && x.seg_size == y.seg_size);
  EXPECT_TRUE(x.options == y.options);
  EXPECT_TRUE(x.payload.data() == y.payload.data() && x.payload.size() == y.payload.size());
}

}  // namespace

// The one-pass parser of the common segment (wire/ipv4_tcp.hh) takes the
// forms it is for (any TCP options: none, the timestamps' shortcut, SACK
// blocks, a SYN's), and then agrees with the general parsers field for
// field; it takes nothing the general parsers refuse, whatever byte of the
// headers is changed to whatever value, in either checksum mode; and it
// leaves a packet with IP options to them.
TEST(Ipv4Tcp, TheOnePassParseAgreesWithTheGeneralParsers) {
  std::vector<std::pair<TcpRepr, bool>> forms;  // and whether it has IP options
  TcpRepr t;
  t.src_port = 40001;
  t.dst_port = 80;
  t.seq = 0xfffffff0;
  t.ack = 12345;
  t.flags = tcpflag::ack | tcpflag::psh;
  t.window = 501;
  t.urgent = 3;
  forms.push_back({t, false});  // no options
  t.options.has_timestamps = true;
  t.options.tsval = 0xdeadbeef;
  t.options.tsecr = 0x01020304;
  forms.push_back({t, false});  // NOP, NOP, timestamps
  forms.push_back({t, true});   // the same with IP options
  TcpRepr sack = t;
  sack.options.sack_count = 1;
  sack.options.sack[0] = {100, 200};
  forms.push_back({sack, false});
  TcpRepr syn = t;
  syn.flags = tcpflag::syn;
  syn.options.has_mss = true;
  syn.options.mss = 1460;
  syn.options.has_wscale = true;
  syn.options.wscale = 7;
  syn.options.sack_permitted = true;
  forms.push_back({syn, false});
  // The IP and the TCP checksum modes apart (a device may verify one only).
  const std::pair<CsumCheck, CsumCheck> kModes[] = {{CsumCheck::verify, CsumCheck::verify},
                                                    {CsumCheck::verify, CsumCheck::trust},
                                                    {CsumCheck::trust, CsumCheck::verify},
                                                    {CsumCheck::trust, CsumCheck::trust}};
  size_t taken = 0, compared = 0;
  for (const auto& [form, ip_options] : forms)
    for (size_t payload : {size_t(0), size_t(1), size_t(64)})
      for (size_t padding : {size_t(0), size_t(6)}) {
        const std::vector<uint8_t> good = ipv4_tcp_packet(form, payload, padding, ip_options);
        const bool common = !ip_options;
        for (const auto& [ci, ct] : kModes) {
          Ipv4Repr ip, ip2;
          TcpRepr seg, seg2;
          ASSERT_TRUE(general_parse(good, ci, ct, ip2, seg2));
          ASSERT_EQ(parse_ipv4_tcp_common(good, ci, ct, ip, seg), common);
          if (common) {
            ++taken;
            expect_same(ip, ip2, seg, seg2);
          }
          // Every header byte (and the first payload byte), set to values
          // that break or keep each check.
          const size_t headers =
              std::min(good.size(), kIpv4HeaderLen + (ip_options ? 4 : 0) + form.header_len() + 1);
          for (size_t at = 0; at < headers; ++at)
            for (uint8_t v : {uint8_t(0), uint8_t(1), uint8_t(0x45), uint8_t(0x46), uint8_t(0x50),
                              uint8_t(0x80), uint8_t(0xff), uint8_t(good[at] ^ 0x20),
                              uint8_t(good[at] - 4), uint8_t(good[at] + 4)}) {
              std::vector<uint8_t> b = good;
              b[at] = v;
              const bool fast = parse_ipv4_tcp_common(b, ci, ct, ip, seg);
              const bool general = general_parse(b, ci, ct, ip2, seg2);
              if (fast) {
                ASSERT_TRUE(general) << "byte " << at << " = " << int(v);
                expect_same(ip, ip2, seg, seg2);
                ++compared;
              }
            }
          // Cut short anywhere: never taken by the one pass unless whole.
          for (size_t n = 0; n < good.size() - padding; ++n)
            EXPECT_FALSE(parse_ipv4_tcp_common(std::span(good).first(n), ci, ct, ip, seg)) << n;
        }
      }
  EXPECT_EQ(taken, 4u * 3 * 2 * 4);
  EXPECT_GT(compared, 1000u);  // changed packets that stayed valid were compared too
}
