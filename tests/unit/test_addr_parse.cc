#include <gtest/gtest.h>

#include "util/parse.hh"
#include "wire/addr.hh"

using namespace ts;
using wire::Ipv4Addr;
using wire::Ipv4Cidr;
using wire::MacAddr;

TEST(Addr, Ipv4ParseAndPrint) {
  auto a = Ipv4Addr::parse("10.77.0.2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->v, 0x0a4d0002u);
  EXPECT_EQ(a->str(), "10.77.0.2");
  for (const char* bad : {"", "10.77.0", "10.77.0.2.1", "256.0.0.1", "1..2.3", "a.b.c.d",
                          "10.77.0.2 ", "-1.0.0.0", "1.2.3.0004"})
    EXPECT_FALSE(Ipv4Addr::parse(bad)) << bad;
}

TEST(Addr, Cidr) {
  auto c = Ipv4Cidr::parse("10.77.0.2/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix, 24);
  EXPECT_TRUE(c->contains(*Ipv4Addr::parse("10.77.0.200")));
  EXPECT_FALSE(c->contains(*Ipv4Addr::parse("10.77.1.1")));
  EXPECT_EQ(c->subnet_broadcast().str(), "10.77.0.255");
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.1/0")->mask(), 0u);
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.1/32")->mask(), 0xffffffffu);
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.1/31")->subnet_broadcast().str(), "255.255.255.255");
  for (const char* bad : {"10.0.0.1", "10.0.0.1/33", "10.0.0.1/", "/24", "10.0.0.1/2x"})
    EXPECT_FALSE(Ipv4Cidr::parse(bad)) << bad;
}

TEST(Addr, WhatCanNameOneHost) {
  auto ip = [](const char* t) { return *Ipv4Addr::parse(t); };
  for (const char* ok : {"1.0.0.1", "10.0.0.1", "126.255.255.255", "128.0.0.1", "223.255.255.254"})
    EXPECT_TRUE(ip(ok).is_unicast()) << ok;
  for (const char* no : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.1.1.1", "240.0.0.1",
                         "255.255.255.255"})
    EXPECT_FALSE(ip(no).is_unicast()) << no;
  const Ipv4Cidr c = *Ipv4Cidr::parse("10.77.0.2/24");
  EXPECT_TRUE(c.is_network_or_broadcast(ip("10.77.0.0")));
  EXPECT_TRUE(c.is_network_or_broadcast(ip("10.77.0.255")));
  EXPECT_FALSE(c.is_network_or_broadcast(ip("10.77.0.1")));
  EXPECT_FALSE(c.is_network_or_broadcast(ip("10.78.0.0")));  // another prefix's
  const Ipv4Cidr p31 = *Ipv4Cidr::parse("10.0.0.0/31");  // RFC 3021: both are hosts
  EXPECT_FALSE(p31.is_network_or_broadcast(ip("10.0.0.0")));
  EXPECT_FALSE(p31.is_network_or_broadcast(ip("10.0.0.1")));
  EXPECT_TRUE(c.names_host(ip("10.77.0.1")));
  EXPECT_TRUE(c.names_host(ip("192.0.2.7")));  // off-link hosts too
  EXPECT_FALSE(c.names_host(ip("10.77.0.255")));
  EXPECT_FALSE(c.names_host(ip("127.0.0.1")));
}

TEST(Addr, Mac) {
  auto m = MacAddr::parse("02:aB:00:11:22:ff");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->str(), "02:ab:00:11:22:ff");
  EXPECT_FALSE(m->is_multicast());
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  for (const char* bad : {"02:ab:00:11:22", "02-ab-00-11-22-ff", "02:ab:00:11:22:fg", ""})
    EXPECT_FALSE(MacAddr::parse(bad)) << bad;
}

TEST(Parse, Durations) {
  EXPECT_EQ(util::parse_duration_ns("200us"), 200'000u);
  EXPECT_EQ(util::parse_duration_ns("1.5s"), 1'500'000'000u);
  EXPECT_EQ(util::parse_duration_ns("5ms"), 5'000'000u);
  EXPECT_EQ(util::parse_duration_ns("2m"), 120'000'000'000u);
  EXPECT_EQ(util::parse_duration_ns("7ns"), 7u);
  EXPECT_EQ(util::parse_duration_ns("1h"), 3'600'000'000'000u);
  EXPECT_EQ(util::parse_duration_ns("3"), 3'000'000'000u);  // a plain number is seconds
  EXPECT_EQ(util::parse_duration_ns("0.25"), 250'000'000u);
  for (const char* bad : {"", "ms", "-1s", "-3", "1d", "1.5.5s", "5 s", "s5"})
    EXPECT_FALSE(util::parse_duration_ns(bad)) << bad;
}

TEST(Parse, ProbabilitiesCountsBytes) {
  EXPECT_DOUBLE_EQ(*util::parse_probability("0.01"), 0.01);
  EXPECT_DOUBLE_EQ(*util::parse_probability("1%"), 0.01);
  EXPECT_FALSE(util::parse_probability("1.5"));
  EXPECT_FALSE(util::parse_probability("-0.1"));
  EXPECT_FALSE(util::parse_probability("x"));
  EXPECT_EQ(util::parse_count("1000"), 1000u);
  EXPECT_EQ(util::parse_count("1.5M"), 1'500'000u);
  EXPECT_EQ(util::parse_count("1e6"), 1'000'000u);
  EXPECT_EQ(util::parse_count("10k"), 10'000u);
  EXPECT_FALSE(util::parse_count("10x"));
  EXPECT_FALSE(util::parse_count("1e19"));  // beyond 2^63: an error, not a wrapped value
  EXPECT_FALSE(util::parse_duration_ns("1e10s"));
  EXPECT_EQ(util::parse_bytes("64"), 64u);
  EXPECT_EQ(util::parse_bytes("1K"), 1024u);
  EXPECT_EQ(util::parse_bytes("100MB"), 100u * 1024 * 1024);
  EXPECT_EQ(util::parse_bytes("1GiB"), 1024u * 1024 * 1024);
  EXPECT_FALSE(util::parse_bytes("1T"));
}
