// A stateless listener's segment rules (tcp_layer_stateless.cc,
// docs/stateless.md), segment by segment against the TCP layer alone.
#include <gtest/gtest.h>

#include <string>

#include "tcp_layer_harness.hh"

namespace ts::layer_harness {
namespace {

constexpr uint16_t kStatelessPort = 8080;

// Answers each request with `answer` bytes at once, or keeps it (pending),
// or finds it unfit.
struct Responder final : stack::StatelessApp {
  explicit Responder(TcpLayer& layer) : tcp(layer) {}
  Verdict on_request(const stack::StatelessTxn& x, std::span<const uint8_t> r) override {
    ++requests;
    last = x;
    request_len = r.size();
    if (verdict != Verdict::answered) return verdict;
    body.assign(answer, 'z');
    tcp::Payload p;
    p.part[p.n++] = body;
    tcp.stateless_answer(x, p, tcp.now());
    return verdict;
  }
  bool on_ack(const tcp::FourTuple&, uint32_t, uint32_t, bool) override {
    ++acks;
    return keeps;
  }
  TcpLayer& tcp;
  bool keeps = false;  // on_ack says the answer is kept
  int acks = 0;
  Verdict verdict = Verdict::answered;
  size_t answer = 100;
  int requests = 0;
  size_t request_len = 0;
  stack::StatelessTxn last;
  std::vector<uint8_t> body;
};

struct Bed {
  Bed() : responder(layer.tcp) {
    EXPECT_TRUE(layer.tcp.listen_stateless(kStatelessPort, &responder));
  }
  // The SYN; returns the cookie (our ISS).
  uint32_t syn(uint32_t irs, uint64_t now, uint16_t mss = 1460) {
    wire::TcpOptions o;
    o.has_mss = mss != 0;
    o.mss = mss;
    auto s = layer.feed(kStatelessPort, flag::syn, irs, 0, now, 0, kPeerPort, o);
    EXPECT_EQ(s.size(), 1u);
    if (s.empty()) return 0;
    EXPECT_EQ(s[0].flags, flag::syn | flag::ack);
    return s[0].seq;
  }
  Layer layer;
  Responder responder;
};

TEST(StatelessLayer, HandshakeAndRequestLeaveNoState) {
  Bed b;
  const uint32_t iss = b.syn(1000, 0);
  EXPECT_TRUE(b.layer.feed(kStatelessPort, flag::ack, 1001, iss + 1, kMs).empty());
  EXPECT_EQ(b.layer.ctr.tcp_stateless_acks, 1u);
  auto out = b.layer.feed(kStatelessPort, flag::ack | flag::psh, 1001, iss + 1, 2 * kMs, 40);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(b.responder.requests, 1);
  EXPECT_EQ(b.responder.request_len, 40u);
  // The answer carries the ACK of the request and the FIN.
  EXPECT_EQ(out[0].flags, flag::ack | flag::psh | flag::fin);
  EXPECT_EQ(out[0].seq, iss + 1);
  EXPECT_EQ(out[0].ack, 1041u);
  EXPECT_EQ(out[0].len, 100u);
  EXPECT_EQ(b.layer.tcp.connections(), 0u);
  EXPECT_EQ(b.layer.tcp.half_open(), 0u);
  // The client's FIN after ours: acknowledged, nothing more.
  out = b.layer.feed(kStatelessPort, flag::ack | flag::fin, 1041, iss + 102, 3 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::ack);
  EXPECT_EQ(out[0].seq, iss + 102);
  EXPECT_EQ(out[0].ack, 1042u);
  // Its retransmission (our ACK lost) is acknowledged again.
  EXPECT_EQ(b.layer.feed(kStatelessPort, flag::ack | flag::fin, 1041, iss + 102, 4 * kMs).size(), 1u);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_fin_acks, 2u);
}

// The ACK of a FIN after our answer cannot know the cookie's timestamp
// offset: it repeats the client's echo of our last timestamp, which the
// client's PAWS check accepts (a TSval behind it would be dropped).
TEST(StatelessLayer, TheFinsAckRepeatsTheEchoedTimestamp) {
  Bed b;
  wire::TcpOptions ts;
  ts.has_timestamps = true;
  ts.tsval = 900;
  ts.tsecr = 0xfffffff0u;  // far ahead of any clock of ours
  auto out = b.layer.feed(kStatelessPort, flag::ack | flag::fin, 50, 60, 5000 * kMs, 0, kPeerPort, ts);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].opts.has_timestamps);
  EXPECT_EQ(out[0].opts.tsval, 0xfffffff0u);
  EXPECT_EQ(out[0].opts.tsecr, 900u);
}

TEST(StatelessLayer, TheRequestSentAgainIsAnsweredAgain) {
  Bed b;
  const uint32_t iss = b.syn(5000, 0);
  for (int i = 0; i < 3; ++i) {
    auto out = b.layer.feed(kStatelessPort, flag::ack, 5001, iss + 1, (1 + i) * 300 * kMs, 20);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ack, 5021u);
  }
  EXPECT_EQ(b.responder.requests, 3);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_answers, 3u);
}

TEST(StatelessLayer, OnlyTheLastSegmentOfAnAnswerAcknowledgesTheRequest) {
  Bed b;
  b.responder.answer = 3000;  // three segments at an MSS of 1460
  const uint32_t iss = b.syn(1, 0);
  auto out = b.layer.feed(kStatelessPort, flag::ack, 2, iss + 1, kMs, 10);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].ack, 2u);  // the request's first byte: not acknowledged
  EXPECT_EQ(out[1].ack, 2u);
  EXPECT_EQ(out[2].ack, 12u);
  EXPECT_EQ(out[2].flags & flag::fin, flag::fin);
  EXPECT_EQ(out[0].len + out[1].len + out[2].len, 3000u);
  EXPECT_EQ(out[1].seq, out[0].seq + out[0].len);
  // Without an MSS option the client takes 536 bytes (RFC 9293 3.7.1).
  const uint32_t iss2 = b.syn(100, 0, 0);
  out = b.layer.feed(kStatelessPort, flag::ack, 101, iss2 + 1, kMs, 10);
  ASSERT_EQ(out.size(), 6u);
  for (const Seg& s : out) EXPECT_LE(s.len, 536u);
}

TEST(StatelessLayer, WhatDoesNotFitIsReset) {
  Bed b;
  const uint32_t iss = b.syn(1, 0);
  b.responder.verdict = stack::StatelessApp::Verdict::unfit;
  auto out = b.layer.feed(kStatelessPort, flag::ack, 2, iss + 1, kMs, 10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::rst);
  EXPECT_EQ(out[0].seq, iss + 1);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_unfit, 1u);
  // An answer larger than the client's window (65535 in the harness).
  b.responder.verdict = stack::StatelessApp::Verdict::answered;
  b.responder.answer = 70000;
  out = b.layer.feed(kStatelessPort, flag::ack, 2, iss + 1, 2 * kMs, 10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::rst);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_unfit, 2u);
}

TEST(StatelessLayer, StraySegmentsGetWhatNoStatePrescribes) {
  Bed b;
  // Data that is not a first request (the cookie does not check): a reset.
  auto out = b.layer.feed(kStatelessPort, flag::ack, 777, 12345, kMs, 10);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::rst);
  EXPECT_EQ(out[0].seq, 12345u);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_stray_data, 1u);
  // A reset: nothing.
  EXPECT_TRUE(b.layer.feed(kStatelessPort, flag::rst, 777, 0, kMs).empty());
  // A bare ACK (of an answer): nothing.
  EXPECT_TRUE(b.layer.feed(kStatelessPort, flag::ack, 777, 12345, kMs).empty());
  // A SACK of an answer with a hole: nothing can fill it, so a reset.
  wire::TcpOptions sack;
  sack.sack_count = 1;
  sack.sack[0] = {12345 + 1448, 12345 + 2896};
  out = b.layer.feed(kStatelessPort, flag::ack, 777, 12345, kMs, 0, kPeerPort, sack);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::rst);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_holes, 1u);
  EXPECT_EQ(b.responder.requests, 0);
}

// An application that keeps the answer repeats it: a SACK of a hole is then
// left to it rather than reset.
TEST(StatelessLayer, AKeptAnswersHoleIsNotReset) {
  Bed b;
  b.responder.keeps = true;
  wire::TcpOptions sack;
  sack.sack_count = 1;
  sack.sack[0] = {12345 + 1448, 12345 + 2896};
  EXPECT_TRUE(b.layer.feed(kStatelessPort, flag::ack, 777, 12345, kMs, 0, kPeerPort, sack).empty());
  EXPECT_EQ(b.responder.acks, 1);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_holes, 0u);
}

TEST(StatelessLayer, PendingRequestsAreAcknowledgedOrResetLater) {
  Bed b;
  b.responder.verdict = stack::StatelessApp::Verdict::pending;
  const uint32_t iss = b.syn(1, 0);
  EXPECT_TRUE(b.layer.feed(kStatelessPort, flag::ack, 2, iss + 1, kMs, 10).empty());
  const stack::StatelessTxn x = b.responder.last;
  b.layer.tcp.stateless_ack(x, 300 * kMs);
  auto out = b.layer.ip.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::ack);
  EXPECT_EQ(out[0].ack, 12u);
  EXPECT_EQ(out[0].len, 0u);
  b.layer.tcp.stateless_reset(x, 400 * kMs);
  out = b.layer.ip.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::rst);
}

TEST(StatelessLayer, AFinWithoutARequestIsAnsweredWithOurs) {
  Bed b;
  const uint32_t iss = b.syn(1, 0);
  auto out = b.layer.feed(kStatelessPort, flag::ack | flag::fin, 2, iss + 1, kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::ack | flag::fin);
  EXPECT_EQ(out[0].ack, 3u);
  EXPECT_EQ(b.responder.requests, 0);
}

// Without timestamps nothing brings the window scale and SACK-permitted
// back to a cookie's ACK: the SYN-ACK offers neither, so both ends read the
// windows alike (a client's scaled window read unscaled would shrink it).
TEST(StatelessLayer, NoTimestampsNoWindowScaleOrSack) {
  Bed b;
  wire::TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.has_wscale = true;
  o.wscale = 8;
  o.sack_permitted = true;
  auto out = b.layer.feed(kStatelessPort, flag::syn, 1, 0, 0, 0, kPeerPort, o);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].opts.has_wscale);
  EXPECT_FALSE(out[0].opts.sack_permitted);
  EXPECT_FALSE(out[0].opts.has_timestamps);
  // With timestamps both are offered.
  o.has_timestamps = true;
  o.tsval = 77;
  out = b.layer.feed(kStatelessPort, flag::syn, 1, 0, 0, 0, kPeerPort + 1, o);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].opts.has_wscale);
  EXPECT_TRUE(out[0].opts.sack_permitted);
}

// With timestamps each answer segment leaves room for them under the
// client's MSS (RFC 6691): 1448 bytes of data for an MSS of 1460.
TEST(StatelessLayer, SegmentsLeaveRoomForTimestamps) {
  Bed b;
  b.responder.answer = 3000;
  wire::TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.has_timestamps = true;
  o.tsval = 5;
  auto syn_ack = b.layer.feed(kStatelessPort, flag::syn, 1, 0, 0, 0, kPeerPort, o);
  ASSERT_EQ(syn_ack.size(), 1u);
  wire::TcpOptions ts;
  ts.has_timestamps = true;
  ts.tsval = 6;
  ts.tsecr = syn_ack[0].opts.tsval;
  auto out = b.layer.feed(kStatelessPort, flag::ack, 2, syn_ack[0].seq + 1, kMs, 10, kPeerPort, ts);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].len, 1448u);
  EXPECT_EQ(out[1].len, 1448u);
  EXPECT_EQ(out[2].len, 104u);
}

// The last segment of a longer answer lost while the earlier ones arrived:
// the client's request comes again with its ACK past the cookie, which no
// state can check; it is reset (docs/stateless.md: a weak point of
// multi-segment stateless answers).
TEST(StatelessLayer, TheRequestAgainAfterPartOfTheAnswerIsReset) {
  Bed b;
  b.responder.answer = 3000;
  const uint32_t iss = b.syn(1, 0);
  ASSERT_EQ(b.layer.feed(kStatelessPort, flag::ack, 2, iss + 1, kMs, 10).size(), 3u);
  auto again = b.layer.feed(kStatelessPort, flag::ack, 2, iss + 1 + 2896, 400 * kMs, 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].flags, flag::rst);
  EXPECT_EQ(b.responder.requests, 1);
  EXPECT_EQ(b.layer.ctr.tcp_stateless_stray_data, 1u);
}

// A segment whose cookie reads as too old is still answered by kind: the
// FIN after a long answer (its ACK can carry into the cookie's top byte) is
// acknowledged, data is reset.
TEST(StatelessLayer, StaleLookingSegmentsAreAnsweredByKind) {
  Bed b;
  const uint32_t stale_ack = (uint32_t(10) << 27) + 1;  // a period that is not now's
  auto out = b.layer.feed(kStatelessPort, flag::ack | flag::fin, 50, stale_ack, 5000 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::ack);
  EXPECT_EQ(out[0].ack, 51u);
  out = b.layer.feed(kStatelessPort, flag::ack | flag::fin, 50, stale_ack, 5000 * kMs, 20);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, flag::rst);  // data with a FIN: nothing acknowledges what is not taken
  EXPECT_EQ(b.layer.ctr.tcp_syncookie_stale, 2u);
}

TEST(StatelessLayer, OtherPortsAreUnchanged) {
  Bed b;
  b.layer.open(1, 0);  // the ordinary listener still makes connections
  EXPECT_EQ(b.layer.tcp.connections(), 1u);
}

}  // namespace
}  // namespace ts::layer_harness
