// NewReno (RFC 6582): RFC 5681's windows (cc/aimd.hh) with the recovery that
// goes on through partial ACKs (RecoveryStyle::newreno, or SACK's).
#pragma once

#include "tcp/cc/aimd.hh"

namespace ts::tcp {

class NewReno final : public Aimd {
 public:
  const char* name() const override { return "newreno"; }
};

}  // namespace ts::tcp
