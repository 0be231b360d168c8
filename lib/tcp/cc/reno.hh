// Reno (RFC 5681 3.2; Jacobson 1990): RFC 5681's windows (cc/aimd.hh) with
// fast recovery that ends at the first ACK of new data (RecoveryStyle::reno):
// several losses in one window cost it a halving each, or a timeout.
#pragma once

#include "tcp/cc/aimd.hh"

namespace ts::tcp {

class Reno final : public Aimd {
 public:
  const char* name() const override { return "reno"; }
};

}  // namespace ts::tcp
