#include <gtest/gtest.h>

#include <algorithm>

#include "drivers-glue/port_spec.hh"

using namespace ts::glue;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

PortSpec spec(const char* text) {
  PortSpec p;
  EXPECT_EQ(parse_port_spec(text, p), "") << text;
  return p;
}

}  // namespace

TEST(PortSpec, ParsesEveryKind) {
  EXPECT_EQ(spec("af_xdp:veth1").kind, PortSpec::Kind::af_xdp);
  EXPECT_EQ(spec("af_xdp:veth1").target, "veth1");
  EXPECT_EQ(spec("af_packet:eth0").kind, PortSpec::Kind::af_packet);
  EXPECT_EQ(spec("tap:ts0").kind, PortSpec::Kind::tap);
  EXPECT_EQ(spec("memif:/run/ts.sock,role=client").target, "/run/ts.sock");
  EXPECT_EQ(spec("memif:/run/ts.sock,role=client").args.at(0).second, "client");
  EXPECT_EQ(spec("pci:0000:3b:00.0").target, "0000:3b:00.0");
  EXPECT_EQ(spec("pci:3b:00.1").target, "0000:3b:00.1");  // the domain is filled in
  EXPECT_EQ(spec("ring").kind, PortSpec::Kind::ring);
}

TEST(PortSpec, RejectsWithOneLine) {
  for (const char* bad : {"", "eth0", "xdp:veth1", "af_xdp:", "af_xdp:a/b", "af_xdp:veth1,queue",
                          "af_xdp:abcdefghijklmnopq", "pci:3b:00", "pci:0000:3b:00.8",
                          "pci:0000:3b:00.0,x=1", "memif:", "ring:x"}) {
    PortSpec p;
    std::string err = parse_port_spec(bad, p);
    EXPECT_FALSE(err.empty()) << bad;
    EXPECT_EQ(err.find('\n'), std::string::npos);
  }
}

TEST(EalPlan, SafeDefaultsWithoutPciOrHugepages) {
  EalOptions opt;
  opt.file_prefix = "ts-test";
  auto plan = plan_eal({spec("af_xdp:veth1"), spec("af_packet:veth2,blocksz=4096")}, opt);
  const auto& a = plan.args;
  EXPECT_EQ(a.front(), "touchstone");
  EXPECT_TRUE(has(a, "--no-pci"));  // the machine's own NIC is never taken
  EXPECT_TRUE(has(a, "--no-huge"));
  EXPECT_TRUE(has(a, "--no-shconf"));
  EXPECT_TRUE(has(a, "--file-prefix=ts-test"));
  EXPECT_TRUE(has(a, "net_af_xdp0,iface=veth1,start_queue=0,queue_count=1"));
  EXPECT_TRUE(has(a, "net_af_packet0,iface=veth2,qpairs=1,blocksz=4096"));
  ASSERT_EQ(plan.device_names.size(), 2u);
  EXPECT_EQ(plan.device_names[0], "net_af_xdp0");
  EXPECT_EQ(plan.device_names[1], "net_af_packet0");
}

TEST(EalPlan, PciPortAllowsOnlyThatDeviceAndHugepagesUseInMemory) {
  EalOptions opt;
  opt.hugepages = true;
  opt.lcores = "1,2";
  opt.raw = "--log-level=*:debug  -n 4";
  auto plan = plan_eal({spec("pci:0000:3b:00.0")}, opt);
  const auto& a = plan.args;
  EXPECT_FALSE(has(a, "--no-pci"));
  EXPECT_FALSE(has(a, "--no-huge"));
  EXPECT_TRUE(has(a, "--in-memory"));
  auto it = std::find(a.begin(), a.end(), "-a");
  ASSERT_NE(it, a.end());
  EXPECT_EQ(*(it + 1), "0000:3b:00.0");
  EXPECT_TRUE(has(a, "--lcores=1,2"));
  EXPECT_EQ(a[a.size() - 3], "--log-level=*:debug");  // raw arguments come last, split
  EXPECT_EQ(a.back(), "4");
  EXPECT_EQ(plan.device_names[0], "0000:3b:00.0");
}

TEST(EalPlan, SeveralPortsOfOneKindGetDistinctNames) {
  auto plan = plan_eal({spec("tap:a"), spec("tap:b"), spec("ring")}, EalOptions{});
  EXPECT_EQ(plan.device_names[0], "net_tap0");
  EXPECT_EQ(plan.device_names[1], "net_tap1");
  EXPECT_EQ(plan.device_names[2], "");
}
