// The DNS helpers of the relay and the generator (wire/dns.hh).
#include <gtest/gtest.h>

#include "wire/dns.hh"

using namespace ts::wire;

TEST(DnsWire, QueryRoundTrip) {
  std::vector<uint8_t> q;
  build_dns_query(0xbeef, "www.example.test.", kDnsTypeA, q);
  DnsHeader h;
  ASSERT_TRUE(parse_dns_header(q, h));
  EXPECT_EQ(h.id, 0xbeef);
  EXPECT_FALSE(h.response());
  EXPECT_EQ(h.qdcount, 1);
  EXPECT_EQ(dns_question_end(q), q.size());
  // 3www7example4test0, type, class.
  EXPECT_EQ(q.size(), kDnsHeaderLen + 18 + 4);
  EXPECT_EQ(q[kDnsHeaderLen], 3);
  EXPECT_EQ(q[kDnsHeaderLen + 4], 7);
}

TEST(DnsWire, MalformedMessagesHaveNoQuestion) {
  std::vector<uint8_t> q;
  build_dns_query(1, "a.test", kDnsTypeA, q);
  EXPECT_EQ(dns_question_end(std::span(q).first(q.size() - 1)), 0u);  // cut short
  EXPECT_EQ(dns_question_end(std::span(q).first(5)), 0u);             // no header
  q[kDnsHeaderLen] = 0x80;                                            // a reserved label type
  EXPECT_EQ(dns_question_end(q), 0u);
  std::vector<uint8_t> none(kDnsHeaderLen, 0);                        // qdcount 0
  EXPECT_EQ(dns_question_end(none), 0u);
}

TEST(DnsWire, NamesAreChecked) {
  EXPECT_EQ(dns_name_error("example.test"), "");
  EXPECT_EQ(dns_name_error("example.test."), "");
  EXPECT_NE(dns_name_error(""), "");
  EXPECT_NE(dns_name_error("a..b"), "");
  EXPECT_NE(dns_name_error(std::string(64, 'a').append(".test")), "");
  EXPECT_NE(dns_name_error(std::string(250, 'a')), "");
  EXPECT_STREQ(dns_rcode_name(3), "NXDOMAIN");
}
