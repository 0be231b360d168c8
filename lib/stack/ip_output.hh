// What the TCP layer needs from the IP layer below it, and no more: sending a
// segment, and which addresses are ours. Stack implements it over a device;
// a test implements it with a list (tests/unit/test_tcp_layer.cc).
#pragma once

#include <cstdint>

#include "tcp/buffers.hh"
#include "wire/addr.hh"
#include "wire/tcp.hh"

namespace ts::stack {

class IpOutput {
 public:
  virtual ~IpOutput() = default;
  // Builds and sends one TCP segment from `src` to `dst` (headers, options,
  // the payload, checksums, routing); false when no buffer was free or the
  // segment does not fit (counted below).
  virtual bool send_tcp(wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpRepr& seg,
                        const tcp::Payload& payload, uint64_t now) = 0;
  // The addresses active opens may use as their source, in turn (at least
  // one), and the largest IP packet the link takes: fixed for the layer's
  // life (the TCP layer reads them once, when it is made).
  virtual uint32_t source_addresses() const = 0;
  virtual wire::Ipv4Addr source_address(uint32_t i) const = 0;
  virtual uint16_t mtu() const = 0;
  // The largest IP packet send_tcp() takes with a segment size to cut it at
  // (TcpRepr::seg_size: TCP segmentation offload); 0 without TSO.
  virtual uint16_t tso_max() const { return 0; }
  // The most segments one such packet may be cut into; 0: no limit but tso_max().
  virtual uint16_t tso_segs() const { return 0; }
  // How much shorter than the MTU allows its segments must be (bytes).
  virtual uint16_t tso_trim() const { return 0; }
};

}  // namespace ts::stack
