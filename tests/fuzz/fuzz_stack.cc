// The endpoint fed arbitrary frames under a virtual clock: no crash, no
// sanitizer report, and no buffer leaked once pending ARP resolutions expire.
//
// Input: records of [time step in ms: 1 byte][length: 2 bytes][frame bytes].
#include "fuzz_common.hh"
#include "stack/mem_device.hh"
#include "stack/stack.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts;
  stack::MemDevice dev(*wire::MacAddr::parse("02:00:00:00:00:02"), 256);
  stack::StackConfig cfg;
  cfg.addr = *wire::Ipv4Cidr::parse("10.77.0.2/24");
  cfg.gateway = wire::Ipv4Addr::from_octets(10, 77, 0, 254);
  cfg.arp.capacity = 16;
  cfg.arp.queue_per_entry = 4;
  cfg.arp.queue_total = 32;
  stack::Stack st(dev, cfg);
  uint64_t now = 0;
  size_t i = 0;
  while (i + 3 <= size) {
    now += uint64_t(data[i]) * 1'000'000;
    const size_t len = size_t(data[i + 1]) << 8 | data[i + 2];
    i += 3;
    const size_t n = len < size - i ? len : size - i;
    dev.inject({data + i, n}, 0);
    i += n;
    st.poll(now);
    dev.take_sent();
  }
  // Let every resolution give up: all buffers must come back.
  for (int k = 0; k < 5; ++k) {
    now += cfg.arp.retry_ns;
    st.poll(now);
  }
  dev.take_sent();
  TS_FUZZ_ASSERT(dev.buffers_in_use() == 0);
  return 0;
}
