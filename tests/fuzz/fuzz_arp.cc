// ARP: parse is bounded; a parsed packet emits back to the same 28 bytes.
#include <cstring>

#include "fuzz_common.hh"
#include "wire/arp.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::wire;
  ArpRepr a;
  if (ArpRepr::parse({data, size}, a) != Error::ok) return 0;
  uint8_t out[kArpLen];
  a.emit(out);
  TS_FUZZ_ASSERT(std::memcmp(out, data, kArpLen) == 0);
  return 0;
}
