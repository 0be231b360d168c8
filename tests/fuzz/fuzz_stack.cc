// The endpoint fed arbitrary frames under a virtual clock: no crash, no
// sanitizer report, and no buffer leaked once pending ARP resolutions expire
// and the TCP connections it accepted (port 80, echoing) have run out.
//
// Input: records of [time step in ms: 1 byte][length: 2 bytes][frame bytes].
// A time byte with its top bit set marks the frame's checksums as verified by
// the device, so the fuzzer can reach TCP without computing checksums.
#include <algorithm>

#include "fuzz_common.hh"
#include "stack/mem_device.hh"
#include "stack/stack.hh"

namespace {

struct Echo : ts::stack::Acceptor, ts::tcp::Events {
  ts::tcp::Events* on_accept(const ts::tcp::FourTuple&) override { return this; }
  void on_readable(ts::tcp::Connection& c) override {
    ts::tcp::Bytes2 b = c.readable();
    c.send(b.a, *now);
    c.consume(b.size(), *now);
  }
  void on_peer_closed(ts::tcp::Connection& c) override { c.close(*now); }
  const uint64_t* now = nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts;
  stack::MemDevice dev(*wire::MacAddr::parse("02:00:00:00:00:02"), 256);
  stack::StackConfig cfg;
  cfg.addr = *wire::Ipv4Cidr::parse("10.77.0.2/24");
  cfg.gateway = wire::Ipv4Addr::from_octets(10, 77, 0, 254);
  cfg.arp.capacity = 16;
  cfg.arp.queue_per_entry = 4;
  cfg.arp.queue_total = 32;
  cfg.tcp.max_connections = 8;
  cfg.tcp.tcp.msl_ns = 1'000'000'000;
  uint64_t now = 0;
  Echo echo;
  echo.now = &now;
  {
  stack::Stack st(dev, cfg);
  st.tcp().listen(80, &echo);
  size_t i = 0;
  while (i + 3 <= size) {
    now += uint64_t(data[i] & 0x7f) * 1'000'000;
    const uint32_t flags = (data[i] & 0x80) ? stack::pktflag::rx_ip_csum_good |
                                                  stack::pktflag::rx_l4_csum_good
                                            : 0;
    const size_t len = size_t(data[i + 1]) << 8 | data[i + 2];
    i += 3;
    const size_t n = len < size - i ? len : size - i;
    dev.inject({data + i, n}, flags);
    i += n;
    st.poll(now);
    dev.take_sent();
  }
  // Let every resolution give up and every connection time out.
  for (int k = 0; k < 400 && st.next_deadline() != UINT64_MAX; ++k) {
    now = std::max(now + 1'000'000, st.next_deadline());
    st.poll(now);
    dev.take_sent();
  }
  }
  // With the stack gone, every buffer must be back.
  TS_FUZZ_ASSERT(dev.buffers_in_use() == 0);
  return 0;
}
