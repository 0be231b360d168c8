// A TCP connection's name: its local and remote address and port (RFC 9293
// 3.1). The key of the flow table, the input of the ISN and cookie hashes,
// and what flow placement hashes to pick a core.
#pragma once

#include <cstdint>

#include "wire/addr.hh"

namespace ts::tcp {

struct FourTuple {
  wire::Ipv4Addr local_ip, remote_ip;
  uint16_t local_port = 0, remote_port = 0;
  bool operator==(const FourTuple&) const = default;
};

}  // namespace ts::tcp
