// Friendly port names -> DPDK devices and EAL arguments. Pure code (no DPDK
// headers), so the translation is unit-tested without initialising EAL.
//
//   af_xdp:IFACE[,key=value...]   net_af_xdp on a Linux interface (veth, NIC)
//   af_packet:IFACE[,key=value...] net_af_packet on a Linux interface
//   tap:NAME[,key=value...]       net_tap, creating a TAP interface NAME
//   memif:SOCKET[,role=client|server,...]  net_memif, shared memory between processes
//   pci:BDF                       a NIC bound to vfio-pci (or uio), e.g. pci:0000:3b:00.0
//   ring                          an in-memory pair of ports inside the process
// Extra key=value pairs are passed to the vdev unchanged.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ts::glue {

struct PortSpec {
  enum class Kind { af_xdp, af_packet, tap, memif, pci, ring };
  Kind kind = Kind::ring;
  std::string target;  // interface, TAP name, socket path or PCI address
  std::vector<std::pair<std::string, std::string>> args;
  std::string text;    // as the user wrote it

  bool is_vdev() const { return kind != Kind::pci && kind != Kind::ring; }
};

// Returns "" and fills out, or a one-line error.
std::string parse_port_spec(std::string_view text, PortSpec& out);
const char* kind_name(PortSpec::Kind k);

struct EalOptions {
  std::string program = "touchstone";
  std::string lcores;          // EAL --lcores value; empty: EAL's default
  std::vector<std::string> raw;  // extra EAL arguments (checked by check_eal_args)
  bool hugepages = false;      // free hugepages are reserved on this machine
  unsigned memory_mb = 1024;   // with --no-huge
  std::string file_prefix;     // unique per process
  std::string log_level = "*:warning";
  unsigned queues = 1;         // per port, for vdevs that take a queue count
};

struct EalPlan {
  std::vector<std::string> args;          // argv for rte_eal_init, program first
  std::vector<std::string> device_names;  // per spec: the ethdev name to look up ("" for ring)
};

// The EAL command line for these ports. Safe defaults: --no-pci unless a PCI
// port is named (the machine's own NIC is never taken), no shared runtime files,
// and --no-huge with a bounded memory size when no hugepages are reserved.
EalPlan plan_eal(const std::vector<PortSpec>& ports, const EalOptions& opt);

// Checks that what a spec names exists on this machine (the interface in this
// network namespace, the PCI device); "" or a one-line error.
std::string check_port_available(const PortSpec& p);

// Whether hugepages of the default size are free (/proc/meminfo).
bool hugepages_available();

// --eal: checks the extra EAL arguments against the options of DPDK 22.11's
// EAL before it starts, so that a typo is one line, not EAL's usage text.
// Options touchstone sets itself (cores, devices, file prefix, process type)
// are refused with the touchstone flag to use instead. Returns "" or a
// one-line error; `no_huge` tells whether --no-huge was among them (it is
// then taken out of `kept`, the arguments to pass on, since the EAL plan
// sets it).
std::string check_eal_args(std::string_view raw, std::vector<std::string>& kept, bool& no_huge);

// --lcores: a count N (the last N of `allowed`, the CPUs this process may
// run on) or a list of CPUs and ranges ("1,3", "2-3", "3-3"), each in
// `allowed`. Fills `cpus` (in the order given, no repeats) and returns "", or
// a one-line error.
std::string parse_lcores(std::string_view text, const std::vector<unsigned>& allowed,
                         std::vector<unsigned>& cpus);

}  // namespace ts::glue
