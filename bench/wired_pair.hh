// Two stacks, "server" 10.0.0.1 and "client" 10.0.0.2, on in-memory devices
// wired back to back with the demo's in-process checksum behaviour, for the
// single-threaded benchmark harnesses. `tune` may change both configurations
// (prefix, extra addresses, pool sizes) before the stacks are built. `mtu`
// above 1500 gives both devices frames that large (the 64 KB link of
// docs/performance.md, "Large segments").
#pragma once

#include <cstddef>

#include "stack/mem_device.hh"
#include "stack/stack.hh"

namespace ts::bench {

struct WiredPair {
  template <class Tune>
  WiredPair(size_t buffers, unsigned prefix, Tune&& tune, uint16_t mtu = 1500)
      : dev_s(*wire::MacAddr::parse("02:00:00:00:00:01"), buffers, frame_room(mtu)),
        dev_c(*wire::MacAddr::parse("02:00:00:00:00:02"), buffers, frame_room(mtu)),
        server(with_mtu(dev_s, mtu), config(cs, "10.0.0.1", prefix, 0, tune, true)),
        client(with_mtu(dev_c, mtu), config(cc, "10.0.0.2", prefix, 1, tune, false)) {
    dev_s.wire_to(&dev_c);
    dev_c.wire_to(&dev_s);
    dev_s.set_in_process(true);
    dev_c.set_in_process(true);
  }

  stack::StackConfig cs, cc;
  stack::MemDevice dev_s, dev_c;
  stack::Stack server, client;

 private:
  static uint32_t frame_room(uint16_t mtu) { return mtu <= 1500 ? 2048 : uint32_t(mtu) + 64; }
  static stack::MemDevice& with_mtu(stack::MemDevice& d, uint16_t mtu) {
    d.mutable_info().mtu = mtu;
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
