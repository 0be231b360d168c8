// Ethernet header: parse never reads past the buffer; what parses, emits back
// to the same bytes.
#include <cstring>

#include "fuzz_common.hh"
#include "wire/ethernet.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::wire;
  EthernetRepr e;
  if (EthernetRepr::parse({data, size}, e) != Error::ok) return 0;
  TS_FUZZ_ASSERT(e.header_len() <= size);
  uint8_t out[kEthHeaderLen + kVlanTagLen];
  e.emit(out);
  TS_FUZZ_ASSERT(std::memcmp(out, data, e.header_len()) == 0);
  return 0;
}
