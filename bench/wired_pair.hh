// Two stacks, "server" 10.0.0.1 and "client" 10.0.0.2, on in-memory devices
// wired back to back with the demo's in-process checksum behaviour, for the
// single-threaded benchmark harnesses. `tune` may change both configurations
// (prefix, extra addresses, pool sizes) before the stacks are built. `mtu`
// above 1500 gives both devices frames that large (the 64 KB link of
// docs/performance.md, "Large segments").
#pragma once

#include <algorithm>
#include <cstddef>

#include "stack/mem_device.hh"
#include "stack/stack.hh"

namespace ts::bench {

struct WiredPair {
  // `tso`: the devices offer TCP segmentation offload, frames up to that
  // large passed on whole (as the demo's ring port does; 0: none).
  template <class Tune>
  WiredPair(size_t buffers, unsigned prefix, Tune&& tune, uint16_t mtu = 1500, uint16_t tso = 0)
      : dev_s(*wire::MacAddr::parse("02:00:00:00:00:01"), buffers, frame_room(std::max(mtu, tso))),
        dev_c(*wire::MacAddr::parse("02:00:00:00:00:02"), buffers, frame_room(std::max(mtu, tso))),
        server(prepare(dev_s, mtu, tso), config(cs, "10.0.0.1", prefix, 0, tune, true)),
        client(prepare(dev_c, mtu, tso), config(cc, "10.0.0.2", prefix, 1, tune, false)) {
    dev_s.wire_to(&dev_c);
    dev_c.wire_to(&dev_s);
  }

  stack::StackConfig cs, cc;
  stack::MemDevice dev_s, dev_c;
  stack::Stack server, client;

 private:
  static uint32_t frame_room(uint16_t mtu) { return mtu <= 1500 ? 2048 : uint32_t(mtu) + 64; }
  // Before the stack is made: its TCP layer reads the offloads once.
  static stack::MemDevice& prepare(stack::MemDevice& d, uint16_t mtu, uint16_t tso) {
    d.mutable_info().mtu = mtu;
    d.set_in_process(true);
    d.set_tso(tso);
    return d;
  }
  template <class Tune>
  static const stack::StackConfig& config(stack::StackConfig& c, const char* ip, unsigned prefix,
                                          uint8_t secret, Tune& tune, bool is_server) {
    c.addr = wire::Ipv4Cidr{*wire::Ipv4Addr::parse(ip), uint8_t(prefix)};
    c.secret[0] = secret;
    tune(c, is_server);
    return c;
  }
};

}  // namespace ts::bench
