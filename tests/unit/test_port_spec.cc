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
  bool no_huge = false;
  ASSERT_EQ(check_eal_args("--log-level=*:debug  -n 4", opt.raw, no_huge), "");
  EXPECT_FALSE(no_huge);
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

TEST(EalArgs, KnownOptionsPassUnknownAndOwnedOnesAreOneLineErrors) {
  std::vector<std::string> kept;
  bool no_huge = true;
  EXPECT_EQ(check_eal_args("", kept, no_huge), "");
  EXPECT_TRUE(kept.empty());
  EXPECT_FALSE(no_huge);
  EXPECT_EQ(check_eal_args("--log-level lib.eal:debug -n4 --huge-unlink=never --no-hpet -m 512",
                           kept, no_huge), "");
  EXPECT_EQ(kept, (std::vector<std::string>{"--log-level", "lib.eal:debug", "-n4",
                                            "--huge-unlink=never", "--no-hpet", "-m", "512"}));
  // --no-huge is taken out: the plan sets it.
  EXPECT_EQ(check_eal_args("--no-huge --no-hpet", kept, no_huge), "");
  EXPECT_TRUE(no_huge);
  EXPECT_EQ(kept, std::vector<std::string>{"--no-hpet"});

  struct Bad {
    const char* args;
    const char* says;
  };
  for (const Bad& b : {Bad{"--bogus", "'--bogus' is not an option of DPDK 22.11's EAL"},
                       Bad{"-q", "'-q' is not an option"},
                       Bad{"log-level", "is not an EAL option"},
                       Bad{"-n", "-n needs a value"},
                       Bad{"--log-level=", "--log-level needs a value"},
                       Bad{"--no-hpet=1", "--no-hpet takes no value"},
                       Bad{"-l 0-1", "use touchstone's --lcores"},
                       Bad{"--lcores=1", "use touchstone's --lcores"},
                       Bad{"--vdev net_tap0", "use --port"},
                       Bad{"--file-prefix x", "touchstone sets --file-prefix itself"},
                       Bad{"--proc-type secondary", "primary process only"},
                       Bad{"--help", "DPDK's documentation"}}) {
    const std::string err = check_eal_args(b.args, kept, no_huge);
    EXPECT_NE(err.find(b.says), std::string::npos) << b.args << " -> " << err;
    EXPECT_EQ(err.rfind("--eal: ", 0), 0u) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

TEST(Lcores, ACountTakesTheLastCpusAListNamesThem) {
  const std::vector<unsigned> allowed = {0, 1, 2, 3, 6, 7};
  std::vector<unsigned> cpus;
  EXPECT_EQ(parse_lcores("2", allowed, cpus), "");
  EXPECT_EQ(cpus, (std::vector<unsigned>{6, 7}));
  EXPECT_EQ(parse_lcores("6", allowed, cpus), "");
  EXPECT_EQ(cpus.size(), 6u);
  EXPECT_EQ(parse_lcores("2-3,6", allowed, cpus), "");
  EXPECT_EQ(cpus, (std::vector<unsigned>{2, 3, 6}));
  EXPECT_EQ(parse_lcores("3-3", allowed, cpus), "");
  EXPECT_EQ(cpus, std::vector<unsigned>{3});
  for (const char* bad : {"abc", "0", "7", "1-", "-1", "3-2", "1,,2", "1,", "(0-1)@2", "2@3",
                          "1,1", "5-7", "9999999"}) {
    const std::string err = parse_lcores(bad, allowed, cpus);
    EXPECT_EQ(err.rfind(std::string("--lcores '") + bad + "'", 0), 0u) << bad << " -> " << err;
  }
  EXPECT_NE(parse_lcores("5-7", allowed, cpus).find("CPU 5 is not available"), std::string::npos);
  EXPECT_NE(parse_lcores("5-7", allowed, cpus).find("0,1,2,3,6,7"), std::string::npos);
}
