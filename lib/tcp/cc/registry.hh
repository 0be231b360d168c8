// The congestion-control algorithms by name: what `--cc NAME` and `--cc list`
// offer on serve, gen, demo and sim, and the loss recovery each runs with
// (docs/congestion.md).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "tcp/config.hh"

namespace ts::tcp {

struct CcInfo {
  CcAlgo algo;
  const char* name;
  const char* summary;           // one line for --cc list
  RecoveryStyle classic;         // its recovery without SACK
  bool sack_recovery;            // with SACK negotiated: RFC 6675 (else classic anyway)
};

std::span<const CcInfo> cc_algorithms();
const CcInfo& cc_info(CcAlgo a);
// nullptr for an unknown name.
const CcInfo* find_cc(std::string_view name);
// "tahoe, reno, newreno, cubic"
std::string cc_names();
// The recovery a connection of `cfg` runs, SACK negotiated or not.
RecoveryStyle recovery_for(const TcpConfig& cfg, bool sack_negotiated);

}  // namespace ts::tcp
